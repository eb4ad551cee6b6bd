"""The caller's assumptions: checked when a function is made, and, on request, against the data.

An assumption such as ``Q.positive_definite(S)`` is a promise, as in
LAPACK: the compiler chooses routines from it (POSV reads only one
triangle of ``S``) and does not look at the data.  A broken promise gives
an answer that depends on what the routine happened to read.  So:

- :func:`normalize` refuses, when the function is made, what cannot be a
  promise about the inputs: a value that is not a predicate (``True``), a
  predicate the compiler does not know (it would be silently ignored), a
  predicate about a symbol that is not an input, and contradictions (a
  square-only property of a non-square matrix, ``Q.positive_definite(A)``
  with ``Q.positive_definite(-A)``, ``Q.positive(x)`` with
  ``Q.negative(x)``).  ``Q.hermitian`` and ``Q.unitary`` mean
  ``Q.symmetric`` and ``Q.orthogonal`` for the real matrices this library
  computes with.
- :func:`check_values` verifies, on request (``check_assumptions=True``),
  that the arrays of a call keep the promises made about the inputs
  themselves, and raises :class:`AssumptionError` naming the input and the
  property.

>>> from sympy import MatrixSymbol, Q
>>> A = MatrixSymbol('A', 2, 2)
>>> normalize([Q.hermitian(A)], [A])
(Q.symmetric(A),)
>>> normalize([Q.positive_definite(A), Q.positive_definite(-A)], [A])
Traceback (most recent call last):
    ...
ValueError: assumptions contradict each other: A is positive definite, so -A cannot be positive semidefinite
>>> import numpy as np
>>> check_values([Q.symmetric(A)], {A: np.array([[1., 2.], [0., 1.]])})
Traceback (most recent call last):
    ...
computations.matrices.compiler.assumptions.AssumptionError: input A is declared Q.symmetric(A), but it is not symmetric: A[0, 1] = 2.0 and A[1, 0] = 0.0
"""
import numpy as np
import sympy
from sympy import MatrixExpr, MatrixSymbol

from computations.graph import ComputationsError
from computations.matrices.ops.core import dimensions, matrix_value
from computations.matrices.compiler.properties import PREDICATES, SCALAR_PREDICATES, Properties

__all__ = ['normalize', 'check_values', 'check_square', 'AssumptionError', 'SYNONYMS',
           'positive_semidefinite']

#: Predicates that mean one the compiler knows, for real matrices.
SYNONYMS = {'hermitian': 'symmetric', 'unitary': 'orthogonal'}

#: ``positive_semidefinite(S)``: SymPy's ``Q`` has no such predicate, so declare it with
#: this one (``from computations.matrices import positive_semidefinite``).
positive_semidefinite = sympy.Predicate('positive_semidefinite')

#: The predicate of each name the compiler knows (SymPy's, and the ones SymPy lacks).
_PREDICATES = {**{name: getattr(sympy.Q, name) for name in PREDICATES
                  if hasattr(sympy.Q, name)},
               'positive_semidefinite': positive_semidefinite}

#: Predicates a rectangular matrix can have (a triangular one is "trapezoidal").
_ANY_SHAPE = frozenset({'fullrank', 'lower_triangular', 'upper_triangular'})

#: Predicates true of every real matrix: accepted and dropped.
_ALWAYS = frozenset({'real_elements'})

#: Predicates true of every scalar input (a real float): accepted and dropped.
_SCALAR_ALWAYS = frozenset({'real', 'finite', 'extended_real', 'commutative'})


class AssumptionError(ComputationsError, ValueError):
    """An input's values break a property the caller declared for it."""


