"""BLAS operations: one class per routine, named after it.

>>> from sympy import MatrixSymbol, Symbol
>>> A, B, C = MatrixSymbol('A', 3, 4), MatrixSymbol('B', 4, 5), MatrixSymbol('C', 3, 5)
>>> g = GEMM(Symbol('alpha'), A, B, 1, C)
>>> g.outputs, g.inputs, g.inplace
((alpha*A*B + C,), (alpha, A, B, C), {0: 3})
>>> g.flops
120
"""
import dataclasses

import sympy
from sympy import Q

from computations.matrices.ops.algebra import add, multiply, transpose_if
from computations.matrices.ops.core import (Call, MatrixComputation, as_flag, as_matrix, as_scalar,
                                            as_side, check_shapes, check_square, same_dimension)
from computations.matrices.errors import SingularMatrixError
from computations.matrices.ops.rates import ShapeRate, SidedRate
from computations.matrices.expressions import LofCholesky

__all__ = ['GEMM', 'SYMM', 'SYRK', 'GEMV', 'AXPY', 'SCAL', 'COPY', 'TRMM', 'TRSM']


def _scaled(alpha, X):
    return X if alpha == 1 else multiply(alpha, X)


def _accumulate(alpha, product, beta, C):
    """``alpha*product + beta*C`` (without the second term when C is absent)."""
    result = _scaled(alpha, product)
    return result if C is None else add(result, _scaled(beta, C))


def _scaling(beta, entries):
    """The FLOPs of scaling C by ``beta`` before accumulating onto it: none when beta is 0
    (C is not read) or 1, else one multiplication per entry the routine writes."""
    return 0 if beta in (0, 1) else entries


def _sided_shape(A, B, side):
    """``(order, width)`` of a product with the square A on ``side``: A's order and B's
    other dimension (its columns on the left, its rows on the right)."""
    return A.shape[0], B.shape[1] if side == 'L' else B.shape[0]


def _sided_product(name, side, A, opA, B):
    """``opA*B`` (side 'L') or ``B*opA`` ('R'), after checking square A against B."""
    check_square(A, 'A', name)
    if side == 'L':
        check_shapes(name, 'A', A, 'B', B, 1, 0)
        return multiply(opA, B)
    check_shapes(name, 'B', B, 'A', A, 1, 0)
    return multiply(B, opA)


def _beta_and_c(beta, C, shape, name):
    """Normalize (beta, C): C is read only when beta is not zero."""
    beta = as_scalar(beta, 'beta', name)
    if beta == 0:
        return beta, None
    if C is None:
        raise ValueError(f'{name}: beta = {beta} but C is missing; pass C or beta=0')
    C = as_matrix(C, 'C', name)
    if not all(map(same_dimension, C.shape, shape)):
        raise sympy.ShapeError(f'{name}: C = {C} is {C.shape[0]}x{C.shape[1]} but the '
                               f'product is {shape[0]}x{shape[1]}')
    return beta, C


class GEMM(MatrixComputation):
    """General matrix product: ``alpha*op(A)*op(B) + beta*C``, written into C.

    ``op(X)`` is ``X.T`` when the matching ``trans_*`` flag is set.

    >>> from sympy import MatrixSymbol
    >>> A, B = MatrixSymbol('A', 3, 4), MatrixSymbol('B', 3, 5)
    >>> GEMM(1, A, B, trans_a=True).outputs
    (A.T*B,)
    """
    __slots__ = ()
    __props__ = ('alpha', 'A', 'B', 'beta', 'C', 'trans_a', 'trans_b')
    arguments = ('alpha', 'A', 'B', 'beta', 'C')
    overwrites = {0: 'C'}
    routine = 'gemm'
    oriented = True
    call = Call(arguments, (0,), flags={'trans_a': 'trans_a', 'trans_b': 'trans_b'},
                overwrite={'C': 'overwrite_c'}, optional={'C': 'beta'},
                transposable={'A': ('trans_a',), 'B': ('trans_b',)})

    def __init__(self, alpha, A, B, beta=0, C=None, trans_a=False, trans_b=False):
        name = type(self).__name__
        alpha = as_scalar(alpha, 'alpha', name)
        A, B = as_matrix(A, 'A', name), as_matrix(B, 'B', name)
        trans_a, trans_b = as_flag(trans_a, 'trans_a', name), as_flag(trans_b, 'trans_b', name)
        opA, opB = transpose_if(trans_a, A), transpose_if(trans_b, B)
        check_shapes(name, 'op(A)', opA, 'op(B)', opB, 1, 0)
        beta, C = _beta_and_c(beta, C, (opA.shape[0], opB.shape[1]), name)
        self._set(alpha, A, B, beta, C, trans_a, trans_b,
                  outputs=[_accumulate(alpha, multiply(opA, opB), beta, C)])

    @property
    def flops(self):
        (m, k), n = transpose_if(self.trans_a, self.A).shape, \
            transpose_if(self.trans_b, self.B).shape[1]
        return 2 * m * n * k + _scaling(self.beta, m * n)


