"""Operations whose result is a scalar: traces, inner products, elements, determinants.

Each names its output explicitly (``output``): the canonical scalar the
compiler planned (``Trace(X.T*X)``, ``log(Determinant(K))``), so that every
later reader -- a :class:`~.auxiliary.SCALAR` combining scalars, a routine
scaled by one -- refers to the same variable whatever spelling the matrix
operands have.  Scalars are floats at run time (:func:`scalar_type`); none has a
buffer.

>>> from sympy import MatrixSymbol, Trace, Determinant, log
>>> X, K = MatrixSymbol('X', 4, 3), MatrixSymbol('K', 4, 4)
>>> print(INNER(X, X, output=Trace(X.T*X)))
Trace(X.T*X) = INNER(X, X)
>>> CHOLESKY_DETERMINANT(LofCholesky(K)).outputs
(log(Determinant(K)),)
"""
import numpy as np
import sympy
from sympy import Determinant, Q, Trace
from sympy.matrices.expressions.matexpr import MatrixElement

from computations.matrices.ops.core import (MatrixComputation, as_flag, as_matrix, check_square,
                                            operations, same_dimension)
from computations.matrices.errors import RoutineError
from computations.matrices.expressions import LU, LofCholesky, LUPivots

__all__ = ['TRACE', 'INNER', 'ELEMENT', 'CHOLESKY_DETERMINANT', 'LU_DETERMINANT',
           'TRIANGULAR_DETERMINANT',
           'NotPositiveDeterminantError', 'SCALAR_OPERATIONS', 'scalar_type']


def scalar_type(dtype):
    """The type of a scalar value in a program computing in ``dtype``: Python's float in
    float64, ``np.float32`` in float32 (the precision its matrices have).

    >>> import numpy as np
    >>> scalar_type(np.float64), scalar_type(np.float32)
    (<class 'float'>, <class 'numpy.float32'>)
    """
    dtype = np.dtype(dtype)
    return float if dtype == np.float64 else dtype.type


class NotPositiveDeterminantError(RoutineError):
    """The logarithm of a determinant that is not positive."""

    #: A matrix's transpose has its determinant.
    transposable = True

    def __init__(self, operation, expression, value):
        super().__init__(operation, expression, 0,
                         f'{operation}: log({expression}) is undefined: the determinant is '
                         f'{value:.6g}, not positive')


class _ScalarOp(MatrixComputation):
    """An operation computing one scalar, named by its ``output`` (see the module)."""
    __slots__ = ()
    library = 'numpy'

    def _output(self, output, default, *args):
        output = default if output is None else sympy.sympify(output)
        self._set(*args, output, outputs=[output])

    def __str__(self):
        shown = ', '.join(str(getattr(self, name)) for name in self.arguments)
        flags = ''.join(f', {name}={getattr(self, name)!r}' for name in self.__props__
                        if name not in self.arguments and name != 'output'
                        and getattr(self, name))
        return f'{self.outputs[0]} = {type(self).__name__}({shown}{flags})'


class TRACE(_ScalarOp):
    """``Trace(X)``: the sum of the diagonal of a square matrix.

    >>> print(TRACE(sympy.MatrixSymbol('A', 3, 3)))
    Trace(A) = TRACE(A)
    """
    __slots__ = ()
    __props__ = ('X', 'output')
    arguments = ('X',)
    routine = 'trace'

    def __init__(self, X, output=None):
        X = as_matrix(X, 'X', 'TRACE')
        check_square(X, 'X', 'TRACE')
        self._output(output, Trace(X), X)

    @property
    def triangles(self):
        """Only the diagonal is read (a buffer holding either triangle will do)."""
        return {'X': 'diagonal'}

    @property
    def flops(self):
        return self.X.shape[0]


class INNER(_ScalarOp):
    """``Trace(A.T*op(B))``: the Frobenius inner product of A and op(B), without a product.

    The sum of ``A`` times ``op(B)`` elementwise (``op(B)`` is ``B.T`` when
    ``trans``): ``Trace(X.T*X)`` is ``INNER(X, X)`` and ``Trace(A*B)`` is
    ``INNER(A, B, trans=True)``, at 2mn FLOPs instead of a product's 2mnk.

    >>> A, B = sympy.MatrixSymbol('A', 3, 2), sympy.MatrixSymbol('B', 2, 3)
    >>> INNER(A, B, trans=True).outputs
    (Trace(A*B),)
    """
    __slots__ = ()
    __props__ = ('A', 'B', 'trans', 'output')
    arguments = ('A', 'B')
    routine = 'inner'

    def __init__(self, A, B, trans=False, output=None):
        A, B = as_matrix(A, 'A', 'INNER'), as_matrix(B, 'B', 'INNER')
        trans = as_flag(trans, 'trans', 'INNER')
        right = B.T if trans else B
        if not (same_dimension(A.shape[0], right.shape[0])
                and same_dimension(A.shape[1], right.shape[1])):
            raise sympy.ShapeError(f'INNER: A = {A} is {A.shape[0]}x{A.shape[1]} and op(B) = '
                                   f'{right} is {right.shape[0]}x{right.shape[1]}: their shapes '
                                   'differ')
        self._output(output, Trace(A * B) if trans else Trace(A.T * B), A, B, trans)

    @property
    def flops(self):
        return 2 * self.A.shape[0] * self.A.shape[1]