def normalize(assumptions, inputs):
    """The caller's assumptions as a tuple of predicates the compiler uses, or a ValueError.

    ``Q.square(A)`` must hold of ``A``'s declared shape; scalar predicates
    (``Q.positive(alpha)``) are kept as they are.
    """
    if isinstance(assumptions, (sympy.Basic, bool)):
        assumptions = [assumptions]
    symbols = set(inputs) | set(dimensions(inputs))
    kept = []
    for assumption in _flatten(assumptions):
        if not isinstance(assumption, sympy.assumptions.AppliedPredicate):
            raise TypeError(f'assumptions must be SymPy predicates such as '
                            f'Q.positive_definite(S), got {assumption!r} '
                            f'({type(assumption).__name__})')
        (arg, *_) = assumption.arguments
        unknown = sorted(map(str, _symbols(arg) - symbols))
        if unknown:
            raise ValueError(f'assumption {assumption} is about {", ".join(unknown)}, which '
                             f'{"is not an input" if len(unknown) == 1 else "are not inputs"}')
        given = str(assumption.function.name)     # a Str for Predicate('...') made by hand
        if not isinstance(arg, MatrixExpr):
            if _scalar_fact(assumption, given):
                kept.append(assumption)
            continue
        name = SYNONYMS.get(given, given)
        square = Properties().square(arg)
        if square is False and name not in _ANY_SHAPE:
            raise ValueError(f'assumption {assumption} contradicts the shapes: {arg} is '
                             f'declared {arg.shape[0]} x {arg.shape[1]}'
                             f'{_only_square(name, ", and ")}')
        if name == 'square':
            if square is None:           # n x 3: a promise that n = 3 (check_square)
                kept.append(assumption)
            continue
        if name in _ALWAYS:
            continue
        if name not in PREDICATES:
            raise ValueError(f'assumption {assumption}: the compiler does not use '
                             f'Q.{assumption.function.name} on matrices; it knows '
                             f'{", ".join(PREDICATES)} (and {", ".join(SYNONYMS)} as synonyms)')
        kept.append(_PREDICATES[name](arg) if name != given else assumption)
    kept = tuple(dict.fromkeys(kept))
    _check_consistent(kept)
    return kept


def _scalar_fact(assumption, name):
    """Whether to keep the scalar ``assumption`` (False: true of every scalar input), or a
    ValueError naming what the compiler would not use: a predicate it does not know, a
    matrix predicate (``Q.positive_definite(k)``), a fact about anything but sums,
    products and powers of scalar inputs and dimensions (``Q.positive(Trace(T))``)."""
    if name in _SCALAR_ALWAYS:
        return False
    if name in PREDICATES or SYNONYMS.get(name) in PREDICATES or name == 'square':
        raise ValueError(f'assumption {assumption}: {assumption.arguments[0]} is a scalar, and '
                         f'Q.{name} is a property of matrices; for scalars the compiler knows '
                         f'{", ".join(SCALAR_PREDICATES)}')
    if name not in SCALAR_PREDICATES:
        raise ValueError(f'assumption {assumption}: the compiler does not use Q.{name} on '
                         f'scalars; it knows {", ".join(SCALAR_PREDICATES)}')
    for arg in assumption.arguments:
        part = _not_arithmetic(sympy.sympify(arg))
        if part is not None:
            raise ValueError(f'assumption {assumption}: the compiler uses facts about sums, '
                             f'products and powers of scalar inputs and dimensions, and '
                             f'{part} is not one')
    return True


def _not_arithmetic(expr):
    """The first part of the scalar ``expr`` that is not a number, a symbol, or a sum,
    product or number power of such (None when there is none)."""
    if expr.is_Symbol or expr.is_Number:
        return None
    if isinstance(expr, (sympy.Add, sympy.Mul)) or (isinstance(expr, sympy.Pow)
                                                    and expr.exp.is_Number):
        return next((p for p in map(_not_arithmetic, expr.args) if p is not None), None)
    return expr


def check_square(assumptions, properties):
    """Raise :class:`AssumptionError` when the sizes ``properties`` binds make a matrix
    that a square-only assumption is about rectangular: ``Q.symmetric(Y)`` with Y n x m is
    a promise that n = m, which the function could not check before the call (the program
    would read the rectangular array as a square one).

    >>> n, m = sympy.symbols('n m')
    >>> Y = MatrixSymbol('Y', n, m)
    >>> check_square([sympy.Q.symmetric(Y)], Properties((), {n: 3, m: 3}))
    >>> check_square([sympy.Q.symmetric(Y)], Properties((), {n: 2, m: 3}))
    Traceback (most recent call last):
        ...
    computations.matrices.compiler.assumptions.AssumptionError: input Y is declared Q.symmetric(Y), but it is 2 x 3 (m = 3, n = 2): only square matrices are symmetric
    """
    for assumption in _flatten(assumptions):
        if _not_square(assumption, properties):
            arg, binding = assumption.arguments[0], properties.binding
            given = str(assumption.function.name)
            rows, cols = (binding.value(d) for d in arg.shape)
            sizes = ', '.join(f'{d} = {v}' for d, v in sorted(binding.dims.items(), key=str)
                              if any(d in sympy.sympify(e).free_symbols for e in arg.shape))
            what = f'input {arg}' if isinstance(arg, MatrixSymbol) else str(arg)
            raise AssumptionError(f'{what} is declared {assumption}, but it is {rows} x '
                                  f'{cols} ({sizes})'
                                  f'{_only_square(SYNONYMS.get(given, given), ": ")}')


