"""The canonical form of matrix expressions the compiler works on.

Equal values should be equal expressions, so that the search shares them.
:func:`canonicalize` rewrites an expression so that

- transposes sit on symbols only (``(A*B).T`` is ``B.T*A.T``), and a
  symmetric matrix's transpose is the matrix itself;
- an inverse of a product of square matrices is the product of the inverses
  in reverse order, an inverse of an inverse is its argument, a scalar
  factor leaves the inverse, and integer powers are products;
- everything else is rebuilt with SymPy's own constructors (which flatten
  products and sums and collect like terms).

Which matrices are symmetric is the caller's knowledge: a function
``symmetric(expr) -> bool or None`` (in the compiler, the property inference
of :mod:`.properties`).  Expressions outside the supported set (traces,
determinants, elementwise products, explicit matrices...) raise a TypeError
naming them.

>>> from sympy import MatrixSymbol
>>> A, B, S = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 3), MatrixSymbol('S', 3, 3)
>>> symmetric = lambda X: X == S
>>> canonicalize((A*S).T + (2*A*B).I, symmetric)
(1/2)*B**(-1)*A**(-1) + S*A.T
"""
import functools
import operator

import sympy
from sympy import (Determinant, Identity, Inverse, MatAdd, MatMul, MatPow, MatrixSymbol, OneMatrix,
                   Trace, Transpose, ZeroMatrix)
from sympy.matrices.expressions.factorizations import Factorization
from sympy.matrices.expressions.matexpr import MatrixElement

from .expressions import SymmetricLower, is_log_determinant

__all__ = ['canonicalize', 'transpose', 'inverse', 'UnsupportedExpressionError']


class UnsupportedExpressionError(TypeError):
    """An expression the compiler has no operations for."""


def _never(expr):
    return None


def canonicalize(expr, symmetric=_never, memo=None):
    """``expr`` in canonical form (see the module)."""
    memo = {} if memo is None else memo
    if expr in memo:
        return memo[expr]
    result = _canonical(expr, symmetric, memo)
    memo[expr] = result
    return result


def _canonical(expr, symmetric, memo):
    recurse = functools.partial(canonicalize, symmetric=symmetric, memo=memo)
    if not isinstance(expr, sympy.MatrixExpr):
        if isinstance(expr, sympy.Expr):
            return _scalar(expr, recurse)
        raise UnsupportedExpressionError(f'{expr!r} is not a SymPy expression')
    if isinstance(expr, (MatrixSymbol, Identity, ZeroMatrix, OneMatrix)):
        return expr
    if isinstance(expr, (Factorization, SymmetricLower)):
        return type(expr)(recurse(expr.arg))
    if isinstance(expr, Transpose):
        return transpose(recurse(expr.arg), symmetric)
    if isinstance(expr, Inverse):
        return inverse(recurse(expr.arg), symmetric)
    if isinstance(expr, MatPow):
        return _power(recurse(expr.base), expr.exp, symmetric, expr)
    if isinstance(expr, MatMul):
        return _product([recurse(a) for a in expr.args])
    if isinstance(expr, MatAdd):
        return _sum([recurse(a) for a in expr.args])
    raise UnsupportedExpressionError(
        f'{expr} ({type(expr).__name__}) is not supported: the compiler handles MatrixSymbol, '
        'Identity, ZeroMatrix, scalars, MatMul, MatAdd, Transpose, Inverse, integer powers, '
        'LofCholesky and SymmetricLower')


def _scalar(expr, recurse):
    """The canonical form of a scalar: its matrix arguments canonical, traces of sums and
    scaled products split, transposes dropped under traces and determinants, and the
    element of a 1x1 matrix written as its trace."""
    if not expr.atoms(MatrixSymbol):
        return expr                                   # numbers and scalar symbols
    if isinstance(expr, Trace):
        return _trace(recurse(expr.arg))
    if isinstance(expr, MatrixElement):
        matrix = recurse(expr.parent)
        if matrix.shape == (1, 1):
            return _trace(matrix)
        if not (expr.i.is_Integer and expr.j.is_Integer):
            raise UnsupportedExpressionError(f'{expr}: only elements at numeric positions '
                                             'are supported')
        return MatrixElement(matrix, expr.i, expr.j)
    if isinstance(expr, Determinant):
        return _determinant(recurse(expr.arg))
    if is_log_determinant(expr):
        inner = _determinant(recurse(expr.args[0].arg))
        if isinstance(inner, sympy.Pow) and inner.exp == -1:      # log(1/det A) = -log(det A)
            return -sympy.log(inner.base)
        return sympy.log(inner)
    if isinstance(expr, (sympy.Add, sympy.Mul, sympy.Pow, sympy.Function)):
        return expr.func(*[recurse(a) for a in expr.args])
    raise UnsupportedExpressionError(
        f'{expr} ({type(expr).__name__}) is not supported: scalars of matrices are traces, '
        'determinants and their logarithms, elements, and arithmetic and functions of these '
        '(write a quadratic form y.T*A*y as Trace(y.T*A*y): indexing it expands to a sum)')


