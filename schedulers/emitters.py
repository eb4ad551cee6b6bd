"""What each operation's generated source looks like: one emitter per operation class.

An emitter is called as ``emitter(op, call)`` and returns lines of Python:
the routine call with its flags spelled out, writing output ``o`` into the
local variable ``call.outs[o]``.  ``call`` (see
:class:`computations.schedulers.codegen._Call`) gives each argument's source
(``call.args``), the typed routine's name (``call.routine()``), and, for
an output that can take a buffer, where to write it (``call.into``,
``call.buffer``).

Every BLAS/LAPACK routine is written by one emitter derived from its call
spec (:func:`computations.schedulers.calls.call_lines`, the same walk as its
kernel), registered for :class:`~computations.matrices.MatrixComputation`;
the emitters here are those of the operations that are not routine calls.
Register an emitter for a new class with ``@emit.register(MyOp)``; without
one, generated source calls the kernel.

>>> import sympy
>>> from computations.matrices import GEMM
>>> from computations.inplace import inplace_compile
>>> from computations.schedulers.codegen import generate
>>> A, C = sympy.MatrixSymbol('A', 3, 3), sympy.MatrixSymbol('C', 3, 3)
>>> print(generate(inplace_compile(GEMM(2, A, A, 1, C, trans_b=True))).source)
def program(C, A):
    C_2 = dgemm(2.0, A, A, 1.0, C, 0, 1)  # trans_b=1
    return (C_2,)
"""
import functools

import numpy as np
import sympy

from computations.inplace import Copy
from computations.matrices import (COPY, DIAGMM, SCALAR, STREAMED_SYRK, TRANSPOSE,
                                   MatrixComputation)

from .calls import call_lines, diagonal_scale
from .kernels import run, scalar_like
from .scalars import scalar_function
from .streamed import streamed_syrk

__all__ = ['emit']


def _through_kernel(op, call):
    """The fallback: run the operation's kernel (:func:`computations.schedulers.kernels.run`)."""
    runner = call.bind(run, 'run_kernel')
    name = call.bind(op, type(op).__name__)
    outs = ''.join(t + ', ' for t in call.outs)
    return [f"{outs}= {runner}({name}, [{', '.join(call.values)}], {call.positions or '()'})"]


emit = functools.singledispatch(_through_kernel)
emit.__doc__ = """The source lines of one operation (a registry by class; see the module)."""


def _flags(**flags):
    """``, name=1`` for each true flag (false flags are the routines' defaults)."""
    return ''.join(f', {name}={int(value)}' for name, value in flags.items() if value)


@emit.register(MatrixComputation)
def _routine(op, call):
    """Every BLAS/LAPACK routine: the lines derived from its call spec."""
    return _through_kernel(op, call) if op.call is None else call_lines(op, call)


# The operations that are not routine calls --------------------------------------

@emit.register(Copy)
def _copy_buffer(op, call):
    (out,), (source,) = call.outs, call.args
    if not isinstance(op.variable, sympy.MatrixExpr):
        return [f'{out} = {source}']
    if call.buffer(0):
        return [f'{out}[...] = {source}']
    return [f"{out} = {source}.copy(order='F')"]


@emit.register(COPY)
def _copy(op, call):
    out, x = call.outs[0], call.args['X']
    return [f'{out}[...] = {x}'] if call.buffer(0) else [f"{out} = {x}.copy(order='F')"]


@emit.register(TRANSPOSE)
def _transpose(op, call):
    out, x = call.outs[0], call.args['X']
    return [f'{out}[...] = {x}.T'] if call.buffer(0) else [f"{out} = {x}.T.copy(order='F')"]


@emit.register(SCALAR)
def _scalar(op, call):
    values = ', '.join(call.values)
    value = f"{call.bind(scalar_function(op), 'scalar')}({values})"     # as the kernel does
    if call.writer.dtype == np.float64:             # typed as the kernel types it
        return [f'{call.outs[0]} = float({value})']
    return [f"{call.outs[0]} = {call.bind(scalar_like, 'scalar_like')}({value}, {values})"]


@emit.register(DIAGMM)
def _diagmm(op, call):
    lines, b, overwrite = call.into(0, 'B')
    a, name = call.args, call.bind(op, type(op).__name__)
    return lines + [f"{call.outs[0]}, info = {call.bind(diagonal_scale, 'diagonal_scale')}("
                    f"{a['alpha']}, {a['D']}, {b}, {int(op.side == 'L')}, {int(op.inverse)}, "
                    f"{overwrite})", f'if info: fail({name}, info)']


@emit.register(STREAMED_SYRK)
def _streamed_syrk(op, call):
    a, out = call.args, call.outs[0]
    lines, c, overwrite = call.into(0, 'C') if a['C'] is not None else ([], 'None', 0)
    symmetric = f", symmetric='{op.symmetric}'" if op.symmetric else ''
    symmetric += '' if op.trans else ', trans=0'
    return lines + [f"{out} = {call.bind(streamed_syrk, 'streamed_syrk')}({a['alpha']}, "
                    f"{a['P']}, {a['A']}, {a['B']}, {a['beta']}, {c}"
                    f"{_flags(trans_a=op.trans_a, trans_b=op.trans_b)}{symmetric}"
                    f"{_flags(overwrite_c=overwrite)}, rows={op.PANEL_ROWS})"]
