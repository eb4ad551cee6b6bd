"""Optimization and control: Newton, Gauss-Newton, Levenberg-Marquardt and stochastic Newton
steps, and the discrete Riccati recursion.

>>> from applications import APPLICATIONS, inputs
>>> app = APPLICATIONS['newton']
>>> x, H, g = inputs(app, app.small)
>>> import numpy as np
>>> np.allclose(newton_hand(x, H, g)[0], x - np.linalg.solve(H, g))
True
"""
import numpy as np
from scipy.linalg import blas, lapack
from sympy import Identity, MatrixSymbol, Q, Symbol

from ._base import (Application, add_to_diagonal, cholesky, cholesky_symmetric, column, dims,
                    lapack_ok, positive_diagonal, register, symmetrize)

__all__ = ['newton_hand', 'gauss_newton_hand', 'levenberg_marquardt_hand',
           'stochastic_newton_hand', 'riccati_hand']

n, m, p, l = dims['n'], dims['m'], dims['p'], dims['l']
LEAST_SQUARES, SMALL = {'n': 2000, 'p': 500}, {'n': 12, 'p': 4}


def _step(x, G, c):
    """``x - G.I*c`` for ``G`` SPD with its upper triangle set (overwrites ``G`` and ``c``)."""
    _, z = lapack_ok(lapack.dposv(G, c, overwrite_a=1, overwrite_b=1), 'dposv')
    return x - column(z)


def newton_hand(x, H, g):
    """``x - H.I*g`` with ``H`` SPD: POSV on a copy of ``g``."""
    return (_step(x, np.array(H, order='F'), g[:, 0].copy()),)


@register
def newton():
    x, H, g = MatrixSymbol('x', n, 1), MatrixSymbol('H', n, n), MatrixSymbol('g', n, 1)
    return Application('newton', 'Newton step with an SPD Hessian', (x, H, g), (x - H.I * g,),
                       (Q.positive_definite(H),), newton_hand, cholesky(), {'n': 2000},
                       {'n': 6}, ('x_next',), structure='H SPD: Cholesky (POSV)',
                       reference='Nocedal & Wright, Numerical Optimization, 3.3')


def gauss_newton_hand(x, J, r):
    """``x - (J.T*J).I*J.T*r``: SYRK, GEMV, POSV."""
    return (_step(x, blas.dsyrk(1.0, J, trans=1), blas.dgemv(1.0, J, r[:, 0], trans=1)),)


@register
def gauss_newton():
    x, J, r = MatrixSymbol('x', p, 1), MatrixSymbol('J', n, p), MatrixSymbol('r', n, 1)
    return Application('gauss_newton', 'Gauss-Newton step', (x, J, r),
                       (x - (J.T * J).I * J.T * r,), (Q.fullrank(J),), gauss_newton_hand,
                       cholesky('SYRK'), LEAST_SQUARES, SMALL, ('x_next',),
                       structure='J.T*J SPD: SYRK + Cholesky',
                       reference='Nocedal & Wright, Numerical Optimization, 10.3')


def levenberg_marquardt_hand(x, J, r, D, lam):
    """``x - (J.T*J + lambda*D).I*J.T*r`` with ``D`` diagonal: SYRK, diagonal shift, GEMV,
    POSV."""
    G = add_to_diagonal(blas.dsyrk(1.0, J, trans=1), lam * np.diagonal(D))
    return (_step(x, G, blas.dgemv(1.0, J, r[:, 0], trans=1)),)


@register
def levenberg_marquardt():
    x, J, r = MatrixSymbol('x', p, 1), MatrixSymbol('J', n, p), MatrixSymbol('r', n, 1)
    D, lam = MatrixSymbol('D', p, p), Symbol('lambda')
    return Application('levenberg_marquardt', 'Levenberg-Marquardt step, diagonal scaling',
                       (x, J, r, D, lam), (x - (J.T * J + lam * D).I * J.T * r,),
                       (Q.fullrank(J), Q.diagonal(D), Q.positive_definite(D), Q.positive(lam)),
                       levenberg_marquardt_hand, cholesky('SYRK'), LEAST_SQUARES, SMALL,
                       ('x_next',), structure='D diagonal, J.T*J + lambda*D SPD: SYRK + Cholesky',
                       reference='More, The Levenberg-Marquardt algorithm (1978)',
                       overrides={'D': positive_diagonal})


