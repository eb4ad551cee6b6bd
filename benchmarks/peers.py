"""The programs the compiled functions are measured against, one set per bundled problem.

For each problem of :data:`computations.matrices.examples.problems.PROBLEMS`
(``kalman``, ``least_squares``, ``gls``), in the order of the problem's
inputs and returning a tuple of its outputs (2-D arrays, as
``computations.function`` returns them):

- ``numpy_solve``: plain NumPy as a careful user writes it by hand:
  ``@`` and ``numpy.linalg.solve``, no explicit inverse, common
  subexpressions computed once, several right-hand sides solved together;
- ``scipy_hand``: a program on the ``scipy.linalg.blas``/``lapack``
  wrappers as a skilled user writes it, exploiting symmetry and positive
  definiteness, with overwrite flags on its own arrays only;
- ``jax``: the ``numpy_solve`` program in ``jax.numpy`` (float64), under
  ``jax.jit``, called on the NumPy arrays and blocking until the result is
  ready (so the time includes the copy of the inputs to JAX's buffers);
- ``pytensor``: the same graph built with ``pytensor.tensor`` (``matrix``
  variables of float64, ``pytensor.tensor.linalg.solve``), compiled once by
  ``pytensor.function`` in its default mode.

:func:`builders` gives name -> builder for one problem, without the
``jax``/``pytensor`` entries when those libraries are not installed
(:data:`OPTIONAL` says which are).  A builder takes no argument and returns
the function to call; the JAX and PyTensor builders compile (JAX again per
shape, at the first call) and are cached.  No function here modifies its
arguments.

The script runs as ``python benchmarks/bench_suite.py``, so this directory is
on ``sys.path`` and it imports this module as ``peers``.
"""
import functools
import importlib.util

import numpy as np
from scipy.linalg import blas, lapack

from _harness import kalman_scipy

__all__ = ['PROBLEM_NAMES', 'OPTIONAL', 'available', 'builders',
           'kalman_numpy_solve', 'least_squares_numpy_solve', 'gls_numpy_solve',
           'kalman_scipy', 'least_squares_scipy', 'gls_scipy',
           'jax_function', 'pytensor_function']

PROBLEM_NAMES = ('kalman', 'least_squares', 'gls')

#: Optional contestants: name -> the module that must be importable.
OPTIONAL = {'jax': 'jax', 'pytensor': 'pytensor'}


def available(name):
    """Whether the optional contestant ``name`` (``'jax'`` or ``'pytensor'``) can run here."""
    return importlib.util.find_spec(OPTIONAL[name]) is not None


# --- plain NumPy ----------------------------------------------------------------

def kalman_numpy_solve(mu, Sigma, H, R, data):
    """The Kalman update in NumPy: ``H*Sigma`` once, one ``solve`` for both right-hand sides.

    ``Sigma*H.T`` is ``(H*Sigma).T`` because ``Sigma`` is symmetric::

        X = H @ Sigma;  S = X @ H.T + R
        [y | Z] = solve(S, [H @ mu - data | X])
        newmu = mu + X.T @ y;  newSigma = Sigma - X.T @ Z
    """
    return _kalman(np, mu, Sigma, H, R, data)


def least_squares_numpy_solve(X, y):
    """Least squares by the normal equations in NumPy: ``solve(X.T @ X, X.T @ y)``."""
    return _least_squares(np, X, y)


def gls_numpy_solve(X, Omega, y):
    """GLS in NumPy: one ``solve`` with Omega for ``[X | y]``, then the normal equations::

        [A | b] = solve(Omega, [X | y])
        beta = solve(X.T @ A, X.T @ b)

    (Plain NumPy has Cholesky but no triangular solve, so a factorization of
    Omega cannot be reused more cheaply than by solving for both at once.)
    """
    return _gls(np, X, Omega, y)


def _kalman(xp, mu, Sigma, H, R, data):
    X = H @ Sigma
    S = X @ H.T + R
    Y = xp.linalg.solve(S, xp.concatenate((H @ mu - data, X), axis=1))
    return mu + X.T @ Y[:, :1], Sigma - X.T @ Y[:, 1:]


def _least_squares(xp, X, y):
    return (xp.linalg.solve(X.T @ X, X.T @ y),)


def _gls(xp, X, Omega, y):
    p = X.shape[1]
    Z = xp.linalg.solve(Omega, xp.concatenate((X, y), axis=1))
    return (xp.linalg.solve(X.T @ Z[:, :p], X.T @ Z[:, p:]),)


# --- scipy BLAS/LAPACK by hand ----------------------------------------------------

def _raise(routine, what, info):
    if info != 0:
        raise np.linalg.LinAlgError(f'{routine}: {what} is not positive definite (info={info})'
                                    if info > 0 else f'{routine}: illegal argument {-info}')


def least_squares_scipy(X, y):
    """Least squares by the normal equations on BLAS/LAPACK: DSYRK, DGEMV, DPOSV.

    ::

        A    = X.T*X      dsyrk  (trans, upper triangle only: n*p**2 FLOPs)
        b    = X.T*y      dgemv  (trans)
        beta = A.I*b      dposv  (Cholesky of A, overwriting A and b)

    Chosen over QR (``dgels``: 2*n*p**2 - 2/3*p**3 FLOPs, about twice the
    work, and measured 7x slower on this machine at n=4000, p=1000: 0.32 s
    against 0.044 s) because X has full column rank and is well conditioned
    here; QR is the choice when X.T*X may be nearly singular.  Returns ``(beta,)`` with ``beta`` of shape ``(p, 1)``.
    """
    p = X.shape[1]
    A = blas.dsyrk(1.0, X, trans=1, lower=0)
    b = blas.dgemv(1.0, X, np.ravel(y), trans=1)
    _, beta, info = lapack.dposv(A, b, lower=0, overwrite_a=1, overwrite_b=1)
    _raise('dposv', 'X.T*X', info)
    return (beta.reshape(p, 1),)


