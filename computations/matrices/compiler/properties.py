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
from sympy import (Identity, Inverse, MatAdd, MatMul, MatPow, MatrixExpr, OneMatrix, Transpose,
                   ZeroMatrix)
from sympy.matrices.expressions.factorizations import LofCholesky
from sympy.matrices.expressions.matexpr import MatrixElement

from computations.matrices.compiler.canonical import canonicalize, split_product, transpose
from computations.matrices.expressions import SymmetricLower
from computations.matrices.ops.memo import active
from computations.sizes import Binding

__all__ = ['Properties', 'PREDICATES', 'SCALAR_PREDICATES', 'IMPLIES', 'RULES', 'rule',
           'split_product']

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

#: Predicates that only square matrices can have: a derived answer True holds only where
#: the matrix is known to be square.  A triangular matrix may be rectangular
#: ("trapezoidal"), and may be declared lower and upper triangular at once (an SVD's
#: n x p Sigma), which makes it neither diagonal in this library's sense nor symmetric
#: (its transpose is p x n); nor is a rectangular zero matrix.
_SQUARE_ONLY = frozenset(PREDICATES) - {'fullrank', 'lower_triangular', 'upper_triangular'}


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
        assumptions = tuple(_flatten(assumptions))
        for assumption in assumptions:
            self._add(assumption)
        self._answers, self._canonical, self._transposes = {}, {}, {}
        self._instances = {}       # id(expr) -> (expr, the first instance of its value)
        self._values = {}          # an expression -> the first instance of its value
        self._pending = set()        # the questions being derived (a cycle is unknown)
        # What each derivation under way read of the sizes (see _remembered), and what
        # each result remembered read.
        self._reads, self._guards = [], {}
        self._shared = _shared_tables(assumptions)

    def _add(self, assumption):
        if isinstance(assumption, sympy.Not):
            return                       # negative facts never prove anything here
        if not isinstance(assumption, sympy.assumptions.AppliedPredicate):
            raise TypeError(f'assumptions must be SymPy predicates such as '
                            f'Q.positive_definite(S), got {assumption!r}')
        arg = assumption.arguments[0]
        name = str(assumption.function.name)   # a Str for Predicate('...') made by hand
        if not isinstance(arg, MatrixExpr):
            self.scalar_facts.append(_sign_fact(assumption))
            return
        if name == 'square':
            return                             # a shape promise (assumptions.check_square)
        self.facts.setdefault(canonicalize(arg), set()).update(_closure(name))

    def ask(self, predicate, expr):
        """Whether ``predicate`` (a name in :data:`PREDICATES`) holds for ``expr``: True, False or None.

        >>> A = sympy.MatrixSymbol('A', 3, 2)
        >>> Properties([sympy.Q.fullrank(A)]).ask('positive_definite', A.T*A)
        True
        """
        if predicate not in RULES:
            raise ValueError(f'unknown predicate {predicate!r}; known: {", ".join(PREDICATES)}')
        key = (predicate, self.one_instance(expr))
        if key in self._pending:
            self._read(('pending', key), True)
            return None                      # a question that leads back to itself: unknown
        self._pending.add(key)
        try:
            return self._remembered('answers', self._answers, key,
                                    lambda: self._derive(predicate, expr), question=key)
        finally:
            self._pending.discard(key)

    def one_instance(self, expr):
        """The first instance of ``expr``'s value met here (``expr`` itself if it is).

        The compiler's tables are keyed by expressions, and a dictionary finds the same
        instance by identity, an equal one only by SymPy's structural ``==``.  The same
        value arrives in several instances (SymPy rebuilds even symbols: the Kalman
        filter's planner met ``H`` in three and ``Sigma`` in five), and comparing them was
        a sixth of its compilation.  An identity table in front of a table of values makes
        that one structural comparison per instance, not one per lookup; the planner
        (:meth:`~.search.Planner.plan`) and :meth:`ask` key their tables so.

        >>> A = sympy.MatrixSymbol('A', 2, 2)
        >>> properties = Properties()
        >>> first = properties.one_instance(A.T)
        >>> properties.one_instance(sympy.Transpose(A)) is first
        True
        """
        entry = self._instances.get(id(expr))
        if entry is not None and entry[0] is expr:
            return entry[1]
        first = self._values.setdefault(expr, expr)
        self._instances[id(expr)] = (expr, first)      # keeps expr alive: its id stays its own
        return first

    def _remembered(self, table, mine, key, derive, question=None):
        """``derive()``, remembered in ``mine`` (this instance's), and shared with the
        compilations at other sizes through the memo's ``table``.

        A result keeps what its derivation read (its *guards*): each size reading
        (:meth:`size`, :meth:`order`, :meth:`compare`) with its outcome, and each
        question it met still being derived (a cycle, answered "unknown": the
        ``question`` being derived by this call is no guard of its own result).  A
        result is a function of its guards, so it is used again only where they read
        the same: a shared one at another size (``H`` is not symmetric where
        ``k != n``), a remembered one while the questions it met are still being
        derived.
        """
        found = mine.get(key, _MISSING)
        if found is not _MISSING:
            guards, cycle = self._guards[table, key]
            if not cycle or all(question in self._pending for question in cycle):
                self._depend(guards)
                return found
        for guards, value in self._shared[table].get(key, ()):
            if all(self._query(*query) == outcome for query, outcome in guards):
                break
        else:
            self._reads.append(set())
            try:
                value = derive()
            finally:
                guards = self._reads.pop()
            guards.discard((('pending', question), True))
            guards = frozenset(guards)
            _share(self._shared[table], key, guards, value)
        cycle = tuple(query[1] for query, _ in guards if query[0] == 'pending')
        mine[key], self._guards[table, key] = value, (guards, cycle)
        self._depend(guards)
        return value

    def _read(self, query, outcome):
        """Note what the derivation under way read (nothing when none is)."""
        if self._reads:
            self._reads[-1].add((query, outcome))

    def _depend(self, guards):
        if self._reads:
            self._reads[-1].update(guards)

    def _query(self, kind, *args):
        """A guard's reading again (:meth:`_remembered`)."""
        if kind == 'pending':
            return args[0] in self._pending
        if kind == 'size':
            return _int(self.binding.value(*args))
        difference = self.binding.compare(*args)
        if kind == 'compare' or difference is None:
            return difference
        return (difference > 0) - (difference < 0)

    def _derive(self, predicate, expr):
        if predicate in self.facts.get(expr, ()):
            return True                 # declared (a promise that its matrix is square)
        if predicate in _SQUARE_ONLY and self.square(expr) is False:
            return False
        answer = self._derived(predicate, expr)
        if answer and predicate in _SQUARE_ONLY and self.square(expr) is not True:
            return None                 # X n x p lower and upper triangular: square if n = p
        return answer

    def _derived(self, predicate, expr):
        answer = _lookup(predicate, type(expr))(self, expr)
        if answer is not None:
            return answer
        if any(self.ask(stronger, expr) for stronger in _STRONGER[predicate]):
            return True
        return _COMBINED.get(predicate, _unknown)(self, expr)

    # Shapes -----------------------------------------------------------------

    def size(self, dim):
        """A dimension as an int, or None when it is symbolic and not bound."""
        size = _int(self.binding.value(dim))
        self._read(('size', dim), size)
        return size

    def compare(self, a, b):
        """``a - b`` as an int when both sizes are known (or their difference is), else None."""
        difference = self.binding.compare(a, b)
        self._read(('compare', a, b), difference)
        return difference

    def order(self, a, b):
        """The sign of ``a - b`` (-1, 0 or 1) when it is known, else None: what shapes
        decide (a result that reads only this holds at every size of that order)."""
        difference = self.binding.compare(a, b)
        sign = None if difference is None else (difference > 0) - (difference < 0)
        self._read(('order', a, b), sign)
        return sign

    def square(self, expr):
        """Whether ``expr`` is square: True, False or None."""
        sign = self.order(*expr.shape)
        return None if sign is None else sign == 0

    def full_column_rank(self, expr):
        """Whether ``expr`` (m x n) has rank n: full rank and m >= n."""
        taller = self.order(*expr.shape)
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
        signs = ((1, sympy.Q.positive), (-1, sympy.Q.negative))
        for value, predicate in signs:
            if getattr(scalar, f'is_{predicate.name}') or getattr(bounded, f'is_{predicate.name}'):
                return value
        asked = _asked(scalar, facts)          # only when SymPy's own attributes do not know
        if asked is not None:
            for value, predicate in signs:
                if sympy.ask(predicate(asked), facts):
                    return value
        return None

    @functools.cached_property
    def _bounds(self):
        return bounded_symbols(self.scalar_facts)

    def transpose(self, expr):
        """The canonical form of ``expr.T`` under these properties (a symmetric matrix is its own)."""
        expr = self.one_instance(expr)
        return self._remembered('transposes', self._transposes, expr,
                                lambda: self.one_instance(
                                    transpose(expr, self.own_transpose, self.transpose)))

    def canonical(self, expr):
        """``expr`` in the canonical form the compiler works on (see :mod:`.canonical`)."""
        expr = self.one_instance(expr)
        return self._remembered('canonical', self._canonical, expr,
                                lambda: self.one_instance(canonicalize(expr, self.own_transpose)))

    def own_transpose(self, expr):
        """Whether ``expr`` may stand for ``expr.T`` (in the canonical form, and as a
        routine's operand): symmetric, and square in its declared shape -- an n x p matrix
        symmetric where n = p is bound (a rectangular diagonal one) keeps its transpose, or
        ``X.T*Y`` would become ``X*Y``, an n x p times an n x p, which no routine computes."""
        return bool(self.ask('symmetric', expr)) and expr.shape[0] == expr.shape[1]


