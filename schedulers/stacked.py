"""Run a mathematical program on a whole batch of problems at once: one stacked NumPy/SciPy
call per operation.

For many small problems the cost of a program is the Python overhead of its
calls, paid per problem; here it is paid once per operation for the whole
batch: products are ``numpy.matmul`` on stacks, the Cholesky factorization
NumPy's stacked ``linalg.cholesky``, triangular solves a substitution of
one vectorized step per row for the whole batch (:func:`_triangular_solve`;
NumPy's stacked LU ``solve`` above order :data:`SUBSTITUTION_MAX` and for small
batches, :data:`SUBSTITUTION_MIN_WORK`).  A large
batch runs a chunk of problems at a time (:func:`run_in_chunks`).
SciPy's batched ``solve_triangular`` and ``cho_solve`` loop over the batch
in Python (8 and 4 us a 6 x 6 problem, ``./dev bench batches``) and are not
used.  Each operation class has a stacked kernel in
:data:`STACKED` (a registry, as the kernels of
:mod:`~computations.schedulers.kernels` are); the arguments are bound by the
operation's own ``bind``, as there.  Values are arrays of shape ``batch +
(rows, columns)`` (a value shared by every problem may keep its two
dimensions: it broadcasts), scalars arrays of shape ``batch + (1, 1)``.
Kernels compute mathematical values whole: a triangular argument's other
triangle is zeroed, as the routine would not read it (:func:`_triangle`); a
symmetric one is used whole -- every value here is computed whole, and a
symmetric input is one by the assumption that declares it (mirroring the
triangle the routine reads cost half the time of a small Kalman batch; the
results differ from the routine's at rounding level only, for inputs
symmetric only up to rounding); ``numpy.linalg.cholesky`` itself reads the
lower triangle, as POTRF does.

Failures (a factorization of a matrix that is not positive definite, a
singular triangle) raise ``numpy.linalg.LinAlgError`` without saying which
problem failed; the front door then runs the batch problem by problem,
which names it (:mod:`computations.front_door.batches`).

>>> import numpy as np, sympy
>>> from computations.matrices import POSV
>>> S, b = sympy.MatrixSymbol('S', 2, 2), sympy.MatrixSymbol('b', 2, 1)
>>> program = POSV(S, b)                     # two problems, b shared
>>> x, = run_stacked(program, {S: np.stack([np.eye(2), 4 * np.eye(2)]), b: np.ones((2, 1))},
...                  [S.I * b])
>>> x[:, :, 0]
array([[1.  , 1.  ],
       [0.25, 0.25]])
"""
import functools
import math

import numpy as np

from computations.core import Identity

__all__ = ['STACKED', 'stacked', 'supports', 'run_stacked', 'run_in_chunks', 'CHUNK_BYTES']

#: The stacked kernel of each operation class: ``kernel(op, bound) -> outputs``.
STACKED = {}


def stacked(cls):
    """Register the decorated function as the stacked kernel of ``cls``."""
    def register(function):
        STACKED[cls] = function
        return function
    return register


def supports(computation):
    """Whether every operation of ``computation`` has a stacked kernel."""
    return all(type(op) in STACKED or isinstance(op, Identity)
               for op in computation.computations)


def run_stacked(computation, values, results):
    """The stacked values of ``results`` (variables of ``computation``), from the stacked
    values of its inputs (``{variable: array}``); each operation runs once on the batch."""
    index, _ = _plan(computation)
    found = _run(computation, values)
    return tuple(found[index[var]] for var in results)


def _run(computation, values):
    """Every value of ``computation``, by its :func:`_plan` index, from its inputs'."""
    index, steps = _plan(computation)
    found = [None] * len(index)
    for slot, value in zip(_slots(computation, tuple(values)), values.values()):
        if slot is not None:
            found[slot] = value
    for kernel, op, template, outputs in steps:
        results = kernel(op, {name: found[slot] if value else slot
                              for name, value, slot in template})
        for i, result in zip(outputs, results):
            found[i] = result
    return found


