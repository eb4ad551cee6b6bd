"""The adjoint of the Cholesky factorization, by recursion on halves with level-3 BLAS.

For ``K = L*L.T`` and ``B`` the adjoint of ``L``, the adjoint of ``K`` is
``S = L.-T*SymmetricLower(L.T*B)*L.-1`` (times 1/2 for the gradient; see
:mod:`computations.matrices.gradients`).  Formed as written -- TRMM, then
two TRSMs -- it costs 3n^3 FLOPs, nine times the factorization's n^3/3.
:func:`cholesky_adjoint` follows the factorization backwards instead, on
the 2x2 block split ``L = [[L11, 0], [L21, L22]]`` (``L21 = K21*L11.-T``,
``L22 = chol(K22 - L21*L21.T)``):

1. ``S22`` from ``L22`` and ``B22`` (recursively);
2. ``B21 - SymmetricLower(S22)*L21`` (SYMM), then times ``L11.-1`` (TRSM):
   this is ``S21``;
3. ``B11 - S21.T*L21`` (GEMM), and ``S11`` from ``L11`` and it (recursively).

Blocks of at most :data:`LEAF` rows use the TRMM/TRSM formula.  The total
is about 2n^3/3 FLOPs in a few large calls: at n = 2000 it runs in about
2.3 times ``scipy.linalg.cholesky`` (docs/benchmarks.md).  It is the
blocked algorithm of Murray (2016), recursive instead of left-looking, and
keeps ``S``'s lower triangle with its diagonal (``r + r.T`` for the loop
algorithm's lower-triangular result ``r``).

>>> import numpy as np
>>> K = np.array([[4., 2.], [2., 3.]]); L = np.linalg.cholesky(K)
>>> S = cholesky_adjoint(1.0, L, np.eye(2))
>>> bool(np.allclose(S, S.T))
True
"""
import numpy as np
from scipy.linalg import blas

from .calls import symmetrize

__all__ = ['cholesky_adjoint', 'LEAF']

#: Diagonal blocks of at most this many rows use the TRMM/TRSM formula
#: (64, 128 and 256 ran within 5% of each other at n = 1000 and 2000).
LEAF = 64


def cholesky_adjoint(alpha, L, B, overwrite_b=False):
    """``alpha*L.-T*SymmetricLower(L.T*B)*L.-1`` as a full symmetric Fortran array.

    Reads the lower triangles of ``L`` and ``B`` (``B`` is destroyed only
    when ``overwrite_b``; it then holds the result).
    """
    funcs = blas.get_blas_funcs(('trmm', 'trsm', 'symm', 'gemm'), (L, B))
    dtype = funcs[0].dtype                     # of both: an integer B is computed in float64
    result = B if overwrite_b and B.flags.f_contiguous and B.dtype == dtype else \
        np.empty(B.shape, dtype=dtype, order='F')
    _fill(funcs, alpha, L, B, result)
    return symmetrize(result, 'lower')


def _fill(funcs, alpha, L, B, out):
    """Write the lower triangle of ``alpha*S`` (see the module) into ``out``.

    ``out`` may be ``B`` itself: each block of B is read before its place
    in ``out`` is written.  Every element is written once, where it stays;
    alpha goes into the routines' scalars, so no pass scales the result.
    """
    trmm, trsm, symm, gemm = funcs
    n = L.shape[0]
    if n <= LEAF:
        # B's upper triangle is not read: not even as 0*B[i, j], which is NaN for NaN
        P = np.tril(trmm(alpha, L, np.tril(B), lower=1, trans_a=1))
        P[np.diag_indices(n)] *= 0.5                 # Phi(L.T*B): half the diagonal
        S = trsm(1.0, L, P, lower=1, trans_a=1, overwrite_b=1)
        S = trsm(1.0, L, S, lower=1, side=1, overwrite_b=1)
        out[...] = S + S.T
        return
    h = n // 2
    L11, L21, L22 = L[:h, :h], L[h:, :h], L[h:, h:]
    _fill(funcs, alpha, L22, B[h:, h:], out[h:, h:])
    B21 = symm(-1.0, out[h:, h:], L21, alpha, B[h:, :h], lower=1)
    S21 = trsm(1.0, L11, B21, side=1, lower=1, overwrite_b=1)
    B11 = gemm(-1.0, S21, L21, alpha, B[:h, :h], trans_a=1)
    out[h:, :h] = S21
    _fill(funcs, 1.0, L11, B11, out[:h, :h])               # B11 is scaled already
