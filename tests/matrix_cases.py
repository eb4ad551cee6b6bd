"""Hypothesis strategies: random instances of every BLAS/LAPACK operation with valid data.

``op_case(cls)`` draws shapes (1 to 60, non-square, vectors), flags
(transposes, sides, triangles, unit diagonals), constant or symbolic scalars,
and data that satisfies the operation's condition and is well conditioned
(diagonally dominant, or SPD with a shifted spectrum).  It returns the
operation and ``{input variable: float64 array or float}``.
"""
import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import sympy
from hypothesis import strategies as st
from sympy import MatrixSymbol

from computations.matrices import (AXPY, CHOLESKY_ADJOINT, CHOLESKY_DETERMINANT, COPY, DIAGAXPY,
                                   DIAGMM,
                                   ELEMENT,
                                   GEMM, GEMV, GESV, GETRF, GETRS, INNER, LU_DETERMINANT, POSV,
                                   TRIANGULAR_DETERMINANT,
                                   POTRF, POTRI, POTRS, SCAL, STREAMED_SYRK, SYMM, SYMMETRIZE, SYRK, SYSV,
                                   TRACE, TRANSPOSE, TRMM, TRSM, TRTRI, TRTRS, DIAGMM_ROOT, SHIFT, SYTRF, SYTRS, LDL, LDLPivots, LU,
                                   LofCholesky, LUPivots)

dims = st.integers(1, 60)
alpha_sym, beta_sym = sympy.Symbol('alpha'), sympy.Symbol('beta')
alphas = st.sampled_from([sympy.S(1), sympy.S(-1), sympy.Rational(5, 2), alpha_sym])
betas = st.sampled_from([sympy.S(0), sympy.S(1), sympy.Rational(-1, 2), beta_sym])


def general(rng, m, n):
    m, n = int(m), int(n)
    return rng.uniform(-1, 1, (m, n))


def spd(rng, n):
    n = int(n)
    x = rng.uniform(-1, 1, (n, n))
    return x @ x.T + n * np.eye(n)


def symmetric(rng, n):
    n = int(n)
    x = rng.uniform(-1, 1, (n, n))
    return x + x.T


symmetric_matrix = symmetric          # for the cases whose flag is called ``symmetric``


def invertible(rng, n):
    n = int(n)
    return rng.uniform(-1, 1, (n, n)) + (n + 1) * np.eye(n)


def triangular(rng, n, lower, unit):
    n = int(n)
    off = rng.uniform(-1, 1, (n, n))
    t = np.tril(off, -1) if lower else np.triu(off, 1)
    return t / n + np.eye(n) if unit else t + (n + 1) * np.eye(n)


def _scalars(rng, values, *scalars):
    for s in scalars:
        if isinstance(s, sympy.Symbol):
            values[s] = float(rng.uniform(0.5, 2.0))


def _case_gemm(draw, rng):
    m, k, n = draw(dims), draw(dims), draw(dims)
    ta, tb, alpha, beta = draw(st.booleans()), draw(st.booleans()), draw(alphas), draw(betas)
    A = MatrixSymbol('A', *((k, m) if ta else (m, k)))
    B = MatrixSymbol('B', *((n, k) if tb else (k, n)))
    C = MatrixSymbol('C', m, n)
    op = GEMM(alpha, A, B, beta, C if beta != 0 else None, ta, tb)
    values = {A: general(rng, *A.shape), B: general(rng, *B.shape), C: general(rng, m, n)}
    return op, values, (alpha, beta)


def _case_symm(draw, rng):
    m, n, side = draw(dims), draw(dims), draw(st.sampled_from('LR'))
    alpha, beta = draw(alphas), draw(betas)
    a = m if side == 'L' else n
    A, B, C = MatrixSymbol('A', a, a), MatrixSymbol('B', m, n), MatrixSymbol('C', m, n)
    op = SYMM(alpha, A, B, beta, C if beta != 0 else None, side)
    values = {A: symmetric(rng, a), B: general(rng, m, n), C: general(rng, m, n)}
    return op, values, (alpha, beta)


def _case_syrk(draw, rng):
    n, k, trans = draw(dims), draw(dims), draw(st.booleans())
    alpha, beta = draw(alphas), draw(betas)
    A, C = MatrixSymbol('A', *((k, n) if trans else (n, k))), MatrixSymbol('C', n, n)
    op = SYRK(alpha, A, beta, C if beta != 0 else None, trans)
    return op, {A: general(rng, *A.shape), C: symmetric(rng, n)}, (alpha, beta)


