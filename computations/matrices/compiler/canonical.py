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
of :mod:`.properties`).

The canonical form is also where the compiler refuses what it cannot
compute, when :func:`computations.function` is called rather than when the
function runs: an expression outside the supported set (:data:`SUPPORTED`:
elementwise and matrix functions such as ``exp(A)``, explicit matrices,
scalar functions that the generated Python cannot evaluate...) raises an
:class:`UnsupportedExpressionError` naming it; operands whose shapes do not
fit (a trace of an ``n x m`` matrix, which SymPy accepts for symbolic
shapes) a ShapeError (:func:`check_shape`); an inverse of a matrix that is
singular whatever the inputs (the zero matrix) a
:class:`~.errors.SingularExpressionError`.

>>> from sympy import MatrixSymbol
>>> A, B, S = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 3), MatrixSymbol('S', 3, 3)
>>> symmetric = lambda X: X == S
>>> canonicalize((A*S).T + (2*A*B).I, symmetric)
(1/2)*B**(-1)*A**(-1) + S*A.T
"""
import functools
import re

import sympy
from sympy import (Determinant, Identity, Inverse, MatAdd, MatMul, MatPow, MatrixSymbol, OneMatrix,
                   Piecewise, Trace, Transpose, ZeroMatrix)
from sympy.logic.boolalg import BooleanAtom
from sympy.matrices.exceptions import NonSquareMatrixError
from sympy.matrices.expressions.factorizations import LofCholesky
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.pycode import pycode

from computations.graph import ComputationsError
from computations.matrices.ops.auxiliary import scalar_atoms
from computations.matrices.ops.algebra import plain_product
from computations.matrices.ops.core import same_dimension
from computations.matrices.ops.memo import active
from computations.matrices.errors import SingularExpressionError
from computations.matrices.expressions import SymmetricLower, is_log_determinant

__all__ = ['canonicalize', 'transpose', 'inverse', 'check_shape', 'UnsupportedExpressionError',
           'SUPPORTED', 'product', 'split_product', 'CYCLIC_MAX_FACTORS']

#: What the compiler computes: the list every refusal ends with.
SUPPORTED = ('the compiler supports matrices that are MatrixSymbol, Identity, ZeroMatrix, '
             'OneMatrix, and their products, sums, scalings, transposes, inverses, integer '
             'powers, LofCholesky and SymmetricLower; and scalars that are numbers, scalar '
             'symbols, traces, determinants and their logarithms, elements at numeric positions, '
             'and arithmetic, Piecewise and the functions of scalars that Python\'s math module '
             'evaluates (exp, log, sqrt, sin, Abs, Max, ...) of these. Elementwise and matrix '
             'functions (exp(A), HadamardProduct, Abs(A), ...) are not supported')


class UnsupportedExpressionError(ComputationsError, TypeError):
    """An expression the compiler has no operations for (its message names it, and lists
    what is supported)."""


def _never(expr):
    return None


def _unsupported(expr, why):
    """The error for ``expr``: what it is, why it is refused, and what is supported."""
    return UnsupportedExpressionError(f'{expr} ({type(expr).__name__}) is not supported: {why}. '
                                      f'{SUPPORTED}')


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
            return _scalar(expr, recurse, symmetric)
        raise _unsupported(expr, 'it is not a SymPy expression')
    if isinstance(expr, (MatrixSymbol, Identity, ZeroMatrix, OneMatrix)):
        return expr
    if isinstance(expr, MatPow):
        _check_exponent(expr)               # before the base: Abs(A) is (A*Adjoint(A.T))**(1/2)
    if not isinstance(expr, (LofCholesky, SymmetricLower, Transpose, Inverse, MatPow, MatMul,
                             MatAdd)):
        raise _unsupported(expr, 'the compiler has no operations for it')
    # The arguments first, so that a shape error names the innermost node at fault.
    args = [recurse(a) for a in expr.args]
    check_shape(expr)
    if type(expr) in (LofCholesky, SymmetricLower):
        return type(expr)(*args)
    if isinstance(expr, Transpose):
        return transpose(args[0], symmetric)
    if isinstance(expr, Inverse):
        return inverse(_invertible(args[0], expr), symmetric)
    if isinstance(expr, MatPow):
        return _power(args[0], expr.exp, symmetric, expr)
    if isinstance(expr, MatMul):
        return _product(args)
    return _sum(args)


def check_shape(expr):
    """Raise a ShapeError naming ``expr`` unless its operands' shapes fit (its own node only).

    SymPy checks shapes only when they are numbers: ``Trace(X)`` of an
    ``n x m`` matrix, ``X**2`` or ``X + X.T`` are accepted, and would give
    a gradient or a program of the wrong shape.  Dimensions are compared as
    expressions: an ``n x m`` matrix is not square, whatever sizes n and m
    take in a call.

    >>> n, m = sympy.symbols('n m')
    >>> check_shape(Trace(MatrixSymbol('X', n, m)))
    Traceback (most recent call last):
        ...
    sympy.matrices.exceptions.NonSquareMatrixError: Trace(X): X is n x m, and a trace of a non-square matrix is undefined
    """
    if isinstance(expr, (Trace, Determinant, Inverse, MatPow, LofCholesky)):
        matrix = expr.base if isinstance(expr, MatPow) else expr.arg
        if not same_dimension(*matrix.shape):
            what = {Trace: 'a trace', Determinant: 'a determinant', Inverse: 'an inverse',
                    LofCholesky: 'a Cholesky factor'}.get(type(expr), 'a power')
            raise NonSquareMatrixError(f'{expr}: {matrix} is {_shape(matrix)}, and {what} of a '
                                       'non-square matrix is undefined')
    elif isinstance(expr, MatMul):
        factors = [a for a in expr.args if isinstance(a, sympy.MatrixExpr)]
        for left, right in zip(factors, factors[1:]):
            if not same_dimension(left.shape[1], right.shape[0]):
                raise sympy.ShapeError(f'{expr}: {left} is {_shape(left)} and {right} is '
                                       f'{_shape(right)}, which cannot be multiplied')
    elif isinstance(expr, MatAdd):
        first = expr.args[0]
        for term in expr.args[1:]:
            if not (same_dimension(first.shape[0], term.shape[0])
                    and same_dimension(first.shape[1], term.shape[1])):
                raise sympy.ShapeError(f'{expr}: {first} is {_shape(first)} and {term} is '
                                       f'{_shape(term)}, which cannot be added')


def _shape(matrix):
    return f'{matrix.shape[0]} x {matrix.shape[1]}'


def _invertible(matrix, written):
    """``matrix``, the canonical form of what ``written`` (an inverse or a negative power)
    inverts, after checking it is not singular whatever the inputs: such an inverse would
    fail in every call, so it fails when the function is made."""
    coefficient, factors = (matrix.as_coeff_matrices() if isinstance(matrix, MatMul)
                            else (sympy.S.One, [matrix]))
    size = sympy.sympify(matrix.shape[0])
    dimensions = [sympy.sympify(d) for f in factors for d in f.shape]
    if any(isinstance(f, ZeroMatrix) for f in factors) or coefficient.is_zero:
        reason = 'it is the zero matrix'
    elif isinstance(matrix, OneMatrix) and size.is_Integer and size > 1:
        reason = 'it is a matrix of ones, of rank 1'
    elif size.is_Integer and all(d.is_Integer for d in dimensions) and min(dimensions) < size:
        reason = (f'it is a product through a dimension of {min(dimensions)}, of rank at most '
                  f'{min(dimensions)} < {size}')
    else:
        return matrix
    base = written.base if isinstance(written, MatPow) else written.arg
    raise SingularExpressionError(written, base, reason)


def _scalar(expr, recurse, symmetric=_never):
    """The canonical form of a scalar: its matrix arguments canonical, traces of sums and
    scaled products split, transposes dropped under traces and determinants, and the
    element of a 1x1 matrix written as its trace; anything the generated code cannot
    evaluate refused."""
    if not expr.args:                                 # numbers and scalar symbols
        if not (expr.is_Symbol or expr.is_extended_real is not False):
            raise _unsupported(expr, 'it is not a real number')
        return expr
    if isinstance(expr, (Trace, Determinant)):
        matrix = recurse(expr.arg)
        check_shape(expr)
        return _trace(matrix, symmetric) if isinstance(expr, Trace) else _determinant(matrix)
    if isinstance(expr, MatrixElement):
        matrix = recurse(expr.parent)
        if matrix.shape == (1, 1):
            return _trace(matrix, symmetric)
        if not (expr.i.is_Integer and expr.j.is_Integer):
            raise _unsupported(expr, 'only elements at numeric positions are supported')
        return MatrixElement(matrix, expr.i, expr.j)
    if is_log_determinant(expr):
        inner = recurse(expr.args[0])
        if isinstance(inner, sympy.Pow) and inner.exp == -1:      # log(1/det A) = -log(det A)
            return -sympy.log(inner.base)
        return sympy.log(inner)
    if isinstance(expr, Piecewise):
        pairs = [(recurse(e), _condition(c, recurse)) for e, c in expr.args]
        if any(isinstance(e, sympy.MatrixExpr) for e, c in pairs):
            raise _unsupported(expr, 'its values must be scalars')
        return _evaluable(Piecewise(*pairs))
    if not all(isinstance(a, sympy.Expr) for a in expr.args):
        raise _unsupported(expr, 'scalars of matrices are traces, determinants and their '
                                 'logarithms, elements, and arithmetic and functions of these '
                                 '(write a quadratic form y.T*A*y as Trace(y.T*A*y): indexing '
                                 'it expands to a sum)')
    matrices = [a for a in expr.args if isinstance(a, sympy.MatrixExpr)]
    if matrices:
        raise _unsupported(expr, f'it applies {type(expr).__name__} to the matrix '
                                 f'{matrices[0]}, and elementwise and matrix functions are '
                                 'not supported')
    result = expr.func(*[recurse(a) for a in expr.args])
    # One spelling for arithmetic on a Piecewise (2*Piecewise((x/2, c), ...)): its branches.
    if isinstance(result, (sympy.Add, sympy.Mul)) \
            and any(isinstance(a, Piecewise) for a in result.args):
        return sympy.piecewise_fold(result)
    return _evaluable(result)


def _condition(condition, recurse):
    """A Piecewise condition with its scalars canonical: comparisons and logic of scalars."""
    if isinstance(condition, BooleanAtom):
        return condition
    if isinstance(condition, (sympy.core.relational.Relational, sympy.And, sympy.Or, sympy.Not)):
        return condition.func(*[recurse(a) if isinstance(a, sympy.Expr)
                                else _condition(a, recurse) for a in condition.args])
    raise _unsupported(condition, 'conditions are comparisons of scalars, And, Or and Not')


def _evaluable(expr):
    """``expr``, a function of canonical scalars, after checking that the generated Python
    can evaluate it.

    A SCALAR operation is printed as Python source (:func:`sympy.printing.pycode.pycode`,
    with only ``math`` imported) and run as such, so what that printer cannot print (an
    undefined function ``f(x)``, ``re``, ``besselj``...) would fail when the function
    runs.  The scalars of matrices are printed as plain names, as the code generator
    names them."""
    if isinstance(expr, (sympy.Add, sympy.Mul)) or not expr.args:
        return expr                  # arithmetic (and what the construction evaluated away)
    names = {atom: sympy.Dummy() for atom in scalar_atoms(expr) if not atom.is_Symbol}
    try:
        source = pycode(expr.xreplace(names))
    except PrintMethodNotImplementedError:
        raise _unsupported(expr, f'the generated Python code cannot evaluate '
                                 f'{type(expr).__name__}') from None
    modules = set(re.findall(r'\b([A-Za-z_]\w*)\.', source)) - {'math'}
    if modules:
        raise _unsupported(expr, f'the generated Python code would need '
                                 f'{", ".join(sorted(modules))}')
    return expr


def _trace(matrix, symmetric=_never):
    """The canonical trace of a canonical matrix: linear in sums and scalings, blind to
    transposes."""
    if isinstance(matrix, MatAdd):
        return sympy.Add(*[_trace(term, symmetric) for term in matrix.args])
    if isinstance(matrix, (MatMul, MatPow)):
        coefficient, factors = split_product(matrix)
        if coefficient != 1:
            return coefficient * _trace(_product(factors), symmetric)
        if 1 < len(factors) <= CYCLIC_MAX_FACTORS:
            cyclic = _cyclic(factors, symmetric)
            if isinstance(cyclic, MatPow) or \
                    isinstance(cyclic, MatMul) and cyclic.as_coeff_matrices()[0] == 1:
                return Trace(cyclic)
            return _trace(cyclic, symmetric)        # fewer factors: X.I*A*X is A
    if isinstance(matrix, Transpose):
        return _trace(matrix.arg, symmetric)
    if isinstance(matrix, Identity):
        return matrix.shape[0]
    if isinstance(matrix, ZeroMatrix):
        return sympy.S.Zero
    return Trace(matrix)


def split_product(expr):
    """``(coefficient, [matrix factors])`` of a product, a scaled matrix or a single matrix.

    Integer powers are written out as repeated factors.

    >>> from sympy import MatrixSymbol
    >>> A, B = MatrixSymbol('A', 2, 2), MatrixSymbol('B', 2, 2)
    >>> split_product(3*A**2*B.I)
    (3, [A, A, B**(-1)])
    """
    if isinstance(expr, MatMul):
        coefficient, factors = expr.as_coeff_matrices()
    else:
        coefficient, factors = sympy.S.One, [expr]
    expanded = []
    for f in factors:
        if type(f) is MatPow and f.exp.is_Integer:
            expanded += [f.base if f.exp > 0 else Inverse(f.base)] * abs(int(f.exp))
        else:
            expanded.append(f)
    return coefficient, expanded


#: Traces of products of at most this many factors are written in one rotation
#: (:func:`_cyclic`), and the search splits them at every pair of cuts on the cycle
#: (:func:`~.rules.inner_product`): k(k - 1)/2 splits where a product has k - 1, each of
#: whose parts the search plans.  Traces of chains of 8 x 8 matrices compiled in 0.071 s
#: at 6 factors (0.041 with one cut), 0.18 at 8 (0.085) and 7.8 s at 40 (0.68 with one
#: cut: past this limit a trace is written as given and split at one cut).
CYCLIC_MAX_FACTORS = 6


def _cyclic(factors, symmetric=_never):
    """The one of the products whose trace is that of ``factors``' product -- its cyclic
    rotations and theirs transposed -- that a trace is written with: the fewest factors
    (a rotation can bring ``X.I`` next to ``X``), then the first in SymPy's order; so
    ``Trace(A*B) + Trace(B*A)`` is one trace twice.  The search splits a trace's product
    at every pair of cuts on the cycle (:func:`~.rules.inner_product`), so no rotation's
    plan is lost.

    >>> from sympy import MatrixSymbol
    >>> A, B, X = (MatrixSymbol(name, 3, 3) for name in 'ABX')
    >>> _cyclic((B, A)), _cyclic((B, A.T)), _cyclic((X.I, A, X))
    (A*B, A*B.T, A)
    """
    flipped = [transpose(f, symmetric) for f in reversed(factors)]
    candidates = {_product(order[i:] + order[:i])
                  for order in (list(factors), flipped) for i in range(len(order))}
    return min(candidates, key=lambda product: (len(product.args) if isinstance(product, MatMul)
                                                else 1, sympy.default_sort_key(product)))


def _determinant(matrix):
    """The canonical determinant of a canonical square matrix."""
    if isinstance(matrix, Transpose):
        return _determinant(matrix.arg)
    if isinstance(matrix, Inverse):
        return 1 / _determinant(matrix.arg)
    if isinstance(matrix, Identity):
        return sympy.S.One
    return Determinant(matrix)


def transpose(expr, symmetric=_never, parts=None):
    """The canonical transpose of a canonical expression; ``parts`` (default: this
    function) transposes its parts (the compiler's remembers each:
    :meth:`~.properties.Properties.transpose`).

    >>> from sympy import MatrixSymbol
    >>> A, B = MatrixSymbol('A', 3, 2), MatrixSymbol('B', 2, 2)
    >>> transpose(A*B.I + A, lambda X: X == B)
    B**(-1)*A.T + A.T
    """
    if symmetric(expr):
        return expr
    if parts is None:
        def parts(part):
            return transpose(part, symmetric)
    if isinstance(expr, Transpose):
        return expr.arg
    if isinstance(expr, MatMul):
        coefficient, factors = expr.as_coeff_matrices()
        return _product([coefficient] + [parts(f) for f in reversed(factors)])
    if isinstance(expr, MatAdd):
        return _sum([parts(t) for t in expr.args])
    if isinstance(expr, Inverse):
        return inverse(parts(expr.arg), symmetric)
    if isinstance(expr, MatPow):
        return _power(parts(expr.base), expr.exp, symmetric, expr)
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
    Kept in the active memo (:func:`_kept`).
    """
    return _kept('sum', terms, lambda: _ordered(_added(terms)))


