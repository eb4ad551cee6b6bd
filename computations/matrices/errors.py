"""Errors of numerical routines, named after what went wrong mathematically.

They subclass :class:`numpy.linalg.LinAlgError`, so code that catches NumPy's
errors catches these too.  Each names the operation and the matrix
expression it failed on.

>>> import sympy
>>> A = sympy.MatrixSymbol('A', 3, 3)
>>> raise NotPositiveDefiniteError('POSV', A + A.T, 2)
Traceback (most recent call last):
    ...
computations.matrices.errors.NotPositiveDefiniteError: POSV: A + A.T is not positive definite (its leading minor of order 2 is not positive)
"""
from numpy.linalg import LinAlgError

__all__ = ['RoutineError', 'NotPositiveDefiniteError', 'SingularMatrixError']


class RoutineError(LinAlgError):
    """A BLAS/LAPACK routine reported failure (``info != 0``) on an expression."""

    def __init__(self, operation, expression, info, message=None):
        self.operation, self.expression, self.info = operation, expression, info
        super().__init__(message or f'{operation}: LAPACK reported info = {info} on '
                                    f'{expression}')


class NotPositiveDefiniteError(RoutineError):
    """A Cholesky factorization met a matrix that is not positive definite."""

    def __init__(self, operation, expression, info):
        super().__init__(operation, expression, info,
                         f'{operation}: {expression} is not positive definite '
                         f'(its leading minor of order {info} is not positive)')


class SingularMatrixError(RoutineError):
    """A factorization or triangular solve met an exactly singular matrix."""

    def __init__(self, operation, expression, info):
        super().__init__(operation, expression, info,
                         f'{operation}: {expression} is singular (its factor has a zero '
                         f'at diagonal position {info})')
