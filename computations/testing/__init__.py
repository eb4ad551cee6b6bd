"""A property-testing kit for your own computations: strategies, assertions, a reference.

The tools this project's own test suite uses, for the computations you build:

- assertions: :func:`assert_inplace_safe` (the poisoning interpreter: run a
  token program with every dead buffer overwritten by NaN and compare with
  the pure program) and :func:`assert_allclose_to_numpy` (a compiled
  function against a plain NumPy evaluation of its SymPy outputs);
- a reference: :func:`evaluate` (SymPy matrix expressions in NumPy),
  :func:`relative_error`, :func:`rounding` (the error rounding may
  leave where a result cancels), :func:`pure_values`, and :func:`random_matrix`
  (well-conditioned data of a declared kind: SPD, triangular, ...);
- a model operation: :class:`Mix`, with a chosen inplace map and a kernel
  that punishes unsafe plans;
- hypothesis strategies: :func:`dag_members` (random DAGs of opaque
  computations), :func:`mix_dags` and :func:`sized_programs` (random token
  programs), :func:`matrix_problems` (random matrix expressions with
  assumptions and data that satisfies them).

The assertions need only NumPy; the strategies need hypothesis, an optional
dependency (``pip install computations[testing]``).  They load on first use,
so ``import computations.testing`` works without hypothesis and a strategy
then raises an ``ImportError`` that says what to install.  This package is
loaded only when imported: ``import computations`` never loads it.

>>> import numpy as np
>>> from computations.inplace import inplace_compile
>>> from computations.testing import Mix, assert_inplace_safe
>>> comp = Mix(['x'], ['y'], [(0, 0)]) + Mix(['y'], ['z'], [(0, 0)])
>>> print(inplace_compile(comp, donate=['x']))
x = Mix(x)  # y
x = Mix(x)  # z
>>> outputs = assert_inplace_safe(comp, {'x': np.linspace(0, 1, 4)}, donate=['x'])
"""
import importlib
import importlib.util

from .assertions import assert_allclose_to_numpy, assert_inplace_safe, default_rtol, pure_values
from .data import KINDS, random_matrix
from .mix import Mix
from .reference import evaluate, magnitude, relative_error, rounding

#: The names that need hypothesis, and the module that defines each.
_STRATEGIES = {'dag_members': 'strategies', 'mix_dags': 'strategies',
               'sized_programs': 'strategies', 'RandomSizes': 'strategies',
               'matrix_problems': 'expressions', 'MatrixProblem': 'expressions'}

def _installed(module):
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# A star import loads what ``__all__`` names, so the strategies are named only where
# hypothesis is installed (``from computations.testing import *`` works without it).
__all__ = ['assert_inplace_safe', 'assert_allclose_to_numpy', 'pure_values', 'default_rtol',
           'evaluate', 'magnitude', 'rounding', 'relative_error', 'random_matrix', 'KINDS',
           'Mix', *(_STRATEGIES if _installed('hypothesis') else ())]


def __getattr__(name):
    """Load the hypothesis strategies on first use (hypothesis is optional)."""
    if name in _STRATEGIES:
        try:
            module = importlib.import_module(f'.{_STRATEGIES[name]}', __name__)
        except ImportError as error:
            if error.name is None or error.name.split('.')[0] != 'hypothesis':
                raise
            raise ImportError(f'computations.testing.{name} needs hypothesis, which is not '
                              'installed: pip install computations[testing]',
                              name=error.name) from error
        return getattr(module, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
    return sorted(set(globals()) | set(_STRATEGIES))
