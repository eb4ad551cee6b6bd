"""The seed's Kalman filter, built by hand from BLAS/LAPACK operations."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from computations.matrices import POSV, POTRS, NotPositiveDefiniteError
from computations.matrices.examples import kalman, kalman_numpy, kalman_program
from computations.testing import evaluate, relative_error
from computations.schedulers import execute


def kalman_data(n, k, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, n)), rng.standard_normal((k, k))
    return (rng.standard_normal((n, 1)), x @ x.T / n + np.eye(n),
            rng.standard_normal((k, n)) / np.sqrt(n), y @ y.T / k + np.eye(k),
            rng.standard_normal((k, 1)))


def test_program_computes_exactly_the_seed_expressions():
    (mu, Sigma, H, R, data), (newmu, newSigma), _ = kalman()
    program = kalman_program()
    assert set(program.inputs) == {mu, Sigma, H, R, data}
    assert program.outputs == (newmu, newSigma)
    S = R + H * Sigma * H.T
    # One factorization of S, reused: POSV makes LofCholesky(S), POTRS reads it.
    assert POSV(S, H * mu - data) in program and POTRS(S, H * Sigma) in program
    assert [type(op).__name__ for op in program.toposort()].count('POSV') == 1


def test_matches_numpy_at_n1000_k500():
    """Done-when figure of the matrix-operations issue: 1e-10 at n=1000, k=500."""
    (mu, Sigma, H, R, data), (newmu, newSigma), _ = kalman()
    values = kalman_data(1000, 500)
    out = execute(kalman_program(), dict(zip((mu, Sigma, H, R, data), values)))
    expected_mu, expected_Sigma = kalman_numpy(*values)
    assert relative_error(out[newmu], expected_mu) <= 1e-10
    assert relative_error(out[newSigma], expected_Sigma) <= 1e-10


@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 1000))
@settings(max_examples=25)
def test_matches_the_reference_evaluator_at_random_sizes(n, k, seed):
    (mu, Sigma, H, R, data), (newmu, newSigma), _ = kalman(n, k)
    values = dict(zip((mu, Sigma, H, R, data), kalman_data(n, k, seed)))
    out = execute(kalman_program(n, k), values)
    for expr in (newmu, newSigma):
        assert relative_error(out[expr], evaluate(expr, values)) <= 1e-10


def test_not_positive_definite_innovation_is_named():
    (mu, Sigma, H, R, data), _, _ = kalman()
    values = list(kalman_data(6, 3))
    values[3] = -10 * np.eye(3)                       # R so negative that S is not SPD
    with pytest.raises(NotPositiveDefiniteError,
                       match=r'POSV: H\*Sigma\*H.T \+ R is not positive definite'):
        execute(kalman_program(), dict(zip((mu, Sigma, H, R, data), values)))


def test_picture_renders():
    svg = kalman_program()._repr_svg_()
    texts = {t.text for t in ET.fromstring(svg.encode()).iter('{http://www.w3.org/2000/svg}text')}
    assert {'SYMM', 'GEMM', 'GEMV', 'POSV', 'POTRS'} <= texts
    assert {'Sigma', 'H', 'R', 'mu', 'data'} <= texts