def _asked(scalar, facts):
    """What :meth:`Properties.sign` asks SymPy's ``ask`` about under the scalar ``facts``:
    ``scalar`` with each trace, determinant and matrix entry a real symbol -- ``ask``
    knows nothing of them but that (the matrices are real), and its time grows fast with
    their size: the coefficient ``exp(Trace((P + X*X.T)*W.T*W*(X*X.T + P.T))/10)/5`` of
    a gradient took 40 s (review K) --, or None when the facts name none of its symbols
    (``ask`` could then only repeat what ``is_positive`` said).

    >>> k, A = sympy.Symbol('k'), sympy.MatrixSymbol('A', 2, 2)
    >>> _asked(k*sympy.Trace(A), sympy.Q.positive(k))
    _t0*k
    >>> _asked(sympy.exp(sympy.Trace(A)), sympy.true) is None
    True
    """
    if not (facts.free_symbols & scalar.free_symbols):
        return None
    kinds = (sympy.Trace, sympy.Determinant, MatrixElement)
    atoms = sorted(scalar.atoms(*kinds), key=sympy.default_sort_key)
    return scalar.xreplace({atom: sympy.Dummy(f't{i}', real=True)
                            for i, atom in enumerate(atoms)})


#: The tables of answers, canonical forms and transposes shared through a memo.
_SHARED = ('answers', 'canonical', 'transposes')


