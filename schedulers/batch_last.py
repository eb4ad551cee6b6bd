"""Stacked kernels on the batch-last layout: a batch of small problems as ``(rows, columns,
batch)`` arrays.

On the batch-first layout (:mod:`~computations.schedulers.stacked_kernels`) a product
is NumPy's stacked ``matmul``, which calls BLAS once per problem, and a Cholesky factor
NumPy's stacked LAPACK call: for matrices of a few rows the time is per-problem overhead.
With the batch last, every step of a small factorization or substitution is one vector
operation over the whole batch, a product of stacks one ``einsum`` over it, and a
product with a matrix every problem shares one GEMM for the whole batch (the Kalman
update written so by hand ran 2.45x faster than stacked NumPy at n = 6,
``benchmarks/probe_batch_last.py``).  :data:`BATCH_LAST_MAX` and
:data:`BATCH_LAST_MIN_PROBLEMS` say when the front door takes this layout.

Values: a matrix per problem is an array of shape ``(rows, columns, batch)``, a matrix
every problem shares ``(rows, columns, 1)`` (so that it broadcasts), a scalar per problem
``(1, 1, batch)``, a constant a Python float.  The hot
operations have kernels written for the layout (:data:`KERNELS`); every other operation
runs its batch-first kernel on views with the batch moved first (:func:`_adapted`), so
every operation with a stacked kernel has one here too.  Failures raise
``numpy.linalg.LinAlgError``, as there.  In a chunked run the primitives write into
arrays taken from the run's :class:`ChunkBuffers` (:func:`taking_from`), the same memory
chunk after chunk and call after call; elsewhere into fresh arrays.

>>> import sympy
>>> from computations.matrices import POTRF
>>> S = sympy.MatrixSymbol('S', 2, 2)
>>> L, = KERNELS[POTRF](POTRF(S), {'A': np.stack([4 * np.eye(2), np.eye(2)], axis=-1)})
>>> L[:, :, 0], L.shape
(array([[2., 0.],
       [0., 2.]]), (2, 2, 2))
"""
import contextlib
import contextvars
import math
import sys

import numpy as np
import scipy.linalg

from computations.matrices import AXPY, COPY, SCAL, SCALAR

from .stacked_kernels import STACKED, products_and_solves
from .stacked_linalg import triangle_mask

__all__ = ['KERNELS', 'BATCH_LAST_MAX', 'BATCH_LAST_MIN_PROBLEMS', 'to_batch_last',
           'to_batch_first', 'matmul', 'cholesky', 'triangular_solve', 'ChunkBuffers',
           'taking_from']

#: The front door runs a batch on this layout when no matrix has more rows or columns than
#: this and it has at least :data:`BATCH_LAST_MIN_PROBLEMS` problems (batch-first
#: otherwise).  Measured on the Kalman update (n, k = n/2), one thread, in a process past
#: its first calls (the very first calls of a process ran up to 2x slower on this layout:
#: fresh memory), batch-first / batch-last time: 1,000 problems at n = 3: 1.33, n = 6:
#: 1.42, n = 8: 1.38, n = 10: 1.46, n = 12: 0.99, n = 14: 0.52; n = 6 with 10 problems:
#: 0.58, 100: 0.84, 200-300: 1.02-1.04, 500: 1.10, 10,000: 1.49.  Its kernels are more
#: calls, each dearer, so it pays on large batches of the smallest matrices only.
BATCH_LAST_MAX = 10
BATCH_LAST_MIN_PROBLEMS = 500

#: The kernel of each operation class on this layout: ``kernel(op, bound) -> outputs``.
KERNELS = {}


