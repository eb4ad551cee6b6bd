"""What each operation's generated source looks like: one emitter per operation class.

An emitter is called as ``emitter(op, call)`` and returns lines of Python:
the routine call with its flags spelled out, writing output ``o`` into the
local variable ``call.outs[o]``.  ``call`` (see
:class:`computations.schedulers.codegen._Call`) gives each argument's source
(``call.args``), the typed routine's name (``call.routine()``), and, for
an output that can take a buffer, where to write it (``call.into``,
``call.buffer``).  The lines must compute exactly what the operation's
kernel (:mod:`computations.schedulers.kernels`) computes; the tests compare the two on
every operation.  Register an emitter for a new class with
``@emit.register(MyOp)``; without one, generated source calls the kernel.

>>> import sympy
>>> from computations.matrices import GEMM
>>> from computations.inplace import inplace_compile
>>> from computations.schedulers.codegen import generate
>>> A, C = sympy.MatrixSymbol('A', 3, 3), sympy.MatrixSymbol('C', 3, 3)
>>> print(generate(inplace_compile(GEMM(2, A, A, 1, C, trans_b=True))).source)
def program(C, A):
    C_2 = dgemm(2.0, A, A, 1.0, C, trans_b=1)
    return (C_2,)
"""
import functools

import sympy
from sympy.printing.pycode import pycode

from computations.matrices import (AXPY, COPY, GEMM, GEMV, GESV, GETRF, GETRS, POSV, POTRF,
                                   POTRS, SCAL, SCALAR, STREAMED_SYRK, SYMM, SYRK, TRANSPOSE, TRMM,
                                   TRSM, TRTRI, TRTRS)
from computations.inplace import Copy

from .kernels import check_diagonal, run, symmetrize, zero_lower, zero_upper
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


def _checked(call, line):
    """The routine call, then the LAPACK ``info`` check naming the operation."""
    op = call.bind(call.op, type(call.op).__name__)
    return [line, f'if info: fail({op}, info)']


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
    names = {s: sympy.Symbol(t) for s, t in zip(op.inputs, call.node.input_tokens)}
    call.bind(__import__('math'), 'math')
    return [f'{call.outs[0]} = float({pycode(op.expr.xreplace(names))})']


# BLAS ------------------------------------------------------------------------

def _product(op, call, *arguments, flags, c='C', beta='beta'):
    """A level-3 or level-2 product ``out = alpha*op(...) + beta*C`` (C possibly absent)."""
    a, out, f = call.args, call.outs[0], call.routine()
    head = ', '.join([a['alpha'], *arguments])
    if a[c] is None:
        buffer = call.buffer(0)
        if buffer is None:
            return [f'{out} = {f}({head}{flags})']
        target = buffer + ('[:, 0]' if c == 'y' else '')
        return [f'{out} = {f}({head}, 0.0, {target}{flags}, overwrite_{c.lower()}=1)']
    lines, source, overwrite = call.into(0, c)
    target = source + ('[:, 0]' if c == 'y' else '')
    return lines + [f'{out} = {f}({head}, {a[beta]}, {target}{flags}'
                    f'{_flags(**{"overwrite_" + c.lower(): overwrite})})']


@emit.register(GEMM)
def _gemm(op, call):
    return _product(op, call, call.args['A'], call.args['B'],
                    flags=_flags(trans_a=op.trans_a, trans_b=op.trans_b))


@emit.register(SYMM)
def _symm(op, call):
    return _product(op, call, call.args['A'], call.args['B'], flags=_flags(side=op.side == 'R'))


@emit.register(SYRK)
def _syrk(op, call):
    name = call.bind(symmetrize, 'symmetrize')
    return _product(op, call, call.args['A'], flags=_flags(trans=op.trans)) + \
        [f'{name}({call.outs[0]})']


@emit.register(GEMV)
def _gemv(op, call):
    out = call.outs[0]
    return _product(op, call, call.args['A'], call.args['x'] + '[:, 0]', c='y',
                    flags=_flags(trans=op.trans)) + [f"{out} = {out}.reshape(-1, 1, order='F')"]


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


@emit.register(AXPY)
def _axpy(op, call):
    lines, y = call.owned(0, 'Y')
    return lines + [f"{call.routine()}({call.args['X']}.reshape(-1, order='F'), "
                    f"{y}.reshape(-1, order='F'), a={call.args['alpha']})"]