def _shared_tables(assumptions):
    """The tables of shared results (each with the readings it depends on) for these
    ``assumptions``: those of the active :class:`~computations.matrices.ops.memo.Memo`
    (shared by a function's compilations at every size), else new ones."""
    memo = active()
    if memo is None:
        return {name: {} for name in _SHARED}
    return memo.lookup('answers', ('facts', assumptions),
                       lambda: {name: {} for name in _SHARED})


def _share(table, key, guards, value):
    """Keep ``value`` under ``key`` for the sizes where ``guards`` hold (at most
    :data:`SHARED_VARIANTS` variants per key; a table of :data:`SHARED_LIMIT` keys is
    emptied first)."""
    if key not in table and len(table) >= SHARED_LIMIT:
        table.clear()
    variants = table.setdefault(key, [])
    if len(variants) >= SHARED_VARIANTS:
        del variants[0]
    variants.append((guards, value))


#: The most keys a shared table holds, and variants (for different sizes) per key.
SHARED_LIMIT, SHARED_VARIANTS = 20_000, 8

_MISSING = object()


def _int(size):
    return size if isinstance(size, int) else None


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


#: A sign predicate: (the sign it gives, whether strictly).
_BOUNDS = {'positive': (1, True), 'negative': (-1, True),
           'nonnegative': (1, False), 'nonpositive': (-1, False)}

#: A relation between two scalars: the sign predicate of the greater minus the lesser, and
#: which argument is the greater.
_RELATIONS = {'gt': (sympy.Q.positive, 0), 'ge': (sympy.Q.nonnegative, 0),
              'lt': (sympy.Q.positive, 1), 'le': (sympy.Q.nonnegative, 1)}

#: The predicates of scalars the compiler reasons with (:meth:`Properties.sign`).
SCALAR_PREDICATES = (*_BOUNDS, *_RELATIONS)


def _sign_fact(fact):
    """A relation between two scalars as the sign of the greater minus the lesser, any
    other fact as it is: ``Q.gt(k, j)`` and ``Q.lt(j, k)`` as ``Q.positive(k - j)``, the
    form SymPy's ``ask`` reasons with (with ``Q.gt(k, j)`` it cannot tell the sign of
    ``k - j``) and :func:`bounded_symbols` reads.

    >>> k, j = sympy.symbols('k j')
    >>> _sign_fact(sympy.Q.lt(j, k)), _sign_fact(sympy.Q.ge(k, j))
    (Q.positive(-j + k), Q.nonnegative(-j + k))
    """
    found = _RELATIONS.get(str(getattr(fact, 'function', None) and fact.function.name))
    if found is None:
        return fact
    predicate, greater = found
    args = fact.arguments
    return predicate(args[greater] - args[1 - greater])


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
    for fact in map(_sign_fact, facts):
        name = str(getattr(fact, 'function', None) and fact.function.name)
        if name not in _BOUNDS or not isinstance(fact, sympy.assumptions.AppliedPredicate):
            continue
        direction, strict = _BOUNDS[name]
        (difference,) = fact.arguments
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


# Rules for every predicate --------------------------------------------------

for _p in PREDICATES:
    rule(_p, Identity)(lambda properties, expr, p=_p: True)
    # The zero matrix is everything but regular.
    rule(_p, ZeroMatrix)(lambda properties, expr, p=_p:
                         p not in ('positive_definite', 'invertible', 'fullrank', 'orthogonal'))
# The matrix of ones is its own transpose (when square; the guard of square-only predicates
# sees to that): holding it transposed needs no TRANSPOSE, which would compute nothing.
rule('symmetric', OneMatrix)(lambda properties, expr: True)


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