@functools.lru_cache(maxsize=64)
def _plan(computation):
    """``(index, steps)``: a number per variable, and per operation in order its kernel, the
    op, its arguments as ``(name, True, variable number)`` or ``(name, False, constant)``,
    and its outputs' numbers.  Bound once per program, as a batch runs a chunk at a time:
    binding converts SymPy constants, and looking values up by expression compares
    expressions."""
    order = [op for op in computation.toposort() if not isinstance(op, Identity)]
    index = {}
    for op in order:
        for var in (*op.inputs, *op.outputs):
            index.setdefault(var, len(index))
    steps = []
    for op in order:
        bound = op.bind(range(len(op.inputs)))     # input positions: ints; constants: floats
        template = tuple((name, True, index[op.inputs[slot]]) if type(slot) is int
                         else (name, False, slot) for name, slot in bound.items())
        steps.append((STACKED[type(op)], op, template, tuple(index[v] for v in op.outputs)))
    return index, tuple(steps)


@functools.lru_cache(maxsize=256)
def _slots(computation, variables):
    """The :func:`_plan` number of each of ``variables`` (None: not one of the program's).
    A caller passes the same variables call after call, so the key compares them by
    identity; looking each up in the index compared it with SymPy's ``==`` to the
    program's own (equal, other) instance: 20 us a call of a 10-problem Kalman batch."""
    index, _ = _plan(computation)
    return tuple(index.get(var) for var in variables)


#: A batch runs in chunks of problems whose values (inputs, intermediates, results) take
#: about this many bytes together, at least :data:`MIN_CHUNK` problems.  Chunks keep each
#: operation's temporaries in the cache and under malloc's threshold for fresh pages: the
#: Kalman update of 10,000 problems at n = 6 ran in 8.1 ms whole and 6.1 ms in chunks of
#: 2,000 (1.2 KB a problem); at n = 50 (60 KB a problem) chunks of 100 were best.
CHUNK_BYTES = 2 ** 21
MIN_CHUNK = 64


