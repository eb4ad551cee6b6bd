"""Symbolic sizes under a binding: the one place dimensions, FLOPs and workspaces get numbers.

Operations declare their sizes as SymPy expressions of dimension symbols
(``2*m*n*k`` FLOPs, an ``n x 1`` output); a :class:`Binding` maps those
symbols to integers and evaluates every such expression the same way.  An
expression whose symbols are not all bound raises :class:`UnboundSizeError`,
which names what was being sized and the symbols missing; :meth:`Binding.value`
returns None instead, for callers that can do without the number.

>>> import sympy
>>> n, k = sympy.symbols('n k')
>>> b = Binding({n: 4, 'k': 2})
>>> b.size(2*n*k), b.shape(sympy.MatrixSymbol('H', k, n)), b.value(n + sympy.Symbol('m'))
(16, (2, 4), None)
>>> b.size(sympy.Symbol('m'), 'the rows of X')
Traceback (most recent call last):
...
computations.sizes.UnboundSizeError: cannot size the rows of X: the dimension m is unbound; bound are k, n
"""
import fractions
import functools
import math
import numbers

import sympy
from sympy import MatrixExpr

from .graph import ComputationsError

__all__ = ['Binding', 'is_integer', 'UnboundSizeError', 'UndefinedAtSizeError', 'check_position']


def is_integer(value):
    """Whether ``value`` is an integer a size can be: any ``numbers.Integral`` (Python's,
    NumPy's, a SymPy ``Integer`` from a ``.shape``) but a bool.

    >>> import numpy as np
    >>> is_integer(3), is_integer(np.int64(3)), is_integer(sympy.Integer(3)), is_integer(True)
    (True, True, True, False)
    >>> is_integer(3.0), is_integer('3')
    (False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class UnboundSizeError(ComputationsError, ValueError):
    """A size depends on dimension symbols the binding does not give.

    >>> str(UnboundSizeError('the FLOPs of GEMM', 2*sympy.Symbol('n')**3, {}))
    'cannot size the FLOPs of GEMM: 2*n**3 has unbound dimensions (n); bound are none'
    >>> str(UnboundSizeError('the rows of X', sympy.Symbol('n'), {}))
    'cannot size the rows of X: the dimension n is unbound; bound are none'
    """

    def __init__(self, what, expr, dims):
        self.what, self.expr = what, expr
        unbound = sorted(map(str, sympy.sympify(expr).free_symbols))
        bound = ', '.join(sorted(map(str, dims))) or 'none'
        missing = (f'the dimension {expr} is unbound' if isinstance(expr, sympy.Symbol) else
                   f'{expr} has unbound dimensions ({", ".join(unbound)})')
        super().__init__(f'cannot size {what}: {missing}; bound are {bound}')


class UndefinedAtSizeError(ComputationsError, ZeroDivisionError):
    """A coefficient made of dimensions has no real value at the sizes of a call
    (``n/(n - 1)`` at n = 1), so neither has the expression.

    >>> n = sympy.Symbol('n')
    >>> str(UndefinedAtSizeError(n/(n - 1)*sympy.MatrixSymbol('x', n, 1), {n: 1}))
    '(n/(n - 1))*x is undefined when n = 1: a coefficient made of its dimensions is not a finite real number'
    """

    def __init__(self, expression, dims):
        self.expression, self.dims = expression, dict(dims)
        bound = ', '.join(f'{d} = {v}' for d, v in sorted(self.dims.items(), key=str))
        super().__init__(f'{expression} is undefined{" when " + bound if bound else ""}: a '
                         'coefficient made of its dimensions is not a finite real number')


def check_position(element, size):
    """Raise an IndexError naming ``element`` (a ``MatrixElement``) when its position is
    outside its matrix; ``size`` maps a dimension to an int, or None when it is not known
    (SymPy checks only numeric shapes).

    >>> n = sympy.Symbol('n')
    >>> check_position(sympy.MatrixSymbol('A', n, n)[0, 2], {n: 2}.get)
    Traceback (most recent call last):
    ...
    IndexError: A[0, 2]: column 2 is outside A, which has 2 columns (n = 2)
    """
    for axis, (position, dim) in enumerate(zip((element.i, element.j), element.parent.shape)):
        known = size(dim)
        if known is not None and not 0 <= int(position) < known:
            what = 'rows' if axis == 0 else 'columns'
            raise IndexError(f'{element}: {what[:-1]} {position} is outside {element.parent}, '
                             f'which has {known} {what if known != 1 else what[:-1]} ({dim} = {known})')


class Binding:
    """Dimension symbols bound to integers, and the evaluation of sizes under them.

    ``dims`` maps symbols (or their names, which bind every symbol so named) to
    integers >= 0; anything else is refused, naming the dimension.  Results are
    cached per expression, so evaluating the same shape many times costs one
    substitution.

    >>> n = sympy.Symbol('n')
    >>> Binding({n: 3}).nelements(sympy.MatrixSymbol('A', n, n))
    9
    """

    def __init__(self, dims=()):
        dims = dict(dims)
        for name, size in dims.items():
            if not (is_integer(size) or isinstance(size, sympy.Integer)):
                raise TypeError(f'dimension {name} must be bound to an integer, got {size!r}')
            if size < 0:
                raise ValueError(f'dimension {name} must be bound to a size >= 0, got {size}')
        self.dims = {sympy.Symbol(k) if isinstance(k, str) else sympy.sympify(k):
                     sympy.Integer(int(v)) for k, v in dims.items()}
        # a name binds every symbol of that name, whatever its assumptions
        self._names = {k: sympy.Integer(int(v)) for k, v in dims.items() if isinstance(k, str)}
        self._values = {}
        self._ints = {symbol: int(size) for symbol, size in self.dims.items()}

    def __repr__(self):
        return f'Binding({ {str(k): int(v) for k, v in self.dims.items()} })'

    def value(self, expr):
        """``expr`` as an int (or float, for a non-integer number), or None if unbound."""
        try:
            return self._values[expr]
        except (KeyError, TypeError):
            pass
        try:
            result = _evaluator(expr)(self._ints)
        except (TypeError, KeyError, ZeroDivisionError, OverflowError, ValueError):
            result = _UNKNOWN             # unhashable, unbound or not arithmetic: by SymPy
        if result is _UNKNOWN:
            result = self._substituted(expr)
        try:
            self._values[expr] = result
        except TypeError:                     # unhashable: not cached
            pass
        return result

    def _substituted(self, expr):
        """``expr`` evaluated by SymPy's substitution (the evaluator's fallback);
        :class:`UndefinedAtSizeError` where it has no finite real value (``1/n`` at 0)."""
        evaluated = sympy.sympify(expr).xreplace(self.dims)
        if self._names and evaluated.free_symbols:
            evaluated = evaluated.xreplace({s: self._names[s.name] for s in evaluated.free_symbols
                                            if getattr(s, 'name', None) in self._names})
        if evaluated.is_Integer:
            return int(evaluated)
        if evaluated.is_number:
            if not (evaluated.is_real and evaluated.is_finite):
                raise UndefinedAtSizeError(expr, self.dims)
            return float(evaluated)
        return None

    def size(self, expr, what=None):
        """``expr`` as a number; :class:`UnboundSizeError` naming ``what`` if it is unbound.

        ``what`` may be a string or a function that makes one (called only to raise,
        so that sizing in a loop never formats a message).
        """
        result = self.value(expr)
        if result is None:
            what = what() if callable(what) else what
            raise UnboundSizeError(what or str(expr), sympy.sympify(expr).xreplace(self.dims),
                                   self.dims)
        return result

    def compare(self, a, b):
        """``a - b`` as an int when it is known (even if ``a`` and ``b`` are not), else None.

        >>> n = sympy.Symbol('n')
        >>> Binding().compare(n + 1, n), Binding().compare(n, 1)
        (1, None)
        """
        known = self.value(a), self.value(b)
        if all(isinstance(size, int) for size in known):
            return known[0] - known[1]
        result = self.value(sympy.expand(sympy.sympify(a) - sympy.sympify(b)))
        return result if isinstance(result, int) else None

    def shape(self, expr):
        """The numeric shape of a matrix expression; None for a scalar."""
        if not isinstance(expr, MatrixExpr):
            return None
        return tuple(self.size(d, lambda: f'the shape of {expr}') for d in expr.shape)

    def nelements(self, expr):
        """The number of elements of a matrix expression (0 for a scalar)."""
        shape = self.shape(expr)
        return 0 if shape is None else shape[0] * shape[1]

    def flops(self, op):
        """An operation's declared FLOP count (its ``flops``, 0 if it declares none)."""
        return float(self.size(getattr(op, 'flops', 0), lambda: f'the FLOPs of {op}'))

    def workspace(self, op):
        """The elements an operation holds while it runs besides its inputs and outputs
        (its declared ``workspace``, 0 if it declares none)."""
        return int(self.size(getattr(op, 'workspace', 0), lambda: f'the workspace of {op}'))