class SYMM(MatrixComputation):
    """Product with a symmetric matrix: ``alpha*A*B + beta*C`` (side 'L') or ``alpha*B*A + beta*C`` ('R').

    Only one triangle of A is read, so A must be symmetric.

    >>> from sympy import MatrixSymbol
    >>> S, H = MatrixSymbol('S', 4, 4), MatrixSymbol('H', 2, 4)
    >>> SYMM(1, S, H, side='R').outputs, SYMM(1, S, H, side='R').condition
    ((H*S,), Q.symmetric(S))
    """
    __slots__ = ()
    __props__ = ('alpha', 'A', 'B', 'beta', 'C', 'side')
    arguments = ('alpha', 'A', 'B', 'beta', 'C')
    overwrites = {0: 'C'}
    requires = {'A': Q.symmetric}
    routine = 'symm'
    oriented = True
    call = Call(arguments, (0,), flags={'side': ('side', 'R')}, overwrite={'C': 'overwrite_c'},
                optional={'C': 'beta'}, transposable={'A': ('lower',)})
    rate = SidedRate(
        ShapeRate((60, 125, 500, 1000, 2000), (16, 64, 250, 1000, 2000), (
            (0.86, 1.00, 1.00, 1.00, 1.00),
            (0.95, 1.00, 0.85, 1.00, 0.97),
            (0.92, 0.96, 1.00, 1.00, 0.99),
            (0.85, 0.81, 1.00, 0.99, 0.97),
            (0.80, 0.95, 0.98, 0.97, 1.00))),
        ShapeRate((60, 125, 500, 1000, 2000), (16, 64, 250, 1000, 2000), (
            (0.90, 0.92, 1.00, 0.96, 1.00),
            (0.81, 1.00, 0.95, 0.94, 0.81),
            (0.67, 1.00, 1.00, 0.99, 1.00),
            (1.00, 1.00, 0.99, 0.96, 1.00),
            (1.00, 1.00, 0.97, 0.96, 1.00))))

    @property
    def rate_shape(self):
        """(A's order, B's other dimension): where :attr:`rate` is read."""
        return _sided_shape(self.A, self.B, self.side)

    def __init__(self, alpha, A, B, beta=0, C=None, side='L'):
        name = type(self).__name__
        alpha = as_scalar(alpha, 'alpha', name)
        A, B = as_matrix(A, 'A', name), as_matrix(B, 'B', name)
        side = as_side(side, name)
        product = _sided_product(name, side, A, A, B)
        beta, C = _beta_and_c(beta, C, product.shape, name)
        self._set(alpha, A, B, beta, C, side, outputs=[_accumulate(alpha, product, beta, C)])

    @property
    def flops(self):
        m, n = self.B.shape
        return 2 * m * n * self.A.shape[0] + _scaling(self.beta, m * n)


