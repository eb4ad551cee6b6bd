"""A small test operation with a chosen inplace map, random DAGs and token programs of them,
and the orders of a token program enumerated by brute force.

``Mix`` reads 1-D float arrays and writes each output as a fixed nonlinear
mix of its inputs into, where allowed, its input's buffer.  Its kernel
clobbers the buffers it overwrites before reading its other arguments, so a
plan that aliases arguments -- or destroys a value too early -- gives NaN or
a wrong answer rather than a lucky right one.
"""
import numpy as np
from hypothesis import strategies as st

from computations import Computation, CompositeComputation
from computations.inplace import constraints, inplace_compile
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


class RandomSizes:
    """Bytes per variable, and workspace per operation, from tables (a test double for
    computations.schedulers.memory.Sizes)."""

    def __init__(self, nbytes, workspace=lambda op: 0):
        self._nbytes, self._workspace = nbytes, workspace

    def nbytes(self, expr):
        return self._nbytes(expr)

    def workspace(self, op):
        return self._workspace(op)

    def key(self, expr):
        return (self.nbytes(expr),)


@st.composite
def sized_programs(draw, max_ops=8):
    """``(comp, program, sizes, donate)``: a random DAG of Mix ops, its compiled token
    program (every input donated or none), random bytes per value and workspaces."""
    comp = draw(mix_dags(max_ops=max_ops))
    donate = draw(st.booleans())
    program = inplace_compile(comp, donate=comp.inputs if donate else ())
    choices = st.sampled_from([8, 64, 4096, 8192, 100_000])
    table = {var: draw(choices) for var in sorted({str(v.expr) for v in program.variables})}
    # Most operations hold nothing while they run; some hold a workspace (STREAMED_SYRK).
    work = {op: draw(st.sampled_from([0, 0, 0, 4096, 100_000]))
            for op in sorted(map(repr, comp.computations))}
    return comp, program, RandomSizes(lambda expr: table[str(expr)],
                                      lambda op: work.get(repr(op), 0)), donate


def is_linear_extension(program, order):
    """Whether ``order`` lists every node once, producers before readers and every reader
    of a value before the node that overwrites it."""
    position = {node: i for i, node in enumerate(order)}
    if len(position) != len(order) or set(position) != set(program.computations):
        return False
    for node in order:
        for value in node.inputs:
            producer = program.producer(value)
            if producer is not None and position[producer] > position[node]:
                return False
    return all(position[r] < position[d] for d, readers in constraints(program).items()
               for r in readers)


def linear_extensions(program):
    """Every order of ``program``'s nodes that :func:`is_linear_extension` accepts (brute
    force: branch on the nodes ready at each step)."""
    before = constraints(program)
    preds = {node: {program.producer(v) for v in node.inputs} - {None} | before.get(node, set())
             for node in program.computations}

    def extend(order, done):
        if len(order) == len(preds):
            yield tuple(order)
            return
        for node in sorted(preds, key=repr):
            if node not in done and preds[node] <= done:
                yield from extend(order + [node], done | {node})

    yield from extend([], frozenset())
