"""Property inference for matrix expressions, by rules of our own.

SymPy's ``ask`` answers ``False`` (not ``None``) for ``Q.symmetric(X + Y)``
when one term is unknown, and does not derive ``Q.invertible`` from
``Q.positive_definite`` on compound expressions, so the compiler cannot
rely on it.  :class:`Properties` answers the questions the rules need --
symmetric, positive (semi)definite, lower/upper triangular, diagonal, full
rank, invertible, orthogonal -- from the caller's assumptions:

- *facts* on the expressions the assumptions name, closed under the
  implications in :data:`IMPLIES` (positive definite implies symmetric,
  invertible, ...);
- one small *rule* per predicate and expression type (:data:`RULES`),
  through transposes, inverses, products (congruences ``Y.T*M*Y``), sums
  and scalings.

Answers are ``True`` (proved), ``False`` (disproved, e.g. a non-square
matrix is not symmetric) or ``None`` (not known).  Shapes are compared
with ``dims``, the sizes bound to symbolic dimensions, when given.

>>> from sympy import MatrixSymbol, Q, Symbol
>>> n, k = Symbol('n'), Symbol('k')
>>> Sigma, H, R = MatrixSymbol('Sigma', n, n), MatrixSymbol('H', k, n), MatrixSymbol('R', k, k)
>>> facts = Properties([Q.positive_definite(Sigma), Q.positive_definite(R)])
>>> facts.ask('positive_definite', R + H*Sigma*H.T)
True
>>> facts.ask('symmetric', H*Sigma), facts.ask('invertible', MatrixSymbol('X', 3, 2))
(None, False)
"""
import functools

import sympy
from sympy import Identity, Inverse, MatAdd, MatMul, MatPow, MatrixExpr, Transpose, ZeroMatrix
from sympy.matrices.expressions.factorizations import LofCholesky

from computations.matrices.compiler.canonical import canonicalize, transpose
from computations.matrices.expressions import SymmetricLower
from computations.sizes import Binding

__all__ = ['Properties', 'PREDICATES', 'IMPLIES', 'RULES', 'rule', 'split_product']

#: The predicates :class:`Properties` reasons about (names of SymPy's ``Q``).
PREDICATES = ('symmetric', 'positive_definite', 'positive_semidefinite', 'lower_triangular',
              'upper_triangular', 'diagonal', 'fullrank', 'invertible', 'orthogonal')

#: What each predicate implies on any matrix.
IMPLIES = {
    'positive_definite': ('positive_semidefinite', 'symmetric', 'invertible'),
    'positive_semidefinite': ('symmetric',),
    'diagonal': ('symmetric', 'lower_triangular', 'upper_triangular'),
    'orthogonal': ('invertible',),
    'invertible': ('fullrank',),
}


def _closure(predicate):
    """Every predicate ``predicate`` implies, itself included."""
    found, todo = set(), [predicate]
    while todo:
        p = todo.pop()
        if p not in found:
            found.add(p)
            todo.extend(IMPLIES.get(p, ()))
    return frozenset(found)


#: predicate -> the predicates that imply it (itself excluded).
_STRONGER = {p: tuple(q for q in PREDICATES if q != p and p in _closure(q)) for p in PREDICATES}

def _unknown(properties, expr):
    return None


#: ``RULES[predicate]``: a registry by expression type (:func:`functools.singledispatch`),
#: ``RULES[predicate](properties, expr) -> True/False/None`` (None: unknown).
RULES = {p: functools.singledispatch(_unknown) for p in PREDICATES}

#: Predicates that only square matrices can have.
_SQUARE_ONLY = frozenset(PREDICATES) - {'fullrank'}


def rule(predicate, *types):
    """Register a function as the rule for ``predicate`` on expressions of ``types``."""
    def register(function):
        for t in types:
            RULES[predicate].register(t, function)
        return function
    return register


