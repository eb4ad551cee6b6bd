"""The Kalman filter of the seed post, as SymPy expressions and as a program built by hand.

The update of a normal belief ``(mu, Sigma)`` by an observation ``data`` of
``H*x`` with noise covariance ``R``::

    newmu    = mu + Sigma*H.T*(R + H*Sigma*H.T).I*(H*mu - data)
    newSigma = Sigma - Sigma*H.T*(R + H*Sigma*H.T).I*H*Sigma

The hand-built program factors ``S = H*Sigma*H.T + R`` once (POSV, which
also solves for the mean) and reuses the factor for the covariance (POTRS)::

    SYMM   H*Sigma                     (Sigma symmetric)
    GEMM   Sigma*H.T
    GEMM   S = H*(Sigma*H.T) + R
    GEMV   r = H*mu - data
    POSV   S.I*r, LofCholesky(S)
    POTRS  S.I*(H*Sigma)
    GEMV   newmu    = (Sigma*H.T)*(S.I*r) + mu
    GEMM   newSigma = -(Sigma*H.T)*(S.I*H*Sigma) + Sigma

``H*Sigma`` and ``Sigma*H.T`` are transposes of each other, but only when
Sigma is symmetric, which SymPy's expressions do not know; by hand we keep
every variable exactly the expression SymPy writes, so the program's outputs
*are* ``newmu`` and ``newSigma``.

>>> from computations.matrices.examples.kalman import kalman, kalman_program
>>> (mu, Sigma, H, R, data), (newmu, newSigma), assumptions = kalman()
>>> program = kalman_program()
>>> program.inputs == (Sigma, H, R, mu, data) and program.outputs == (newmu, newSigma)
True
>>> print(program)  # doctest: +NORMALIZE_WHITESPACE
Sigma*H.T = GEMM(1, Sigma, H, trans_b=True)
H*Sigma*H.T + R = GEMM(1, H, Sigma*H.T, 1, R)
H*mu - data = GEMV(1, H, mu, -1, data)
(H*Sigma*H.T + R)**(-1)*(H*mu - data), LofCholesky(H*Sigma*H.T + R) = POSV(H*Sigma*H.T + R, H*mu - data)
Sigma*H.T*(H*Sigma*H.T + R)**(-1)*(H*mu - data) + mu = GEMV(1, Sigma*H.T, (H*Sigma*H.T + R)**(-1)*(H*mu - data), 1, mu)
H*Sigma = SYMM(1, Sigma, H, side='R')
(H*Sigma*H.T + R)**(-1)*H*Sigma = POTRS(LofCholesky(H*Sigma*H.T + R), H*Sigma)
Sigma - Sigma*H.T*(H*Sigma*H.T + R)**(-1)*H*Sigma = GEMM(-1, Sigma*H.T, (H*Sigma*H.T + R)**(-1)*H*Sigma, 1, Sigma)
"""
import numpy as np
import sympy
from sympy import MatrixSymbol, Q

from computations.matrices.ops.blas import GEMM, GEMV, SYMM
from computations.matrices.ops.lapack import POSV, POTRS

__all__ = ['kalman', 'kalman_program', 'kalman_numpy']


def kalman(n=sympy.Symbol('n', integer=True, positive=True),
           k=sympy.Symbol('k', integer=True, positive=True)):
    """The filter's inputs, outputs and assumptions, as SymPy objects.

    Returns ``(mu, Sigma, H, R, data), (newmu, newSigma), assumptions``.
    ``n`` is the size of the state, ``k`` that of the observation.

    >>> inputs, (newmu, newSigma), assumptions = kalman(4, 2)
    >>> newmu.shape, newSigma.shape
    ((4, 1), (4, 4))
    """
    mu = MatrixSymbol('mu', n, 1)
    Sigma = MatrixSymbol('Sigma', n, n)
    H = MatrixSymbol('H', k, n)
    R = MatrixSymbol('R', k, k)
    data = MatrixSymbol('data', k, 1)
    newmu = mu + Sigma * H.T * (R + H * Sigma * H.T).I * (H * mu - data)
    newSigma = Sigma - Sigma * H.T * (R + H * Sigma * H.T).I * H * Sigma
    assumptions = (Q.positive_definite(Sigma), Q.positive_definite(R), Q.fullrank(H))
    return (mu, Sigma, H, R, data), (newmu, newSigma), assumptions


def kalman_program(n=sympy.Symbol('n', integer=True, positive=True),
                   k=sympy.Symbol('k', integer=True, positive=True)):
    """The Kalman update as a composite of BLAS/LAPACK operations (see the module docstring)."""
    (mu, Sigma, H, R, data), _, _ = kalman(n, k)
    HS = SYMM(1, Sigma, H, side='R')
    SHt = GEMM(1, Sigma, H, trans_b=True)
    S = GEMM(1, H, SHt.outputs[0], 1, R)
    r = GEMV(1, H, mu, -1, data)
    solve = POSV(S.outputs[0], r.outputs[0])
    Z = POTRS(S.outputs[0], HS.outputs[0])
    newmu = GEMV(1, SHt.outputs[0], solve.outputs[0], 1, mu)
    newSigma = GEMM(-1, SHt.outputs[0], Z.outputs[0], 1, Sigma)
    return HS + SHt + S + r + solve + Z + newmu + newSigma


def kalman_numpy(mu, Sigma, H, R, data):
    """The same update written with NumPy (``solve``, no explicit inverse): the reference.

    >>> I = np.eye(2)
    >>> newmu, newSigma = kalman_numpy(np.ones((2, 1)), I, I, I, np.zeros((2, 1)))
    >>> newmu.ravel(), np.diag(newSigma)
    (array([1.5, 1.5]), array([0.5, 0.5]))
    """
    S = R + H @ Sigma @ H.T
    newmu = mu + Sigma @ H.T @ np.linalg.solve(S, H @ mu - data)
    newSigma = Sigma - Sigma @ H.T @ np.linalg.solve(S, H @ Sigma)
    return newmu, newSigma