class ChunkBuffers:
    """Memory a chunked run's kernels write into, used again chunk after chunk and call
    after call: after a :meth:`rewind`, the ``i``-th array taken lies in the same memory as
    the ``i``-th array taken after the rewind before (grown when it is too small).

    A chunk's kernels take arrays of the same sizes in the same order in every full chunk,
    so after the first chunk a run's products, solves and Cholesky factors allocate
    nothing: fresh memory from the system costs page faults (2-3 us apiece on a virtual
    machine), and a Kalman batch of 10,000 problems at n = 6 spent half its time on them
    when the allocator returned each chunk's memory to the system.  Whoever rewinds must
    hold no array taken before it: :func:`~computations.schedulers.stacked.run_in_chunks`
    copies each chunk's results out first.  ``chunks`` remembers, per program, the chunk
    size a run measured (:meth:`remember`), so that the next run starts at it (not at a
    guess that grows the memory beyond it); :meth:`release` lets the memory go.

    >>> buffers = ChunkBuffers()
    >>> a = buffers.take((2, 3), np.float64); buffers.rewind()
    >>> b = buffers.take((3, 2), np.float64)
    >>> b.shape, bool(np.shares_memory(a, b)), buffers.nbytes
    ((3, 2), True, 48)
    >>> buffers.release(); buffers.nbytes
    0
    """
    __slots__ = ('_memory', '_next', 'chunks')

    def __init__(self):
        self._memory, self._next, self.chunks = [], 0, {}

    def take(self, shape, dtype):
        """An uninitialized C-ordered array of ``shape`` and ``dtype``."""
        dtype = np.dtype(dtype)
        nbytes = dtype.itemsize * math.prod(shape)
        i, self._next = self._next, self._next + 1
        if i == len(self._memory):
            self._memory.append(np.empty(nbytes, np.uint8))
        elif self._memory[i].nbytes < nbytes:
            self._memory[i] = np.empty(nbytes, np.uint8)
        return self._memory[i][:nbytes].view(dtype).reshape(shape)

    def rewind(self):
        """Take the same memory again from the first array (see above)."""
        self._next = 0

    def remember(self, key, size):
        """Remember the chunk ``size`` a run of ``key`` (its program, layout...) measured;
        the oldest of :data:`REMEMBERED` sizes is forgotten first (a key holds its
        program, which the caller's caches may have let go)."""
        self.chunks.pop(key, None)
        if len(self.chunks) >= REMEMBERED:
            del self.chunks[next(iter(self.chunks))]
        self.chunks[key] = size

    def release(self):
        """Let all the memory go (arrays taken before stay valid: they hold theirs)."""
        self._memory, self._next = [], 0

    @property
    def nbytes(self):
        """The bytes held."""
        return sum(memory.nbytes for memory in self._memory)


#: How many programs' chunk sizes a :class:`ChunkBuffers` remembers.
REMEMBERED = 16


#: The :class:`ChunkBuffers` this context's kernels take their results from (None: fresh
#: arrays), set by :func:`taking_from`.
_BUFFERS = contextvars.ContextVar('computations_chunk_buffers', default=None)


@contextlib.contextmanager
def taking_from(buffers):
    """Run this layout's kernels, in this context, on arrays taken from ``buffers`` (a
    :class:`ChunkBuffers`; None: fresh arrays)."""
    token = _BUFFERS.set(buffers)
    try:
        yield buffers
    finally:
        _BUFFERS.reset(token)


def _empty(shape, dtype):
    """An uninitialized array, from this context's buffers when it has them."""
    buffers = _BUFFERS.get()
    return np.empty(shape, dtype) if buffers is None else buffers.take(shape, dtype)


def to_batch_last(value):
    """A batch-first value (``(batch, rows, columns)``) on this layout, contiguous; a
    shared matrix (two dimensions) with a batch of one.

    >>> to_batch_last(np.zeros((5, 2, 3))).shape, to_batch_last(np.zeros((2, 3))).shape
    ((2, 3, 5), (2, 3, 1))
    """
    if value.ndim == 2:
        return value[:, :, None]
    out = _empty(value.shape[1:] + value.shape[:1], value.dtype)
    np.copyto(out, value.transpose(1, 2, 0))
    return out


def to_batch_first(value):
    """A value of this layout batch-first again (a view; a shared one a batch of one).

    >>> to_batch_first(np.zeros((2, 3, 5))).shape
    (5, 2, 3)
    """
    return np.moveaxis(value, -1, 0)


def _adapted(kernel):
    """``kernel`` (batch-first) run on this layout's values, moved batch-first and back."""
    def run(op, a):
        moved = {name: to_batch_first(value) if isinstance(value, np.ndarray) else value
                 for name, value in a.items()}
        return tuple(np.moveaxis(out, 0, -1) for out in kernel(op, moved))
    return run


# Primitives ------------------------------------------------------------------------------

def swap(x):
    """Each problem's transpose (a view)."""
    return np.swapaxes(x, 0, 1)


def op_of(x, transposed):
    """``x``, or its transposes when ``transposed`` (a routine's ``op(x)``)."""
    return swap(x) if transposed else x


def _shared(x):
    """Whether ``x`` is one matrix for every problem (a batch of one)."""
    return x.shape[2] == 1