class ELEMENT(_ScalarOp):
    """``X[i, j]`` at numeric positions (a 1x1 matrix's value as a scalar).

    >>> y = sympy.MatrixSymbol('y', 3, 1)
    >>> print(ELEMENT(y.T*y, output=sympy.Trace(y.T*y)))
    Trace(y.T*y) = ELEMENT(y.T*y)
    """
    __slots__ = ()
    __props__ = ('X', 'i', 'j', 'output')
    arguments = ('X',)
    routine = 'element'

    def __init__(self, X, i=0, j=0, output=None):
        X = as_matrix(X, 'X', 'ELEMENT')
        i, j = sympy.Integer(i), sympy.Integer(j)
        self._output(output, MatrixElement(X, i, j), X, i, j)

    def __str__(self):
        return super().__str__().replace(', i=0, j=0', '').replace(', i=0', '')

    @property
    def flops(self):
        return 0


class CHOLESKY_DETERMINANT(_ScalarOp):
    """``log(Determinant(A))`` (``log=True``) or ``Determinant(A)`` from A's Cholesky factor.

    ``2*sum(log(diag(L)))``: never overflows, and shares the factor with the
    solves with A.

    >>> A = sympy.MatrixSymbol('A', 3, 3)
    >>> CHOLESKY_DETERMINANT(LofCholesky(A), log=False).outputs
    (Determinant(A),)
    """
    __slots__ = ()
    __props__ = ('L', 'log', 'output')
    arguments = ('L',)
    routine = 'cholesky_determinant'

    def __init__(self, L, log=True, output=None):
        if not isinstance(L, LofCholesky):
            raise TypeError(f'CHOLESKY_DETERMINANT reads a Cholesky factor LofCholesky(A), '
                            f'got {L!r}')
        log = as_flag(log, 'log', 'CHOLESKY_DETERMINANT')
        determinant = Determinant(L.arg)
        self._output(output, sympy.log(determinant) if log else determinant, L, log)

    @property
    def triangles(self):
        """Only the diagonal is read (a buffer holding either triangle will do)."""
        return {'L': 'diagonal'}

    @property
    def flops(self):
        return self.L.shape[0]


class TRIANGULAR_DETERMINANT(_ScalarOp):
    """``Determinant(A)`` (or its logarithm, ``log=True``) of a triangular A: the product of
    its diagonal, O(n) -- no factorization (a diagonal matrix is both triangles).

    The logarithm of a determinant that is not positive raises
    :class:`NotPositiveDeterminantError`.

    >>> A = sympy.MatrixSymbol('A', 3, 3)
    >>> op = TRIANGULAR_DETERMINANT(A, lower=False, log=True)
    >>> op.outputs, op.condition, op.flops
    ((log(Determinant(A)),), Q.upper_triangular(A), 3)
    """
    __slots__ = ()
    __props__ = ('A', 'lower', 'log', 'output')
    arguments = ('A',)
    routine = 'triangular_determinant'

    def __init__(self, A, lower=True, log=False, output=None):
        A = as_matrix(A, 'A', 'TRIANGULAR_DETERMINANT')
        check_square(A, 'A', 'TRIANGULAR_DETERMINANT')
        lower = as_flag(lower, 'lower', 'TRIANGULAR_DETERMINANT')
        log = as_flag(log, 'log', 'TRIANGULAR_DETERMINANT')
        determinant = Determinant(A)
        self._output(output, sympy.log(determinant) if log else determinant, A, lower, log)

    @property
    def condition(self):
        return (Q.lower_triangular if self.lower else Q.upper_triangular)(self.A)

    @property
    def triangles(self):
        """Only the diagonal is read."""
        return {'A': 'diagonal'}

    @property
    def flops(self):
        return self.A.shape[0]


class LU_DETERMINANT(_ScalarOp):
    """``Determinant(A)`` (or its logarithm, ``log=True``) from A's LU factors and pivots.

    The logarithm of a determinant that is not positive raises
    :class:`NotPositiveDeterminantError`.

    >>> A = sympy.MatrixSymbol('A', 3, 3)
    >>> LU_DETERMINANT(LU(A), LUPivots(A)).outputs
    (Determinant(A),)
    """
    __slots__ = ()
    __props__ = ('LU', 'pivots', 'log', 'output')
    arguments = ('LU', 'pivots')
    routine = 'lu_determinant'

    def __init__(self, LU_, pivots, log=False, output=None):
        if not isinstance(LU_, LU) or pivots != LUPivots(LU_.arg):
            raise TypeError(f'LU_DETERMINANT reads LU(A) and LUPivots(A), got {LU_!r}, '
                            f'{pivots!r}')
        log = as_flag(log, 'log', 'LU_DETERMINANT')
        determinant = Determinant(LU_.arg)
        self._output(output, sympy.log(determinant) if log else determinant, LU_, pivots, log)

    @property
    def triangles(self):
        """Only the diagonal is read (a buffer holding either triangle will do)."""
        return {'LU': 'diagonal'}

    @property
    def flops(self):
        return self.LU.shape[0]


#: The operations computing scalars from matrices (every class of this module's kind).
SCALAR_OPERATIONS = tuple(cls for cls in operations() if issubclass(cls, _ScalarOp))
