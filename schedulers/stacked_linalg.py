"""Linear algebra on stacks of small matrices, one NumPy call for the whole stack.

The primitives of the stacked kernels (:mod:`~computations.schedulers.stacked_kernels`):
arrays of shape ``batch + (rows, columns)``, a matrix every problem shares may keep its
two dimensions (it broadcasts).  NumPy has stacked products, Cholesky factorizations and
LU solves; a triangular solve is a substitution of one vectorized step per row for the
whole batch (:func:`triangular_solve`), as SciPy's batched ``solve_triangular`` and
``cho_solve`` loop over the batch in Python (8 and 4 us a 6 x 6 problem).

>>> L = np.tril(np.ones((3, 2, 2))) + np.eye(2)            # three problems
>>> x = triangular_solve(L, np.ones((2, 1)), lower=True)   # the right side shared
>>> x[0, :, 0]
array([0.5 , 0.25])
"""
import contextlib
import functools
import math
import sys
import threading

import numpy as np

__all__ = ['product', 'swap', 'op_of', 'matmul', 'accumulate', 'triangle', 'triangular_solve',
           'cholesky', 'cholesky_solve', 'add_to_diagonal', 'diagonal', 'symmetrize_lower',
           'triangle_mask', 'SUBSTITUTION_MAX', 'SUBSTITUTION_MIN_WORK', 'SHARED_LEFT_MAX']


def product(values):
    """The products along the last axis of ``values`` (a determinant from a diagonal),
    which overflow or underflow only where the product itself does: ``numpy.prod`` of
    ``(1e-200, 1e-200, 1e250, 1e250)`` is 0 (its partial product underflows), this is
    1e100.  Mantissas and exponents are multiplied apart (:func:`numpy.frexp`), a block of
    mantissas at a time, each product of a block renormalized; the rounding is the
    sequential product's.

    >>> diagonal = np.array([2.0 ** -600, 2.0 ** -600, 2.0 ** 700, 2.0 ** 700])
    >>> with np.errstate(under='ignore'):
    ...     float(np.prod(diagonal)), bool(product(diagonal) == 2.0 ** 200)
    (0.0, True)
    >>> product(np.array([[2.0, -3.0], [0.5, 4.0], [0.0, 7.0]]))    # one per row
    array([-6.,  2.,  0.])
    """
    values = np.asarray(values)
    mantissas, exponents = np.frexp(values)
    mantissa = np.ones(values.shape[:-1], dtype=mantissas.dtype)
    exponent = np.zeros(values.shape[:-1], dtype=np.int64)
    for start in range(0, values.shape[-1], _PRODUCT_BLOCK):
        block = slice(start, start + _PRODUCT_BLOCK)
        mantissa, scale = np.frexp(mantissa * np.prod(mantissas[..., block], axis=-1))
        exponent += scale + np.sum(exponents[..., block], axis=-1, dtype=np.int64)
    # beyond +-2**16 every float is inf or 0 already
    return np.ldexp(mantissa, np.clip(exponent, -2 ** 16, 2 ** 16).astype(np.int32))


#: Mantissas (in [0.5, 1)) multiplied at once by :func:`product`: 0.5**64 is a normal
#: float32 still.
_PRODUCT_BLOCK = 64


def swap(x):
    """The transposes of a stack's matrices (a view).

    >>> swap(np.zeros((4, 2, 3))).shape
    (4, 3, 2)
    """
    return np.swapaxes(x, -1, -2)


def op_of(x, transposed):
    """``x``, or its transposes when ``transposed`` (a routine's ``op(x)``)."""
    return swap(x) if transposed else x


#: A shared matrix times a stack is one GEMM when the stack's matrices have at most this
#: many entries: its result is a transposed (strided) stack, which later kernels read slower
#: (the Kalman batch of 1,000, one thread, paired: 1.24x the time with it at n = 50, 1.13x
#: at n = 32, 1.10x at n = 20; the same at n = 6).
SHARED_LEFT_MAX = 256


