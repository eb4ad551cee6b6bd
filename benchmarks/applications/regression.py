"""Least squares and its generalizations: ordinary, weighted, generalized, ridge, Tikhonov.

Each function registers one :class:`~applications._base.Application`; its
hand-written program is the ``*_hand`` function next to it.

>>> from applications import APPLICATIONS, inputs
>>> app = APPLICATIONS['ols']
>>> X, y = inputs(app, app.small)
>>> import numpy as np
>>> np.allclose(ols_hand(X, y)[0], np.linalg.lstsq(X, y, rcond=None)[0])
True
"""
import numpy as np
from scipy.linalg import blas, lapack
from sympy import Identity, MatrixSymbol, Q, Symbol

from ._base import (LU, Application, add_to_diagonal, cholesky, cholesky_symmetric, column,
                    dims, lapack_ok, positive_diagonal, register)

__all__ = ['ols_hand', 'wls_hand', 'gls_hand', 'ridge_hand', 'tikhonov_hand',
           'general_tikhonov_hand']

n, p = dims['n'], dims['p']
LARGE, SMALL = {'n': 2000, 'p': 500}, {'n': 12, 'p': 4}


def _normal_solve(G, c):
    """``G.I*c`` for a symmetric positive definite ``G`` of which the upper triangle is
    set; overwrites both; an (n, 1) array."""
    _, beta = lapack_ok(lapack.dposv(G, c, overwrite_a=1, overwrite_b=1), 'dposv')
    return column(beta)


def ols_hand(X, y):
    """``(X.T*X).I*X.T*y``: SYRK, GEMV, POSV."""
    G = blas.dsyrk(1.0, X, trans=1)
    return (_normal_solve(G, blas.dgemv(1.0, X, y[:, 0], trans=1)),)


@register
def ols():
    X, y = MatrixSymbol('X', n, p), MatrixSymbol('y', n, 1)
    return Application('ols', 'ordinary least squares', (X, y), ((X.T * X).I * X.T * y,),
                       (Q.fullrank(X),), ols_hand, cholesky('SYRK'), LARGE, SMALL, ('beta',),
                       structure='X.T*X is SPD: SYRK + Cholesky',
                       reference='Golub & Van Loan, Matrix Computations, 5.3')


def wls_hand(X, W, y):
    """``(X.T*W*X).I*X.T*W*y`` with ``W`` diagonal: rows scaled by ``sqrt(w)``, SYRK, POSV."""
    w = np.diagonal(W)
    G = blas.dsyrk(1.0, X * np.sqrt(w)[:, None], trans=1)
    return (_normal_solve(G, blas.dgemv(1.0, X, w * y[:, 0], trans=1)),)


@register
def wls():
    X, y, W = MatrixSymbol('X', n, p), MatrixSymbol('y', n, 1), MatrixSymbol('W', n, n)
    return Application('wls', 'weighted least squares, diagonal weights', (X, W, y),
                       ((X.T * W * X).I * X.T * W * y,),
                       (Q.fullrank(X), Q.diagonal(W), Q.positive_definite(W)), wls_hand,
                       cholesky('SYRK'), LARGE, SMALL, ('beta',), forbidden=LU | {'TRMM'},
                       structure='W diagonal: a row scaling (O(n*p)), then SYRK + Cholesky',
                       overrides={'W': positive_diagonal})


def gls_hand(X, Omega, y):
    """``(X.T*Omega.I*X).I*X.T*Omega.I*y``: POTRF of Omega, one TRSM on ``[X | y]``,
    SYRK, GEMV, POSV."""
    n, p = X.shape
    L = lapack_ok(lapack.dpotrf(Omega, lower=1), 'dpotrf')
    Z = np.empty((n, p + 1), order='F')
    Z[:, :p], Z[:, p] = X, y[:, 0]
    Z = blas.dtrsm(1.0, L, Z, lower=1, overwrite_b=1)
    G = blas.dsyrk(1.0, Z[:, :p], trans=1)
    return (_normal_solve(G, blas.dgemv(1.0, Z[:, :p], Z[:, p], trans=1)),)


