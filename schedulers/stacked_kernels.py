"""The stacked kernel of each operation: the operation on a whole batch of problems at once.

A kernel is called as ``kernel(op, bound)`` with ``bound`` the operation's
own ``bind`` of the stacked values (argument name -> value; a
:class:`~computations.matrices.SCALAR`, which has no argument names, gets
its inputs by position) and returns the stacked outputs, in the order of
``op.outputs``.  Values are arrays of shape ``batch + (rows, columns)`` (a
value every problem shares may keep its two dimensions: it broadcasts),
scalars arrays of shape ``batch + (1, 1)`` or Python floats (constants).
Register one for a new operation class with ``@stacked(MyOp)``.

Kernels compute mathematical values whole, from the primitives of
:mod:`~computations.schedulers.stacked_linalg`, and never write into their
arguments: a triangular argument's other triangle is zeroed, as the routine
would not read it (:func:`~.stacked_linalg.triangle`), a diagonal
argument's off-diagonal entries are ignored; a symmetric one is used whole
-- every value here is computed whole, and a symmetric input is one by the
assumption that declares it (mirroring the triangle the routine reads cost
half the time of a small Kalman batch; the results differ from the
routine's at rounding level only, for inputs symmetric only up to
rounding); ``numpy.linalg.cholesky`` itself reads the lower triangle, as
POTRF does.

NumPy has no stacked LU (or symmetric indefinite) factorization to keep:
here a matrix's packed factors ``LU(A)``, ``LDL(A)`` are the matrix ``A``
itself and their pivots an empty array (:func:`_unfactored`), and each
solve or determinant that reads them runs NumPy's stacked LU on ``A``.  A
stacked program may not return them (:data:`PACKED_FACTORS`).

A failure (a matrix that is not positive definite, a singular one, the
logarithm of a determinant that is not positive) raises
``numpy.linalg.LinAlgError`` (or ``FloatingPointError`` under
``np.errstate(divide='raise')``) without saying which problem failed: the
front door then runs the batch problem by problem, which names it.

>>> import sympy
>>> from computations.matrices import SHIFT
>>> C, s = sympy.MatrixSymbol('C', 2, 2), sympy.Symbol('s')
>>> shifted, = STACKED[SHIFT](SHIFT(s, C), {'alpha': np.array([[[1.0]], [[2.0]]]),
...                                         'C': np.zeros((2, 2))})
>>> diagonal(shifted)
array([[1., 1.],
       [2., 2.]])
"""
import numpy as np

from computations.matrices import (AXPY, CHOLESKY_ADJOINT, CHOLESKY_DETERMINANT, COPY, DIAGAXPY,
                                   DIAGMM, DIAGMM_ROOT, ELEMENT, GEMM, GEMV, GESV, GETRF, GETRS,
                                   INNER, LU, LU_DETERMINANT, POSV, POTRF, POTRI, POTRS, SCAL,
                                   SCALAR, SHIFT, SYMM, SYMMETRIZE, SYRK, TRACE, TRANSPOSE,
                                   TRIANGULAR_DETERMINANT, TRMM, TRSM, TRTRI, TRTRS, LUPivots)
from computations.matrices.ops.lapack import LDL, SYSV, SYTRF, SYTRS, LDLPivots

from . import stacked_linalg
from .scalars import scalar_function
from .stacked_linalg import (accumulate, add_to_diagonal, cholesky_solve, diagonal, matmul,
                             op_of, product, swap, symmetrize_lower, triangle,
                             triangular_solve)

__all__ = ['STACKED', 'stacked', 'PACKED_FACTORS', 'products_and_solves']

#: The stacked kernel of each operation class: ``kernel(op, bound) -> outputs``.
STACKED = {}

#: The values a stacked program holds in another form than a routine's (see above).
PACKED_FACTORS = (LU, LUPivots, LDL, LDLPivots)


def stacked(cls):
    """Register the decorated function as the stacked kernel of ``cls``."""
    def register(function):
        STACKED[cls] = function
        return function
    return register


# Products --------------------------------------------------------------------------------

