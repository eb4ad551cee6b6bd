"""A multiple of the identity (or of a diagonal matrix) in a sum is added to the diagonal.

``K + s*I``, ``H.T*H + lambda*I``, ``I - A``: the program adds to the diagonal of
the other term's result (SHIFT, O(n)) instead of allocating an n x n identity and
adding it (AXPY) or accumulating a routine onto it (SYRK's ``beta*C``).  So for a
declared diagonal D, Levenberg-Marquardt's ``J.T*J + lambda*D`` (DIAGAXPY: D's
diagonal scaled onto the SYRK's, where SYRK accumulating onto D copies and
scales all n**2 entries of it).  Numbers are compared with NumPy through
``computations.function``.
"""
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sympy import Identity, MatrixSymbol, Q, Symbol

import computations
from computations.core import Identity as Marks
from computations.matrices import DIAGAXPY, SYRK, compile_expressions

n, p = (Symbol(s, integer=True, positive=True) for s in 'np')
I = Identity(n)
A, K = MatrixSymbol('A', n, n), MatrixSymbol('K', n, n)
X, y = MatrixSymbol('X', n, p), MatrixSymbol('y', n, 1)
s = Symbol('s')


def routines(outputs, inputs, assumptions=(), sizes=None):
    comp = compile_expressions(outputs, inputs, assumptions, sizes or {n: 50, p: 8})
    return Counter(type(op).__name__ for op in comp.computation if not isinstance(op, Marks))


def run(outputs, inputs, assumptions, values):
    f = computations.function(inputs, outputs, assumptions)
    return f(*values), f.specialize(*values).source


@pytest.fixture
def rng():
    return np.random.default_rng(22)


def spd(rng, size):
    G = rng.standard_normal((size, size))
    return G @ G.T / size + np.eye(size)


def test_a_shifted_spd_solve_shifts_a_copy_of_the_diagonal(rng):
    """Gaussian-process regression's ``(K + s*I).I*y``: a copy of K, SHIFT, POSV."""
    expr = (K + s * I).I * y
    found = routines([expr], [K, y, s], [Q.positive_definite(K), Q.positive(s)])
    assert found == Counter(SHIFT=1, POSV=1)
    k, b, sigma = spd(rng, 30), rng.standard_normal((30, 1)), 0.7
    (got,), source = run([expr], [K, y, s], [Q.positive_definite(K), Q.positive(s)],
                         [k, b, sigma])
    np.testing.assert_allclose(got, np.linalg.solve(k + sigma * np.eye(30), b), rtol=1e-10)
    assert 'identity' not in source


def test_a_ridge_gram_matrix_is_syrk_then_a_shift(rng):
    """``X.T*X + s*I``: SYRK without an accumulator, then its diagonal shifted."""
    m = Identity(p)
    expr = (X.T * X + s * m).I * X.T * y
    assumptions = [Q.fullrank(X), Q.positive(s)]
    found = routines([expr], [X, y, s], assumptions)
    assert found['SYRK'] == 1 and found['SHIFT'] == 1 and not found['AXPY']
    x, b = rng.standard_normal((40, 6)), rng.standard_normal((40, 1))
    (got,), source = run([expr], [X, y, s], assumptions, [x, b, 2.5])
    want = np.linalg.solve(x.T @ x + 2.5 * np.eye(6), x.T @ b)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert 'identity' not in source


@given(st.sampled_from([1, -1, 2.5]), st.sampled_from([1, -1, 3]), st.integers(1, 12),
       st.integers(0, 2**32 - 1))
@settings(max_examples=30)
def test_any_multiple_of_the_identity_plus_a_matrix_matches_numpy(a, b, size, seed):
    """``b*A + a*I`` (either sign, either order of accumulation) equals NumPy's, and the
    caller's A is left as it was."""
    rng = np.random.default_rng(seed)
    expr = b * A + a * I
    assert routines([expr], [A], sizes={n: size})['SHIFT'] == 1
    value = rng.standard_normal((size, size))
    before = value.copy()
    (got,), _ = run([expr], [A], [], [value])
    np.testing.assert_allclose(got, b * value + a * np.eye(size), rtol=1e-12)
    np.testing.assert_array_equal(value, before)


