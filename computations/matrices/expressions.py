"""Matrix expressions for values that SymPy has no class for.

The Cholesky factor is SymPy's own :class:`~sympy.matrices.expressions.factorizations.LofCholesky`
(lower, ``A = L*L.T``).  GETRF's results have no SymPy counterpart, so they
are defined here: the packed LU factors of ``A`` and the row pivots.
:class:`SymmetricLower` is the symmetric matrix a triangle stands for, as
LAPACK reads a symmetric argument (the Cholesky adjoint needs it).

>>> from sympy import MatrixSymbol
>>> A = MatrixSymbol('A', 4, 4)
>>> LU(A).shape, LUPivots(A).shape
((4, 4), (4, 1))
"""
from sympy import Determinant, MatrixExpr, log, sympify
from sympy.matrices.expressions.factorizations import Factorization, LofCholesky

__all__ = ['LofCholesky', 'LU', 'LUPivots', 'SymmetricLower', 'is_log_determinant']


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


def is_log_determinant(expr):
    """Whether ``expr`` is ``log(Determinant(A))``: one scalar to the compiler (computed from
    a factor's diagonal, never through the determinant) and to the gradient.

    >>> from sympy import MatrixSymbol
    >>> A = MatrixSymbol('A', 2, 2)
    >>> is_log_determinant(log(Determinant(A))), is_log_determinant(Determinant(A))
    (True, False)
    """
    return isinstance(expr, log) and isinstance(expr.args[0], Determinant)


class SymmetricLower(MatrixExpr):
    """The symmetric matrix whose lower triangle (diagonal included) is that of ``X``.

    ``tril(X) + tril(X, -1).T``: what a routine that reads one triangle of a
    symmetric argument sees in ``X``.  It is ``Phi(X) + Phi(X).T`` for
    Murray's ``Phi`` (the lower triangle with half the diagonal), which is
    how it enters the adjoint of the Cholesky factorization.

    >>> from sympy import MatrixSymbol
    >>> SymmetricLower(MatrixSymbol('X', 3, 3)).shape
    (3, 3)
    """
    is_commutative = False

    def __new__(cls, X):
        X = sympify(X)
        if not isinstance(X, MatrixExpr):
            raise TypeError(f'SymmetricLower needs a matrix expression, got {X!r}')
        if X.shape[0] != X.shape[1]:
            raise ValueError(f'SymmetricLower needs a square matrix, got {X} ({X.shape[0]}x'
                             f'{X.shape[1]})')
        return super().__new__(cls, X)

    @property
    def arg(self):
        return self.args[0]

    @property
    def shape(self):
        return self.arg.shape

    def _eval_transpose(self):
        return self

    def _entry(self, i, j, **kwargs):
        from sympy import Piecewise
        return Piecewise((self.arg[i, j], i >= j), (self.arg[j, i], True))

    def _sympystr(self, printer):
        return f'sym_lower({printer._print(self.arg)})'
