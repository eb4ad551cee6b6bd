"""Matrix expressions for the values LAPACK factorizations produce.

The Cholesky factor is SymPy's own :class:`~sympy.matrices.expressions.factorizations.LofCholesky`
(lower, ``A = L*L.T``).  GETRF's results have no SymPy counterpart, so they
are defined here: the packed LU factors of ``A`` and the row pivots.

>>> from sympy import MatrixSymbol
>>> A = MatrixSymbol('A', 4, 4)
>>> LU(A).shape, LUPivots(A).shape
((4, 4), (4, 1))
"""
from sympy.matrices.expressions.factorizations import Factorization, LofCholesky

__all__ = ['LofCholesky', 'LU', 'LUPivots']


class LU(Factorization):
    """L (unit lower, below the diagonal) and U (upper) of ``P*A = L*U``, packed in one matrix."""

    def _latex(self, printer):
        return r'\operatorname{LU}\left(%s\right)' % printer._print(self.arg)


class LUPivots(Factorization):
    """The row interchanges of the LU factorization of ``A`` (integers, as LAPACK's ipiv).

    Stored as a vector of 32-bit integers (0-based, as scipy's getrf wrapper
    returns and its getrs reads them), not as a float matrix: executors read
    ``element_type``.
    """
    element_type = 'int32'

    @property
    def shape(self):
        return (self.arg.shape[0], 1)
