"""Errors of numerical routines, named after what went wrong mathematically.

They subclass :class:`numpy.linalg.LinAlgError` (a ValueError), so code that
catches NumPy's errors catches these too.  Each names the operation and the
matrix expression it failed on; :class:`SingularExpressionError` is raised
before any routine runs, for an inverse of a matrix that is singular whatever
the inputs (the zero matrix).  Like every error of the library they pickle
(:class:`computations.graph.ComputationsError`).

>>> import sympy
>>> A = sympy.MatrixSymbol('A', 3, 3)
>>> raise NotPositiveDefiniteError('POSV', A + A.T, 2)
Traceback (most recent call last):
    ...
computations.matrices.errors.NotPositiveDefiniteError: POSV: A + A.T is not positive definite (its leading minor of order 2 is not positive)
"""
import copy

from numpy.linalg import LinAlgError

from computations.graph import ComputationsError

__all__ = ['RoutineError', 'NotPositiveDefiniteError', 'SingularMatrixError',
           'SingularExpressionError']


class RoutineError(ComputationsError, LinAlgError):
    """A BLAS/LAPACK routine reported failure (``info != 0``) on an expression.

    ``block`` is, in a blocked program, the block the routine ran on (``expression`` is
    then the matrix of the program it is a block of, or a step of its factorization).
    """

    #: Whether the error says the same of the transpose of its matrix, ``info`` included:
    #: not in general (where an LU factor has its zero depends on the pivoting).
    transposable = False

    def __init__(self, operation, expression, info, message=None, block=None):
        self.operation, self.expression, self.info, self.block = (operation, expression,
                                                                  info, block)
        at = '' if block is None else f' (at block {block})'
        super().__init__(message or f'{operation}: LAPACK reported info = {info} on '
                                    f'{expression}{at}')

    def about(self, expression):
        """The same error about ``expression``, e.g. the matrix written in other symbols:
        its message names ``expression`` where, after the operation, it named the old one.

        >>> import sympy
        >>> P = sympy.MatrixSymbol('P', 3, 3)
        >>> print(NotPositiveDefiniteError('POTRF', P, 2).about(P.T))
        POTRF: P.T is not positive definite (its leading minor of order 2 is not positive)
        """
        error = copy.copy(self)
        error.expression = expression
        head = f'{self.operation}: '
        message = self.args[0] if self.args and isinstance(self.args[0], str) else None
        if message is not None and message.startswith(head):
            rest = message[len(head):].replace(str(self.expression), str(expression), 1)
            error.args = (head + rest, *self.args[1:])
        return error


class NotPositiveDefiniteError(RoutineError):
    """A Cholesky factorization met a matrix that is not positive definite.

    >>> import sympy
    >>> print(NotPositiveDefiniteError('POTRF', sympy.MatrixSymbol('S', 6, 6), 1,
    ...                                block='chol(S)[1,1].u1'))
    POTRF: S is not positive definite (at block chol(S)[1,1].u1: its leading minor of order 1 is not positive)
    """

    #: The matrix is symmetric: its transpose is the same matrix.
    transposable = True

    def __init__(self, operation, expression, info, block=None):
        where = '' if block is None else f'at block {block}: '
        super().__init__(operation, expression, info,
                         f'{operation}: {expression} is not positive definite '
                         f'({where}its leading minor of order {info} is not positive)', block)


class SingularMatrixError(RoutineError):
    """A factorization or triangular solve met an exactly singular matrix."""

    @property
    def transposable(self):
        """A triangular matrix's zero is on its diagonal, its transpose's too; an LU
        factor's position depends on the pivoting."""
        return self.operation in _TRIANGULAR

    def __init__(self, operation, expression, info, block=None):
        # A triangular matrix has the zero on its own diagonal; another, on its LU factor's.
        where = '' if block is None else f'at block {block}: '
        whose = 'it' if operation in _TRIANGULAR else 'its factor'
        super().__init__(operation, expression, info,
                         f'{operation}: {expression} is singular ({where}{whose} has a zero '
                         f'at diagonal position {info})', block)


#: Operations whose matrix is triangular itself (no factorization before the check).
_TRIANGULAR = frozenset({'TRSM', 'TRTRS', 'TRTRI'})


class SingularExpressionError(ComputationsError, LinAlgError):
    """An expression inverts a matrix that is singular whatever the inputs.

    Raised when the expression is compiled (by :func:`computations.function`),
    not when it runs: ``(T - T.T).I`` with ``T`` symmetric is the inverse of
    the zero matrix.  ``expression`` is the inverse (or negative power) as
    written, ``matrix`` the singular matrix it inverts (as written), ``reason``
    why it is singular.

    Not a :class:`SingularMatrixError`: that one reports a routine's failure
    on the data of a call (its ``operation`` and ``info``); this one is a
    property of the expression, found before there is any routine or data.
    Like NumPy's ``inv`` of a singular matrix, it is a LinAlgError (and so a
    ValueError).

    >>> import sympy
    >>> T = sympy.MatrixSymbol('T', 3, 3)
    >>> raise SingularExpressionError((T - T.T).I, T - T.T, 'it is the zero matrix')
    Traceback (most recent call last):
        ...
    computations.matrices.errors.SingularExpressionError: (T - T.T)**(-1): T - T.T is singular whatever the inputs (it is the zero matrix), so it has no inverse
    """

    def __init__(self, expression, matrix, reason):
        self.expression, self.matrix, self.reason = expression, matrix, reason
        super().__init__(f'{expression}: {matrix} is singular whatever the inputs ({reason}), '
                         'so it has no inverse')
