"""``Mix``: a small operation with a chosen inplace map, and a kernel that punishes mistakes.

``Mix(inputs, outputs, inplace_items)`` reads 1-D float arrays and writes
output ``j`` as ``tanh(sum_i w[j, i] * inputs[i] + j)``, with weights fixed
by the operation's identity, into the buffer of the input its inplace map
names (``inplace_items``: pairs ``(output index, input index)``).  It is the
operation of the random token programs of :mod:`computations.testing.strategies`,
and a model for your own operation: declare ``inplace`` as data on the class,
register a kernel for it with :func:`computations.schedulers.kernel.register`.

Its kernel behaves like a routine at its worst: when it may overwrite an
input, it fills that buffer with NaN before reading its other arguments, so
a program that passes one buffer twice, or destroys a value too early,
gives NaN or a wrong answer rather than a lucky right one.

>>> import numpy as np
>>> from computations.inplace import inplace_compile
>>> from computations.testing import assert_inplace_safe
>>> program = inplace_compile(Mix(['x'], ['y'], [(0, 0)]) + Mix(['x', 'y'], ['z']))
>>> print(program)
x_2 = Copy(x)  # x
x_2 = Mix(x_2)  # y
z = Mix(x, x_2)  # z
>>> outputs = assert_inplace_safe(program, {'x': np.ones(3)})
"""
import numpy as np

from computations import Computation
from computations.schedulers import kernel

__all__ = ['Mix']


class Mix(Computation):
    """``outputs[j] = tanh(sum_i w[j, i] * inputs[i] + j)``, overwriting as ``inplace_items`` says.

    ``inputs`` and ``outputs`` are variables (any hashable values, such as
    strings); ``inplace_items`` pairs ``(output index, input index)``.  The
    inplace layer checks that the map fits (at most one output per input).

    >>> op = Mix(['a', 'b'], ['c'], [(0, 1)])
    >>> op.inplace, op.inputs, op.outputs
    ({0: 1}, ('a', 'b'), ('c',))
    """
    __slots__ = ()
    __props__ = ('inputs', 'outputs', 'inplace_items')

    def __init__(self, inputs, outputs, inplace_items=()):
        items = tuple(sorted((int(o), int(i)) for o, i in inplace_items))
        self._freeze(tuple(inputs), tuple(outputs), items)

    @property
    def inplace(self):
        """``{output index: input index}``: the input whose buffer each output may take."""
        return dict(self.inplace_items)

    @property
    def buffered_outputs(self):
        """Every output may be given a dead buffer by buffer reuse (the kernel makes new
        arrays, so there reuse is a renaming, which a wrong plan turns into wrong values)."""
        return tuple(range(len(self.outputs)))


def _weights(op):
    # hash() of strings changes between processes; derive weights from the text.
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(repr(op.props))) % 2**32
    return np.random.default_rng(seed).uniform(-1, 1, (len(op.outputs), len(op.inputs)))


@kernel.register(Mix)
def _mix(op, values, overwrite):
    """Read its own inplace arguments fully; fill the buffers it overwrites with NaN first,
    so that any *other* argument sharing them reads garbage."""
    w = _weights(op)
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
