"""TokenProgram: a composite of token nodes that lists itself in a safe execution order.

A plain :class:`~computations.CompositeComputation` orders its members by
data dependencies only.  A token program has more constraints: every reader
of a value runs before the node that overwrites it.  ``toposort()``, ``str``
and iteration of a TokenProgram follow :func:`computations.inplace.execution_order`.

>>> import sympy
>>> from computations.matrices import GEMM, SCAL
>>> from computations.inplace import inplace_compile
>>> X = sympy.MatrixSymbol('X', 2, 2)
>>> program = inplace_compile(SCAL(2, X) + GEMM(1, X, X), donate=[X])
>>> print(program)                    # GEMM reads X before SCAL overwrites it
pow_X = GEMM(X, X)  # X**2
X = SCAL(X)  # 2*X
"""
from computations import CompositeComputation

__all__ = ['TokenProgram']


class TokenProgram(CompositeComputation):
    """A token program: its order respects overwrites as well as data."""
    __slots__ = ('_safe',)

    def toposort(self):
        """The nodes in :func:`computations.inplace.execution_order` (readers before overwrites)."""
        try:
            return self._safe
        except AttributeError:
            from .check import _ordered        # check imports this module
            order = _ordered(self)
            object.__setattr__(self, '_safe', order)
            return order

    def __iter__(self):
        return iter(self.toposort())

    def __str__(self):
        return '\n'.join(map(str, self.toposort()))

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self.toposort()))})"
