"""How each operation runs: one registered kernel per operation class, on scipy.linalg.

A kernel is called as ``kernel(op, args, overwrite)``:

``args``
    ``op.bind(values)``: argument name -> value.  Matrices are 2-D,
    Fortran-ordered arrays of one float dtype (a routine's ``transposable``
    arguments may also be C-ordered: passed as their transposes, see
    :class:`~computations.schedulers.calls.Arrays`); scalars are floats; absent
    arguments are ``None``.  A scalar computed from matrices has their
    dtype (:func:`scalar_like`): float32 programs give ``np.float32`` scalars.
``overwrite``
    the names of the arguments whose storage the kernel may destroy.  Those
    are passed to the routine's ``overwrite_*`` flags; every other argument
    is left untouched (the routine works on a copy).  The pure executor
    passes an empty set; token programs pass what the inplace pass allows.

It returns the output arrays, in the order of ``op.outputs``.  A LAPACK
``info`` other than zero raises the operation's declared error, naming the
operation and the expression.

Every BLAS/LAPACK routine runs through one kernel derived from its call spec
(:func:`computations.schedulers.calls.call_kernel`), registered for
:class:`~computations.matrices.MatrixComputation`; the kernels written here
are those of the operations that are not routine calls (copies, transposes,
scalars, the streamed and recursive kernels).  Register a kernel for a new
operation class with ``@kernel.register(MyOp)``.

>>> import numpy as np, sympy
>>> from computations.matrices import GEMM
>>> A = sympy.MatrixSymbol('A', 2, 2)
>>> op = GEMM(2, A, A)
>>> a = np.asfortranarray([[1., 2.], [3., 4.]])
>>> run(op, [a, a])[0]
array([[14., 20.],
       [30., 44.]])
"""
import functools

import numpy as np
import sympy

from computations.inplace import Copy
from computations.matrices import (CHOLESKY_ADJOINT, CHOLESKY_DETERMINANT, COPY, DIAGMM, ELEMENT,
                                   INNER, LU_DETERMINANT, SCALAR, STREAMED_SYRK, SYMMETRIZE, TRACE,
                                   TRANSPOSE, TRIANGULAR_DETERMINANT, MatrixComputation,
                                   NotPositiveDeterminantError, scalar_type)

from .calls import (call_kernel, check_diagonal, check_info, diagonal_scale, routine, symmetrize,
                    zero_lower, zero_upper)
from .cholesky_adjoint import cholesky_adjoint
from .scalars import scalar_function
from .stacked_linalg import product
from .streamed import streamed_syrk

__all__ = ['kernel', 'run', 'routine', 'symmetrize', 'zero_upper', 'zero_lower', 'check_info',
           'check_diagonal', 'scalar_like']


def scalar_like(value, *operands):
    """``value`` as a scalar of the operands' dtype: a Python float unless an operand is
    a float32 array or scalar, then ``np.float32`` (Python floats do not widen it, as in
    NumPy's promotion rules).

    >>> scalar_like(0.5, np.ones(2, dtype=np.float32), 2.0)
    np.float32(0.5)
    >>> scalar_like(0.5, np.ones(2), 2.0)
    0.5
    """
    return scalar_type(np.result_type(*operands) if operands else np.float64)(float(value))


def _owned(x, name, overwrite):
    """``x`` itself if the kernel may destroy it, else a Fortran-ordered copy."""
    return x if name in overwrite else np.array(x, order='F', copy=True)


def _no_kernel(op, args, overwrite):
    raise NotImplementedError(
        f'no kernel is registered for {type(op).__name__}; register one with '
        f'computations.schedulers.kernels.kernel.register({type(op).__name__})')


kernel = functools.singledispatch(_no_kernel)
kernel.__doc__ = """Run ``op`` on bound arguments (a registry by operation class; see the module)."""


def _routine(op, args, overwrite, one_triangle=frozenset()):
    """Every BLAS/LAPACK routine: the kernel derived from its call spec."""
    if op.call is None:
        _no_kernel(op, args, overwrite)
    return call_kernel(op, args, overwrite, one_triangle)


kernel.register(MatrixComputation, _routine)


def run(op, values, overwrite=frozenset(), one_triangle=frozenset()):
    """Run ``op`` on the values of its inputs (in order); return its output arrays.

    ``overwrite`` names input *positions* whose storage may be destroyed.
    Kernels of :class:`~computations.matrices.MatrixComputation` classes get
    bound arguments and argument names; other kernels get the list of values
    and the positions.  ``one_triangle`` names the outputs whose readers all
    read only the triangle the routine writes (POSV's factor read by POTRS):
    their other triangle is left as the routine left it
    (:func:`computations.schedulers.calls.reads_whole` tells, from a program).
    """
    implementation = kernel.dispatch(type(op))
    if implementation is _no_kernel:
        _no_kernel(op, None, None)
    if isinstance(op, MatrixComputation):
        args = op.bind(values)
        allowed = frozenset(op.input_arguments[i] for i in overwrite)
    else:                                   # other kernels take values and positions as given
        args, allowed = list(values), frozenset(overwrite)
    if implementation is _routine:
        outputs = _routine(op, args, allowed, one_triangle)
    else:
        outputs = implementation(op, args, allowed)
    if len(outputs) != len(op.outputs):
        raise RuntimeError(f'the kernel for {type(op).__name__} returned {len(outputs)} '
                           f'values for {len(op.outputs)} outputs')
    return outputs


