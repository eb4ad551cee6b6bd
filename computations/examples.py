"""Small computations built by hand, for the demo, the docs and the tests.

The MinMax example is the one of the seed post "Computations: beyond
expression trees": an operation ``A`` makes ``x`` from ``w``, and ``MinMax``
reads ``x`` and ``y`` and produces both ``Min(x, y)`` and ``Max(x, y)`` with
one comparison -- two outputs, so no expression tree can hold it::

    w -> [A] -> x --> [MinMax] -> Min(x, y)
                y ----^       \\-> Max(x, y)

>>> c = minmax()
>>> c.inputs, c.outputs
((w, y), (Min(x, y), Max(x, y)))
>>> print(c)
x = A(w)
Min(x, y), Max(x, y) = MinMax(x, y)
"""
import sympy

from . import graph
from .core import Computation

__all__ = ['A', 'MinMax', 'minmax', 'kalman', 'EXAMPLES']


class A(Computation):
    """The seed's opaque operation ``A``: it reads its inputs and produces its outputs.

    >>> A(['w'], ['x']).outputs
    ('x',)
    """
    __slots__ = ()


class MinMax(Computation):
    """Both the minimum and the maximum of two scalars, from one comparison.

    >>> x, y = sympy.symbols('x y')
    >>> MinMax(x, y).outputs
    (Min(x, y), Max(x, y))
    """
    __slots__ = ()
    __props__ = ('x', 'y')

    def __init__(self, x, y):
        x, y = sympy.sympify(x), sympy.sympify(y)
        # Min(x, x + 1) is x: refused, as an output that is an input is
        graph.check_outputs(self, (x, y), (sympy.Min(x, y), sympy.Max(x, y)))
        self._freeze(x, y)

    @property
    def inputs(self):
        return (self.x, self.y)

    @property
    def outputs(self):
        return (sympy.Min(self.x, self.y), sympy.Max(self.x, self.y))


def minmax():
    """The seed post's example: ``A`` then ``MinMax``, as one composite.

    >>> len(minmax().toposort())
    2
    """
    w, x, y = sympy.symbols('w x y')
    return A([w], [x]) + MinMax(x, y)


def kalman():
    """The seed's Kalman filter as a hand-built program of BLAS/LAPACK operations.

    >>> sorted({type(op).__name__ for op in kalman()})
    ['GEMM', 'GEMV', 'POSV', 'POTRS', 'SYMM']
    """
    from .matrices.examples import kalman_program
    return kalman_program()


#: The examples the command line knows, by name.
EXAMPLES = {'minmax': minmax, 'kalman': kalman}