class SYRK(MatrixComputation):
    """Symmetric rank-k update: ``alpha*A*A.T + beta*C``, or ``alpha*A.T*A + beta*C`` with ``trans``.

    The routine writes one triangle; the result is symmetric, and executors
    return it whole.

    >>> from sympy import MatrixSymbol
    >>> A = MatrixSymbol('A', 5, 3)
    >>> SYRK(1, A, trans=True).outputs, SYRK(1, A, trans=True).flops
    ((A.T*A,), 60)
    """
    __slots__ = ()
    __props__ = ('alpha', 'A', 'beta', 'C', 'trans')
    arguments = ('alpha', 'A', 'beta', 'C')
    overwrites = {0: 'C'}
    requires = {'C': Q.symmetric}
    symmetric_outputs = (0,)
    routine = 'syrk'
    rate = ShapeRate((60, 125, 500, 1000, 2000), (16, 64, 250, 1000, 2000), (
        (0.58, 0.58, 0.46, 0.52, 0.53),
        (0.55, 0.61, 0.55, 0.60, 0.81),
        (0.66, 0.69, 0.81, 0.66, 0.70),
        (0.74, 0.79, 0.77, 0.84, 0.83),
        (0.69, 0.79, 0.97, 0.89, 0.91)))
    #: The lower triangle is written (and C's read), then mirrored unless every reader
    #: reads only that triangle (POSV, POTRF).
    call = Call(arguments, (0,), flags={'trans': 'trans', 'lower': 1},
                overwrite={'C': 'overwrite_c'}, optional={'C': 'beta'},
                transposable={'A': ('trans',)})

    @property
    def triangles(self):
        return {'C': 'lower'}

    @property
    def rate_shape(self):
        """(the result's order, the inner dimension): where :attr:`rate` is read."""
        k, n = self.A.shape if self.trans else self.A.shape[::-1]
        return n, k

    def __init__(self, alpha, A, beta=0, C=None, trans=False):
        name = type(self).__name__
        alpha = as_scalar(alpha, 'alpha', name)
        A = as_matrix(A, 'A', name)
        trans = as_flag(trans, 'trans', name)
        product = multiply(transpose_if(True, A), A) if trans else multiply(A, transpose_if(True, A))
        beta, C = _beta_and_c(beta, C, product.shape, name)
        self._set(alpha, A, beta, C, trans, outputs=[_accumulate(alpha, product, beta, C)])

    @property
    def flops(self):
        k, n = self.A.shape if self.trans else self.A.shape[::-1]
        # n*(n + 1) is even: '/' is exact, and SymPy's floor ('//') costs milliseconds
        return n * (n + 1) * k + _scaling(self.beta, n * (n + 1) / 2)


class GEMV(MatrixComputation):
    """Matrix-vector product: ``alpha*op(A)*x + beta*y``, written into y.

    >>> from sympy import MatrixSymbol
    >>> A, x, y = MatrixSymbol('A', 3, 4), MatrixSymbol('x', 4, 1), MatrixSymbol('y', 3, 1)
    >>> GEMV(1, A, x, -1, y).outputs
    (A*x - y,)
    """
    __slots__ = ()
    __props__ = ('alpha', 'A', 'x', 'beta', 'y', 'trans')
    arguments = ('alpha', 'A', 'x', 'beta', 'y')
    overwrites = {0: 'y'}
    routine = 'gemv'
    call = Call(arguments, (0,), flags={'trans': 'trans'}, overwrite={'y': 'overwrite_y'},
                optional={'y': 'beta'}, vectors=('x', 'y'), transposable={'A': ('trans',)})

    def __init__(self, alpha, A, x, beta=0, y=None, trans=False):
        name = type(self).__name__
        alpha = as_scalar(alpha, 'alpha', name)
        A, x = as_matrix(A, 'A', name), as_matrix(x, 'x', name)
        trans = as_flag(trans, 'trans', name)
        if x.shape[1] != 1:
            raise sympy.ShapeError(f'{name}: x = {x} must be a column vector, '
                                   f'but it is {x.shape[0]}x{x.shape[1]}')
        opA = transpose_if(trans, A)
        check_shapes(name, 'op(A)', opA, 'x', x, 1, 0)
        beta, y = _beta_and_c(beta, y, (opA.shape[0], 1), name)
        self._set(alpha, A, x, beta, y, trans,
                  outputs=[_accumulate(alpha, multiply(opA, x), beta, y)])

    @property
    def flops(self):
        m, n = self.A.shape
        return 2 * m * n + _scaling(self.beta, m if not self.trans else n)


