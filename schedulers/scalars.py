"""How a :class:`~computations.matrices.SCALAR` is evaluated, by every runner.

A scalar expression of a program's scalars (``exp(a)``, ``Trace(A)**2``, a
determinant over a trace) is evaluated with NumPy's arithmetic on NumPy
scalars (or stacks of them, in a batch): an overflow is ``inf`` and a
division by zero ``inf`` or ``nan``, each with NumPy's ``RuntimeWarning``,
as the same expression written with NumPy gives.  The interpreter, the
generated source and the stacked batch runner call this one function: they
evaluated the expression three ways before (SymPy floats, Python's ``math``,
NumPy), so ``Trace(A)**2`` overflowed to ``inf`` in one and raised
``OverflowError`` in another.

>>> import numpy as np, sympy
>>> from computations.matrices import SCALAR
>>> a, b = sympy.symbols('a b')
>>> with np.errstate(over='ignore'):
...     scalar_function(SCALAR(sympy.exp(a) * b))(800.0, 0.5)
np.float64(inf)
>>> float(scalar_function(SCALAR(a**2 / b))(3.0, 2.0))
4.5
"""
import functools

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

__all__ = ['scalar_function']

_F64 = np.float64


@functools.lru_cache(maxsize=1024)
def scalar_function(op, stacked=False):
    """``op.expr`` as a function of ``op.inputs``' values (floats and NumPy scalars, or
    stacks of them when ``stacked``), evaluated by NumPy (see the module).  A piecewise
    expression evaluates the branch its condition picks (``1/sqrt(x)`` if ``x > 0``, else
    0: the other branch would divide by zero, warning about a value never used); stacked,
    NumPy's ``select`` evaluates every branch of every problem.

    >>> x = sympy.Symbol('x')
    >>> from computations.matrices import SCALAR
    >>> op = SCALAR(sympy.Piecewise((1 / sympy.sqrt(x), x > 0), (0, True)))
    >>> float(scalar_function(op)(0.0)), float(scalar_function(op)(4.0))
    (0.0, 0.5)
    """
    names = sympy.symbols(f'x:{len(op.inputs)}')
    expr = op.expr.xreplace(dict(zip(op.inputs, names)))
    # the settings lambdify gives its own printer (modules imported by name)
    printer = None if stacked else _BranchPrinter({
        'fully_qualified_modules': False, 'inline': True, 'allow_unknown_functions': True,
        'user_functions': {}})
    # stacked: SciPy's printer for the special functions (gamma, erf...), which NumPy's
    # prints as Python's math module's, of one number only
    function = sympy.lambdify(names, expr, ['scipy', 'numpy'] if stacked else 'numpy',
                              printer=printer)

    def evaluate(*values):             # Python floats as NumPy's (NumPy arithmetic on them)
        return function(*[_F64(value) if type(value) is float else value for value in values])
    evaluate.__name__ = evaluate.__qualname__ = 'scalar'
    return evaluate


class _BranchPrinter(NumPyPrinter):
    """NumPy's printer with a piecewise expression as Python's conditional expressions, which
    evaluate only the branch taken (for scalars: a condition on a stack has no truth value)."""

    def _print_Piecewise(self, expr):
        text = self._module_format('numpy.nan')
        for value, condition in reversed(expr.args):
            if condition == sympy.true:
                text = self._print(value)
            else:
                text = f'(({self._print(value)}) if ({self._print(condition)}) else ({text}))'
        return text