def test_two_solves_with_one_symmetric_indefinite_matrix_share_its_factorization(rng):
    """``(K + s*I).I*(K + s*I).I*y`` with s of unknown sign: K + s*I is symmetric but not
    known positive definite, so LDL (SYTRF, fused with the first solve into SYSV) is made
    once and read by a SYTRS.  Two SYSVs raised ConflictingProducersError (both wrote the
    LDL factor)."""
    shifted = K + s * I
    expr = shifted.I * shifted.I * y
    assumptions = [Q.positive_definite(K)]
    assert routines([expr], [K, y, s], assumptions) == Counter(SHIFT=1, SYSV=1, SYTRS=1)
    k, b = spd(rng, 20), rng.standard_normal((20, 1))
    (got,), _ = run([expr], [K, y, s], assumptions, [k, b, -0.3])
    m = k - 0.3 * np.eye(20)
    np.testing.assert_allclose(got, np.linalg.solve(m, np.linalg.solve(m, b)), rtol=1e-9)


def test_a_diagonal_term_is_added_to_the_diagonal_not_accumulated_onto(rng):
    """Levenberg-Marquardt's ``(X.T*X + s*D).I*X.T*y`` with D diagonal: SYRK with no
    accumulator, then DIAGAXPY (O(p)), as the hand-written program does; SYRK onto a copy
    of D scaled by s was the compiled program before (1.03-1.10x the hand-written one)."""
    D = MatrixSymbol('D', p, p)
    expr = (X.T * X + s * D).I * X.T * y
    assumptions = [Q.fullrank(X), Q.diagonal(D), Q.positive_definite(D), Q.positive(s)]
    comp = compile_expressions([expr], [X, y, D, s], assumptions, {n: 2000, p: 500})
    ops = {type(op): op for op in comp.computation if not isinstance(op, Marks)}
    assert DIAGAXPY in ops and ops[SYRK].C is None and 'AXPY' not in map(str, ops)
    x, b, d = rng.standard_normal((40, 6)), rng.standard_normal((40, 1)), \
        np.diag(rng.uniform(0.5, 2, 6))
    before = d.copy()
    (got,), _ = run([expr], [X, y, D, s], assumptions, [x, b, d, 0.3])
    np.testing.assert_allclose(got, np.linalg.solve(x.T @ x + 0.3 * d, x.T @ b), rtol=1e-10)
    np.testing.assert_array_equal(d, before)


@given(st.sampled_from([1, -1, 2.5]), st.sampled_from([1, -1, 3]), st.integers(1, 12),
       st.integers(0, 2**32 - 1))
@settings(max_examples=30)
def test_any_multiple_of_a_diagonal_plus_a_matrix_matches_numpy(a, b, size, seed):
    """``b*A + a*D`` with D diagonal is DIAGAXPY where that is cheaper than AXPY, equals
    NumPy's, and leaves the caller's arrays as they were."""
    rng = np.random.default_rng(seed)
    D = MatrixSymbol('D', n, n)
    expr = b * A + a * D
    found = routines([expr], [A, D], [Q.diagonal(D)], sizes={n: size})
    # AXPY(b, A, D) costs 2n**2; b*A first (SCAL, n**2 unless b = 1) and DIAGAXPY 2n: the
    # same at n = 1, and at n = 2 when b is not 1
    assert found['DIAGAXPY'] == 1 or size == 1 or size == 2 and b != 1
    value, d = rng.standard_normal((size, size)), np.diag(rng.standard_normal(size))
    before = value.copy(), d.copy()
    (got,), _ = run([expr], [A, D], [Q.diagonal(D)], [value, d])
    np.testing.assert_allclose(got, b * value + a * d, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(value, before[0])
    np.testing.assert_array_equal(d, before[1])