class AXPY(MatrixComputation):
    """``alpha*X + Y``, written into Y (X and Y of the same shape).

    >>> from sympy import MatrixSymbol
    >>> X, Y = MatrixSymbol('X', 3, 2), MatrixSymbol('Y', 3, 2)
    >>> AXPY(-1, X, Y).outputs
    (-X + Y,)
    """
    __slots__ = ()
    __props__ = ('alpha', 'X', 'Y')
    arguments = ('alpha', 'X', 'Y')
    overwrites = {0: 'Y'}
    routine = 'axpy'
    call = Call(('X', 'Y'), (0,), keywords={'a': 'alpha'}, overwrite={'Y': None},
                vectors=('X', 'Y'), elementwise=('X', 'Y'))

    def __init__(self, alpha, X, Y):
        name = type(self).__name__
        alpha = as_scalar(alpha, 'alpha', name)
        X, Y = as_matrix(X, 'X', name), as_matrix(Y, 'Y', name)
        check_shapes(name, 'X', X, 'Y', Y, 0, 0)
        check_shapes(name, 'X', X, 'Y', Y, 1, 1)
        self._set(alpha, X, Y, outputs=[add(_scaled(alpha, X), Y)])

    @property
    def flops(self):
        m, n = self.X.shape
        return 2 * m * n


class SCAL(MatrixComputation):
    """``alpha*X``, written into X.

    >>> from sympy import MatrixSymbol, Symbol
    >>> SCAL(Symbol('a'), MatrixSymbol('X', 2, 2)).outputs
    (a*X,)
    """
    __slots__ = ()
    __props__ = ('alpha', 'X')
    arguments = ('alpha', 'X')
    overwrites = {0: 'X'}
    routine = 'scal'
    call = Call(arguments, (0,), overwrite={'X': None}, vectors=('X',), elementwise=('X',))

    def __init__(self, alpha, X):
        name = type(self).__name__
        alpha, X = as_scalar(alpha, 'alpha', name), as_matrix(X, 'X', name)
        self._set(alpha, X, outputs=[multiply(alpha, X)])

    @property
    def flops(self):
        m, n = self.X.shape
        return m * n


class COPY(MatrixComputation):
    """A copy of X into a new buffer (by NumPy: not a routine call).

    Mathematically the copy *is* X, so a COPY cannot stand in a purely
    mathematical composite (its output would be its own input: a cycle).  It
    belongs to token programs, where the two sides live in different buffers.

    >>> from sympy import MatrixSymbol
    >>> COPY(MatrixSymbol('X', 2, 2)).outputs, COPY(MatrixSymbol('X', 2, 2)).flops
    ((X,), 0)
    """
    __slots__ = ()
    __props__ = ('X',)
    arguments = ('X',)
    routine = 'copy'
    library = 'numpy'
    output_is_input = True
    out_buffers = (0,)

    def __init__(self, X):
        X = as_matrix(X, 'X', type(self).__name__)
        self._set(X, outputs=[X])

    @property
    def flops(self):
        return 0


class _Triangular(MatrixComputation):
    """Shared facts of the routines with a triangular matrix A (TRMM, TRSM, TRTRS)."""
    __slots__ = ()

    @property
    def condition(self):
        A = self.A
        shape = Q.lower_triangular(A) if self.lower else Q.upper_triangular(A)
        return sympy.And(shape, Q.unit_triangular(A)) if self.unit_diagonal else shape

    @property
    def triangles(self):
        return {'A': 'lower' if self.lower else 'upper'}


class _TriangularProduct(_Triangular):
    __slots__ = ()
    __props__ = ('alpha', 'A', 'B', 'side', 'lower', 'trans_a', 'unit_diagonal')
    arguments = ('alpha', 'A', 'B')
    overwrites = {0: 'B'}
    oriented = True
    call = Call(arguments, (0,), flags={'side': ('side', 'R'), 'lower': 'lower',
                                        'trans_a': 'trans_a', 'diag': 'unit_diagonal'},
                overwrite={'B': 'overwrite_b'}, transposable={'A': ('trans_a', 'lower')})

    def __init__(self, alpha, A, B, side='L', lower=True, trans_a=False, unit_diagonal=False):
        name = type(self).__name__
        alpha = as_scalar(alpha, 'alpha', name)
        A, B = as_matrix(A, 'A', name), as_matrix(B, 'B', name)
        side = as_side(side, name)
        lower = as_flag(lower, 'lower', name)
        trans_a = as_flag(trans_a, 'trans_a', name)
        unit_diagonal = as_flag(unit_diagonal, 'unit_diagonal', name)
        check_square(A, 'A', name)            # before _apply: TRSM's A.I needs it square
        product = _sided_product(name, side, A, self._apply(transpose_if(trans_a, A)), B)
        self._set(alpha, A, B, side, lower, trans_a, unit_diagonal,
                  outputs=[_scaled(alpha, product)])

    @property
    def flops(self):
        m, n = self.B.shape
        return m * n * self.A.shape[0]

    @property
    def rate_shape(self):
        """(A's order, B's other dimension): where :attr:`rate` is read."""
        return _sided_shape(self.A, self.B, self.side)