def _trace(matrix):
    """The canonical trace of a canonical matrix: linear in sums and scalings, blind to
    transposes."""
    if isinstance(matrix, MatAdd):
        return sympy.Add(*[_trace(term) for term in matrix.args])
    if isinstance(matrix, MatMul):
        coefficient, factors = matrix.as_coeff_matrices()
        if coefficient != 1:
            return coefficient * _trace(_product(factors))
    if isinstance(matrix, Transpose):
        return _trace(matrix.arg)
    if isinstance(matrix, Identity):
        return matrix.shape[0]
    if isinstance(matrix, ZeroMatrix):
        return sympy.S.Zero
    return Trace(matrix)


def _determinant(matrix):
    """The canonical determinant of a canonical square matrix."""
    if isinstance(matrix, Transpose):
        return _determinant(matrix.arg)
    if isinstance(matrix, Inverse):
        return 1 / _determinant(matrix.arg)
    if isinstance(matrix, Identity):
        return sympy.S.One
    return Determinant(matrix)


def transpose(expr, symmetric=_never):
    """The canonical transpose of a canonical expression.

    >>> from sympy import MatrixSymbol
    >>> A, B = MatrixSymbol('A', 3, 2), MatrixSymbol('B', 2, 2)
    >>> transpose(A*B.I + A, lambda X: X == B)
    B**(-1)*A.T + A.T
    """
    if symmetric(expr):
        return expr
    if isinstance(expr, Transpose):
        return expr.arg
    if isinstance(expr, MatMul):
        coefficient, factors = expr.as_coeff_matrices()
        return _product([coefficient] + [transpose(f, symmetric) for f in reversed(factors)])
    if isinstance(expr, MatAdd):
        return _sum([transpose(t, symmetric) for t in expr.args])
    if isinstance(expr, Inverse):
        return inverse(transpose(expr.arg, symmetric), symmetric)
    if isinstance(expr, MatPow):
        return _power(transpose(expr.base, symmetric), expr.exp, symmetric, expr)
    if isinstance(expr, (Identity, SymmetricLower)):
        return expr
    if isinstance(expr, (ZeroMatrix, OneMatrix)):
        return type(expr)(expr.shape[1], expr.shape[0])
    return Transpose(expr)


def inverse(expr, symmetric=_never):
    """The canonical inverse of a canonical expression.

    >>> from sympy import MatrixSymbol
    >>> A, B, X = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 3), MatrixSymbol('X', 3, 2)
    >>> inverse(3*A*B), inverse(X.T*X), inverse(A.I)
    ((1/3)*B**(-1)*A**(-1), (X.T*X)**(-1), A)
    """
    if isinstance(expr, Inverse):
        return expr.arg
    if isinstance(expr, Identity):
        return expr
    if isinstance(expr, MatMul):
        coefficient, factors = expr.as_coeff_matrices()
        if all(f.is_square for f in factors) and all(
                sympy.simplify(f.shape[0] - factors[0].shape[0]) == 0 for f in factors):
            return _product([1 / coefficient]
                            + [inverse(f, symmetric) for f in reversed(factors)])
        if coefficient != 1:         # a scalar leaves the inverse
            return _product([1 / coefficient, Inverse(_product(factors))])
    if isinstance(expr, MatPow):
        return _power(expr.base, -expr.exp, symmetric, expr)
    return Inverse(expr)


def _sum(terms):
    """The sum of terms (like terms combined), its terms in one canonical order.

    SymPy's MatAdd keeps its terms in the order they were added in, so sums
    of the same terms built differently would be different expressions.
    """
    return _ordered(functools.reduce(operator.add, terms))


def _ordered(expr):
    """A sum's terms in one canonical order (other expressions as they are)."""
    if isinstance(expr, MatAdd):
        return MatAdd(*sorted(expr.args, key=sympy.default_sort_key), evaluate=False)
    return expr


def _power(base, exponent, symmetric, original):
    if not (exponent.is_Integer and exponent != 0):
        raise UnsupportedExpressionError(f'{original}: only nonzero integer powers of '
                                         'matrices are supported')
    factor = base if exponent > 0 else inverse(base, symmetric)
    return _product([factor] * abs(int(exponent)))


def _product(factors):
    """The product of scalars and matrices, nested products flattened.

    Built as one MatMul, because ``(A*B)*(A*B)`` through ``*`` becomes the
    power ``(A*B)**2``; ``A*B*A*B`` is what the search splits.
    """
    coefficient, matrices = sympy.S.One, []
    for f in factors:
        if isinstance(f, MatMul):
            c, ms = f.as_coeff_matrices()
            coefficient, matrices = coefficient * c, matrices + list(ms)
        elif isinstance(f, sympy.MatrixExpr):
            matrices.append(f)
        else:
            coefficient = coefficient * f
    if not matrices:
        return coefficient
    product = MatMul(*matrices).doit(deep=False) if len(matrices) > 1 else matrices[0]
    return product if coefficient == 1 else _ordered(coefficient * product)
