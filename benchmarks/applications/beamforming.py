"""Array signal processing: MVDR and LCMV beamformers.

>>> from applications import APPLICATIONS, inputs
>>> app = APPLICATIONS['mvdr']
>>> R, a = inputs(app, app.small)
>>> import numpy as np
>>> w = np.linalg.solve(R, a)
>>> np.allclose(mvdr_hand(R, a)[0], w / (a.T @ w))
True
"""
from scipy.linalg import blas, lapack
from sympy import MatrixSymbol, Q

from ._base import Application, cholesky, dims, lapack_ok, register

__all__ = ['mvdr_hand', 'lcmv_hand']

n, m = dims['n'], dims['m']


def mvdr_hand(R, a):
    """``R.I*a*(a.T*R.I*a).I``, R SPD: POTRF, ``g = L.I*a`` and ``L.-T*g`` (TRSM), a dot."""
    L = lapack_ok(lapack.dpotrf(R, lower=1), 'dpotrf')
    g = blas.dtrsm(1.0, L, a, lower=1)
    s = float(g[:, 0] @ g[:, 0])
    return (blas.dtrsm(1.0 / s, L, g, lower=1, trans_a=1, overwrite_b=1),)


@register
def mvdr():
    R, a = MatrixSymbol('R', n, n), MatrixSymbol('a', n, 1)
    return Application('mvdr', 'MVDR (Capon) beamformer weights', (R, a),
                       (R.I * a * (a.T * R.I * a).I,), (Q.positive_definite(R), Q.fullrank(a)),
                       mvdr_hand, cholesky('TRSM'), {'n': 2000}, {'n': 7}, ('w',),
                       structure='R SPD: Cholesky; a.T*R.I*a a positive scalar',
                       reference='Capon, Proc. IEEE 57 (1969)')


def lcmv_hand(R, A):
    """``R.I*A*(A.T*R.I*A).I``, R SPD, A of full column rank: POTRF of R, ``G = L.I*A``
    (TRSM), ``M = G.T*G`` (SYRK), POTRF of M, ``L.-T*G*U.-1*U.-T`` (three TRSMs)."""
    L = lapack_ok(lapack.dpotrf(R, lower=1), 'dpotrf')
    G = blas.dtrsm(1.0, L, A, lower=1)
    U = lapack_ok(lapack.dpotrf(blas.dsyrk(1.0, G, trans=1), overwrite_a=1), 'dpotrf')
    W = blas.dtrsm(1.0, L, G, lower=1, trans_a=1, overwrite_b=1)
    W = blas.dtrsm(1.0, U, W, side=1, overwrite_b=1)
    return (blas.dtrsm(1.0, U, W, side=1, trans_a=1, overwrite_b=1),)


@register
def lcmv():
    R, A = MatrixSymbol('R', n, n), MatrixSymbol('A', n, m)
    return Application('lcmv', 'LCMV beamformer with m constraints', (R, A),
                       (R.I * A * (A.T * R.I * A).I,), (Q.positive_definite(R), Q.fullrank(A)),
                       lcmv_hand, cholesky('TRSM', 'SYRK'), {'n': 2000, 'm': 500},
                       {'n': 8, 'm': 3}, ('W',), structure='R, A.T*R.I*A SPD: two Cholesky '
                       'factorizations, TRSM, SYRK',
                       reference='Van Veen & Buckley, IEEE ASSP Magazine 5 (1988)')
