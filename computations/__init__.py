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

__all__ = ['Computation', 'CompositeComputation', 'Identity', 'CycleError',
           'ConflictingProducersError', 'ComputationsError']
__version__ = '0.1.0.dev0'


def __getattr__(name):
    """Load the front door (the package :mod:`computations.front_door`) and :func:`grad` on
    first use.

    It imports the other layers (inplace, schedulers); importing
    ``computations`` alone never does.
    """
    if name in ('function', 'Function'):
        from . import front_door
        return getattr(front_door, name)
    if name in ('grad', 'frobenius_norm'):
        from .matrices import gradients
        return getattr(gradients, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