def _added(terms):
    """The sum of ``terms`` (canonical already), like terms combined, in one SymPy sum.

    ``+`` evaluates its operands again at each addition, into a Piecewise coefficient's
    conditions: 405 evaluations of the coefficients of a sum of 16 terms, 4 of the 4.4 s
    of the gradient of ``Min(log(det S), Max(...))``.  Here the terms are not evaluated
    again, and a coefficient made by combining like terms is folded as :func:`_scalar`
    folds arithmetic on a Piecewise, so the form is the one ``+`` gave."""
    if len(terms) == 1:
        return terms[0]
    total = MatAdd(*terms).doit(deep=False)
    parts = total.args if isinstance(total, MatAdd) else (total,)
    if all(part in terms for part in parts):
        return total
    folded = [part if part in terms else _folded(part) for part in parts]
    return MatAdd(*folded, evaluate=False) if isinstance(total, MatAdd) else folded[0]


def _folded(term):
    """``term`` (a combined like term) with a coefficient of arithmetic on a Piecewise
    folded into it."""
    if not isinstance(term, MatMul):
        return term
    coefficient, matrices = term.as_coeff_matrices()
    if isinstance(coefficient, (sympy.Add, sympy.Mul)) \
            and any(isinstance(a, Piecewise) for a in coefficient.args):
        return MatMul(sympy.piecewise_fold(coefficient), *matrices).doit(deep=False)
    return term


