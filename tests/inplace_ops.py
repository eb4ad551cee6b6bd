"""A small test operation with a chosen inplace map, and random DAGs of them.

``Mix`` reads 1-D float arrays and writes each output as a fixed nonlinear
mix of its inputs into, where allowed, its input's buffer.  Its kernel
clobbers the buffers it overwrites before reading its other arguments, so a
plan that aliases arguments -- or destroys a value too early -- gives NaN or
a wrong answer rather than a lucky right one.
"""
import numpy as np
from hypothesis import strategies as st

from computations import Computation, CompositeComputation
from computations.schedulers import kernel


class Mix(Computation):
    """outputs[j] = tanh(sum_i w[j, i] * inputs[i] + j); may overwrite as ``inplace`` says."""
    __slots__ = ()
    __props__ = ('inputs', 'outputs', 'inplace_items')

    def __init__(self, inputs, outputs, inplace_items=()):
        self._freeze(tuple(inputs), tuple(outputs), tuple(sorted(inplace_items)))

    @property
    def inplace(self):
        return dict(self.inplace_items)

    @property
    def buffered_outputs(self):
        """Every output may be given a dead buffer by buffer reuse (the kernel makes new
        arrays, so there reuse is a renaming, which a wrong plan turns into wrong values)."""
        return tuple(range(len(self.outputs)))


def _stable_weights(op):
    # hash() of strings changes between processes; derive weights from the text.
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(repr(op.props))) % 2**32
    return np.random.default_rng(seed).uniform(-1, 1, (len(op.outputs), len(op.inputs)))


@kernel.register(Mix)
def _mix(op, values, overwrite):
    """Like a routine at its worst: it reads its own inplace arguments fully, but the
    buffers it overwrites hold garbage (NaN) for every *other* argument that shares them."""
    w = _stable_weights(op)
    destroy = {i for i in op.inplace.values() if i in overwrite}
    own = {i: np.array(values[i], copy=True) for i in destroy}
    for i in destroy:
        values[i].fill(np.nan)
    args = [own.get(p, values[p]) for p in range(len(values))]
    results = [np.tanh(sum(w[j, i] * args[i] for i in range(len(args))) + j)
               for j in range(len(op.outputs))]
    for j, i in op.inplace.items():
        if i in destroy:
            np.copyto(values[i], results[j])   # really write into the input's buffer
            results[j] = values[i]
    return results


def evaluate_pure(comp, inputs):
    """Every value of a composite of Mix ops, computed without overwriting anything."""
    values = {var: np.array(val, copy=True) for var, val in inputs.items()}
    for op in comp.toposort():
        args = [np.array(values[v], copy=True) for v in op.inputs]
        for var, out in zip(op.outputs, _mix(op, args, frozenset())):
            values[var] = out
    return values


@st.composite
def mix_dags(draw, max_ops=12):
    """A composite of Mix ops with random inplace maps over variables 'i0', ..., 'k.j'."""
    pool = [f'i{j}' for j in range(draw(st.integers(1, 3)))]
    ops = []
    for k in range(draw(st.integers(1, max_ops))):
        reads = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
        writes = [f'v{k}_{j}' for j in range(draw(st.integers(1, 2)))]
        positions = draw(st.permutations(range(len(reads))))
        inplace = [(o, positions[o]) for o in range(min(len(writes), len(reads)))
                   if draw(st.booleans())]
        ops.append(Mix(reads, writes, inplace))
        pool.extend(writes)
    return CompositeComputation(*ops)