class Properties:
    """What is known about matrix expressions under some assumptions (see the module)."""

    def __init__(self, assumptions=(), dims=None):
        #: The sizes bound to symbolic dimensions (:class:`~computations.sizes.Binding`).
        self.binding = Binding(dims or {})
        self.dims = self.binding.dims
        self.facts = {}
        self.scalar_facts = []
        for assumption in _flatten(assumptions):
            self._add(assumption)
        self._answers = {}
        self._canonical = {}         # canonicalize's memo: one per set of facts
        self._transposes = {}

    def _add(self, assumption):
        if isinstance(assumption, sympy.Not):
            return                       # negative facts never prove anything here
        if not isinstance(assumption, sympy.assumptions.AppliedPredicate):
            raise TypeError(f'assumptions must be SymPy predicates such as '
                            f'Q.positive_definite(S), got {assumption!r}')
        (arg, *rest) = assumption.arguments
        if not isinstance(arg, MatrixExpr):
            self.scalar_facts.append(assumption)
            return
        name = str(assumption.function.name)   # a Str for Predicate('...') made by hand
        self.facts.setdefault(canonicalize(arg), set()).update(_closure(name))

    def ask(self, predicate, expr):
        """Whether ``predicate`` (a name in :data:`PREDICATES`) holds for ``expr``: True, False or None.

        >>> A = sympy.MatrixSymbol('A', 3, 2)
        >>> Properties([sympy.Q.fullrank(A)]).ask('positive_definite', A.T*A)
        True
        """
        if predicate not in RULES:
            raise ValueError(f'unknown predicate {predicate!r}; known: {", ".join(PREDICATES)}')
        key = (predicate, expr)
        if key in self._answers:
            return self._answers[key]
        self._answers[key] = None            # a question that leads back to itself: unknown
        answer = self._derive(predicate, expr)
        self._answers[key] = answer
        return answer

    def _derive(self, predicate, expr):
        if predicate in self.facts.get(expr, ()):
            return True
        if predicate in _SQUARE_ONLY and self.square(expr) is False:
            return False
        answer = _lookup(predicate, type(expr))(self, expr)
        if answer is not None:
            return answer
        if any(self.ask(stronger, expr) for stronger in _STRONGER[predicate]):
            return True
        return _COMBINED.get(predicate, _unknown)(self, expr)

    # Shapes -----------------------------------------------------------------

    def size(self, dim):
        """A dimension as an int, or None when it is symbolic and not bound."""
        size = self.binding.value(dim)
        return size if isinstance(size, int) else None

    def compare(self, a, b):
        """``a - b`` as an int when both sizes are known (or their difference is), else None."""
        return self.binding.compare(a, b)

    def square(self, expr):
        """Whether ``expr`` is square: True, False or None."""
        difference = self.compare(*expr.shape)
        return None if difference is None else difference == 0

    def full_column_rank(self, expr):
        """Whether ``expr`` (m x n) has rank n: full rank and m >= n."""
        taller = self.compare(*expr.shape)
        return _all([self.ask('fullrank', expr), None if taller is None else taller >= 0])

    def sign(self, scalar):
        """The sign of a scalar coefficient, +1, -1, 0 or None when unknown.

        Bounds on symbols (``Q.gt(k, 1)``, ``Q.positive(k - 1)``, ``Q.nonnegative(k)``...)
        are used by substitution (:func:`bounded_symbols`), which SymPy's ``ask`` does not
        do: ``k/(k - 1)`` with ``k > 1`` is ``(1 + t)/t`` with ``t > 0``, positive.

        >>> k = sympy.Symbol('k')
        >>> Properties([sympy.Q.gt(k, 1)]).sign(k/(k - 1)), Properties().sign(k/(k - 1))
        (1, None)
        """
        scalar = sympy.sympify(scalar)
        if scalar.is_zero:
            return 0
        facts = sympy.And(*self.scalar_facts)
        bounded = scalar.xreplace(self._bounds) if self._bounds else scalar
        for value, predicate in ((1, sympy.Q.positive), (-1, sympy.Q.negative)):
            if getattr(scalar, f'is_{predicate.name}') or getattr(bounded, f'is_{predicate.name}') \
                    or sympy.ask(predicate(scalar), facts):
                return value
        return None

    @functools.cached_property
    def _bounds(self):
        return bounded_symbols(self.scalar_facts)

    def transpose(self, expr):
        """The canonical form of ``expr.T`` under these properties (a symmetric matrix is its own)."""
        if expr not in self._transposes:
            self._transposes[expr] = transpose(expr, self._symmetric)
        return self._transposes[expr]

    def canonical(self, expr):
        """``expr`` in the canonical form the compiler works on (see :mod:`.canonical`)."""
        return canonicalize(expr, self._symmetric, self._canonical)

    def _symmetric(self, expr):
        return self.ask('symmetric', expr)


def _flatten(assumptions):
    if isinstance(assumptions, (sympy.Basic, bool)):
        assumptions = [assumptions]
    for a in assumptions:
        if a is True or a == sympy.true:
            continue
        if isinstance(a, sympy.And):
            yield from _flatten(a.args)
        else:
            yield a


_BOUNDS = {'gt': (1, True), 'ge': (1, False), 'lt': (-1, True), 'le': (-1, False),
           'positive': (1, True), 'nonnegative': (1, False),
           'negative': (-1, True), 'nonpositive': (-1, False)}