@register
def gls():
    X, y, Omega = MatrixSymbol('X', n, p), MatrixSymbol('y', n, 1), MatrixSymbol('Omega', n, n)
    return Application('gls', 'generalized least squares', (X, Omega, y),
                       ((X.T * Omega.I * X).I * X.T * Omega.I * y,),
                       (Q.fullrank(X), Q.positive_definite(Omega)), gls_hand,
                       cholesky('TRSM', 'SYRK'), LARGE, SMALL, ('beta',),
                       structure='Omega SPD: Cholesky, whitening TRSM, SYRK',
                       reference='Barthels et al., Linnea (TOMS 2021), problem 2')


def ridge_hand(X, y, lam):
    """``(X.T*X + lambda*I).I*X.T*y``: SYRK, the diagonal shifted, GEMV, POSV."""
    G = add_to_diagonal(blas.dsyrk(1.0, X, trans=1), lam)
    return (_normal_solve(G, blas.dgemv(1.0, X, y[:, 0], trans=1)),)


@register
def ridge():
    X, y, lam = MatrixSymbol('X', n, p), MatrixSymbol('y', n, 1), Symbol('lambda')
    return Application('ridge', 'ridge regression', (X, y, lam),
                       ((X.T * X + lam * Identity(p)).I * X.T * y,),
                       (Q.fullrank(X), Q.positive(lam)), ridge_hand, cholesky('SYRK'),
                       LARGE, SMALL, ('beta',), structure='X.T*X + lambda*I SPD: SYRK + Cholesky',
                       reference='Hoerl & Kennard, Technometrics 12 (1970)')


def tikhonov_hand(A, Gamma, b):
    """``(A.T*A + Gamma.T*Gamma).I*A.T*b``: two SYRKs into one triangle, GEMV, POSV."""
    G = blas.dsyrk(1.0, A, trans=1)
    G = blas.dsyrk(1.0, Gamma, beta=1.0, c=G, trans=1, overwrite_c=1)
    return (_normal_solve(G, blas.dgemv(1.0, A, b[:, 0], trans=1)),)


@register
def tikhonov():
    A, b, Gamma = MatrixSymbol('A', n, p), MatrixSymbol('b', n, 1), MatrixSymbol('Gamma', p, p)
    return Application('tikhonov', 'Tikhonov regularization', (A, Gamma, b),
                       ((A.T * A + Gamma.T * Gamma).I * A.T * b,), (Q.fullrank(A),),
                       tikhonov_hand, cholesky('SYRK'), LARGE, SMALL, ('x',),
                       structure='A.T*A + Gamma.T*Gamma SPD: two SYRKs + Cholesky',
                       reference='Barthels et al., Linnea (TOMS 2021), Tikhonov')


def general_tikhonov_hand(A, P, Qp, b, x0):
    """``(A.T*P*A + Qp).I*(A.T*P*b + Qp*x0)``: ``P*A`` by SYMM, then GEMM into a copy of Qp,
    ``(P*A).T*b`` by GEMV, SYMV, POSV."""
    PA = blas.dsymm(1.0, P, A)
    G = blas.dgemm(1.0, A, PA, beta=1.0, c=np.array(Qp, order='F'), trans_a=1, overwrite_c=1)
    c = blas.dgemv(1.0, PA, b[:, 0], trans=1)
    c = blas.dsymv(1.0, Qp, x0[:, 0], beta=1.0, y=c, overwrite_y=1)
    return (_normal_solve(G, c),)


@register
def general_tikhonov():
    A, b = MatrixSymbol('A', n, p), MatrixSymbol('b', n, 1)
    P, Qp, x0 = MatrixSymbol('P', n, n), MatrixSymbol('Qp', p, p), MatrixSymbol('x0', p, 1)
    return Application('general_tikhonov', 'generalized Tikhonov regularization with a prior',
                       (A, P, Qp, b, x0), ((A.T * P * A + Qp).I * (A.T * P * b + Qp * x0),),
                       (Q.positive_definite(P), Q.positive_definite(Qp)),
                       general_tikhonov_hand, cholesky_symmetric(), LARGE, SMALL, ('x',),
                       structure='P, Qp SPD: SYMM or GEMM, A.T*P*A + Qp SPD: Cholesky',
                       reference='Barthels et al., Linnea (TOMS 2021), generalized Tikhonov')