_UNKNOWN = object()


@functools.lru_cache(maxsize=8192)
def _evaluator(expr):
    """A function of ``{symbol: int}`` computing ``expr`` (a polynomial or rational
    function of dimensions: integers, rationals, symbols, sums, products, integer powers)
    exactly, as :meth:`Binding.value` reports it: an int, or a float for a non-integer;
    ``_UNKNOWN`` for anything else (SymPy's substitution evaluates it).

    Compiled once per expression (the cache is bounded) and shared by every binding: a
    function compiled at many sizes evaluates the same FLOP counts at each.

    >>> n, k = sympy.symbols('n k')
    >>> f = _evaluator(2*n*k**2 + n/3)
    >>> f({n: 3, k: 2}), f({n: 2, k: 1})
    (25, 4.666666666666667)
    """
    term = _term(sympy.sympify(expr))
    if term is None:
        return lambda sizes: _UNKNOWN

    def evaluate(sizes):
        value = term(sizes)
        if isinstance(value, int):
            return value
        return int(value) if value.denominator == 1 else float(value)
    return evaluate


def _term(expr):
    """The exact evaluator (ints and Fractions) of one node of ``expr``, or None."""
    if expr.is_Integer:
        value = int(expr)
        return lambda sizes: value
    if expr.is_Rational:
        value = fractions.Fraction(int(expr.p), int(expr.q))
        return lambda sizes: value
    if expr.is_Symbol:
        return lambda sizes: sizes[expr]
    if expr.is_Pow and expr.exp.is_Integer:
        base, exponent = _term(expr.base), int(expr.exp)
        if base is None:
            return None
        if exponent < 0:
            return lambda sizes: fractions.Fraction(1, base(sizes) ** -exponent)
        return lambda sizes: base(sizes) ** exponent
    if expr.is_Add or expr.is_Mul:
        parts = [_term(arg) for arg in expr.args]
        if any(part is None for part in parts):
            return None
        combine = sum if expr.is_Add else math.prod
        return lambda sizes: combine(part(sizes) for part in parts)
    return None