class TRMM(_TriangularProduct):
    """Triangular product: ``alpha*op(A)*B`` (side 'L') or ``alpha*B*op(A)`` ('R'), written into B.

    >>> from sympy import MatrixSymbol
    >>> L, B = MatrixSymbol('L', 3, 3), MatrixSymbol('B', 3, 2)
    >>> TRMM(1, L, B).outputs, TRMM(1, L, B).condition
    ((L*B,), Q.lower_triangular(L))
    """
    __slots__ = ()
    routine = 'trmm'
    rate = SidedRate(
        ShapeRate((60, 125, 500, 1000, 2000), (16, 64, 250, 1000, 2000), (
            (0.52, 0.69, 0.92, 0.67, 0.86),
            (0.55, 1.00, 0.70, 0.84, 0.87),
            (0.58, 0.77, 0.90, 0.98, 0.93),
            (0.57, 0.76, 0.98, 0.93, 0.95),
            (0.44, 0.85, 0.96, 0.94, 0.99))),
        ShapeRate((60, 125, 500, 1000, 2000), (16, 64, 250, 1000, 2000), (
            (0.57, 0.78, 1.00, 1.00, 0.89),
            (0.64, 0.85, 0.68, 0.75, 0.80),
            (0.50, 0.76, 0.92, 0.86, 0.95),
            (0.59, 1.00, 0.85, 0.90, 0.95),
            (0.70, 0.64, 0.77, 0.86, 1.00))))

    @staticmethod
    def _apply(opA):
        return opA


class TRSM(_TriangularProduct):
    """Triangular solve: ``alpha*op(A).I*B`` (side 'L') or ``alpha*B*op(A).I`` ('R'), written into B.

    >>> from sympy import MatrixSymbol
    >>> U, B = MatrixSymbol('U', 3, 3), MatrixSymbol('B', 2, 3)
    >>> TRSM(1, U, B, side='R', lower=False, trans_a=True).outputs
    (B*U.T**(-1),)
    """
    __slots__ = ()
    routine = 'trsm'
    rate = SidedRate(
        ShapeRate((60, 125, 500, 1000, 2000), (16, 64, 250, 1000, 2000), (
            (0.34, 0.40, 0.47, 0.27, 0.29),
            (0.39, 0.51, 0.34, 0.37, 0.36),
            (0.41, 0.49, 0.54, 0.53, 0.49),
            (0.52, 0.56, 0.69, 0.58, 0.61),
            (0.40, 0.72, 0.78, 0.76, 0.72))),
        ShapeRate((60, 125, 500, 1000, 2000), (16, 64, 250, 1000, 2000), (
            (0.40, 0.62, 0.46, 0.57, 0.45),
            (0.41, 0.54, 0.39, 0.39, 0.40),
            (0.36, 0.50, 0.59, 0.51, 0.55),
            (0.42, 0.81, 0.67, 0.59, 0.68),
            (0.50, 0.59, 0.64, 0.72, 0.84))))
    #: TRSM itself reports nothing: the executors check A's diagonal (as TRTRS does).
    failure = (SingularMatrixError, 'A')
    call = dataclasses.replace(_TriangularProduct.call, diagonal='A')

    @property
    def checks_diagonal(self):
        """Whether a run must first check A's diagonal for zeros: not for a unit diagonal,
        nor for a Cholesky factor, whose factorization proved its diagonal positive."""
        A = self.A.arg if isinstance(self.A, sympy.Transpose) else self.A
        return not self.unit_diagonal and not isinstance(A, LofCholesky)

    @staticmethod
    def _apply(opA):
        return opA.I