@kernel.register(Copy)
def _copy_buffer(op, values, overwrite):
    """The inplace layer's Copy: a new buffer with the same value."""
    (value,) = values
    return (np.array(value, order='F', copy=True) if isinstance(value, np.ndarray) else value,)


@kernel.register(SCALAR)
def _scalar(op, values, overwrite):
    """A scalar expression of the scalar inputs, evaluated by NumPy
    (:mod:`computations.schedulers.scalars`), as a float of the inputs' dtype
    (:func:`scalar_like`)."""
    return (scalar_like(scalar_function(op)(*values), *values),)


@kernel.register(TRANSPOSE)
def _transpose(op, a, overwrite):
    return (np.array(a['X'].T, order='F', copy=True),)


@kernel.register(SYMMETRIZE)
def _symmetrize(op, a, overwrite):
    return (symmetrize(_owned(a['X'], 'X', overwrite), 'lower'),)


@kernel.register(STREAMED_SYRK)
def _streamed_syrk(op, a, overwrite):
    return (streamed_syrk(a['alpha'], a['P'], a['A'], a['B'], a['beta'], a['C'],
                          trans_a=op.trans_a, trans_b=op.trans_b, symmetric=op.symmetric,
                          trans=op.trans, overwrite_c='C' in overwrite, rows=op.PANEL_ROWS),)


@kernel.register(DIAGMM)
def _diagmm(op, a, overwrite):
    out, info = diagonal_scale(a['alpha'], a['D'], a['B'], op.side == 'L', op.inverse,
                               'B' in overwrite)
    check_info(op, info)
    return (out,)


@kernel.register(CHOLESKY_ADJOINT)
def _cholesky_adjoint(op, a, overwrite):
    return (cholesky_adjoint(a['alpha'], a['L'], a['B'], overwrite_b='B' in overwrite),)


# Scalars of matrices -------------------------------------------------------------

@kernel.register(TRACE)
def _trace(op, a, overwrite):
    return (scalar_like(np.trace(a['X']), a['X']),)


@kernel.register(INNER)
def _inner(op, a, overwrite):
    A, B = a['A'], a['B']
    if op.trans:
        return (scalar_like(np.einsum('ij,ji->', A, B), A, B),)
    return (scalar_like(np.vdot(A.ravel(order='K'), B.ravel(order='K'))
                        if A.strides == B.strides else np.sum(A * B), A, B),)


@kernel.register(ELEMENT)
def _element(op, a, overwrite):
    return (scalar_like(a['X'][int(op.i), int(op.j)], a['X']),)


@kernel.register(CHOLESKY_DETERMINANT)
def _cholesky_determinant(op, a, overwrite):
    diagonal = np.diagonal(a['L'])
    if op.log:
        return (scalar_like(2.0 * float(np.sum(np.log(diagonal))), diagonal),)
    return (scalar_like(np.square(product(diagonal)), diagonal),)   # inf if it overflows


@kernel.register(LU_DETERMINANT)
def _lu_determinant(op, a, overwrite):
    diagonal, pivots = np.diagonal(a['LU']), np.ravel(a['pivots'])
    swaps = int(np.count_nonzero(pivots != np.arange(len(pivots))))
    sign = (-1.0) ** (swaps + int(np.count_nonzero(diagonal < 0)))
    if not op.log:
        return (scalar_like(sign * float(product(np.abs(diagonal))) + 0.0, diagonal),)  # not -0.0
    if sign < 0 or not np.all(diagonal):
        value = sign * float(product(np.abs(diagonal)))
        raise NotPositiveDeterminantError('LU_DETERMINANT', sympy.Determinant(op.LU.arg),
                                          value)
    return (scalar_like(np.sum(np.log(np.abs(diagonal))), diagonal),)


@kernel.register(TRIANGULAR_DETERMINANT)
def _triangular_determinant(op, a, overwrite):
    diagonal = np.diagonal(a['A'])
    if not op.log:
        return (scalar_like(float(product(diagonal)), diagonal),)
    if np.count_nonzero(diagonal < 0) % 2 or not np.all(diagonal):
        raise NotPositiveDeterminantError('TRIANGULAR_DETERMINANT', sympy.Determinant(op.A),
                                          float(product(diagonal)))
    return (scalar_like(np.sum(np.log(np.abs(diagonal))), diagonal),)


@kernel.register(COPY)
def _copy(op, a, overwrite):
    return (np.array(a['X'], order='F', copy=True),)