def stochastic_newton_hand(B, A, W, k):
    """``k/(k-1)*B*(I - A.T*W*((k-1)*I + W.T*A*B*A.T*W).I*W.T*A*B)``, B SPD:
    ``V = W.T*A`` (GEMM), ``Y = V*B`` (SYMM), ``M = Y*V.T + (k-1)*I`` (GEMM), POTRF of M,
    ``T = L.I*Y`` (TRSM), result ``c*B - c*T.T*T`` (SYRK into a copy of B, c = k/(k-1))."""
    V = blas.dgemm(1.0, W, A, trans_a=1)
    Y = blas.dsymm(1.0, B, V, side=1)
    M = add_to_diagonal(blas.dgemm(1.0, Y, V, trans_b=1), k - 1)
    L = lapack_ok(lapack.dpotrf(M, lower=1, overwrite_a=1), 'dpotrf')
    T = blas.dtrsm(1.0, L, Y, lower=1, overwrite_b=1)
    c = k / (k - 1)
    out = blas.dsyrk(-c, T, beta=c, c=np.array(B, order='F'), trans=1, overwrite_c=1)
    return (symmetrize(out),)


@register
def stochastic_newton():
    B, A, W = MatrixSymbol('B', n, n), MatrixSymbol('A', m, n), MatrixSymbol('W', m, l)
    k = Symbol('k')
    inner = ((k - 1) * Identity(l) + W.T * A * B * A.T * W).I
    return Application('stochastic_newton', 'stochastic Newton update of the inverse Hessian',
                       (B, A, W, k),
                       ((k / (k - 1)) * B * (Identity(n) - A.T * W * inner * W.T * A * B),),
                       (Q.positive_definite(B), Q.fullrank(A), Q.fullrank(W), Q.positive(k - 1)),
                       stochastic_newton_hand, cholesky_symmetric(),
                       {'n': 2000, 'm': 1000, 'l': 200}, {'n': 8, 'm': 6, 'l': 3}, ('B_next',),
                       structure='B SPD: SYMM or GEMM; (k-1)*I + W.T*A*B*A.T*W SPD: Cholesky',
                       reference='Barthels et al., Linnea (TOMS 2021), stochastic Newton',
                       overrides={'k': lambda rng, shape: float(rng.uniform(2, 4))})


def riccati_hand(A, B, P, R, Qc):
    """``A.T*P*A - A.T*P*B*(R + B.T*P*B).I*B.T*P*A + Qc`` with ``P = U.T*U`` (POTRF):
    ``F = U*[A | B]`` (TRMM), SYRKs for ``A.T*P*A`` and ``B.T*P*B``, POTRF, TRSM, SYRK."""
    n, m = B.shape
    U = lapack_ok(lapack.dpotrf(P), 'dpotrf')
    F = np.empty((n, n + m), order='F')
    F[:, :n], F[:, n:] = A, B
    F = blas.dtrmm(1.0, U, F, overwrite_b=1)
    FA, FB = F[:, :n], F[:, n:]
    M = blas.dsyrk(1.0, FB, beta=1.0, c=np.array(R, order='F'), trans=1, overwrite_c=1)
    Um = lapack_ok(lapack.dpotrf(M, overwrite_a=1), 'dpotrf')
    T = blas.dtrsm(1.0, Um, blas.dgemm(1.0, FB, FA, trans_a=1), trans_a=1, overwrite_b=1)
    out = blas.dsyrk(1.0, FA, beta=1.0, c=np.array(Qc, order='F'), trans=1, overwrite_c=1)
    out = blas.dsyrk(-1.0, T, beta=1.0, c=out, trans=1, overwrite_c=1)
    return (symmetrize(out),)


@register
def riccati():
    A, B, P = MatrixSymbol('A', n, n), MatrixSymbol('B', n, m), MatrixSymbol('P', n, n)
    R, Qc = MatrixSymbol('R', m, m), MatrixSymbol('Qc', n, n)
    return Application('riccati', 'discrete algebraic Riccati recursion (LQR) step',
                       (A, B, P, R, Qc),
                       (A.T * P * A - A.T * P * B * (R + B.T * P * B).I * B.T * P * A + Qc,),
                       (Q.positive_definite(P), Q.positive_definite(R), Q.symmetric(Qc)),
                       riccati_hand, cholesky('SYRK'), {'n': 1500, 'm': 500},
                       {'n': 7, 'm': 3}, ('P_next',),
                       structure='P, R + B.T*P*B SPD: Cholesky; congruences as SYRK',
                       reference='Anderson & Moore, Optimal Control: Linear Quadratic Methods')
