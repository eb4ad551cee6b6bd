"""What the arguments' shapes bind, on the fast path of calls: one lookup per signature.

A call whose arrays can go to the generated program as they are
(Fortran-ordered 2-D float arrays of one dtype, floats for scalars) needs
the dimension sizes their shapes bind, to find the program.  A
:class:`ShapeKeys` works that out once per *shape signature* (the matrix
arguments' shapes and the dtype) and keeps it, by the full path's binding,
:func:`~computations.schedulers.execute.bind_dimensions` (a fixed size
checked, a dimension declared as an expression, ``n + 1`` or ``2*n``,
solved), so that both bind alike.  Anything it
cannot read gives None, and the full path converts the arguments or names
what is wrong.

>>> import numpy as np, sympy
>>> n = sympy.Symbol('n')
>>> A, B = sympy.MatrixSymbol('A', n, n), sympy.MatrixSymbol('B', n + 1, n)
>>> keys = ShapeKeys([A, B, sympy.Symbol('alpha')], [n])
>>> keys.ready((np.eye(3, order='F'), np.ones((4, 3), order='F'), 2.0))
(dtype('float64'), (3,))
>>> keys.ready((np.eye(3, order='F'), np.ones((3, 3), order='F'), 2.0)) is None  # 3 != n+1
True
"""
import numpy as np
from sympy import MatrixExpr

from computations.schedulers.execute import bind_dimensions

__all__ = ['ShapeKeys', 'MAX_SIGNATURES']

#: Shape signatures remembered at most (a function called with ever new shapes forgets).
MAX_SIGNATURES = 4096


class ShapeKeys:
    """The fast path's reading of the arguments of ``inputs`` (whose symbolic sizes are
    ``dimensions``): :meth:`ready` gives ``(dtype, dimension sizes)``, the key of the
    program, or None."""

    def __init__(self, inputs, dimensions):
        self.inputs, self.dimensions = tuple(inputs), tuple(dimensions)
        #: Per input, whether it is a matrix.
        self.matrices = tuple(isinstance(var, MatrixExpr) for var in self.inputs)
        self._matrix_inputs = [var for var in self.inputs if isinstance(var, MatrixExpr)]
        #: ``(shapes, dtype)`` of the matrix arguments -> the key they bind (False if they
        #: cannot go as they are).
        self._keys = {}

    def clear(self):
        """Forget the signatures read."""
        self._keys.clear()

    def ready(self, args):
        """``(dtype, dimension sizes)`` if ``args`` can go to the program as they are
        (Fortran-ordered 2-D float arrays of one dtype with consistent shapes, floats for
        scalars), else None: :func:`~computations.schedulers.execute.prepare_inputs` then
        converts them or says what is wrong.  What the shapes bind is worked out once per
        combination of shapes."""
        if len(args) != len(self.inputs):
            return None
        shapes, dtype = [], None
        for value, matrix in zip(args, self.matrices):
            if not matrix:
                if type(value) is not float:
                    return None
                continue
            if type(value) is not np.ndarray or not value.flags.f_contiguous:
                return None
            if dtype is None:
                dtype = value.dtype
            elif value.dtype is not dtype and value.dtype != dtype:
                return None
            shapes.append(value.shape)
        signature = (tuple(shapes), dtype)
        key = self._keys.get(signature)
        if key is None:
            if len(self._keys) > MAX_SIGNATURES:     # many shapes: forget the old ones
                self._keys.clear()
            key = self._keys[signature] = self._bound(*signature)
        return None if key is False else key

    def _bound(self, shapes, dtype):
        """``(dtype, dimension sizes)`` the matrix ``shapes`` bind, or False (see
        :meth:`ready`): the full path's binding, which also names what is wrong."""
        if dtype is not None and dtype != np.float64 and dtype != np.float32:
            return False
        if any(len(shape) != 2 for shape in shapes):
            return False
        try:
            bound = bind_dimensions(self.inputs, dict(zip(self._matrix_inputs, shapes)))
            return dtype or np.dtype(np.float64), tuple(bound[d] for d in self.dimensions)
        except (ValueError, KeyError):      # the full path names what is wrong
            return False
