"""Operations outside BLAS and LAPACK that compiled programs occasionally need.

``TRANSPOSE``
    an out-of-place transposition, for the rare value that a routine needs
    in the orientation the program does not hold (BLAS's trans flags cover
    most cases for free);
``SCALAR``
    a scalar expression of scalar inputs, such as ``2*alpha`` when a product
    is scaled by it.

Both cost no floating-point operations in the search's count (a
transposition only moves data; a scalar is one number).

>>> from sympy import MatrixSymbol, Symbol
>>> A, B = MatrixSymbol('A', 3, 2), MatrixSymbol('B', 2, 2)
>>> TRANSPOSE(A*B).outputs, TRANSPOSE(A).inplace
((B.T*A.T,), {})
>>> SCALAR(2*Symbol('alpha') + 1).inputs
(alpha,)
"""
import sympy
from sympy import MatrixExpr

from ..core import Computation
from .core import MatrixComputation, as_matrix

__all__ = ['TRANSPOSE', 'SCALAR']


class TRANSPOSE(MatrixComputation):
    """``X.T`` in a new buffer.

    >>> from sympy import MatrixSymbol
    >>> print(TRANSPOSE(MatrixSymbol('X', 3, 2)))
    X.T = TRANSPOSE(X)
    """
    __slots__ = ()
    __props__ = ('X',)
    arguments = ('X',)
    routine = 'transpose'
    library = 'numpy'
    out_buffers = (0,)

    def __init__(self, X):
        X = as_matrix(X, 'X', type(self).__name__)
        self._set(X, outputs=[X.T])

    @property
    def flops(self):
        return 0


class SCALAR(Computation):
    """A scalar expression computed from the scalar symbols it contains.

    >>> from sympy import Symbol
    >>> a, b = Symbol('a'), Symbol('b')
    >>> print(SCALAR(a*b))
    a*b = SCALAR(a, b)
    """
    __slots__ = ()
    __props__ = ('expr',)

    def __init__(self, expr):
        expr = sympy.sympify(expr)
        if isinstance(expr, MatrixExpr) or not isinstance(expr, sympy.Expr) or expr.is_number:
            raise TypeError(f'SCALAR needs a scalar expression of symbols, got {expr!r}')
        self._freeze(expr)

    @property
    def inputs(self):
        return tuple(sorted(self.expr.free_symbols, key=str))

    @property
    def outputs(self):
        return (self.expr,)

    @property
    def flops(self):
        return 0

    def __str__(self):
        return f"{self.expr} = SCALAR({', '.join(map(str, self.inputs))})"