def products_and_solves(la):
    """The kernels of the products, triangular solves and Cholesky factorizations, written
    once on a layout's primitives ``la`` (a module with ``matmul``, ``swap``, ``op_of``,
    ``triangle``, ``triangular_solve``, ``cholesky`` and ``cholesky_solve``):
    :mod:`~.stacked_linalg` here, :mod:`~.batch_last` there.

    >>> sorted(cls.__name__ for cls in products_and_solves(stacked_linalg))[:3]
    ['GEMM', 'GEMV', 'POSV']
    """
    def gemm(op, a):
        product = la.matmul(la.op_of(a['A'], op.trans_a), la.op_of(a['B'], op.trans_b))
        return (accumulate(a['alpha'], product, a['beta'], a['C']),)

    def gemv(op, a):
        product = la.matmul(la.op_of(a['A'], op.trans), a['x'])
        return (accumulate(a['alpha'], product, a['beta'], a['y']),)

    def symm(op, a):
        A = a['A']                            # whole: symmetric by its assumption
        product = la.matmul(A, a['B']) if op.side == 'L' else la.matmul(a['B'], A)
        return (accumulate(a['alpha'], product, a['beta'], a['C']),)

    def syrk(op, a):
        A = a['A']
        product = la.matmul(la.swap(A), A) if op.trans else la.matmul(A, la.swap(A))
        return (accumulate(a['alpha'], product, a['beta'], a['C']),)

    def triangle_of(op, A, trans):
        return la.op_of(la.triangle(A, op.lower, op.unit_diagonal), trans)

    def trmm(op, a):
        A = triangle_of(op, a['A'], op.trans_a)
        product = la.matmul(A, a['B']) if op.side == 'L' else la.matmul(a['B'], A)
        return (accumulate(a['alpha'], product, 0.0, None),)

    def trsm(op, a):
        A = triangle_of(op, a['A'], op.trans_a)
        B = accumulate(a['alpha'], a['B'], 0.0, None, fresh=False)
        lower = op.lower != op.trans_a        # op(A)'s triangle
        if op.side == 'L':                    # op(A) X = B
            return (la.triangular_solve(A, B, lower),)
        return (la.swap(la.triangular_solve(la.swap(A), la.swap(B), not lower)),)

    def trtrs(op, a):
        A = triangle_of(op, a['A'], op.trans)
        return (la.triangular_solve(A, a['B'], op.lower != op.trans),)

    def potrf(op, a):
        return (la.cholesky(a['A']),)         # LinAlgError if not positive definite

    def posv(op, a):
        L = la.cholesky(a['A'])
        return la.cholesky_solve(L, a['B']), L

    def potrs(op, a):
        return (la.cholesky_solve(la.triangle(a['L'], True), a['B']),)

    return {GEMM: gemm, GEMV: gemv, SYMM: symm, SYRK: syrk, TRMM: trmm, TRSM: trsm,
            TRTRS: trtrs, POTRF: potrf, POSV: posv, POTRS: potrs}


STACKED.update(products_and_solves(stacked_linalg))


@stacked(AXPY)
def _axpy(op, a):
    return (accumulate(a['alpha'], a['X'], 1.0, a['Y'], fresh=False),)


@stacked(SCAL)
def _scal(op, a):
    return (a['alpha'] * a['X'],)


@stacked(DIAGMM)
def _diagmm(op, a):
    d = diagonal(a['D'])
    if op.inverse:
        if not np.all(d):
            raise np.linalg.LinAlgError('DIAGMM: a zero on the diagonal of D')
        d = 1.0 / d
    return _scaled(a['alpha'], d, a['B'], op.side)


@stacked(DIAGMM_ROOT)
def _diagmm_root(op, a):
    d = diagonal(a['D'])
    if not np.all(d > 0):
        raise np.linalg.LinAlgError('DIAGMM_ROOT: D is not positive definite')
    root = np.sqrt(d)
    return _scaled(a['alpha'], 1.0 / root if op.inverse else root, a['B'], op.side)


def _scaled(alpha, d, B, side):
    """``alpha*diag(d)*B`` (``side`` 'L') or ``alpha*B*diag(d)``, ``d`` of shape ``batch +
    (n,)``: the rows (columns) of B scaled."""
    product = d[..., :, None] * B if side == 'L' else B * d[..., None, :]
    return (accumulate(alpha, product, 0.0, None),)


# Sums on the diagonal, copies ------------------------------------------------------------

def _scalars(alpha, dtype):
    """A scalar argument as an array of shape ``batch + (1,)`` (a constant: ``(1,)``)."""
    return alpha[..., 0] if isinstance(alpha, np.ndarray) else np.full(1, alpha, dtype=dtype)


@stacked(SHIFT)
def _shift(op, a):
    C = a['C']
    return (add_to_diagonal(C, _scalars(a['alpha'], C.dtype)),)


@stacked(DIAGAXPY)
def _diagaxpy(op, a):
    C = a['C']
    return (add_to_diagonal(C, _scalars(a['alpha'], C.dtype) * diagonal(a['D'])),)


