"""Inversion: triangular and SPD inverses, randomized inversion of an SPD matrix.

>>> from applications import APPLICATIONS, inputs
>>> app = APPLICATIONS['triangular_inverse']
>>> L, = inputs(app, app.small)
>>> import numpy as np
>>> np.allclose(triangular_inverse_hand(L)[0] @ L, np.eye(len(L)))
True
"""
import numpy as np
from scipy.linalg import blas, lapack
from sympy import Identity, MatrixSymbol, Q

from ._base import (LU, Application, cholesky, cholesky_factor, cholesky_symmetric, dims,
                    lapack_ok, register, symmetrize)

__all__ = ['triangular_inverse_hand', 'spd_inverse_hand', 'randomized_inversion_hand']

n, m = dims['n'], dims['m']


def triangular_inverse_hand(L):
    """``L.I`` with ``L`` lower triangular: TRTRI (n**3/3 FLOPs)."""
    return (lapack_ok(lapack.dtrtri(L, lower=1), 'dtrtri'),)


@register
def triangular_inverse():
    L = MatrixSymbol('L', n, n)
    return Application('triangular_inverse', 'inverse of a lower triangular matrix', (L,),
                       (L.I,), (Q.lower_triangular(L),), triangular_inverse_hand, ({'TRTRI'},),
                       {'n': 2000}, {'n': 6}, ('Linv',), forbidden=LU | {'TRSM'},
                       structure='L lower triangular: TRTRI, not TRSM on I',
                       reference='Barthels et al., Linnea (TOMS 2021), triangular inversion',
                       overrides={'L': cholesky_factor})


def spd_inverse_hand(S):
    """``S.I`` with ``S`` SPD: POTRF, POTRI, the lower triangle mirrored."""
    U = lapack_ok(lapack.dpotrf(S), 'dpotrf')
    return (symmetrize(lapack_ok(lapack.dpotri(U, overwrite_c=1), 'dpotri')),)


@register
def spd_inverse():
    S = MatrixSymbol('S', n, n)
    return Application('spd_inverse', 'precision matrix from a covariance (SPD inverse)', (S,),
                       (S.I,), (Q.positive_definite(S),), spd_inverse_hand,
                       ({'POTRF', 'POTRI'},), {'n': 2000}, {'n': 6}, ('Sinv',),
                       structure='S SPD: POTRF + POTRI',
                       reference='Higham, Accuracy and Stability of Numerical Algorithms, 14')


def randomized_inversion_hand(A, S, X):
    """``T + (I - T*A)*X*(I - A*T)``, ``T = S*(S.T*A*S).I*S.T``, A SPD (Gower-Richtarik).

    ``AS = A*S`` (SYMM), ``M = S.T*AS`` (GEMM), ``M = L*L.T`` (POTRF),
    ``G = S*L.-T`` and ``H = AS*L.-T`` (TRSM), so ``T = G*G.T`` and
    ``T*A = G*H.T``; then ``E = X - G*(H.T*X)`` and the result
    ``T + E - E*H*G.T = E + (G - E*H)*G.T`` (three GEMMs n x n x m and one
    n x m x n, no n x n SYRK nor sum; a review found the version with ``T``
    formed by SYRK, mirrored and added did needless work)."""
    AS = blas.dsymm(1.0, A, S)
    M = blas.dgemm(1.0, S, AS, trans_a=1)
    L = lapack_ok(lapack.dpotrf(M, lower=1, overwrite_a=1), 'dpotrf')
    G = blas.dtrsm(1.0, L, S, side=1, lower=1, trans_a=1)
    H = blas.dtrsm(1.0, L, AS, side=1, lower=1, trans_a=1, overwrite_b=1)
    E = blas.dgemm(-1.0, G, blas.dgemm(1.0, H, X, trans_a=1), beta=1.0,
                   c=np.array(X, order='F'), overwrite_c=1)
    K = blas.dgemm(-1.0, E, H, beta=1.0, c=G.copy(order='F'), overwrite_c=1)
    return (blas.dgemm(1.0, K, G, beta=1.0, c=E, trans_b=1, overwrite_c=1),)


@register
def randomized_inversion():
    A, S, X = MatrixSymbol('A', n, n), MatrixSymbol('S', n, m), MatrixSymbol('X', n, n)
    T = S * (S.T * A * S).I * S.T
    return Application('randomized_inversion', 'randomized inversion of an SPD matrix, one '
                       'sketch-and-project step', (A, S, X),
                       (T + (Identity(n) - T * A) * X * (Identity(n) - A * T),),
                       (Q.positive_definite(A), Q.fullrank(S)), randomized_inversion_hand,
                       cholesky_symmetric('TRSM'), {'n': 2000, 'm': 200}, {'n': 8, 'm': 3},
                       ('X_next',),
                       structure='A SPD: SYMM or GEMM; S.T*A*S SPD: Cholesky; all products '
                       'n x n x m (never n x n x n)',
                       reference='Gower & Richtarik, SIAM J. Matrix Anal. Appl. 38 (2017)')
