"""How each operation runs: one registered kernel per operation class, on scipy.linalg.

A kernel is called as ``kernel(op, args, overwrite)``:

``args``
    ``op.bind(values)``: argument name -> value.  Matrices are 2-D,
    Fortran-ordered arrays of one float dtype; scalars are floats; absent
    arguments are ``None``.
``overwrite``
    the names of the arguments whose storage the kernel may destroy.  Those
    are passed to the routine's ``overwrite_*`` flags; every other argument
    is left untouched (the routine works on a copy).  The pure executor
    passes an empty set; token programs pass what the inplace pass allows.

It returns the output arrays, in the order of ``op.outputs``.  A LAPACK
``info`` other than zero raises the operation's declared error, naming the
operation and the expression.  Register a kernel for a new operation class
with ``@kernel.register(MyOp)``.

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
from scipy.linalg import blas, lapack

from computations.matrices import (AXPY, CHOLESKY_ADJOINT, CHOLESKY_DETERMINANT, COPY, ELEMENT,
                                   GEMM, GEMV, GESV, GETRF, GETRS, INNER, LU_DETERMINANT, POSV,
                                   POTRF, POTRI, POTRS, SCAL, SCALAR, STREAMED_SYRK, SYMM, SYMMETRIZE,
                                   SYRK, TRACE, TRANSPOSE, TRMM, TRSM, TRTRI, TRTRS,
                                   MatrixComputation,
                                   NotPositiveDeterminantError, RoutineError)
from computations.matrices.transforms.blocking import BlockOp
from computations.inplace import Copy

__all__ = ['kernel', 'run', 'routine', 'symmetrize', 'zero_upper', 'zero_lower', 'check_info',
           'check_diagonal']


def routine(op, *arrays):
    """The scipy wrapper for ``op``'s routine, typed for ``arrays`` (``dgemm``, ``sgemm``, ...).

    >>> import sympy
    >>> from computations.matrices import POTRF
    >>> routine(POTRF(sympy.MatrixSymbol('A', 2, 2)), np.eye(2, dtype='float32')).typecode
    's'
    """
    get = blas.get_blas_funcs if op.library == 'blas' else lapack.get_lapack_funcs
    return get(op.routine, arrays)


def check_info(op, info):
    """Raise the error ``op`` declares for a positive LAPACK ``info``; a negative one is a bug."""
    if info == 0:
        return
    name = type(op.op if isinstance(op, BlockOp) else op).__name__
    if info < 0:
        raise RoutineError(name, op.outputs[0], info,
                           f'{name}: argument {-info} of {op.routine} had an illegal value '
                           f'(computing {op.outputs[0]}); this is a bug in computations')
    error, argument = op.failure
    raise error(name, getattr(op, argument), info)


def symmetrize(c, written='upper'):
    """Complete a square array from the triangle a routine wrote, in place; return it.

    >>> symmetrize(np.array([[1., 2.], [0., 3.]], order='F'))
    array([[1., 2.],
           [2., 3.]])
    """
    def copy(rows, cols):           # the other triangle's block, transposed
        if written == 'upper':
            c[cols, rows] = c[rows, cols].T
        else:
            c[rows, cols] = c[cols, rows].T
    _by_blocks(c.shape[0], copy, lambda block: _mirror(c[block, block], written))
    return c


def zero_upper(c):
    """Clear the strictly upper triangle (where POSV leaves A's old values), in place."""
    def clear(rows, cols):
        c[rows, cols] = 0
    _by_blocks(c.shape[0], clear, lambda block: _clear_upper(c[block, block]))
    return c


def zero_lower(c):
    """Clear the strictly lower triangle, in place; return the array.

    >>> zero_lower(np.ones((2, 2), order='F'))
    array([[1., 1.],
           [0., 1.]])
    """
    zero_upper(c.T)
    return c


#: The side of the square blocks the triangle loops copy: vectorized copies,
#: about (n/64)**2/2 Python steps instead of n, and temporaries of at most
#: 48 KB (numpy copies a source that overlaps its destination's bounds, and
#: triu_indices makes index arrays), which the memory model can ignore.  At
#: n = 2000 blocks of 64 were as fast as blocks of 256 (3.1 vs 3.6 ms).
_BLOCK = 64


def _by_blocks(n, off_diagonal, diagonal):
    """Visit the strict upper triangle of an n x n array by :data:`_BLOCK`-square blocks.

    ``off_diagonal(rows, cols)`` gets each block above the diagonal;
    ``diagonal(block)`` each diagonal block.
    """
    blocks = [slice(start, min(start + _BLOCK, n)) for start in range(0, n, _BLOCK)]
    for j, cols in enumerate(blocks):
        for rows in blocks[:j]:
            off_diagonal(rows, cols)
        diagonal(cols)


@functools.lru_cache(maxsize=_BLOCK + 1)
def _upper(n):
    """The strict upper triangle's indices of an n x n block (cached: n <= the block size;
    read-only, as every thread shares them)."""
    rows, cols = np.triu_indices(n, 1)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def _mirror(d, written):
    upper = _upper(d.shape[0])
    if written == 'upper':
        d.T[upper] = d[upper]
    else:
        d[upper] = d.T[upper]


def _clear_upper(d):
    d[_upper(d.shape[0])] = 0


def _vector(x):
    """A column vector as the 1-D view BLAS level 2 wants."""
    return x.reshape(-1, order='F')


def _owned(x, name, overwrite):
    """``x`` itself if the kernel may destroy it, else a Fortran-ordered copy."""
    return x if name in overwrite else np.array(x, order='F', copy=True)


def _no_kernel(op, args, overwrite):
    raise NotImplementedError(
        f'no kernel is registered for {type(op).__name__}; register one with '
        f'computations.schedulers.kernels.kernel.register({type(op).__name__})')


kernel = functools.singledispatch(_no_kernel)
kernel.__doc__ = """Run ``op`` on bound arguments (a registry by operation class; see the module)."""


def run(op, values, overwrite=frozenset()):
    """Run ``op`` on the values of its inputs (in order); return its output arrays.

    ``overwrite`` names input *positions* whose storage may be destroyed.
    Kernels of :class:`~computations.matrices.MatrixComputation` classes get
    bound arguments and argument names; other kernels get the list of values
    and the positions.
    """
    implementation = kernel.dispatch(type(op))
    if implementation is _no_kernel:
        _no_kernel(op, None, None)
    if isinstance(op, MatrixComputation):
        args = op.bind(values)
        allowed = frozenset(op.input_arguments[i] for i in overwrite)
    else:                                   # other kernels take values and positions as given
        args, allowed = list(values), frozenset(overwrite)
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
    """A scalar expression of the scalar inputs, evaluated exactly by SymPy, then as a float."""
    return (float(op.expr.xreplace(dict(zip(op.inputs, map(sympy.Float, values))))),)


@kernel.register(TRANSPOSE)
def _transpose(op, a, overwrite):
    return (np.array(a['X'].T, order='F', copy=True),)


@kernel.register(SYMMETRIZE)
def _symmetrize(op, a, overwrite):
    return (symmetrize(_owned(a['X'], 'X', overwrite), 'lower'),)


@kernel.register(STREAMED_SYRK)
def _streamed_syrk(op, a, overwrite):
    from .streamed import streamed_syrk
    return (streamed_syrk(a['alpha'], a['P'], a['A'], a['B'], a['beta'], a['C'],
                          trans_a=op.trans_a, trans_b=op.trans_b, symmetric=op.symmetric,
                          trans=op.trans, overwrite_c='C' in overwrite, rows=op.PANEL_ROWS),)


@kernel.register(CHOLESKY_ADJOINT)
def _cholesky_adjoint(op, a, overwrite):
    from .cholesky_adjoint import cholesky_adjoint
    return (cholesky_adjoint(a['alpha'], a['L'], a['B'], overwrite_b='B' in overwrite),)


# Scalars of matrices -------------------------------------------------------------

@kernel.register(TRACE)
def _trace(op, a, overwrite):
    return (float(np.trace(a['X'])),)


@kernel.register(INNER)
def _inner(op, a, overwrite):
    A, B = a['A'], a['B']
    if op.trans:
        return (float(np.einsum('ij,ji->', A, B)),)
    return (float(np.vdot(A.ravel(order='K'), B.ravel(order='K')))
            if A.strides == B.strides else float(np.sum(A * B)),)


@kernel.register(ELEMENT)
def _element(op, a, overwrite):
    return (float(a['X'][int(op.i), int(op.j)]),)


@kernel.register(CHOLESKY_DETERMINANT)
def _cholesky_determinant(op, a, overwrite):
    diagonal = np.diagonal(a['L'])
    if op.log:
        return (2.0 * float(np.sum(np.log(diagonal))),)
    return (float(np.prod(diagonal)) ** 2,)


@kernel.register(LU_DETERMINANT)
def _lu_determinant(op, a, overwrite):
    diagonal, pivots = np.diagonal(a['LU']), np.ravel(a['pivots'])
    swaps = int(np.count_nonzero(pivots != np.arange(len(pivots))))
    sign = (-1.0) ** (swaps + int(np.count_nonzero(diagonal < 0)))
    if not op.log:
        return (sign * float(np.prod(np.abs(diagonal))),)
    if sign < 0 or not np.all(diagonal):
        value = sign * float(np.prod(np.abs(diagonal)))
        raise NotPositiveDeterminantError('LU_DETERMINANT', sympy.Determinant(op.LU.arg),
                                          value)
    return (float(np.sum(np.log(np.abs(diagonal)))),)


# BLAS ------------------------------------------------------------------------

@kernel.register(GEMM)
def _gemm(op, a, overwrite):
    f = routine(op, a['A'], a['B'])
    if a['C'] is None:
        return (f(a['alpha'], a['A'], a['B'], trans_a=op.trans_a, trans_b=op.trans_b),)
    return (f(a['alpha'], a['A'], a['B'], a['beta'], a['C'], trans_a=op.trans_a,
              trans_b=op.trans_b, overwrite_c='C' in overwrite),)


@kernel.register(SYMM)
def _symm(op, a, overwrite):
    f = routine(op, a['A'], a['B'])
    side = int(op.side == 'R')
    if a['C'] is None:
        return (f(a['alpha'], a['A'], a['B'], side=side),)
    return (f(a['alpha'], a['A'], a['B'], a['beta'], a['C'], side=side,
              overwrite_c='C' in overwrite),)


@kernel.register(SYRK)
def _syrk(op, a, overwrite):
    f = routine(op, a['A'])
    if a['C'] is None:
        c = f(a['alpha'], a['A'], trans=op.trans)
    else:
        c = f(a['alpha'], a['A'], a['beta'], a['C'], trans=op.trans,
              overwrite_c='C' in overwrite)
    return (symmetrize(c, 'upper'),)


@kernel.register(GEMV)
def _gemv(op, a, overwrite):
    f = routine(op, a['A'], a['x'])
    x = _vector(a['x'])
    if a['y'] is None:
        y = f(a['alpha'], a['A'], x, trans=op.trans)
    else:
        y = f(a['alpha'], a['A'], x, a['beta'], _vector(a['y']), trans=op.trans,
              overwrite_y='y' in overwrite)
    return (y.reshape(-1, 1, order='F'),)


@kernel.register(AXPY)
def _axpy(op, a, overwrite):
    y = _owned(a['Y'], 'Y', overwrite)       # axpy always writes into y
    z = routine(op, a['X'], y)(_vector(a['X']), _vector(y), a=a['alpha'])
    return (z.reshape(y.shape, order='F'),)


@kernel.register(SCAL)
def _scal(op, a, overwrite):
    x = _owned(a['X'], 'X', overwrite)       # scal always writes into x
    return (routine(op, x)(a['alpha'], _vector(x)).reshape(x.shape, order='F'),)


@kernel.register(COPY)
def _copy(op, a, overwrite):
    x = a['X']
    y = np.empty_like(x, order='F')
    return (routine(op, x)(_vector(x), _vector(y)).reshape(x.shape, order='F'),)


def check_diagonal(op, a):
    """Raise ``op``'s SingularMatrixError if the triangular matrix ``a`` of a solve has a
    zero on its diagonal: TRSM, unlike TRTRS, does not check, and would divide by it."""
    zeros = np.flatnonzero(np.diagonal(a) == 0)
    if zeros.size:
        check_info(op, int(zeros[0]) + 1)


def _triangular_product(op, a, overwrite):
    return (routine(op, a['A'], a['B'])(
        a['alpha'], a['A'], a['B'], side=int(op.side == 'R'), lower=op.lower,
        trans_a=op.trans_a, diag=op.unit_diagonal, overwrite_b='B' in overwrite),)


kernel.register(TRMM, _triangular_product)


@kernel.register(TRSM)
def _trsm(op, a, overwrite):
    if op.checks_diagonal:
        check_diagonal(op, a['A'])
    return _triangular_product(op, a, overwrite)


# LAPACK ----------------------------------------------------------------------

@kernel.register(POTRF)
def _potrf(op, a, overwrite):
    c, info = routine(op, a['A'])(a['A'], lower=1, clean=1, overwrite_a='A' in overwrite)
    check_info(op, info)
    return (c,)


@kernel.register(POTRS)
def _potrs(op, a, overwrite):
    x, info = routine(op, a['L'], a['B'])(a['L'], a['B'], lower=1,
                                          overwrite_b='B' in overwrite)
    check_info(op, info)
    return (x,)


@kernel.register(POTRI)
def _potri(op, a, overwrite):
    inverse, info = routine(op, a['L'])(a['L'], lower=1, overwrite_c='L' in overwrite)
    check_info(op, info)
    return (symmetrize(inverse, 'lower'),)


@kernel.register(POSV)
def _posv(op, a, overwrite):
    c, x, info = routine(op, a['A'], a['B'])(a['A'], a['B'], lower=1,
                                             overwrite_a='A' in overwrite,
                                             overwrite_b='B' in overwrite)
    check_info(op, info)
    return (x, zero_upper(c))


@kernel.register(GETRF)
def _getrf(op, a, overwrite):
    lu, piv, info = routine(op, a['A'])(a['A'], overwrite_a='A' in overwrite)
    check_info(op, info)
    return (lu, piv)


@kernel.register(GETRS)
def _getrs(op, a, overwrite):
    x, info = routine(op, a['LU'], a['B'])(a['LU'], a['pivots'], a['B'], trans=op.trans,
                                           overwrite_b='B' in overwrite)
    check_info(op, info)
    return (x,)


@kernel.register(GESV)
def _gesv(op, a, overwrite):
    lu, piv, x, info = routine(op, a['A'], a['B'])(a['A'], a['B'],
                                                   overwrite_a='A' in overwrite,
                                                   overwrite_b='B' in overwrite)
    check_info(op, info)
    return (x, lu, piv)


@kernel.register(TRTRS)
def _trtrs(op, a, overwrite):
    x, info = routine(op, a['A'], a['B'])(a['A'], a['B'], lower=op.lower, trans=op.trans,
                                          unitdiag=op.unit_diagonal,
                                          overwrite_b='B' in overwrite)
    check_info(op, info)
    return (x,)


@kernel.register(TRTRI)
def _trtri(op, a, overwrite):
    inverse, info = routine(op, a['A'])(a['A'], lower=op.lower, unitdiag=op.unit_diagonal,
                                        overwrite_c='A' in overwrite)
    check_info(op, info)
    return ((zero_upper if op.lower else zero_lower)(inverse),)
