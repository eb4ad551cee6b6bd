"""The kernel of STREAMED_SYRK: ``alpha*X.T*X + beta*C`` for ``X = P*op(A)*op(B)``, by panels.

X is never held.  For each panel of ``rows`` rows of P, the panel of X is
made transposed -- ``op(A).T*P_r.T`` (GEMM, or SYMM for a symmetric A),
then ``op(B).T`` times that -- so that every array the routines write is a
column block of a Fortran-ordered buffer (contiguous: scipy's wrappers
would copy a row block), and added to the result by a rank update
(SYRK, ``C := alpha*Xt*Xt.T + C``).  Three panel buffers are allocated
once; their size is the operation's ``workspace``.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> P, A = rng.standard_normal((5, 5)), rng.standard_normal((5, 3))
>>> C = streamed_syrk(2.0, P, A, None, 0.0, None, rows=2)
>>> X = P @ A
>>> bool(np.allclose(C, 2 * X.T @ X))
True
"""
import numpy as np
from scipy.linalg import blas

from .calls import symmetrize

__all__ = ['streamed_syrk']


def streamed_syrk(alpha, P, A, B, beta, C, trans_a=False, trans_b=False, symmetric='',
                  trans=True, overwrite_c=False, rows=64):
    """``alpha*X.T*X + beta*C`` for ``X = P*op(A)*op(B)`` (``trans``), or ``alpha*X*X.T +
    beta*C`` for ``X = op(A)*op(B)*P.T``; B and C may be None.  A full symmetric Fortran
    array; C is destroyed only when ``overwrite_c``."""
    arrays = [P, A] + ([] if B is None else [B])
    gemm, symm, syrk = blas.get_blas_funcs(('gemm', 'symm', 'syrk'), arrays)
    dtype = gemm.dtype
    # The factors applied to a panel of P.T, first to last: (F, transposed, symmetric).
    steps = [(A, trans_a, symmetric == 'A')]
    if B is not None:
        steps.append((B, trans_b, symmetric == 'B'))
    steps = [(F, not t, sym) for F, t, sym in steps] if trans else steps[::-1]
    m, k = P.shape
    rows = max(1, min(rows, m))
    pt = np.empty((k, rows), dtype, order='F')
    outs = [np.empty((F.shape[1] if t else F.shape[0], rows), dtype, order='F')
            for F, t, _ in steps]
    if C is not None and not (overwrite_c and C.flags.f_contiguous):
        C = np.array(C, order='F', copy=True)
    if m == 0:                         # no panel: X is empty, alpha*X.T*X is zero
        if C is None:
            return np.zeros((outs[-1].shape[0],) * 2, dtype, order='F')
        if beta == 0:
            C[...] = 0                 # (BLAS reads no C when beta is 0)
        else:
            C *= beta
        return symmetrize(C, 'upper')
    for start in range(0, m, rows):
        width = min(rows, m - start)
        x = pt[:, :width]
        x[...] = P[start:start + width].T
        for (F, t, sym), out in zip(steps, outs):        # op(F)*x, into out
            if sym:
                x = symm(1.0, F, x, 0.0, out[:, :width], overwrite_c=1)
            else:
                x = gemm(1.0, F, x, 0.0, out[:, :width], trans_a=t, overwrite_c=1)
        if C is None:
            C = syrk(alpha, x)
        else:
            C = syrk(alpha, x, beta if start == 0 else 1.0, C, overwrite_c=1)
    return symmetrize(C, 'upper')
