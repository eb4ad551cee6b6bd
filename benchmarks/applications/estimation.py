"""Estimation: Kalman and ensemble Kalman filters, MMSE estimators, Wiener restoration,
Gaussian-process regression.

>>> from applications import APPLICATIONS, inputs
>>> app = APPLICATIONS['mmse']
>>> Cx, Cn, H, y = inputs(app, app.small)
>>> import numpy as np
>>> want = Cx @ H.T @ np.linalg.solve(H @ Cx @ H.T + Cn, y)
>>> np.allclose(mmse_hand(Cx, Cn, H, y)[0], want)
True
"""
import numpy as np
from scipy.linalg import blas, lapack
from sympy import Identity, MatrixSymbol, Q, Symbol

from computations.matrices.examples.kalman import kalman as kalman_statement

from _harness import kalman_scipy

from ._base import (Application, add_to_diagonal, cholesky, cholesky_symmetric, column, dims,
                    lapack_ok, register, symmetrize)

__all__ = ['kalman_hand', 'enkf_hand', 'mmse_hand', 'mmse_information_hand', 'wiener_hand',
           'gp_regression_hand']

n, m, k = dims['n'], dims['m'], dims['k']


def kalman_hand(mu, Sigma, H, R, data):
    """The Kalman update of ``benchmarks/_harness.py``: SYMM, GEMM, GEMV, POTRF, two TRSMs,
    GEMV, SYRK."""
    newmu, newSigma = kalman_scipy(mu, Sigma, H, R, data)
    return newmu, newSigma


@register
def kalman():
    inputs, outputs, assumptions = kalman_statement(n, k)
    return Application('kalman', 'Kalman filter update', tuple(inputs), tuple(outputs),
                       tuple(assumptions), kalman_hand, cholesky_symmetric(),
                       {'n': 2000, 'k': 1000}, {'n': 7, 'k': 4}, ('newmu', 'newSigma'),
                       structure='Sigma SPD: SYMM or GEMM; H*Sigma*H.T + R SPD: Cholesky',
                       reference='Kalman, J. Basic Eng. 82 (1960)')


def enkf_hand(Xb, Xp, H, R, Y):
    """``Xb + Xp*(H*Xp).T*(H*Xp*(H*Xp).T + R).I*(Y - H*Xb)``: GEMM x2, SYRK into a copy of
    R, POSV, GEMM x2."""
    HXp = blas.dgemm(1.0, H, Xp)
    D = blas.dgemm(-1.0, H, Xb, beta=1.0, c=np.array(Y, order='F'), overwrite_c=1)
    S = blas.dsyrk(1.0, HXp, beta=1.0, c=np.array(R, order='F'), overwrite_c=1)
    _, Z = lapack_ok(lapack.dposv(S, D, overwrite_a=1, overwrite_b=1), 'dposv')
    T = blas.dgemm(1.0, HXp, Z, trans_a=1)
    return (blas.dgemm(1.0, Xp, T, beta=1.0, c=np.array(Xb, order='F'), overwrite_c=1),)


@register
def enkf():
    Xb, Xp = MatrixSymbol('Xb', n, m), MatrixSymbol('Xp', n, m)
    H, R, Y = MatrixSymbol('H', k, n), MatrixSymbol('R', k, k), MatrixSymbol('Y', k, m)
    HX = H * Xp
    return Application('enkf', 'ensemble Kalman filter analysis (ensemble of m members)',
                       (Xb, Xp, H, R, Y), (Xb + Xp * HX.T * (HX * HX.T + R).I * (Y - H * Xb),),
                       (Q.positive_definite(R),), enkf_hand, cholesky('SYRK'),
                       {'n': 2000, 'm': 200, 'k': 1000}, {'n': 9, 'm': 3, 'k': 5}, ('Xa',),
                       structure='H*Xp*(H*Xp).T + R SPD: SYRK + Cholesky',
                       reference='Evensen, Ocean Dynamics 53 (2003)')


def mmse_hand(Cx, Cn, H, y):
    """``Cx*H.T*(H*Cx*H.T + Cn).I*y``: SYMM, GEMM into a copy of Cn, POSV, GEMV."""
    X = blas.dsymm(1.0, Cx, H, side=1)
    S = blas.dgemm(1.0, X, H, beta=1.0, c=np.array(Cn, order='F'), trans_b=1, overwrite_c=1)
    _, z = lapack_ok(lapack.dposv(S, y[:, 0].copy(), overwrite_a=1, overwrite_b=1), 'dposv')
    return (column(blas.dgemv(1.0, X, z, trans=1)),)


@register
def mmse():
    Cx, Cn = MatrixSymbol('Cx', n, n), MatrixSymbol('Cn', k, k)
    H, y = MatrixSymbol('H', k, n), MatrixSymbol('y', k, 1)
    return Application('mmse', 'linear MMSE estimator, covariance form', (Cx, Cn, H, y),
                       (Cx * H.T * (H * Cx * H.T + Cn).I * y,),
                       (Q.positive_definite(Cx), Q.positive_definite(Cn)), mmse_hand,
                       cholesky_symmetric(), {'n': 2000, 'k': 1000}, {'n': 7, 'k': 4}, ('x',),
                       structure='Cx SPD: SYMM or GEMM; H*Cx*H.T + Cn SPD: Cholesky',
                       reference='Kay, Fundamentals of Statistical Signal Processing I, 12')