def run_in_chunks(computation, values, results, batch):
    """:func:`run_stacked` over the ``batch`` (a shape) in chunks of problems; the results
    have the batch's shape as their leading dimensions.

    ``values`` are stacks whose leading dimensions broadcast to ``batch``, or matrices
    every problem shares (two dimensions).

    >>> import numpy as np, sympy
    >>> from computations.matrices import GEMM
    >>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 2)
    >>> op = GEMM(1.0, A, B)
    >>> out, = run_in_chunks(op, {A: np.ones((3, 1, 2, 2)), B: np.eye(2)}, op.outputs, (3, 5))
    >>> out.shape
    (3, 5, 2, 2)
    """
    count = math.prod(batch)
    flat = {}
    for var, value in values.items():
        if value.ndim > 2:                    # one matrix per problem, the batch flattened
            if value.shape[:-2] != tuple(batch):
                value = np.broadcast_to(value, tuple(batch) + value.shape[-2:])
            flat[var] = value.reshape((count,) + value.shape[-2:])
        else:
            flat[var] = value
    index, _ = _plan(computation)
    outputs = [None] * len(results)
    # The first chunk guesses a problem's bytes from its inputs' (intermediates and results
    # about twice as many again), then measures them.
    given = sum(value[0].nbytes for value in flat.values() if value.ndim > 2)
    start, chunk = 0, max(MIN_CHUNK, CHUNK_BYTES // max(3 * given, 1))
    while start < count:
        part = {var: value[start:start + chunk] if value.ndim > 2 else value
                for var, value in flat.items()}
        found = _run(computation, part)
        for i, var in enumerate(results):
            result = found[index[var]]
            if outputs[i] is None:
                outputs[i] = np.empty((count,) + result.shape[-2:], dtype=result.dtype)
            outputs[i][start:start + chunk] = result     # a shared result broadcasts
        if start == 0:
            size = min(chunk, count)
            per_problem = sum(v.nbytes for v in found if v is not None and v.ndim > 2) / size
            chunk = max(MIN_CHUNK, int(CHUNK_BYTES // max(per_problem, 1)))
            start = size
        else:
            start += chunk
    return tuple(out.reshape(tuple(batch) + out.shape[1:]) for out in outputs)


def _T(x):
    return np.swapaxes(x, -1, -2)


def _op(x, transposed):
    return _T(x) if transposed else x


def _matmul(X, Y):
    """``X @ Y`` on stacks.

    A matrix every problem shares makes the whole batch one GEMM: ``X`` stacked times a
    shared ``Y`` is the stack's rows times ``Y``, a shared ``X`` times ``Y`` stacked is
    ``(Y.T @ X.T).T`` so; NumPy's stacked matmul calls BLAS once per problem (10,000
    problems, one thread: a stack of 6 x 6 times a shared 6 x 3 took 1,120 us stacked,
    430 as one GEMM; a shared 3 x 6 times a stack of 6 x 1, 460 and 74).  A transposed
    (strided) stack of small matrices is copied to C order first when the product has
    more than one column: NumPy's stacked matmul ran 2.5x faster on 10,000 contiguous
    6 x 3 operands, copy included (and slower for a matrix times a vector, which stays
    as it is).

    >>> X, Y = np.arange(24.0).reshape(4, 2, 3), np.arange(6.0).reshape(3, 2)
    >>> bool(np.array_equal(_matmul(X, Y), X @ Y))
    True
    >>> bool(np.array_equal(_matmul(Y.T, _T(X)), Y.T @ _T(X)))
    True
    """
    if X.ndim > 2 and Y.ndim == 2:
        return (X.reshape(-1, X.shape[-1]) @ Y).reshape(X.shape[:-1] + Y.shape[-1:])
    if X.ndim == 2 and Y.ndim > 2:
        Yt = _T(Y)
        return _T((Yt.reshape(-1, Yt.shape[-1]) @ _T(X)).reshape(Yt.shape[:-1] + X.shape[:1]))
    if Y.shape[-1] > 1:
        X, Y = _contiguous(X), _contiguous(Y)
    return X @ Y


def _contiguous(X):
    if X.ndim > 2 and X.shape[-1] * X.shape[-2] <= 1024 and not X.flags.c_contiguous:
        return np.ascontiguousarray(X)
    return X


def _accumulate(alpha, product, beta, C, fresh=True):
    """``alpha*product + beta*C`` (``C`` None: no term), in ``product``'s memory when it is
    ``fresh`` (made by the kernel) and holds the result's shape and dtype: each new array
    is an allocation, and on a large batch those cost page faults more than the arithmetic
    (a Kalman batch of 10,000 at n = 6 spent 3 of its 12 ms on them)."""
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


def _is_zero(x):
    return isinstance(x, float) and x == 0.0


def _triangle(A, lower, unit=False):
    """The triangle of ``A`` a triangular routine reads (the other entries zero).

    >>> _triangle(np.ones((1, 2, 2)), lower=False, unit=True)[0]
    array([[1., 1.],
           [0., 1.]])
    """
    T = np.where(_triangle_mask(A.shape[-2:], lower), A, A.dtype.type(0))
    if unit:
        T = T.copy()
        np.einsum('...ii->...i', T)[...] = 1.0
    return T


@functools.lru_cache(maxsize=256)
def _triangle_mask(shape, lower):
    """Where a ``shape`` matrix's lower (or upper) triangle is: ``np.where`` with it takes
    1.4 us on 10 problems of order 3, ``np.tril`` 4.5 (it builds the mask every call)."""
    rows, columns = np.indices(shape)
    return rows >= columns if lower else rows <= columns


def _register_all():
    from computations.matrices import (AXPY, CHOLESKY_DETERMINANT, GEMM, GEMV, POSV, POTRF,
                                       POTRS, SCAL, SYMM, SYRK, TRACE, TRMM, TRSM)

    @stacked(GEMM)
    def _gemm(op, a):
        return (_accumulate(a['alpha'], _matmul(_op(a['A'], op.trans_a), _op(a['B'], op.trans_b)),
                            a['beta'], a['C']),)

    @stacked(GEMV)
    def _gemv(op, a):
        return (_accumulate(a['alpha'], _matmul(_op(a['A'], op.trans), a['x']), a['beta'],
                            a['y']),)

    @stacked(SYMM)
    def _symm(op, a):
        A = a['A']
        product = _matmul(A, a['B']) if op.side == 'L' else _matmul(a['B'], A)
        return (_accumulate(a['alpha'], product, a['beta'], a['C']),)

    @stacked(SYRK)
    def _syrk(op, a):
        A = a['A']
        product = _matmul(_T(A), A) if op.trans else _matmul(A, _T(A))
        return (_accumulate(a['alpha'], product, a['beta'], a['C']),)

    @stacked(AXPY)
    def _axpy(op, a):
        return (_accumulate(a['alpha'], a['X'], 1.0, a['Y'], fresh=False),)

    @stacked(SCAL)
    def _scal(op, a):
        return (a['alpha'] * a['X'],)

    @stacked(POTRF)
    def _potrf(op, a):
        return (np.linalg.cholesky(a['A']),)    # LinAlgError if not positive definite

    @stacked(POSV)
    def _posv(op, a):
        L = np.linalg.cholesky(a['A'])          # checks positive definiteness
        return _cholesky_solve(L, a['B']), L

    @stacked(POTRS)
    def _potrs(op, a):
        return (_cholesky_solve(_triangle(a['L'], True), a['B']),)

    @stacked(TRMM)
    def _trmm(op, a):
        A = _op(_triangle(a['A'], op.lower, op.unit_diagonal), op.trans_a)
        product = _matmul(A, a['B']) if op.side == 'L' else _matmul(a['B'], A)
        return (_accumulate(a['alpha'], product, 0.0, None),)

    @stacked(TRSM)
    def _trsm(op, a):
        A = _op(_triangle(a['A'], op.lower, op.unit_diagonal), op.trans_a)
        B = _accumulate(a['alpha'], a['B'], 0.0, None, fresh=False)
        lower = op.lower != op.trans_a                   # op(A)'s triangle
        if op.side == 'L':              # op(A) X = B
            return (_triangular_solve(A, B, lower),)
        return (_T(_triangular_solve(_T(A), _T(B), not lower)),)      # X op(A) = B

    @stacked(TRACE)
    def _trace(op, a):
        return (np.trace(a['X'], axis1=-2, axis2=-1)[..., None, None],)

    @stacked(CHOLESKY_DETERMINANT)
    def _cholesky_determinant(op, a):
        diagonal = np.diagonal(a['L'], axis1=-2, axis2=-1)
        value = 2.0 * np.sum(np.log(diagonal), axis=-1) if op.log \
            else np.prod(diagonal, axis=-1) ** 2
        return (value[..., None, None],)


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


def _triangular_solve(T, B, lower):
    """``T.I*B`` for a stack of triangular ``T`` (zeros in the other triangle).

    >>> T = np.array([[[2.0, 0.0], [1.0, 1.0]]] * 300)               # 300 problems
    >>> _triangular_solve(T, np.ones((2, 1)), True)[299, :, 0]        # by substitution
    array([0.5, 0.5])
    >>> _triangular_solve(T[:3], np.ones((2, 1)), True)[2, :, 0]      # by LU
    array([0.5, 0.5])
    """
    n = T.shape[-1]
    batch = T.shape[:-2] if T.shape[:-2] == B.shape[:-2] else \
        np.broadcast_shapes(T.shape[:-2], B.shape[:-2])
    if n > SUBSTITUTION_MAX or math.prod(batch) * n < SUBSTITUTION_MIN_WORK:
        return np.linalg.solve(T, B)
    X = np.empty(batch + B.shape[-2:], dtype=np.result_type(T, B))
    rows = range(n) if lower else range(n - 1, -1, -1)
    for i in rows:
        done = slice(0, i) if lower else slice(i + 1, n)
        rest = B[..., i, :] - (T[..., i:i + 1, done] @ X[..., done, :])[..., 0, :]
        X[..., i, :] = rest / T[..., i, i, None]          # a zero pivot: FloatingPointError
    return X


def _cholesky_solve(L, B):
    """``(L*L.T).I*B`` from the lower factors ``L``: two triangular solves."""
    return _triangular_solve(_T(L), _triangular_solve(L, B, True), False)


_register_all()