def bounded_symbols(facts):
    """``{symbol: bound + t}`` (or ``bound - t``) for each fact bounding one symbol by a
    number, ``t`` a new positive (strict bound) or nonnegative symbol.

    ``Q.gt(k, 1)``, ``Q.positive(k - 1)`` and ``Q.lt(1, k)`` all give ``k -> 1 + t``;
    the first fact about a symbol wins.

    >>> k = sympy.Symbol('k')
    >>> bounded_symbols([sympy.Q.ge(k, 2)])[k].is_nonnegative
    True
    """
    bounds = {}
    for fact in facts:
        name = str(getattr(fact, 'function', None) and fact.function.name)
        if name not in _BOUNDS or not isinstance(fact, sympy.assumptions.AppliedPredicate):
            continue
        direction, strict = _BOUNDS[name]
        args = fact.arguments
        difference = args[0] - args[1] if len(args) == 2 else args[0]
        symbols = difference.free_symbols
        if len(symbols) != 1:
            continue
        (symbol,) = symbols
        solved = sympy.solve(difference, symbol)     # difference = 0 at the bound
        slope = sympy.diff(difference, symbol)
        if len(solved) != 1 or not solved[0].is_number or not slope.is_number or slope == 0:
            continue
        # difference has the sign of `direction`: symbol lies above the bound when the
        # difference grows with it and must be positive (or shrinks and must be negative)
        above = (slope > 0) == (direction > 0)
        t = sympy.Dummy('t', positive=True) if strict else sympy.Dummy('t', nonnegative=True)
        bounds.setdefault(symbol, solved[0] + t if above else solved[0] - t)
    return bounds


def _lookup(predicate, cls):
    return RULES[predicate].dispatch(cls)


def _all(answers):
    """True if every answer is True, False if one is False, else None."""
    answers = list(answers)
    if all(a is True for a in answers):
        return True
    return False if any(a is False for a in answers) else None


