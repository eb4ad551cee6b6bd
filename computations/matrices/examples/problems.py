"""The bundled problems the command line runs: Kalman filter, least squares, GLS.

A :class:`Problem` holds SymPy ``inputs``, ``outputs`` (with ``names``)
and ``assumptions``, and default ``sizes`` for its symbolic dimensions.
:func:`random_inputs` makes data that satisfies the assumptions (positive
definite, triangular, invertible, full rank...), for checks and timings.

>>> problem = PROBLEMS['least_squares']()
>>> problem.outputs
((X.T*X)**(-1)*X.T*y,)
>>> [a.shape for a in random_inputs(problem, {'n': 10, 'p': 3})]
[(10, 3), (10, 1)]
"""
import dataclasses
import runpy

import numpy as np
import sympy
from sympy import MatrixExpr, MatrixSymbol, Q

from computations.matrices.examples.kalman import kalman
from computations.graph import ComputationsError
from computations.sizes import Binding, is_integer

__all__ = ['Problem', 'ProblemError', 'PROBLEMS', 'least_squares', 'gls', 'kalman_problem', 'load',
           'random_inputs']

_n, _k, _p = (sympy.Symbol(s, integer=True, positive=True) for s in 'nkp')


@dataclasses.dataclass(frozen=True)
class Problem:
    """Matrix expressions to compile, with what is assumed and the sizes to run them at."""
    name: str
    inputs: tuple
    outputs: tuple
    assumptions: tuple = ()
    names: tuple = None
    sizes: dict = dataclasses.field(default_factory=dict)
    description: str = ''

    def __post_init__(self):
        if self.names is None:
            object.__setattr__(self, 'names', tuple(f'out{i}' for i in range(len(self.outputs))))


def kalman_problem():
    """The Kalman filter update (see :mod:`.kalman`)."""
    inputs, outputs, assumptions = kalman(_n, _k)
    return Problem('kalman', inputs, outputs, assumptions, ('newmu', 'newSigma'),
                   {'n': 2000, 'k': 1000}, 'Kalman filter update of the belief (mu, Sigma)')


def least_squares():
    """Ordinary least squares, ``beta = (X.T*X).I*X.T*y`` with X of full column rank."""
    X, y = MatrixSymbol('X', _n, _p), MatrixSymbol('y', _n, 1)
    return Problem('least_squares', (X, y), ((X.T * X).I * X.T * y,), (Q.fullrank(X),),
                   ('beta',), {'n': 4000, 'p': 1000}, 'ordinary least squares')


def gls():
    """Generalized least squares, ``beta = (X.T*Omega.I*X).I*X.T*Omega.I*y``."""
    X, y = MatrixSymbol('X', _n, _p), MatrixSymbol('y', _n, 1)
    Omega = MatrixSymbol('Omega', _n, _n)
    beta = (X.T * Omega.I * X).I * X.T * Omega.I * y
    return Problem('gls', (X, Omega, y), (beta,),
                   (Q.fullrank(X), Q.positive_definite(Omega)), ('beta',),
                   {'n': 2000, 'p': 500}, 'generalized least squares with covariance Omega')


#: Bundled problems by name.
PROBLEMS = {'kalman': kalman_problem, 'least_squares': least_squares, 'gls': gls}


class ProblemError(ComputationsError, ValueError):
    """A problem that cannot be loaded: an unknown name, or a file that does not define
    what a problem is (errors the file's own code raises pass through as they are)."""


def load(spec):
    """A bundled problem by name, or the problem a Python file defines.

    The file must define ``inputs`` and ``outputs`` (an expression, a list, or a dict
    of named outputs), and may define ``assumptions``, ``names`` and ``sizes``
    (``{dimension name: positive int}``); :class:`ProblemError` says what is wrong
    otherwise.
    """
    if spec in PROBLEMS:
        return PROBLEMS[spec]()
    if not spec.endswith('.py'):
        raise ProblemError(f'unknown problem {spec!r}: give one of {", ".join(PROBLEMS)} '
                           'or the path of a Python file')
    try:
        namespace = runpy.run_path(spec)
    except SystemExit as exit:
        raise ProblemError(f'{spec} exited (sys.exit({exit.code!r})) instead of defining a '
                           'problem') from None
    missing = [name for name in ('inputs', 'outputs') if name not in namespace]
    if missing:
        raise ProblemError(f'{spec} must define {" and ".join(missing)} (and assumptions)')
    names = namespace.get('names')
    outputs = namespace['outputs']
    if isinstance(outputs, dict):                 # named outputs, as function() takes them
        names = names or tuple(outputs)
        outputs = tuple(outputs.values())
    outputs = (outputs,) if isinstance(outputs, sympy.Basic) else tuple(outputs)
    inputs = namespace['inputs']
    inputs = (inputs,) if isinstance(inputs, sympy.Basic) else tuple(inputs)
    sizes = dict(namespace.get('sizes', {}))
    for name, size in sizes.items():
        if not is_integer(size) or size < 1:
            raise ProblemError(f'{spec}: sizes[{name!r}] must be a positive integer, got '
                               f'{size!r}')
    return Problem(spec, inputs, outputs, tuple(namespace.get('assumptions', ())), names,
                   sizes)


def random_inputs(problem, sizes, seed=0):
    """Random, well-conditioned values of the inputs that satisfy the assumptions."""
    rng = np.random.default_rng(seed)
    sizes = {str(k): v for k, v in sizes.items()}
    # Sizes are given by name; the problem's dimension symbols may carry assumptions.
    binding = Binding({s: sizes[str(s)] for var in problem.inputs if isinstance(var, MatrixExpr)
                       for d in var.shape for s in sympy.sympify(d).free_symbols
                       if str(s) in sizes})
    facts = {}
    for assumption in problem.assumptions:
        for a in (assumption.args if isinstance(assumption, sympy.And) else [assumption]):
            facts.setdefault(a.arguments[0], set()).add(a.function.name)
    values = []
    for var in problem.inputs:
        if not isinstance(var, MatrixExpr):
            values.append(float(rng.uniform(0.5, 2)))
            continue
        shape = tuple(binding.size(d, f'the shape of {var} (pass --size {d}=N)')
                      for d in var.shape)
        values.append(_matrix(rng, shape, facts.get(var, set())))
    return values


def _matrix(rng, shape, properties):
    """A Fortran-ordered array with ``properties``, well conditioned."""
    rows, cols = shape
    X = rng.standard_normal(shape)
    if properties & {'positive_definite', 'positive_semidefinite'}:
        X = X @ X.T / rows + np.eye(rows)
    elif 'diagonal' in properties:
        X = np.diag(rng.uniform(1, 2, rows))
    elif properties & {'lower_triangular', 'upper_triangular'}:
        # off-diagonal row sums below the diagonal: with entries of size 1 the condition
        # number grows as 2^n
        X = (np.tril(X) if 'lower_triangular' in properties else np.triu(X)) / max(rows, 1)
        X[np.diag_indices(rows)] = rng.uniform(1, 2, rows)
    elif 'symmetric' in properties:
        X = (X + X.T) / 2
    elif 'orthogonal' in properties:
        q, r = np.linalg.qr(X)
        X = q * np.where(np.diag(r) < 0, -1.0, 1.0)
    elif 'invertible' in properties:
        X = X / np.sqrt(rows) + 2 * np.eye(rows)
    return np.asfortranarray(X)
