"""The token-program interpreter: one buffer per token, freed when its value dies.

:func:`interpret` walks a token program in a safe order (every reader of a
value before the node that overwrites it) and calls an injected ``run``
function for each node, passing the input positions the node overwrites.
When a value's last reader has run, its buffer is dropped -- or, with
``poison=True``, filled with NaN, so that a program that reads a dead value
gives NaN instead of a plausible wrong answer (the debugging mode the
invariants' property tests use).

When each value dies comes from the one buffer-state model,
:func:`computations.inplace.buffer_states` (its ``dead`` values per step), which
the checker, the memory model and the generated source read too.  The state the
interpreter keeps is ``buffers``: token -> the array (or float) in it now.

>>> import numpy as np, sympy
>>> from computations.matrices import GEMM
>>> from computations.inplace import inplace_compile
>>> A = sympy.MatrixSymbol('A', 2, 2)
>>> program = inplace_compile(GEMM(1, A, A) + GEMM(1, A*A, A))
>>> [value] = interpret(program, {'A': np.asfortranarray([[1., 1.], [0., 1.]])}).values()
>>> value
array([[1., 3.],
       [0., 1.]])
"""
import functools

import numpy as np

from computations.inplace import buffer_states, execution_order

from .kernels import run as run_kernel

__all__ = ['interpret']


def interpret(program, buffers, *, order=None, run=run_kernel, poison=False, keep=(),
              stats=None):
    """Run a token program; return ``{output ExprToken: value}``.

    ``buffers`` maps the tokens of the program's inputs to their values; it
    is not modified.  ``keep`` lists tokens never to poison (the caller's own
    arrays).  ``order`` defaults to :func:`computations.inplace.execution_order`
    (the interpreter does not check safety: :func:`computations.inplace.check` does).  A dict passed
    as ``stats`` receives ``allocated_bytes``: the bytes of the arrays the
    routines returned in new memory rather than in one of their inputs.
    """
    order = tuple(order) if order is not None else execution_order(program)
    buffers = dict(buffers)
    missing = [v.token for v in program.inputs if v.token not in buffers]
    if missing:
        raise KeyError(f'no buffer given for token{"s" if len(missing) > 1 else ""} '
                       + ', '.join(missing))
    keep = set(keep)
    for comp, tokens, destroyed, written, dying in _steps(program, order):
        args = [buffers[t] for t in tokens]
        results = run(comp, args, destroyed) if written else ()     # Identity: marks only
        if stats is not None:
            stats['allocated_bytes'] = stats.get('allocated_bytes', 0) + _new_bytes(results, args)
        for i, token in written:
            buffers[token] = results[i]
        for value in dying:                       # read for the last time, or never read
            if poison and value.token not in keep:
                _poison(buffers[value.token])
            else:
                del buffers[value.token]
    return {value: buffers[value.token] for value in program.outputs}


@functools.lru_cache(maxsize=64)
def _steps(program, order):
    """Per step of ``order``: the operation, its input tokens, the positions it destroys,
    ``(output index, token)`` of what it writes, and the values dead after it (worked out
    once per program and order: a program is run many times)."""
    dead = buffer_states(program, order).dead
    steps = []
    for node, dying in zip(order, dead):
        produced = set(node.produced)
        written = tuple((i, value.token) for i, value in enumerate(node.outputs)
                        if value in produced)
        steps.append((node.comp, node.input_tokens, node.destroyed, written, dying))
    return tuple(steps)


def _new_bytes(results, args):
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    return sum(r.nbytes for r in results if isinstance(r, np.ndarray)
               and not any(np.may_share_memory(r, a) for a in arrays))


def _poison(value):
    if isinstance(value, np.ndarray) and value.flags.writeable:
        if value.dtype.kind == 'f':
            value.fill(np.nan)
        else:
            value.fill(np.iinfo(value.dtype).min if value.dtype.kind in 'iu' else 0)