def matmul(X, Y):
    """``X @ Y`` on stacks.

    A matrix every problem shares makes the whole batch one GEMM: ``X`` stacked times a
    shared ``Y`` is the stack's rows times ``Y``, a shared ``X`` times ``Y`` stacked is
    ``(Y.T @ X.T).T`` so; NumPy's stacked matmul calls BLAS once per problem (10,000
    problems, one thread: a stack of 6 x 6 times a shared 6 x 3 took 1,120 us stacked,
    430 as one GEMM; a shared 3 x 6 times a stack of 6 x 1, 460 and 74).  A transposed
    (strided) stack goes to NumPy as it is: its matrices are still BLAS operands (one
    stride is the item's), and copying it to C order first made the Kalman batch slower
    (NumPy 2.4, one thread, paired: 7% at n = 50, within noise at n = 6 and 20).

    >>> X, Y = np.arange(24.0).reshape(4, 2, 3), np.arange(6.0).reshape(3, 2)
    >>> bool(np.array_equal(matmul(X, Y), X @ Y))
    True
    >>> bool(np.array_equal(matmul(Y.T, swap(X)), Y.T @ swap(X)))
    True
    """
    if X.ndim > 2 and Y.ndim == 2:
        return (X.reshape(-1, X.shape[-1]) @ Y).reshape(X.shape[:-1] + Y.shape[-1:])
    if X.ndim == 2 and Y.ndim > 2 and Y.shape[-2] * Y.shape[-1] <= SHARED_LEFT_MAX:
        Yt = swap(Y)
        return swap((Yt.reshape(-1, Yt.shape[-1]) @ swap(X)).reshape(Yt.shape[:-1] + X.shape[:1]))
    return X @ Y


def accumulate(alpha, product, beta, C, fresh=True):
    """``alpha*product + beta*C`` (``C`` None: no term), in ``product``'s memory when it is
    ``fresh`` (made by the kernel) and holds the result's shape and dtype: each new array
    is an allocation, and on a large batch those cost page faults more than the arithmetic
    (a Kalman batch of 10,000 at n = 6 spent 3 of its 12 ms on them)."""
    if C is not None and _is_one(beta) and _is_minus_one(alpha):      # C - product: one pass
        return _update(product, C, _subtracted_from, fresh)
    if not _is_one(alpha):
        product = _update(product, alpha, np.multiply, fresh)
        fresh = True
    if C is None or _is_zero(beta):
        return product
    return _update(product, C if _is_one(beta) else beta * C, np.add, fresh)


def _update(x, y, ufunc, fresh):
    """``ufunc(x, y)``, into ``x`` when it is ``fresh`` and holds the result."""
    if fresh and _holds(x, y):
        return ufunc(x, y, out=x)
    return ufunc(x, y)


def _subtracted_from(x, y, out=None):
    """``y - x`` (into ``out``): :func:`_update`'s ufunc for ``C - product``."""
    return np.subtract(y, x, out=out)


def _holds(x, y):
    """Whether ``x`` has the shape and dtype of ``x`` combined with ``y`` (a Python float
    or an array): NumPy's own ``broadcast_shapes`` and ``result_type`` cost 2.5 us a
    kernel of a batch of 10 problems that takes 10.

    >>> x = np.ones((4, 3, 3))
    >>> _holds(x, 2.0), _holds(x, np.ones((3, 1))), _holds(x, np.ones((2, 4, 3, 3)))
    (True, True, False)
    >>> _holds(x, np.ones((3, 3), dtype=np.float32)), _holds(x.astype(np.float32), x)
    (True, False)
    """
    if type(y) is float:                  # weak (NEP 50): the result keeps x's dtype
        return True
    if y.ndim > x.ndim or np.result_type(x.dtype, y.dtype) != x.dtype:
        return False
    return all(b == 1 or b == a for a, b in zip(x.shape[::-1], y.shape[::-1]))


def _is_one(x):
    return isinstance(x, float) and x == 1.0


def _is_minus_one(x):
    return isinstance(x, float) and x == -1.0


def _is_zero(x):
    return isinstance(x, float) and x == 0.0


def triangle(A, lower, unit=False):
    """The triangle of ``A`` a triangular routine reads (the other entries zero).

    >>> triangle(np.ones((1, 2, 2)), lower=False, unit=True)[0]
    array([[1., 1.],
           [0., 1.]])
    """
    T = np.where(triangle_mask(A.shape[-2:], lower), A, A.dtype.type(0))
    if unit:
        T = T.copy()
        np.einsum('...ii->...i', T)[...] = 1.0
    return T


@functools.lru_cache(maxsize=256)
def triangle_mask(shape, lower):
    """Where a ``shape`` matrix's lower (or upper) triangle is: ``np.where`` with it takes
    1.4 us on 10 problems of order 3, ``np.tril`` 4.5 (it builds the mask every call)."""
    rows, columns = np.indices(shape)
    return rows >= columns if lower else rows <= columns



#: Triangular solves of at most this order run as substitution, one vectorized step per row
#: for the whole batch; larger ones as NumPy's stacked LU solve (NumPy has no stacked
#: triangular solve, and SciPy's loops over the batch in Python).
SUBSTITUTION_MAX = 32

#: ... and of at least this many problems times the order: a step costs NumPy's overhead
#: of a few calls (about 4.5 us a row), LU about 0.007 n^2 us a problem past its own 5 us,
#: so a small batch solves faster by LU (n = 6, 10 problems: 27 us by substitution, 7 by
#: LU; 1,000 problems: 78 against 298).  The crossover, measured: about 100 problems for
#: n = 3 to 6, 50 for n = 12, 25 for n = 32.
SUBSTITUTION_MIN_WORK = 600