def _case_gemv(draw, rng):
    m, n, trans = draw(dims), draw(dims), draw(st.booleans())
    alpha, beta = draw(alphas), draw(betas)
    A = MatrixSymbol('A', m, n)
    x = MatrixSymbol('x', m if trans else n, 1)
    y = MatrixSymbol('y', n if trans else m, 1)
    op = GEMV(alpha, A, x, beta, y if beta != 0 else None, trans)
    values = {A: general(rng, m, n), x: general(rng, *x.shape), y: general(rng, *y.shape)}
    return op, values, (alpha, beta)


def _case_axpy(draw, rng):
    m, n, alpha = draw(dims), draw(dims), draw(alphas)
    X, Y = MatrixSymbol('X', m, n), MatrixSymbol('Y', m, n)
    return AXPY(alpha, X, Y), {X: general(rng, m, n), Y: general(rng, m, n)}, (alpha,)


def _case_scal(draw, rng):
    # not alpha = 1: SCAL(1, X) computes nothing and is rejected
    m, n = draw(dims), draw(dims)
    alpha = draw(alphas.filter(lambda a: a != 1))
    X = MatrixSymbol('X', m, n)
    return SCAL(alpha, X), {X: general(rng, m, n)}, (alpha,)


def _case_copy(draw, rng):
    X = MatrixSymbol('X', draw(dims), draw(dims))
    return COPY(X), {X: general(rng, *X.shape)}, ()


def _case_transpose(draw, rng):
    X = MatrixSymbol('X', draw(dims), draw(dims))
    return TRANSPOSE(X), {X: general(rng, *X.shape)}, ()


def _case_triangular_product(cls):
    def case(draw, rng):
        m, n, side = draw(dims), draw(dims), draw(st.sampled_from('LR'))
        lower, trans, unit, alpha = (draw(st.booleans()), draw(st.booleans()),
                                     draw(st.booleans()), draw(alphas))
        a = m if side == 'L' else n
        A, B = MatrixSymbol('A', a, a), MatrixSymbol('B', m, n)
        op = cls(alpha, A, B, side, lower, trans, unit)
        return op, {A: triangular(rng, a, lower, unit), B: general(rng, m, n)}, (alpha,)
    return case


def _case_diagmm(draw, rng):
    m, n, side = draw(dims), draw(dims), draw(st.sampled_from('LR'))
    inverse, alpha = draw(st.booleans()), draw(alphas)
    d = m if side == 'L' else n
    D, B = MatrixSymbol('D', d, d), MatrixSymbol('B', m, n)
    diagonal = np.diag(rng.uniform(0.5, 2, d) * rng.choice([-1, 1], d))
    return DIAGMM(alpha, D, B, side, inverse), {D: diagonal, B: general(rng, m, n)}, (alpha,)


def _case_diagmm_root(draw, rng):
    m, n, side = draw(dims), draw(dims), draw(st.sampled_from('LR'))
    inverse, alpha = draw(st.booleans()), draw(alphas)
    d = m if side == 'L' else n
    D, B = MatrixSymbol('D', d, d), MatrixSymbol('B', m, n)
    diagonal = np.diag(rng.uniform(0.5, 2, d))
    return DIAGMM_ROOT(alpha, D, B, side, inverse), {D: diagonal, B: general(rng, m, n)}, \
        (alpha,)


def _case_shift(draw, rng):
    n, alpha = draw(dims), draw(alphas)
    C = MatrixSymbol('C', n, n)
    return SHIFT(alpha, C), {C: general(rng, n, n)}, (alpha,)


def _case_diagaxpy(draw, rng):
    n, alpha = draw(dims), draw(alphas)
    D, C = MatrixSymbol('D', n, n), MatrixSymbol('C', n, n)
    diagonal = np.diag(rng.uniform(-2, 2, n))
    return DIAGAXPY(alpha, D, C), {D: diagonal, C: general(rng, n, n)}, (alpha,)


def _case_trtrs(draw, rng):
    n, nrhs = draw(dims), draw(dims)
    lower, trans, unit = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, nrhs)
    op = TRTRS(A, B, lower, trans, unit)
    return op, {A: triangular(rng, n, lower, unit), B: general(rng, n, nrhs)}, ()


def _case_trtri(draw, rng):
    n, lower, unit = draw(dims), draw(st.booleans()), draw(st.booleans())
    A = MatrixSymbol('A', n, n)
    return TRTRI(A, lower, unit), {A: triangular(rng, n, lower, unit)}, ()