def split_product(expr):
    """``(coefficient, [matrix factors])`` of a product, a scaled matrix or a single matrix.

    Integer powers are written out as repeated factors.
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


# Rules for every predicate --------------------------------------------------

for _p in PREDICATES:
    rule(_p, Identity)(lambda properties, expr, p=_p: True)
    # The zero matrix is everything but regular.
    rule(_p, ZeroMatrix)(lambda properties, expr, p=_p:
                         p not in ('positive_definite', 'invertible', 'fullrank', 'orthogonal'))


def _inherit(predicate):
    """A rule: the expression has ``predicate`` exactly when its argument has it."""
    return lambda properties, expr: properties.ask(predicate, expr.arg)


for _p in ('symmetric', 'positive_definite', 'diagonal', 'orthogonal', 'invertible'):
    rule(_p, Transpose, Inverse)(_inherit(_p))
rule('fullrank', Transpose)(_inherit('fullrank'))
rule('positive_semidefinite', Transpose)(_inherit('positive_semidefinite'))
# An inverse exists only for a regular matrix: semidefinite and regular is definite.
rule('positive_semidefinite', Inverse)(_inherit('positive_definite'))
rule('fullrank', Inverse)(_inherit('invertible'))
rule('lower_triangular', Transpose)(_inherit('upper_triangular'))
rule('upper_triangular', Transpose)(_inherit('lower_triangular'))
rule('lower_triangular', Inverse)(_inherit('lower_triangular'))
rule('upper_triangular', Inverse)(_inherit('upper_triangular'))
rule('lower_triangular', LofCholesky)(lambda properties, expr: True)
rule('invertible', LofCholesky)(lambda properties, expr:
                                properties.ask('positive_definite', expr.arg))
rule('symmetric', SymmetricLower)(lambda properties, expr: True)


for _p in PREDICATES:
    # An integer power is a product of its base, written out.
    rule(_p, MatPow)(lambda properties, expr, p=_p: _lookup(p, MatMul)(properties, expr))


# Sums -----------------------------------------------------------------------

for _p in ('symmetric', 'lower_triangular', 'upper_triangular', 'diagonal'):
    # A sum of matrices with the property, whatever their (real) coefficients.
    rule(_p, MatAdd)(lambda properties, expr, p=_p:
                     True if all(properties.ask(p, term) for term in expr.args) else None)


@rule('positive_semidefinite', MatAdd)
def _sum_semidefinite(properties, expr):
    """Nonnegative combinations of semidefinite matrices."""
    return True if all(_nonnegative_multiple(properties, t, 'positive_semidefinite')
                       for t in expr.args) else None


@rule('positive_definite', MatAdd)
def _sum_definite(properties, expr):
    """Semidefinite terms with nonnegative coefficients, at least one definite."""
    if not _sum_semidefinite(properties, expr):
        return None
    return True if any(_nonnegative_multiple(properties, t, 'positive_definite')
                       for t in expr.args) else None


def _nonnegative_multiple(properties, term, predicate):
    """Whether ``term`` is ``c*X`` with ``c > 0`` and ``X`` having ``predicate``."""
    coefficient, factors = split_product(term)
    rest = factors[0] if len(factors) == 1 else MatMul(*factors)
    return properties.sign(coefficient) == 1 and properties.ask(predicate, rest)


# Products -------------------------------------------------------------------

def _congruence(properties, factors):
    """``(Y, M)`` when ``factors`` read ``Y.T * M * Y`` (M a middle factor or None), else None.

    ``Y`` is the product of the right half; the left half must be its
    transpose factor by factor (Sigma*H.T*S*H*Sigma with Sigma symmetric).
    """
    m = len(factors)
    half = m // 2
    if half == 0:
        return None
    left, right = factors[:half], factors[m - half:]
    # Compared in canonical form: Z*Z.T with Z symmetric is Z*Z.
    if [properties.transpose(properties.canonical(f)) for f in reversed(left)] != \
            [properties.canonical(f) for f in right]:
        return None
    Y = right[0] if len(right) == 1 else MatMul(*right)
    return Y, factors[half] if m % 2 else None


@rule('symmetric', MatMul)
def _product_symmetric(properties, expr):
    """A scaled symmetric matrix, ``Y.T*M*Y`` with M symmetric, or a product of diagonals."""
    coefficient, factors = split_product(expr)
    if len(factors) == 1:
        return properties.ask('symmetric', factors[0])
    congruence = _congruence(properties, factors)
    if congruence and (congruence[1] is None or properties.ask('symmetric', congruence[1])):
        return True
    return True if all(properties.ask('diagonal', f) for f in factors) else None


@rule('positive_semidefinite', MatMul)
def _product_semidefinite(properties, expr):
    """``c*Y.T*M*Y`` with ``c > 0`` and M semidefinite (or absent)."""
    coefficient, factors = split_product(expr)
    if properties.sign(coefficient) != 1:
        return None
    if len(factors) == 1:
        return properties.ask('positive_semidefinite', factors[0])
    congruence = _congruence(properties, factors)
    if congruence and (congruence[1] is None
                       or properties.ask('positive_semidefinite', congruence[1])):
        return True
    return None


@rule('positive_definite', MatMul)
def _product_definite(properties, expr):
    """``c*Y.T*M*Y`` with ``c > 0``, M definite (or absent) and Y of full column rank."""
    coefficient, factors = split_product(expr)
    if properties.sign(coefficient) != 1:
        return None
    if len(factors) == 1:
        return properties.ask('positive_definite', factors[0])
    congruence = _congruence(properties, factors)
    if congruence is None:
        return None
    Y, M = congruence
    if (M is None or properties.ask('positive_definite', M)) \
            and properties.full_column_rank(Y):
        return True
    return None


for _p in ('lower_triangular', 'upper_triangular', 'diagonal'):
    # Products of lower (upper, diagonal) triangular matrices stay so.
    rule(_p, MatMul)(lambda properties, expr, p=_p:
                     True if all(properties.ask(p, f) for f in split_product(expr)[1]) else None)


@rule('invertible', MatMul)
def _product_invertible(properties, expr):
    """A nonzero multiple of a product of square invertible matrices."""
    coefficient, factors = split_product(expr)
    if coefficient.is_zero or properties.sign(coefficient) == 0:
        return False
    if properties.sign(coefficient) is None and not coefficient.is_nonzero:
        return None
    return True if all(properties.ask('invertible', f) for f in factors) else None


@rule('orthogonal', MatMul)
def _product_orthogonal(properties, expr):
    coefficient, factors = split_product(expr)
    if abs(coefficient) != 1:
        return None
    return True if all(properties.ask('orthogonal', f) for f in factors) else None


@rule('fullrank', MatMul)
def _product_fullrank(properties, expr):
    """A nonzero multiple of a product whose factors all have full column rank (each is
    one-to-one, so the product is: an invertible A times a tall full-rank S), or all full
    row rank; or ``Y.T*Y`` with Y of full column rank (definite)."""
    coefficient, factors = split_product(expr)
    if properties.sign(coefficient) in (1, -1) or coefficient.is_nonzero:
        if all(properties.full_column_rank(f) for f in factors) \
                or all(properties.full_column_rank(properties.transpose(f)) for f in factors):
            return True
    return True if properties.ask('positive_definite', expr) else None


# Combinations that hold whatever the expression -------------------------------

def _triangular_both(properties, expr):
    both = [properties.ask('lower_triangular', expr), properties.ask('upper_triangular', expr)]
    return True if all(both) else None


def _square_fullrank(properties, expr):
    return True if properties.square(expr) and properties.ask('fullrank', expr) else None


_COMBINED = {'diagonal': _triangular_both, 'invertible': _square_fullrank}

