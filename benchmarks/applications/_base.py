"""What every application problem declares, the registry that holds them, and their data.

An :class:`Application` is a problem from the linear-algebra literature
stated in SymPy (``inputs``, ``outputs``, ``assumptions``), with the sizes
to benchmark it at (``sizes``, dimensions 500-2000, where BLAS work
dominates) and to test it at (``small``), a hand-written SciPy
BLAS/LAPACK program (``hand``: what an expert writes, using the
structure), and the kernels a property-aware program must call
(``kernels``: alternatives, each a set of op names; a program passes when
its routines include one of them) and must not call (``forbidden``: by
default the LU routines, which ignore symmetry and definiteness).

:func:`register` adds an application (made by a function of no argument)
to :data:`APPLICATIONS`; :func:`inputs` makes its seeded data.

>>> from sympy import MatrixSymbol, Q, Symbol
>>> n = Symbol('n', integer=True, positive=True)
>>> S, b = MatrixSymbol('S', n, n), MatrixSymbol('b', n, 1)
>>> app = Application('demo', 'an SPD solve', (S, b), (S.I*b,), (Q.positive_definite(S),),
...                   hand=None, kernels=({'POSV'},), sizes={'n': 500}, small={'n': 4})
>>> [a.shape for a in inputs(app, app.small)]
[(4, 4), (4, 1)]
>>> app.uses({'POSV', 'GEMV'}), app.uses({'GESV'})
(True, False)
"""
import dataclasses

import numpy as np
import sympy

from computations.matrices.examples.problems import Problem, random_inputs
from computations.schedulers.calls import symmetrize

__all__ = ['Application', 'APPLICATIONS', 'register', 'inputs', 'lapack_ok', 'column',
           'symmetrize', 'positive_diagonal', 'cholesky_factor', 'add_to_diagonal', 'cholesky',
           'cholesky_symmetric', 'dims', 'LU', 'lambdified']

#: Routines that ignore symmetry and definiteness: no application here needs them.
LU = frozenset({'GESV', 'GETRF', 'GETRS'})

#: name -> Application, in the order they were registered.
APPLICATIONS = {}

#: The dimension symbols the statements use (positive integers).
dims = {name: sympy.Symbol(name, integer=True, positive=True) for name in 'nmpkl'}


@dataclasses.dataclass(frozen=True)
class Application:
    """One application problem: statement, sizes, hand-written program, required kernels."""
    name: str
    description: str
    inputs: tuple
    outputs: tuple
    assumptions: tuple
    hand: object
    kernels: tuple
    sizes: dict
    small: dict
    names: tuple = None
    forbidden: frozenset = LU
    structure: str = ''
    reference: str = ''
    overrides: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, 'kernels', tuple(frozenset(k) for k in self.kernels))
        if self.names is None:
            object.__setattr__(self, 'names', tuple(f'out{i}'
                                                    for i in range(len(self.outputs))))

    @property
    def problem(self):
        """The statement as a :class:`~computations.matrices.examples.problems.Problem`."""
        return Problem(self.name, self.inputs, self.outputs, self.assumptions, self.names,
                       self.sizes, self.description)

    def uses(self, routines):
        """Whether a program calling ``routines`` (op names) uses the structure."""
        routines = set(routines)
        return any(k <= routines for k in self.kernels) and not routines & self.forbidden


def register(make):
    """Add the application ``make()`` returns to :data:`APPLICATIONS`; return ``make``."""
    app = make()
    if app.name in APPLICATIONS:
        raise ValueError(f'application {app.name!r} registered twice')
    APPLICATIONS[app.name] = app
    return make


def inputs(app, sizes, seed=0):
    """Seeded, well-conditioned Fortran-ordered inputs of ``app`` at ``sizes`` (by name).

    Inputs follow the assumptions (:func:`random_inputs`); ``app.overrides``
    maps an input's name to ``f(rng, shape)`` for data the assumptions do not
    pin down (a positive diagonal, a scalar above 1); ``shape`` is ``()``
    for a scalar.
    """
    values = random_inputs(app.problem, sizes, seed)
    rng = np.random.default_rng(seed + 1)
    for i, var in enumerate(app.inputs):
        make = app.overrides.get(str(var))
        if make is not None:
            values[i] = make(rng, np.shape(values[i]))
    return values


def lambdified(app, sizes):
    """``sympy.lambdify`` of ``app``'s outputs with the dimensions bound to ``sizes``:
    NumPy products left to right and ``numpy.linalg.inv`` for every inverse."""
    binding = {d: sympy.Integer(sizes[name]) for name, d in dims.items() if name in sizes}
    return sympy.lambdify([v.xreplace(binding) for v in app.inputs],
                          [out.xreplace(binding) for out in app.outputs], 'numpy')


def positive_diagonal(rng, shape):
    """A diagonal matrix with entries in [1, 2] (Fortran-ordered)."""
    return np.asfortranarray(np.diag(rng.uniform(1, 2, shape[0])))


def cholesky(*names):
    """Kernel alternatives: ``names`` with a Cholesky factorization, by POSV or by POTRF.

    >>> sorted(map(sorted, cholesky('SYRK')))
    [['POSV', 'SYRK'], ['POTRF', 'SYRK']]
    """
    return ({'POSV', *names}, {'POTRF', *names})


def cholesky_symmetric(*names):
    """:func:`cholesky` alternatives with a product by a symmetric matrix: SYMM, or GEMM where
    the rate tables price SYMM slower at the problem's shape (at order 2000 with 200
    columns SYMM ran at 0.87 of GEMM's speed, ``./dev bench rates --shapes``).

    >>> sorted(map(sorted, cholesky_symmetric()))
    [['GEMM', 'POSV'], ['GEMM', 'POTRF'], ['POSV', 'SYMM'], ['POTRF', 'SYMM']]
    """
    return cholesky('SYMM', *names) + cholesky('GEMM', *names)


def add_to_diagonal(a, values):
    """``a += diag(values)`` in place (``values`` a scalar or a vector); return ``a``."""
    a[np.diag_indices(a.shape[0])] += values
    return a


def cholesky_factor(rng, shape):
    """A well-conditioned lower triangular matrix: the Cholesky factor of ``X*X.T/n + I``
    (a random triangular matrix is exponentially ill-conditioned in its size)."""
    X = rng.standard_normal(shape)
    return np.asfortranarray(np.linalg.cholesky(X @ X.T / shape[0] + np.eye(shape[0])))


def lapack_ok(result, routine):
    """``result`` of a LAPACK wrapper without its trailing ``info``; raise unless it is 0."""
    *values, info = result
    if info != 0:
        raise np.linalg.LinAlgError(f'{routine}: info = {info}')
    return values[0] if len(values) == 1 else tuple(values)


def column(v):
    """A 1-D vector as an (n, 1) array (a view)."""
    return np.reshape(v, (-1, 1), order='F')