def _case_streamed_syrk(draw, rng):
    """``X = P*op(A)*op(B)`` (B possibly absent, one factor possibly symmetric), with more
    rows than one panel (:attr:`~STREAMED_SYRK.PANEL_ROWS`) half of the time."""
    m = draw(st.one_of(dims, st.integers(STREAMED_SYRK.PANEL_ROWS + 1, 150)))
    k, p, n = draw(dims), draw(dims), draw(dims)
    with_b = draw(st.booleans())
    symmetric = draw(st.sampled_from(['', 'A', 'B'] if with_b else ['', 'A']))
    if symmetric == 'A':
        p = k
    if symmetric == 'B':
        n = p
    trans_a = symmetric != 'A' and draw(st.booleans())
    trans_b = with_b and symmetric != 'B' and draw(st.booleans())
    alpha, beta = draw(alphas), draw(betas)
    P = MatrixSymbol('P', m, k)
    A = MatrixSymbol('A', *((p, k) if trans_a else (k, p)))
    B = MatrixSymbol('B', *((n, p) if trans_b else (p, n))) if with_b else None
    size = n if with_b else p
    C = MatrixSymbol('C', size, size)
    op = STREAMED_SYRK(alpha, P, A, B, beta, C, trans_a, trans_b, symmetric)
    values = {P: general(rng, m, k), C: symmetric_matrix(rng, size),
              A: symmetric_matrix(rng, k) if symmetric == 'A' else general(rng, *A.shape)}
    if with_b:
        values[B] = symmetric_matrix(rng, p) if symmetric == 'B' else general(rng, *B.shape)
    return op, values, (alpha, beta)


def _square_and_rhs(draw):
    n, nrhs = draw(dims), draw(dims)
    return MatrixSymbol('A', n, n), MatrixSymbol('B', n, nrhs)


def _factorization_case(cls, make):
    def case(draw, rng):
        n = draw(dims)
        A = MatrixSymbol('A', n, n)
        return cls(A), {A: make(rng, n)}, ()
    return case


def _case_potrs(draw, rng):
    A, B = _square_and_rhs(draw)
    a = spd(rng, A.shape[0])
    return POTRS(A, B), {LofCholesky(A): np.linalg.cholesky(a), A: a,
                         B: general(rng, *B.shape)}, ()


def _case_potri(draw, rng):
    A = MatrixSymbol('A', *(draw(dims),) * 2)
    a = spd(rng, A.shape[0])
    return POTRI(A), {LofCholesky(A): np.linalg.cholesky(a), A: a}, ()


def _case_posv(draw, rng):
    A, B = _square_and_rhs(draw)
    return POSV(A, B), {A: spd(rng, A.shape[0]), B: general(rng, *B.shape)}, ()


def _case_getrs(draw, rng):
    A, B = _square_and_rhs(draw)
    a = invertible(rng, A.shape[0])
    lu, piv = scipy.linalg.lu_factor(a)
    return GETRS(A, B, draw(st.booleans())), {A: a, LU(A): lu, LUPivots(A): piv,
                                              B: general(rng, *B.shape)}, ()


def _case_gesv(draw, rng):
    A, B = _square_and_rhs(draw)
    return GESV(A, B), {A: invertible(rng, A.shape[0]), B: general(rng, *B.shape)}, ()


def _case_sysv(draw, rng):
    """A symmetric indefinite A, well conditioned: a symmetric matrix with a shifted spectrum
    of either sign."""
    A, B = _square_and_rhs(draw)
    n = int(A.shape[0])
    q, _ = np.linalg.qr(rng.uniform(-1, 1, (n, n)))
    a = q @ np.diag(rng.choice([-1, 1], n) * rng.uniform(1, 2, n)) @ q.T
    return SYSV(A, B), {A: (a + a.T) / 2, B: general(rng, *B.shape)}, ()


def _case_sytrf(draw, rng):
    op, values, _ = _case_sysv(draw, rng)
    return SYTRF(op.A), {op.A: values[op.A]}, ()


def _case_sytrs(draw, rng):
    op, values, _ = _case_sysv(draw, rng)
    ldl, piv, info = scipy.linalg.lapack.dsytrf(values[op.A])
    assert info == 0
    return SYTRS(op.A, op.B), {op.A: values[op.A], LDL(op.A): ldl, LDLPivots(op.A): piv,
                               op.B: values[op.B]}, ()


def _case_symmetrize(draw, rng):
    X = MatrixSymbol('X', *(draw(dims),) * 2)
    return SYMMETRIZE(X), {X: general(rng, *X.shape)}, ()


def _case_cholesky_adjoint(draw, rng):
    """Any invertible lower triangular L (the identity holds beyond Cholesky factors), and a
    general B (only its lower triangle matters)."""
    n, alpha = draw(dims), draw(alphas)
    L, B = MatrixSymbol('L', n, n), MatrixSymbol('B', n, n)
    op = CHOLESKY_ADJOINT(alpha, L, B)
    return op, {L: triangular(rng, n, True, False), B: general(rng, n, n)}, (alpha,)