def gls_scipy(X, Omega, y):
    """GLS on BLAS/LAPACK: whiten ``[X | y]`` by the Cholesky factor of Omega, then least squares.

    With ``Omega = L*L.T``, ``X.T*Omega.I*X = W.T*W`` and
    ``X.T*Omega.I*y = W.T*v`` where ``[W | v] = L.I*[X | y]``::

        L       = chol(Omega)        dpotrf (lower, into a copy of Omega)
        [W | v] = L.I*[X | y]        dtrsm  (into one new n x (p+1) array)
        A       = W.T*W              dsyrk  (trans, upper triangle)
        b       = W.T*v              dgemv  (trans)
        beta    = A.I*b              dposv  (overwriting A and b)

    n**3/3 + n**2*p + n*p**2 + p**3/3 FLOPs, about what the compiled program
    does.  The triangular solve is BLAS's ``dtrsm`` rather than LAPACK's
    ``dtrtrs`` (which only adds a singularity check): OpenBLAS runs
    ``dtrtrs`` on all its threads even at n=50, where that costs more than
    it saves (4.1 us against 2.5 us here) and exposes the call to the
    scheduler stalls described in ``bench_suite``.  Returns ``(beta,)`` with
    ``beta`` of shape ``(p, 1)``.
    """
    n, p = X.shape
    L, info = lapack.dpotrf(Omega, lower=1, clean=0)
    _raise('dpotrf', 'Omega', info)
    B = np.empty((n, p + 1), order='F')
    B[:, :p] = X
    B[:, p] = np.ravel(y)
    B = blas.dtrsm(1.0, L, B, lower=1, overwrite_b=1)
    W, v = B[:, :p], B[:, p]          # a Fortran-contiguous view and a contiguous column
    A = blas.dsyrk(1.0, W, trans=1, lower=0)
    b = blas.dgemv(1.0, W, v, trans=1)
    _, beta, info = lapack.dposv(A, b, lower=0, overwrite_a=1, overwrite_b=1)
    _raise('dposv', 'X.T*Omega.I*X', info)
    return (beta.reshape(p, 1),)


# --- JAX and PyTensor -------------------------------------------------------------

_GRAPHS = {'kalman': _kalman, 'least_squares': _least_squares, 'gls': _gls}
_ARITY = {'kalman': 5, 'least_squares': 2, 'gls': 3}


@functools.cache
def jax_function(problem):
    """``problem``'s NumPy-solve program in ``jax.numpy``, float64, under ``jax.jit``.

    The returned function takes the NumPy arrays and returns a tuple of JAX
    arrays, after ``jax.block_until_ready``.  Importing it enables
    ``jax_enable_x64`` for the whole process.
    """
    import jax
    import jax.numpy as jnp
    jax.config.update('jax_enable_x64', True)
    graph = _GRAPHS[problem]
    jitted = jax.jit(lambda *args: graph(jnp, *args))

    def call(*arrays):
        return jax.block_until_ready(jitted(*arrays))
    call.__doc__ = f'{problem} by jax.jit (float64)'
    return call


class _PytensorLinalg:
    """The ``xp.linalg`` and ``xp.concatenate`` the graphs need, on PyTensor."""

    def __init__(self):
        import pytensor.tensor as pt
        self.linalg = self
        self.concatenate = pt.concatenate
        self._solve = pt.linalg.solve

    def solve(self, a, b):
        return self._solve(a, b, assume_a='gen', b_ndim=2)


@functools.cache
def pytensor_function(problem):
    """``problem``'s NumPy-solve graph built with ``pytensor.tensor`` and compiled once.

    Its inputs are float64 matrices of any shape; it returns a tuple of NumPy arrays.
    """
    import pytensor
    import pytensor.tensor as pt
    inputs = [pt.matrix(f'x{i}', dtype='float64') for i in range(_ARITY[problem])]
    outputs = _GRAPHS[problem](_PytensorLinalg(), *inputs)
    compiled = pytensor.function(inputs, list(outputs))

    def call(*arrays):
        return tuple(compiled(*arrays))
    call.__doc__ = f'{problem} by pytensor.function (float64)'
    return call


# --- per problem ------------------------------------------------------------------

_NUMPY = {'kalman': kalman_numpy_solve, 'least_squares': least_squares_numpy_solve,
          'gls': gls_numpy_solve}
_SCIPY = {'kalman': kalman_scipy, 'least_squares': least_squares_scipy, 'gls': gls_scipy}


def builders(problem):
    """name -> builder (no argument; returns the function to time) of ``problem``'s peers.

    ``numpy_solve`` and ``scipy_hand`` always; ``jax`` and ``pytensor`` when
    importable.
    """
    if problem not in _GRAPHS:
        raise ValueError(f'no peers for {problem!r}: give one of {", ".join(PROBLEM_NAMES)}')
    result = {'numpy_solve': lambda: _NUMPY[problem], 'scipy_hand': lambda: _SCIPY[problem]}
    if available('jax'):
        result['jax'] = lambda: jax_function(problem)
    if available('pytensor'):
        result['pytensor'] = lambda: pytensor_function(problem)
    return result
