"""The front door: compile SymPy matrix expressions into a Python callable.

This is the one package that reaches across the three layers: the compiler
of :mod:`computations.matrices` chooses the operations,
:mod:`computations.inplace` pairs every value with a buffer and proves the
overwrites safe, and :mod:`computations.schedulers` runs the program on
scipy's BLAS/LAPACK wrappers.  It is loaded lazily
(``computations.function``), so ``import computations`` never imports the
other layers.  Its modules: :mod:`.compiled` (the :class:`Function` and its
call path), :mod:`.outputs` (what a call returns: the structure the outputs
were given in, 1-D vectors), :mod:`.dtypes` (which dtypes are computed,
converted or refused), :mod:`.cache` (the LRU of shape specializations),
:mod:`.specialization` (the program for one binding of the dimensions, and
the policy that chooses it), :mod:`.dispatch` (the hot path: a layout seen
before goes straight to its program), :mod:`.shapes` (what the arguments'
shapes bind, once per signature), :mod:`.layouts` (C-ordered arrays read
transposed, by a variant of the function; 1-D vectors, numbers) and
:mod:`.cli` (the command line).

>>> import numpy as np
>>> from sympy import MatrixSymbol, Q, Symbol
>>> n = Symbol('n')
>>> S, b = MatrixSymbol('S', n, n), MatrixSymbol('b', n, 1)
>>> f = function([S, b], [S.I*b], [Q.positive_definite(S)])
>>> f(np.array([[4., 1.], [1., 3.]]), np.array([[1.], [2.]]))
(array([[0.09090909],
       [0.63636364]]),)
>>> print(f.specialize(np.eye(2), np.ones(2)).pseudocode())
out0, chol(S) := inv(S)*b, chol(S)    [POSV]

The program runs as generated Python source, one routine call per line:

>>> print(f.source)
def program(S, b):
    S_2, b_2, info = dposv(S, b, 1)  # lower=1
    if info: fail(POSV, info)
    del S_2
    return (b_2,)

A caller that gives up ``S`` (``donate``) lets the solve factor it in place,
instead of a copy:

>>> g = function([S, b], [S.I*b], [Q.positive_definite(S)], donate=['S'])
>>> print(g.source)
def program(S, b):
    S, b_2, info = dposv(S, b, 1, 1)  # lower=1, overwrite_a=1
    if info: fail(POSV, info)
    return (b_2,)
"""
from .batches import BatchShapeError
from .cache import DEFAULT_CACHE_SIZE, CacheInfo
from .compiled import DEFAULT_SIZE, RUNNERS, Function, function
from .dtypes import DtypeError
from .outputs import Results
from .specialization import EmptySpecialization, Specialization

__all__ = ['function', 'Function', 'Results', 'DtypeError', 'BatchShapeError', 'CacheInfo',
           'Specialization', 'EmptySpecialization', 'DEFAULT_SIZE', 'DEFAULT_CACHE_SIZE', 'RUNNERS']