def _kept(kind, args, build):
    """``build()``, kept in the active :class:`~computations.matrices.ops.memo.Memo` under
    ``kind`` and ``args`` (each with its type: ``1`` and ``1.0`` are different
    coefficients).  The canonical forms and transposes the compiler derives are remembered
    per size regime (:meth:`~.properties.Properties._remembered`: ``H`` may be symmetric
    where it is square), and deriving them again where the sizes are new (the Kalman
    filter at n = k) built the same SymPy sums and products again: a third of that
    compilation."""
    memo = active()
    if memo is None:
        return build()
    key = (kind, tuple((type(a), a) for a in args))
    try:
        return memo.lookup('products', key, build)
    except TypeError:                         # an unhashable argument: not kept
        return build()


def _ordered(expr):
    """A sum's terms in one canonical order (other expressions as they are)."""
    if isinstance(expr, MatAdd):
        return MatAdd(*sorted(expr.args, key=sympy.default_sort_key), evaluate=False)
    return expr


def _check_exponent(power):
    if not (power.exp.is_Integer and power.exp != 0):
        raise _unsupported(power, 'only nonzero integer powers of matrices are supported')


def _power(base, exponent, symmetric, original):
    _check_exponent(original)
    factor = base if exponent > 0 else inverse(_invertible(base, original), symmetric)
    return _product([factor] * abs(int(exponent)))