@stacked(TRANSPOSE)
def _transpose(op, a):
    return (swap(a['X']),)


@stacked(COPY)
def _copy(op, a):
    return (a['X'],)                          # no kernel writes into its arguments


@stacked(SYMMETRIZE)
def _symmetrize(op, a):
    return (symmetrize_lower(a['X']),)


# Factorizations and solves ---------------------------------------------------------------

@stacked(POTRI)
def _potri(op, a):
    L = triangle(a['L'], True)
    inverse = cholesky_solve(L, np.eye(L.shape[-1], dtype=L.dtype))
    return (0.5 * (inverse + swap(inverse)),)  # symmetric, as the routine's


@stacked(TRTRI)
def _trtri(op, a):
    T = triangle(a['A'], op.lower, op.unit_diagonal)
    inverse = triangular_solve(T, np.eye(T.shape[-1], dtype=T.dtype), op.lower)
    return (triangle(inverse, op.lower),)     # NumPy's LU leaves rounding in the other one


def _unfactored(A):
    """A's "factors" and "pivots" in a stacked program: A itself, and an empty array."""
    return A, np.empty(A.shape[:-1] + (0,), dtype=np.int32)


@stacked(GETRF)
@stacked(SYTRF)
def _factor(op, a):
    return _unfactored(a['A'])


@stacked(GESV)
@stacked(SYSV)
def _solve(op, a):
    return (np.linalg.solve(a['A'], a['B']), *_unfactored(a['A']))   # LinAlgError if singular


@stacked(GETRS)
def _getrs(op, a):
    return (np.linalg.solve(op_of(a['LU'], op.trans), a['B']),)


@stacked(SYTRS)
def _sytrs(op, a):
    return (np.linalg.solve(a['LDL'], a['B']),)


@stacked(CHOLESKY_ADJOINT)
def _cholesky_adjoint(op, a):
    """``alpha*L.-T*SymmetricLower(L.T*B)*L.-1``, by its formula: four small products."""
    Lt = swap(triangle(a['L'], True))
    B = triangle(a['B'], True)      # its upper triangle is not read (a NaN there: 0*NaN)
    inner = triangular_solve(Lt, symmetrize_lower(matmul(Lt, B)), False)          # L.-T*S
    return (accumulate(a['alpha'], swap(triangular_solve(Lt, swap(inner), False)), 0.0, None),)


# Scalars ---------------------------------------------------------------------------------

def _scalar_result(values):
    """Per-problem scalars (shape ``batch``) as the stacked scalar ``batch + (1, 1)``."""
    return values[..., None, None]


@stacked(TRACE)
def _trace(op, a):
    return (_scalar_result(np.trace(a['X'], axis1=-2, axis2=-1)),)


@stacked(INNER)
def _inner(op, a):
    return (_scalar_result(np.sum(a['A'] * op_of(a['B'], op.trans), axis=(-2, -1))),)


@stacked(ELEMENT)
def _element(op, a):
    i, j = int(op.i), int(op.j)
    return (a['X'][..., i:i + 1, j:j + 1],)


@stacked(CHOLESKY_DETERMINANT)
def _cholesky_determinant(op, a):
    d = diagonal(a['L'])
    value = 2.0 * np.sum(np.log(d), axis=-1) if op.log else product(d) ** 2
    return (_scalar_result(value),)


@stacked(TRIANGULAR_DETERMINANT)
def _triangular_determinant(op, a):
    d = diagonal(a['A'])
    if not op.log:
        return (_scalar_result(product(d)),)
    if not np.all(d) or np.any(np.count_nonzero(d < 0, axis=-1) % 2):
        raise np.linalg.LinAlgError('TRIANGULAR_DETERMINANT: a determinant not positive')
    return (_scalar_result(np.sum(np.log(np.abs(d)), axis=-1)),)


@stacked(LU_DETERMINANT)
def _lu_determinant(op, a):
    sign, logabs = np.linalg.slogdet(a['LU'])          # LU(A) is A here (_unfactored)
    if not op.log:
        return (_scalar_result(sign * np.exp(logabs)),)
    if np.any(sign <= 0):
        raise np.linalg.LinAlgError('LU_DETERMINANT: a determinant not positive')
    return (_scalar_result(logabs),)


@stacked(SCALAR)
def _scalar(op, a):
    """Elementwise: stacked scalars in, stacked scalars out
    (:mod:`computations.schedulers.scalars`)."""
    return (scalar_function(op, stacked=True)(*(a[i] for i in range(len(op.inputs)))),)
