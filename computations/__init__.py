"""computations: compile matrix mathematics into checked BLAS/LAPACK programs.

This package is the mathematical layer: an immutable bipartite DAG of
variables and operations.  It knows nothing of storage (:mod:`inplace`) or
execution (:mod:`schedulers`), and never imports them.

>>> from computations import Computation
>>> c = Computation(['w'], ['x']) + Computation(['x', 'y'], ['z'])
>>> c.inputs, c.outputs
(('w', 'y'), ('z',))
"""
from .core import Computation, CompositeComputation, Identity
from .graph import ComputationsError, ConflictingProducersError, CycleError
from . import log  # noqa: F401  (the NullHandler on the library's logger)

#: Loaded on first use (see :func:`__getattr__`): the front door, and gradients.
_LAZY = {'function': 'front_door', 'Function': 'front_door', 'grad': 'matrices.gradients',
         'frobenius_norm': 'matrices.gradients'}

__all__ = ['function', 'Function', 'grad', 'frobenius_norm', 'Computation',
           'CompositeComputation', 'Identity', 'CycleError', 'ConflictingProducersError',
           'ComputationsError']
__version__ = '0.1.0.dev0'


def __getattr__(name):
    """Load the front door (the package :mod:`computations.front_door`) and :func:`grad` on
    first use.

    It imports the other layers (inplace, schedulers); importing
    ``computations`` alone never does.
    """
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f'{__name__}.{_LAZY[name]}')
        return getattr(module, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
    """The module's names, with those loaded on first use (``function``, ``grad``...)."""
    return sorted(set(globals()) | set(_LAZY))