def _case_trace(draw, rng):
    X = MatrixSymbol('X', *(draw(dims),) * 2)
    return TRACE(X), {X: general(rng, *X.shape)}, ()


def _case_inner(draw, rng):
    m, n, trans = draw(dims), draw(dims), draw(st.booleans())
    A, B = MatrixSymbol('A', m, n), MatrixSymbol('B', *((n, m) if trans else (m, n)))
    return INNER(A, B, trans), {A: general(rng, m, n), B: general(rng, *B.shape)}, ()


def _case_element(draw, rng):
    m, n = draw(dims), draw(dims)
    i, j = draw(st.integers(0, m - 1)), draw(st.integers(0, n - 1))
    X = MatrixSymbol('X', m, n)
    return ELEMENT(X, i, j), {X: general(rng, m, n)}, ()


def _case_cholesky_determinant(draw, rng):
    A = MatrixSymbol('A', *(draw(st.integers(1, 30)),) * 2)
    a = spd(rng, A.shape[0]) / int(A.shape[0])     # determinants of order one
    op = CHOLESKY_DETERMINANT(LofCholesky(A), log=draw(st.booleans()))
    return op, {A: a, LofCholesky(A): np.linalg.cholesky(a)}, ()


def _case_lu_determinant(draw, rng):
    """A determinant of either sign without ``log``; a positive one with it."""
    log = draw(st.booleans())
    A = MatrixSymbol('A', *(draw(st.integers(1, 30)),) * 2)
    a = invertible(rng, A.shape[0]) / (int(A.shape[0]) + 1)
    if not log and draw(st.booleans()):
        a[[0, -1]] = a[[-1, 0]] if A.shape[0] > 1 else -a[[0]]
    lu, piv = scipy.linalg.lu_factor(a)
    return LU_DETERMINANT(LU(A), LUPivots(A), log), {A: a, LU(A): lu, LUPivots(A): piv}, ()


def _case_triangular_determinant(draw, rng):
    """A triangle (upper or lower; the other one zero) whose determinant is of order one;
    of either sign without ``log``, positive with it."""
    log, lower = draw(st.booleans()), draw(st.booleans())
    n = draw(st.integers(1, 30))
    A = MatrixSymbol('A', n, n)
    a = (np.tril if lower else np.triu)(general(rng, n, n))
    diagonal = np.exp(rng.uniform(-0.5, 0.5, n))              # product of order one
    if not log:
        diagonal *= rng.choice([-1.0, 1.0], n)
    a[np.diag_indices(n)] = diagonal
    return TRIANGULAR_DETERMINANT(A, lower=lower, log=log), {A: a}, ()


CASES = {GEMM: _case_gemm, SYMM: _case_symm, SYRK: _case_syrk, GEMV: _case_gemv,
         AXPY: _case_axpy, SCAL: _case_scal, COPY: _case_copy,
         TRMM: _case_triangular_product(TRMM), TRSM: _case_triangular_product(TRSM),
         POTRF: _factorization_case(POTRF, spd), POTRS: _case_potrs, POTRI: _case_potri, POSV: _case_posv, GETRF: _factorization_case(GETRF, invertible),
         GETRS: _case_getrs, GESV: _case_gesv, TRTRS: _case_trtrs, TRANSPOSE: _case_transpose,
         SYMMETRIZE: _case_symmetrize, CHOLESKY_ADJOINT: _case_cholesky_adjoint,
         TRACE: _case_trace, INNER: _case_inner, ELEMENT: _case_element,
         CHOLESKY_DETERMINANT: _case_cholesky_determinant, LU_DETERMINANT: _case_lu_determinant,
         TRIANGULAR_DETERMINANT: _case_triangular_determinant,
         TRTRI: _case_trtri, STREAMED_SYRK: _case_streamed_syrk, SYSV: _case_sysv,
         DIAGMM: _case_diagmm, DIAGMM_ROOT: _case_diagmm_root, SHIFT: _case_shift,
         DIAGAXPY: _case_diagaxpy, SYTRF: _case_sytrf, SYTRS: _case_sytrs}


@st.composite
def op_case(draw, cls):
    """``(op, values)`` for a random valid instance of operation class ``cls``.

    ``values`` holds float64 arrays for every matrix the op or its outputs
    mention (the inputs, and the matrices the factors are of) and floats for
    symbolic scalars.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    op, values, scalars = CASES[cls](draw, rng)
    _scalars(rng, values, *scalars)
    return op, values