def _product(factors):
    """The product of scalars and matrices, nested products flattened.

    Built as one MatMul, because ``(A*B)*(A*B)`` through ``*`` becomes the
    power ``(A*B)**2``; ``A*B*A*B`` is what the search splits.  Kept in the active
    memo (:func:`_kept`).
    """
    return _kept('product', factors, lambda: _built_product(factors))


def _built_product(factors):
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
    product = plain_product(matrices)
    if product is None:
        product = MatMul(*matrices).doit(deep=False) if len(matrices) > 1 else matrices[0]
    return product if coefficient == 1 else _ordered(coefficient * product)


def cancel_inverses(factors):
    """``factors`` (a tuple) without the adjacent pairs whose product is the identity,
    ``X.I*X`` and ``X*X.I`` (``L.-T*L.T`` too); the identity when all cancel.  The factors
    a rule puts together (``L.I`` before the factors of ``B``) can meet such a pair, which
    a product's search would otherwise multiply out (an operation reading ``I``).

    >>> from sympy import MatrixSymbol
    >>> L, B = MatrixSymbol('L', 3, 3), MatrixSymbol('B', 3, 2)
    >>> cancel_inverses((L.I, L, B)), cancel_inverses((B.T, L.T, Inverse(L.T)))
    ((B,), (B.T,))
    >>> cancel_inverses((L.I, L))
    (I,)
    """
    kept = []
    for factor in factors:
        if kept and (_inverse_of(kept[-1]) == factor or _inverse_of(factor) == kept[-1]):
            kept.pop()
        else:
            kept.append(factor)
    if len(kept) == len(factors):
        return factors
    return tuple(kept) or (Identity(factors[0].rows),)


