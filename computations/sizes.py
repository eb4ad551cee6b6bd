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
computations.sizes.UnboundSizeError: cannot size the rows of X: m has unbound dimensions (m); bound are k, n
"""
import sympy
from sympy import MatrixExpr

from .graph import ComputationsError

__all__ = ['Binding', 'UnboundSizeError']


class UnboundSizeError(ComputationsError, ValueError):
    """A size depends on dimension symbols the binding does not give.

    >>> str(UnboundSizeError('the FLOPs of GEMM', sympy.Symbol('n'), {}))
    'cannot size the FLOPs of GEMM: n has unbound dimensions (n); bound are none'
    """

    def __init__(self, what, expr, dims):
        self.what, self.expr = what, expr
        unbound = sorted(map(str, sympy.sympify(expr).free_symbols))
        bound = ', '.join(sorted(map(str, dims))) or 'none'
        super().__init__(f'cannot size {what}: {expr} has unbound dimensions '
                         f'({", ".join(unbound)}); bound are {bound}')


class Binding:
    """Dimension symbols bound to integers, and the evaluation of sizes under them.

    ``dims`` maps symbols (or their names) to integers.  Results are cached
    per expression, so evaluating the same shape many times costs one
    substitution.

    >>> n = sympy.Symbol('n')
    >>> Binding({n: 3}).nelements(sympy.MatrixSymbol('A', n, n))
    9
    """

    def __init__(self, dims=()):
        dims = dict(dims)
        self.dims = {sympy.Symbol(k) if isinstance(k, str) else sympy.sympify(k):
                     sympy.Integer(v) for k, v in dims.items()}
        self._values = {}

    def __repr__(self):
        return f'Binding({ {str(k): int(v) for k, v in self.dims.items()} })'

    def value(self, expr):
        """``expr`` as an int (or float, for a non-integer number), or None if unbound."""
        try:
            return self._values[expr]
        except (KeyError, TypeError):
            pass
        evaluated = sympy.sympify(expr).xreplace(self.dims)
        if evaluated.is_Integer:
            result = int(evaluated)
        elif evaluated.is_number:
            result = float(evaluated)
        else:
            result = None
        try:
            self._values[expr] = result
        except TypeError:                     # unhashable: not cached
            pass
        return result

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