def triangular_solve(T, B, lower):
    """``T.I*B`` for a stack of triangular ``T`` (zeros in the other triangle).

    >>> T = np.array([[[2.0, 0.0], [1.0, 1.0]]] * 300)               # 300 problems
    >>> triangular_solve(T, np.ones((2, 1)), True)[299, :, 0]        # by substitution
    array([0.5, 0.5])
    >>> triangular_solve(T[:3], np.ones((2, 1)), True)[2, :, 0]      # by LU
    array([0.5, 0.5])
    """
    n = T.shape[-1]
    batch = T.shape[:-2] if T.shape[:-2] == B.shape[:-2] else \
        np.broadcast_shapes(T.shape[:-2], B.shape[:-2])
    if n > SUBSTITUTION_MAX or math.prod(batch) * n < SUBSTITUTION_MIN_WORK:
        return np.linalg.solve(T, B)
    X = np.empty(batch + B.shape[-2:], dtype=np.result_type(T, B))
    rows = range(n) if lower else range(n - 1, -1, -1)
    with SUBSTITUTING:
        for i in rows:
            done = slice(0, i) if lower else slice(i + 1, n)
            rest = B[..., i, :] - (T[..., i:i + 1, done] @ X[..., done, :])[..., 0, :]
            X[..., i, :] = rest / T[..., i, i, None]      # a zero pivot: FloatingPointError
    return X


#: Held while a substitution runs: one thread at a time.  A substitution is a few short
#: NumPy calls per row, each taking and releasing the GIL; two chunks of a batch
#: substituting at once on two threads took 2.4x one's time (80 problems of order 20, 51
#: right-hand sides), where one thread's substitution beside the other's products (long
#: calls without the GIL) costs little.  The Kalman batch of 1,000 on two threads, in one
#: process, 7 alternating rounds twice: n = 50 0.92x and 0.93x the time without the lock
#: (9.04 against 9.87 ms, 8.20 against 8.86), n = 32 0.85x and 1.01x, n = 20 1.00x.
#: (Without a GIL, as in a free-threaded Python, nothing to hold.)
SUBSTITUTING = threading.Lock() if getattr(sys, '_is_gil_enabled', lambda: True)() \
    else contextlib.nullcontext()


def cholesky(S):
    """The lower Cholesky factors of a stack (NumPy's, reading the lower triangle);
    LinAlgError when one is not positive definite.

    >>> cholesky(np.array([[[4.0, 0.0], [0.0, 1.0]]]))[0]
    array([[2., 0.],
           [0., 1.]])
    """
    return np.linalg.cholesky(S)


def cholesky_solve(L, B):
    """``(L*L.T).I*B`` from the lower factors ``L`` (zeros above the diagonal): two
    triangular solves.

    >>> L = np.array([[[2.0, 0.0], [0.0, 1.0]]])
    >>> cholesky_solve(L, np.ones((2, 1)))[0, :, 0]
    array([0.25, 1.  ])
    """
    return triangular_solve(swap(L), triangular_solve(L, B, True), False)



def diagonal(A):
    """The diagonals of a stack's matrices, shape ``batch + (n,)`` (a read-only view).

    >>> diagonal(np.arange(8.0).reshape(2, 2, 2))
    array([[0., 3.],
           [4., 7.]])
    """
    return np.diagonal(A, axis1=-2, axis2=-1)


def add_to_diagonal(C, v):
    """``C`` with ``v`` added to its diagonal, in a new array: ``v`` of shape ``batch + (n,)``
    (a diagonal per problem) or ``batch + (1,)`` (a scalar per problem).

    >>> add_to_diagonal(np.zeros((2, 2)), np.array([[1.0], [2.0]]))      # C shared
    array([[[1., 0.],
            [0., 1.]],
    <BLANKLINE>
           [[2., 0.],
            [0., 2.]]])
    """
    shape = np.broadcast_shapes(C.shape, v.shape[:-1] + (1, 1))
    out = np.empty(shape, dtype=np.result_type(C, v))
    out[...] = C
    np.einsum('...ii->...i', out)[...] += v          # a writable view of the diagonals
    return out


def symmetrize_lower(X):
    """The symmetric matrices whose lower triangles are ``X``'s (SymPy's ``SymmetricLower``).

    >>> symmetrize_lower(np.array([[1.0, 9.0], [2.0, 3.0]]))
    array([[1., 2.],
           [2., 3.]])
    """
    return np.where(triangle_mask(X.shape[-2:], True), X, swap(X))