def _inverse_of(x):
    """The matrix ``x`` is the inverse of, when it is written as one, else None."""
    if isinstance(x, Inverse):
        return x.arg
    if isinstance(x, Transpose) and isinstance(x.arg, Inverse):
        return Transpose(x.arg.arg)
    return None


def product(factors, doit=True):
    """The product of matrix ``factors`` (a sequence) as one expression: ``MatMul(*factors)``,
    and with ``doit`` SymPy's simplification of it (as ``A*B*...`` builds it, at once: ``*``
    in turn is quadratic in their number); one factor is itself.

    The search names every sub-product it considers this way, at every size the same:
    kept in the active :class:`~computations.matrices.ops.memo.Memo`.

    >>> from sympy import MatrixSymbol
    >>> A, B = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 3)
    >>> product((A, B, B)), product((A, B, B), doit=False)
    (A*B**2, A*B*B)
    """
    if len(factors) == 1:
        return factors[0]
    memo = active()
    if memo is None:
        return _matmul(factors, doit)
    return memo.lookup('products', (tuple(factors), doit), lambda: _matmul(factors, doit))


def _matmul(factors, doit):
    plain = plain_product(factors) if doit else None
    if plain is not None:
        return plain
    built = MatMul(*factors)
    return built.doit(deep=False) if doit else built