@emit.register(SCAL)
def _scal(op, call):
    lines, x = call.owned(0, 'X')
    return lines + [f"{call.routine()}({call.args['alpha']}, {x}.reshape(-1, order='F'))"]


def _triangular_product(op, call):
    a = call.args
    lines, b, overwrite = call.into(0, 'B')
    return lines + [f"{call.outs[0]} = {call.routine()}({a['alpha']}, {a['A']}, {b}"
                    f"{_flags(side=op.side == 'R', lower=op.lower, trans_a=op.trans_a)}"
                    f"{_flags(diag=op.unit_diagonal, overwrite_b=overwrite)})"]


emit.register(TRMM, _triangular_product)


@emit.register(TRSM)
def _trsm(op, call):
    check = [] if not op.checks_diagonal else \
        [f"{call.bind(check_diagonal, 'check_diagonal')}({call.bind(op, type(op).__name__)}, "
         f"{call.args['A']})"]
    return check + _triangular_product(op, call)


# LAPACK ----------------------------------------------------------------------

@emit.register(POTRF)
def _potrf(op, call):
    lines, a, overwrite = call.into(0, 'A')
    return lines + _checked(call, f'{call.outs[0]}, info = {call.routine()}({a}, lower=1, '
                                  f'clean=1{_flags(overwrite_a=overwrite)})')


@emit.register(POTRS)
def _potrs(op, call):
    lines, b, overwrite = call.into(0, 'B')
    return lines + _checked(call, f"{call.outs[0]}, info = {call.routine()}({call.args['L']}, "
                                  f'{b}, lower=1{_flags(overwrite_b=overwrite)})')


@emit.register(POSV)
def _posv(op, call):
    lines_b, b, over_b = call.into(0, 'B')
    lines_a, a, over_a = call.into(1, 'A')
    x, chol = call.outs
    lines = lines_b + lines_a + _checked(
        call, f'{chol}, {x}, info = {call.routine()}({a}, {b}, lower=1'
              f'{_flags(overwrite_a=over_a, overwrite_b=over_b)})')
    if call.full_matrix_needed(1):             # POSV leaves A's old values above the diagonal
        lines.append(f'{call.bind(zero_upper, "zero_upper")}({chol})')
    return lines


@emit.register(GETRF)
def _getrf(op, call):
    lines, a, overwrite = call.into(0, 'A')
    lu, piv = call.outs
    return lines + _checked(call, f'{lu}, {piv}, info = {call.routine()}({a}'
                                  f'{_flags(overwrite_a=overwrite)})')


@emit.register(GETRS)
def _getrs(op, call):
    lines, b, overwrite = call.into(0, 'B')
    a = call.args
    return lines + _checked(call, f"{call.outs[0]}, info = {call.routine()}({a['LU']}, "
                                  f"{a['pivots']}, {b}{_flags(trans=op.trans)}"
                                  f'{_flags(overwrite_b=overwrite)})')


@emit.register(GESV)
def _gesv(op, call):
    lines_b, b, over_b = call.into(0, 'B')
    lines_a, a, over_a = call.into(1, 'A')
    x, lu, piv = call.outs
    return lines_b + lines_a + _checked(
        call, f'{lu}, {piv}, {x}, info = {call.routine()}({a}, {b}'
              f'{_flags(overwrite_a=over_a, overwrite_b=over_b)})')


@emit.register(TRTRS)
def _trtrs(op, call):
    lines, b, overwrite = call.into(0, 'B')
    return lines + _checked(call, f"{call.outs[0]}, info = {call.routine()}({call.args['A']}, "
                                  f'{b}{_flags(lower=op.lower, trans=op.trans)}'
                                  f'{_flags(unitdiag=op.unit_diagonal, overwrite_b=overwrite)})')


@emit.register(TRTRI)
def _trtri(op, call):
    lines, a, overwrite = call.into(0, 'A')
    out = call.outs[0]
    clear = call.bind(zero_upper, 'zero_upper') if op.lower else call.bind(zero_lower, 'zero_lower')
    return lines + _checked(call, f'{out}, info = {call.routine()}({a}'
                                  f'{_flags(lower=op.lower, unitdiag=op.unit_diagonal)}'
                                  f'{_flags(overwrite_c=overwrite)})') + [f'{clear}({out})']