def _only_square(name, joint):
    """Why a rectangular matrix breaks the promise ``name``, after ``joint``, for a message
    ('' for ``square`` itself)."""
    return '' if name == 'square' else \
        f'{joint}only square matrices are {name.replace("_", " ")}'


def _not_square(assumption, properties):
    """Whether ``assumption`` holds only of square matrices and is about one that
    ``properties`` (its sizes) say is not square."""
    if not isinstance(assumption, sympy.assumptions.AppliedPredicate):
        return False
    arg = assumption.arguments[0]
    given = str(assumption.function.name)
    return isinstance(arg, MatrixExpr) and SYNONYMS.get(given, given) not in _ANY_SHAPE \
        and properties.square(arg) is False


def _flatten(assumptions):
    for a in assumptions:
        if isinstance(a, sympy.And):
            yield from _flatten(a.args)
        else:
            yield a


def _symbols(expr):
    """The symbols ``expr`` is about: matrix symbols and scalar symbols (not dimensions)."""
    if isinstance(expr, MatrixSymbol):
        return {expr}
    if isinstance(expr, sympy.Symbol):
        return {expr}
    return set().union(*(_symbols(arg) for arg in expr.args)) if expr.args else set()


def _check_consistent(assumptions):
    """Raise a ValueError when the assumptions cannot all hold."""
    properties = Properties(assumptions)
    for expr, names in properties.facts.items():
        negated = properties.canonical(-expr)
        for mine, theirs in (('positive_definite', 'positive_semidefinite'),
                             ('positive_semidefinite', 'positive_definite')):
            if mine in names and properties.ask(theirs, negated):
                raise ValueError(f'assumptions contradict each other: {expr} is '
                                 f'{mine.replace("_", " ")}, so {negated} cannot be '
                                 f'{theirs.replace("_", " ")}')
    scalar = [a for a in assumptions if not isinstance(a.arguments[0], MatrixExpr)]
    if scalar:
        try:
            sympy.ask(sympy.Q.real(scalar[0].arguments[0]), sympy.And(*scalar))
        except ValueError:              # SymPy: "inconsistent assumptions"
            raise ValueError('assumptions contradict each other: '
                             + ', '.join(map(str, scalar))) from None


def check_values(assumptions, values, dims=None):
    """Check that ``values`` (``{input: array or float}``) keep the promises made about inputs.

    Assumptions about a matrix input itself are checked (``Q.symmetric(A)``), not
    about expressions of matrices; scalar ones are checked once the scalar inputs,
    and the call's sizes of the dimensions (``dims``), are substituted
    (``Q.positive(alpha)``, ``Q.gt(k, 1)``, ``Q.positive(k - 1)``), and so are the
    signs a scalar input's symbol declares (``Symbol('a', positive=True)``).  Symmetry
    and orthogonality allow rounding errors; triangular and diagonal structure must be
    exact zeros; positive definiteness is a Cholesky factorization of a copy.  Raises
    :class:`AssumptionError` naming the input (or dimension).

    >>> k = sympy.Symbol('k')
    >>> check_values([sympy.Q.lt(k, 2)], {}, {k: 3})
    Traceback (most recent call last):
    ...
    computations.matrices.compiler.assumptions.AssumptionError: dimension k is declared Q.lt(k, 2), but k = 3
    """
    numeric = {var: value for var, value in values.items() if not isinstance(var, MatrixExpr)}
    scalars = {var: sympy.Float(value) for var, value in numeric.items()}
    scalars.update((d, sympy.Integer(size)) for d, size in (dims or {}).items())
    signs = [getattr(sympy.Q, fact)(var) for var in numeric if isinstance(var, sympy.Symbol)
             for fact in _SIGNS if var.assumptions0.get(fact)]
    for assumption in (*assumptions, *signs):
        (arg, *_) = assumption.arguments
        if not isinstance(arg, MatrixExpr):        # Q.positive(alpha), Q.gt(k, 1), Q.positive(k - 1)
            numbers = assumption.xreplace(scalars)
            if not numbers.free_symbols and (numbers.has(sympy.nan)        # NaN keeps none
                                             or sympy.ask(numbers) is False):
                named = sorted(assumption.free_symbols & set(scalars), key=str)
                kind = 'input' if all(s in numeric for s in named) else \
                    'dimension' if not any(s in numeric for s in named) else 'input and dimension'
                raise AssumptionError(f'{kind} {", ".join(map(str, named))} is declared '
                                      f'{assumption}, but ' + ', '.join(
                                          f'{s} = {numeric[s]!r}' if s in numeric else
                                          f'{s} = {dims[s]}' for s in named))
            continue
        if arg not in values:
            continue
        given = str(assumption.function.name)
        name = SYNONYMS.get(given, given)
        problem = _MATRIX_CHECKS.get(name, lambda a, label: None)(
            matrix_value(arg, np.asarray(values[arg])), str(arg))
        if problem:
            raise AssumptionError(f'input {arg} is declared {assumption}, but {problem}')