def mmse_information_hand(Cx, Cn, H, y):
    """``(H.T*Cn.I*H + Cx.I).I*H.T*Cn.I*y``: POTRF of Cn, one TRSM on ``[H | y]``, POTRF and
    POTRI of Cx, SYRK onto it, GEMV, POSV."""
    k, n = H.shape
    L = lapack_ok(lapack.dpotrf(Cn, lower=1), 'dpotrf')
    Z = np.empty((k, n + 1), order='F')
    Z[:, :n], Z[:, n] = H, y[:, 0]
    Z = blas.dtrsm(1.0, L, Z, lower=1, overwrite_b=1)
    U = lapack_ok(lapack.dpotrf(Cx), 'dpotrf')
    G = lapack_ok(lapack.dpotri(U, overwrite_c=1), 'dpotri')
    G = blas.dsyrk(1.0, Z[:, :n], beta=1.0, c=G, trans=1, overwrite_c=1)
    c = blas.dgemv(1.0, Z[:, :n], Z[:, n], trans=1)
    _, x = lapack_ok(lapack.dposv(G, c, overwrite_a=1, overwrite_b=1), 'dposv')
    return (column(x),)


@register
def mmse_information():
    Cx, Cn = MatrixSymbol('Cx', n, n), MatrixSymbol('Cn', k, k)
    H, y = MatrixSymbol('H', k, n), MatrixSymbol('y', k, 1)
    return Application('mmse_information', 'linear MMSE estimator, information form',
                       (Cx, Cn, H, y), ((H.T * Cn.I * H + Cx.I).I * H.T * Cn.I * y,),
                       (Q.positive_definite(Cx), Q.positive_definite(Cn)),
                       mmse_information_hand, cholesky('TRSM', 'SYRK'),
                       {'n': 1000, 'k': 2000}, {'n': 4, 'k': 7}, ('x',),
                       structure='Cn, Cx SPD: Cholesky, whitening TRSM, SYRK, POSV',
                       reference='Kay, Fundamentals of Statistical Signal Processing I, 12')


def wiener_hand(H, y, v, u, lam):
    """``(H.T*H + lambda*I).I*(H.T*y + lambda*(v - u))``: SYRK, diagonal shift, GEMV
    onto ``lambda*(v - u)``, POSV."""
    G = add_to_diagonal(blas.dsyrk(1.0, H, trans=1), lam)
    c = blas.dgemv(1.0, H, y[:, 0], beta=1.0, y=lam * (v[:, 0] - u[:, 0]), trans=1,
                   overwrite_y=1)
    _, x = lapack_ok(lapack.dposv(G, c, overwrite_a=1, overwrite_b=1), 'dposv')
    return (column(x),)


@register
def wiener():
    H, y = MatrixSymbol('H', n, n), MatrixSymbol('y', n, 1)
    v, u, lam = MatrixSymbol('v', n, 1), MatrixSymbol('u', n, 1), Symbol('lambda')
    return Application('wiener', 'image restoration step (Wiener / ADMM x-update)',
                       (H, y, v, u, lam),
                       ((H.T * H + lam * Identity(n)).I * (H.T * y + lam * (v - u)),),
                       (Q.positive(lam),), wiener_hand, cholesky('SYRK'), {'n': 2000},
                       {'n': 8}, ('x',), structure='H.T*H + lambda*I SPD: SYRK + Cholesky',
                       reference='Barthels et al., Linnea (TOMS 2021), image restoration')


def gp_regression_hand(K, Ks, Kss, y, sigma2):
    """Posterior mean ``Ks.T*(K + s*I).I*y`` and covariance ``Kss - Ks.T*(K + s*I).I*Ks``:
    POTRF, one TRSM on ``[Ks | y]``, GEMV, SYRK into a copy of Kss."""
    n, m = Ks.shape
    L = lapack_ok(lapack.dpotrf(add_to_diagonal(np.array(K, order='F'), sigma2), lower=1,
                                overwrite_a=1), 'dpotrf')
    Z = np.empty((n, m + 1), order='F')
    Z[:, :m], Z[:, m] = Ks, y[:, 0]
    Z = blas.dtrsm(1.0, L, Z, lower=1, overwrite_b=1)
    mean = blas.dgemv(1.0, Z[:, :m], Z[:, m], trans=1)
    cov = blas.dsyrk(-1.0, Z[:, :m], beta=1.0, c=np.array(Kss, order='F'), trans=1,
                     overwrite_c=1)
    return column(mean), symmetrize(cov)


@register
def gp_regression():
    K, Ks, Kss = MatrixSymbol('K', n, n), MatrixSymbol('Ks', n, m), MatrixSymbol('Kss', m, m)
    y, s = MatrixSymbol('y', n, 1), Symbol('sigma2')
    C = (K + s * Identity(n)).I
    return Application('gp_regression', 'Gaussian-process regression: posterior mean and '
                       'covariance', (K, Ks, Kss, y, s), (Ks.T * C * y, Kss - Ks.T * C * Ks),
                       (Q.positive_definite(K), Q.symmetric(Kss), Q.positive(s)),
                       gp_regression_hand, cholesky('TRSM', 'SYRK'), {'n': 2000, 'm': 500},
                       {'n': 9, 'm': 4}, ('mean', 'cov'),
                       structure='K + sigma2*I SPD: Cholesky, TRSM, SYRK',
                       reference='Rasmussen & Williams, Gaussian Processes for ML, alg. 2.1')