def matmul(A, B):
    """``A @ B`` for each problem; either may be shared (a batch of one).

    A shared ``A`` times a stack is one GEMM over the batch (the stack's columns side by
    side); a stack times a shared ``B`` a stacked ``matmul`` over A's rows (a GEMM each);
    two stacks an ``einsum``,
    which ran faster than NumPy's batch-first stacked ``matmul`` at these sizes (6 x 6 by
    6 x 6, 2,000 problems: 281 us; 12 x 12, 1,000: 1.3 ms) -- above 1,000 multiply-adds
    a problem ``einsum``'s own contraction order, by BLAS, is faster.

    >>> A, B = np.arange(12.0).reshape(2, 3, 2), np.arange(6.0).reshape(3, 2, 1)
    >>> bool(np.allclose(matmul(swap(A), A)[:, :, 1], A[:, :, 1].T @ A[:, :, 1]))
    True
    >>> bool(np.allclose(matmul(B, A)[:, :, 0], B[:, :, 0] @ A[:, :, 0]))
    True
    """
    dtype = np.result_type(A, B)
    if _shared(A):
        rows, columns, count = B.shape
        out = _empty((A.shape[0], columns * count), dtype)
        np.matmul(A[:, :, 0], B.reshape(rows, columns * count), out=out)
        return out.reshape(A.shape[0], columns, count)
    if _shared(B):                 # for each row i of A: its (batch, l) transpose times B
        out = _empty((A.shape[0], A.shape[2], B.shape[1]), dtype)
        np.matmul(np.swapaxes(A, 1, 2), B[:, :, 0], out=out)
        return np.swapaxes(out, 1, 2)
    work = A.shape[0] * A.shape[1] * B.shape[1]
    return np.einsum('ilb,ljb->ijb', A, B, optimize=work > 1000,
                     out=_empty((A.shape[0], B.shape[1], max(A.shape[2], B.shape[2])), dtype))


def triangle(A, lower, unit=False):
    """The triangle of ``A`` a triangular routine reads (the other entries zero).

    >>> triangle(np.ones((2, 2, 1)), lower=True, unit=False)[:, :, 0]
    array([[1., 0.],
           [1., 1.]])
    """
    T = _empty(A.shape, A.dtype)
    T.fill(0)
    np.copyto(T, A, where=triangle_mask(A.shape[:2], lower)[:, :, None])
    if unit:
        T[np.arange(A.shape[0]), np.arange(A.shape[0])] = 1.0
    return T


def cholesky(S):
    """The lower Cholesky factors of ``S`` (read from its lower triangle), a column at a
    time, each step one vector operation over the batch; LinAlgError when one is not
    positive definite.

    >>> cholesky(np.stack([4 * np.eye(2), np.eye(2)], axis=-1))[:, :, 1]
    array([[1., 0.],
           [0., 1.]])
    """
    n = S.shape[0]
    L = _empty(S.shape, S.dtype)
    L.fill(0)
    for j in range(n):
        d = S[j, j] - np.einsum('lb,lb->b', L[j, :j], L[j, :j]) if j else S[j, j]
        if not np.all(d > 0):
            raise np.linalg.LinAlgError('a matrix of the batch is not positive definite')
        L[j, j] = np.sqrt(d)
        if j + 1 < n:
            rest = S[j + 1:, j] - np.einsum('ilb,lb->ib', L[j + 1:, :j], L[j, :j]) if j \
                else S[j + 1:, j]
            L[j + 1:, j] = rest / L[j, j]
    return L


def triangular_solve(T, B, lower):
    """``T.I*B`` for triangular ``T`` (zeros in the other triangle); either may be shared.

    A shared T is one TRSM for the whole batch (its right-hand sides side by side); a
    stack of them a substitution, one vector operation over the batch per row.  A zero
    on a diagonal raises LinAlgError.

    >>> T = np.stack([2 * np.eye(2), np.eye(2)], axis=-1)
    >>> triangular_solve(T, np.ones((2, 1, 1)), True)[:, 0, :]
    array([[0.5, 1. ],
           [0.5, 1. ]])
    """
    n = T.shape[0]
    if not np.diagonal(T).all():                     # (batch, n): each problem's diagonal
        raise np.linalg.LinAlgError('a singular triangular matrix in the batch')
    if _shared(T):
        rows, columns, count = B.shape
        X = scipy.linalg.solve_triangular(T[:, :, 0], B.reshape(rows, columns * count),
                                          lower=lower, check_finite=False)
        return X.reshape(rows, columns, count)
    count = max(T.shape[2], B.shape[2])
    X = _empty((n, B.shape[1], count), np.result_type(T, B))
    for step, i in enumerate(range(n) if lower else range(n - 1, -1, -1)):
        done = slice(0, i) if lower else slice(i + 1, n)
        rest = B[i] if not step else B[i] - np.einsum('lb,lkb->kb', T[i, done], X[done])
        X[i] = rest / T[i, i]
    return X


def cholesky_solve(L, B):
    """``(L*L.T).I*B`` from the lower factors ``L``."""
    return triangular_solve(swap(L), triangular_solve(L, B, True), False)


# Kernels: the products and solves on these primitives, the rest adapted ----------------------

KERNELS.update(products_and_solves(sys.modules[__name__]))

for _cls in (AXPY, SCAL, SCALAR, COPY):            # elementwise: the same on either layout
    KERNELS[_cls] = STACKED[_cls]

for _cls, _kernel in STACKED.items():
    KERNELS.setdefault(_cls, _adapted(_kernel))