#: The signs a scalar symbol may declare (``Symbol('a', positive=True)``), checked as the
#: predicates of the same names.
_SIGNS = ('positive', 'nonnegative', 'negative', 'nonpositive', 'nonzero')


def _tolerance(array):
    """Rounding allowed in symmetry and orthogonality: 100 n eps of the largest entry."""
    n = max(array.shape[0], 1)
    return 100 * n * np.finfo(array.dtype if array.dtype.kind == 'f' else float).eps


def _symmetric(a, label):
    scale = np.max(np.abs(a), initial=0.0)
    gap = np.abs(a - a.T)
    if gap.size and gap.max() > _tolerance(a) * scale:
        i, j = map(int, np.unravel_index(np.argmax(gap), gap.shape))
        return (f'it is not symmetric: {label}[{i}, {j}] = {float(a[i, j])} and '
                f'{label}[{j}, {i}] = {float(a[j, i])}')
    return None


def _zeros(part, what):
    def check(a, label):
        outside = part(a)
        if np.any(outside):
            i, j = map(int, np.argwhere(outside)[0])
            return f'it is not {what}: {label}[{i}, {j}] = {float(a[i, j])}'
        return None
    return check


def _positive_definite(a, label):
    asymmetric = _symmetric(a, label)
    if asymmetric:
        return asymmetric
    from scipy.linalg import lapack
    _, info = lapack.dpotrf(np.array(a, dtype=np.float64, order='F'), lower=1)
    if info > 0:
        return (f'it is not positive definite (its leading minor of order {info} is not '
                'positive)')
    return None


def _positive_semidefinite(a, label):
    asymmetric = _symmetric(a, label)
    if asymmetric:
        return asymmetric
    lowest = float(np.linalg.eigvalsh(a)[0]) if a.size else 0.0
    if lowest < -_tolerance(a) * np.max(np.abs(a), initial=0.0):
        return f'it is not positive semidefinite (its smallest eigenvalue is {lowest:.3g})'
    return None


def _orthogonal(a, label):
    error = np.max(np.abs(a.T @ a - np.eye(a.shape[1])), initial=0.0)
    if a.shape[0] != a.shape[1] or error > _tolerance(a):
        return f'it is not orthogonal ({label}.T*{label} differs from the identity by {error:.3g})'
    return None


def _full_rank(a, label, square=False):
    rank = np.linalg.matrix_rank(a) if a.size else 0
    if rank < min(a.shape) or square and a.shape[0] != a.shape[1]:
        what = 'invertible' if square else 'of full rank'
        return f'it is not {what} (its rank is {rank} of {min(a.shape)})'
    return None


def _finite(check):
    """``check``, after one that every entry is finite: a NaN or an infinity makes a matrix
    neither symmetric nor definite nor of a rank (comparisons with NaN are all false, so
    the checks themselves would pass it)."""
    def checked(a, label):
        bad = np.argwhere(~np.isfinite(a))
        if bad.size:
            i, j = map(int, bad[0])
            return f'it has a non-finite entry: {label}[{i}, {j}] = {float(a[i, j])}'
        return check(a, label)
    return checked


_MATRIX_CHECKS = {
    'symmetric': _finite(_symmetric),
    # structure: only the zeros are checked (a NaN among them is not a zero)
    'lower_triangular': _zeros(lambda a: np.triu(a, 1), 'lower triangular'),
    'upper_triangular': _zeros(lambda a: np.tril(a, -1), 'upper triangular'),
    'diagonal': _zeros(lambda a: np.where(np.eye(*a.shape, dtype=bool), 0, a), 'diagonal'),
    'positive_definite': _finite(_positive_definite),
    'positive_semidefinite': _finite(_positive_semidefinite),
    'orthogonal': _finite(_orthogonal),
    'fullrank': _finite(_full_rank),
    'invertible': _finite(lambda a, label: _full_rank(a, label, square=True)),
}
