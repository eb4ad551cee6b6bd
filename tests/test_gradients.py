"""Gradients: every rule against central finite differences, compiled, and the Cholesky adjoint.

The references are independent of the library: NumPy evaluations of the
SymPy expressions (tests/reference.py, lambdify for the random problems),
central differences along random directions (symmetric ones when the
function reads a symmetric matrix through its Cholesky factor), and the
loop algorithm of the seed notebook (Smith 1995) for the Cholesky adjoint.
"""
import pathlib
import re
import sys

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import (Determinant, MatrixSymbol, Q, Symbol, Trace, exp, log, pi, sin)
from sympy.matrices.expressions.matexpr import MatrixElement

import computations
from computations import frobenius_norm, grad
from computations.matrices import CHOLESKY_ADJOINT, LofCholesky, NotPositiveDeterminantError
from computations.matrices.compiler.canonical import UnsupportedExpressionError
from computations.testing import evaluate, matrix_problems as problems
from computations.schedulers.kernels import run

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / 'benchmarks'
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))      # as when the scripts run

from _harness import smith_loop              # noqa: E402  (the seed's loop, ported)

N = 4
K, A, W = (MatrixSymbol(name, N, N) for name in 'KAW')
B, X = MatrixSymbol('B', N, 3), MatrixSymbol('X', N, 3)
y = MatrixSymbol('y', N, 1)
L = LofCholesky(K)
ASSUMPTIONS = [Q.positive_definite(K)]

#: name -> (scalar function, the symbols to differentiate with respect to).
RULES = {
    'trace': (Trace(A), [A]),
    'product-and-transpose': (Trace(A * B * X.T), [A, B, X]),
    'quadratic-form': (Trace(y.T * K.I * y), [K, y]),
    'log-determinant': (log(Determinant(K)), [K]),
    'determinant': (Determinant(A), [A]),
    'frobenius-norm': (frobenius_norm(X), [X]),
    # a Hessian-vector product: the norm's gradient holds a Piecewise (review K)
    'norm-second-derivative': (Trace(B.T * grad(frobenius_norm(X), X)), [X, B]),
    'piecewise': (sympy.Piecewise((Trace(X.T * X), Trace(X.T * B) > 0), (Trace(X.T * B), True)),
                  [X, B]),
    'sums-and-scalings': (3 * Trace(A.T * A) - 2 * Trace(A * K) + Trace(X.T * B), [A, K, X, B]),
    'scalar-functions': (exp(Trace(X.T * X) / 10) + sin(Trace(A)), [X, A]),
    'positive-power': (Trace(W.T * A**3), [A, W]),
    'negative-power': (Trace(W.T * K**-2), [K]),
    'sum-of-matrices': (Trace(W.T * (A + 2 * A.T + K)), [A, K]),
    'matrix-coefficient': (Trace(W.T * (Trace(A) * X * B.T)), [A, X, B]),
    'one-by-one-matrix': (y.T * A * y, [A, y]),
    'element': (MatrixElement(y.T * A * y, 0, 0), [A, y]),
    'cholesky-factor': (Trace(W.T * L), [K, W]),
    'cholesky-inverse': (Trace(W.T * L.I * A), [K, A]),
    'cholesky-gram': (Trace(L.T * L), [K]),
    'gp-likelihood': (Trace(y.T * K.I * y) / 2 + log(Determinant(K)) / 2 + N * log(2 * pi) / 2,
                      [K, y]),
}


def data(seed):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((N, N))
    return {K: g @ g.T + N * np.eye(N), A: rng.standard_normal((N, N)) / 2 + np.eye(N),
            W: rng.standard_normal((N, N)), B: rng.standard_normal((N, 3)),
            X: rng.standard_normal((N, 3)), y: rng.standard_normal((N, 1))}


def value(f, values):
    result = evaluate(f, values)
    return float(np.ravel(result)[0]) if np.ndim(result) else float(result)


def direction(rng, var, f):
    """A random direction for ``var``: symmetric when f reads it through a Cholesky factor
    (the factor is defined on symmetric matrices only)."""
    E = rng.standard_normal(tuple(map(int, var.shape)))
    return (E + E.T) / 2 if f.has(LofCholesky(var)) else E


def central_difference(f, values, var, E, h=1e-6):
    plus, minus = dict(values), dict(values)
    plus[var], minus[var] = values[var] + h * E, values[var] - h * E
    return (value(f, plus) - value(f, minus)) / (2 * h)


def assert_matches_differences(f, gradients, values, targets, rng):
    for var, G in zip(targets, gradients):
        g = evaluate(G, values)
        assert g.shape == tuple(map(int, var.shape)), (var, G)
        for _ in range(2):
            E = direction(rng, var, f)
            expected = central_difference(f, values, var, E)
            got = float(np.sum(g * E))
            assert abs(got - expected) <= 1e-6 * (1 + abs(expected)), (var, G, got, expected)


@pytest.mark.parametrize('name', list(RULES))
@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=8, deadline=None)
def test_rule_matches_central_differences(name, seed):
    f, targets = RULES[name]
    gradients = grad(f, targets, ASSUMPTIONS)
    assert_matches_differences(f, gradients, data(seed), targets, np.random.default_rng(seed))


@pytest.mark.parametrize('name', list(RULES))
def test_compiled_function_and_gradients_match_numpy(name):
    """The function and its gradients, compiled together, against the NumPy reference."""
    f, targets = RULES[name]
    gradients = grad(f, targets, ASSUMPTIONS)
    values = data(7)
    inputs = sorted({s for e in [f, *gradients] for s in e.free_symbols
                     if isinstance(s, MatrixSymbol)}, key=str)
    assumptions = [a for a in ASSUMPTIONS if a.arguments[0] in inputs]   # only about inputs
    compiled = computations.function(inputs, [f, *gradients], assumptions)
    got = compiled(*[values[v] for v in inputs])
    np.testing.assert_allclose(np.ravel(got[0])[0], value(f, values), rtol=1e-10)
    for G, g in zip(gradients, got[1:]):
        np.testing.assert_allclose(g, evaluate(G, values), rtol=1e-9, atol=1e-12)
    interpreted = computations.function(inputs, [f, *gradients], assumptions,
                                        runner='interpret')(*[values[v] for v in inputs])
    for a, b in zip(got, interpreted):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@given(problem=problems(symbolic=False, max_outputs=1), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None)
def test_random_expressions_match_central_differences(problem, seed):
    """``Trace(V.T*M)`` for a random problem's matrix M, with respect to every matrix input."""
    (M,) = problem.outputs
    V = MatrixSymbol('V_weights', *M.shape)
    f = Trace(V.T * M)
    targets = [s for s in problem.inputs if isinstance(s, MatrixSymbol)]
    gradients = grad(f, targets)
    rng = np.random.default_rng(seed)
    given = problem.data(rng)
    weights = rng.standard_normal(problem.shape(M))

    def f_at(values):
        (m,) = problem.evaluate([M], [values[s] for s in problem.inputs])
        return float(np.sum(weights * m))

    values = dict(zip(problem.inputs, given))
    g_values = problem_evaluate(problem, gradients, V, values, weights)
    for var, g in zip(targets, g_values):
        E = rng.standard_normal(np.shape(values[var]))
        plus, minus = dict(values), dict(values)
        plus[var], minus[var] = values[var] + 1e-6 * E, values[var] - 1e-6 * E
        expected = (f_at(plus) - f_at(minus)) / 2e-6
        got = float(np.sum(np.reshape(g, np.shape(E)) * E))
        assert abs(got - expected) <= 1e-5 * (1 + abs(expected)), (var, got, expected)


def problem_evaluate(problem, exprs, V, values, weights):
    """The gradients' values, by lambdify over the problem's inputs and the weights."""
    inputs = list(problem.inputs) + [V]
    function = sympy.lambdify(inputs, list(exprs), 'numpy')
    results = function(*[values[s] for s in problem.inputs], weights)
    return [np.broadcast_to(r, tuple(map(int, e.shape))) for r, e in zip(results, exprs)]


# The Cholesky adjoint -----------------------------------------------------------

def lower_triangle_gradient(G):
    """The gradient with respect to the lower triangle as independent entries, from the
    symmetric gradient: twice below the diagonal, once on it."""
    return np.tril(2 * G) - np.diag(np.diag(G))


def spd_problem(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n + 1))
    return a @ a.T, rng.standard_normal((n, n))


@pytest.mark.parametrize('n', [50, 100])
def test_cholesky_adjoint_equals_the_loop_algorithm(n):
    """At N=50 (one TRMM/TRSM block) and N=100 (the recursion on halves), to 1e-10."""
    Kn, Ln = MatrixSymbol('K', n, n), MatrixSymbol('Lbar', n, n)
    gradient = grad(Trace(Ln.T * LofCholesky(Kn)), Kn)
    f = computations.function([Kn, Ln], [gradient], [Q.positive_definite(Kn)])
    assert [type(op).__name__ for op in f.computation.toposort()
            if type(op).__name__ not in ('Identity',)] == ['POTRF', 'CHOLESKY_ADJOINT']
    k, lbar = spd_problem(n, n)
    (g,) = f(k, lbar)
    expected = smith_loop(lbar, np.linalg.cholesky(k))
    np.testing.assert_allclose(lower_triangle_gradient(g), expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(g, g.T, rtol=0, atol=0)


@given(n=st.integers(1, 200), seed=st.integers(0, 2**32 - 1),
       alpha=st.sampled_from([1.0, 0.5, -2.0]), overwrite=st.booleans(),
       upper=st.sampled_from([0.0, np.nan, np.inf, None]))
@settings(max_examples=30, deadline=None)
def test_recursive_kernel_equals_the_trmm_trsm_formula(n, seed, alpha, overwrite, upper):
    """The recursion against the formula evaluated by NumPy, for any invertible lower
    triangular L (the identity holds beyond Cholesky factors) and a general B, also when
    it writes the result into B's buffer.  B's upper triangle is not read: a NaN or an
    infinity there (``upper``; None: random numbers) made the whole result NaN (0*NaN in
    the leaf's TRMM)."""
    rng = np.random.default_rng(seed)
    Lv = np.tril(rng.uniform(-1, 1, (n, n))) / n + np.diag(rng.uniform(1, 2, n))
    Bv = rng.standard_normal((n, n))
    if upper is not None:
        Bv[np.triu_indices(n, 1)] = upper
    Ls, Bs = MatrixSymbol('L', n, n), MatrixSymbol('B', n, n)
    op = CHOLESKY_ADJOINT(sympy.Float(alpha), Ls, Bs)
    b = np.array(Bv, order='F')
    (got,) = run(op, [np.asfortranarray(Lv), b], overwrite={1} if overwrite else set())
    assert np.shares_memory(got, b) == overwrite
    Li = np.linalg.inv(Lv)
    P = np.tril(Lv.T @ np.tril(Bv))
    expected = alpha * Li.T @ (P + np.tril(P, -1).T) @ Li
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())


def test_the_kernel_computes_in_floating_point_whatever_the_dtype_of_b():
    """An integer B gave a result of B's dtype: zeros."""
    from computations.schedulers.cholesky_adjoint import cholesky_adjoint
    Lv = np.linalg.cholesky(np.array([[4.0, 2.0], [2.0, 3.0]]))
    got = cholesky_adjoint(1.0, np.asfortranarray(Lv), np.eye(2, dtype=int), overwrite_b=True)
    Li = np.linalg.inv(Lv)
    P = np.tril(Lv.T)
    expected = Li.T @ (P + np.tril(P, -1).T) @ Li
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-14)


@pytest.mark.parametrize('scale', [3, Symbol('s'), 'trace squared'])
def test_a_scalar_in_front_of_the_cholesky_term_keeps_the_one_call(scale):
    """``3*Trace(W.T*L)`` left the 3 inside SymmetricLower, which the rule refused: TRMM,
    SYMMETRIZE and two TRSMs (3n^3 FLOPs against 2n^3/3).  Checked against central
    differences along a symmetric direction."""
    n = 7
    Kn, Wn, s = MatrixSymbol('K', n, n), MatrixSymbol('W', n, n), Symbol('s')
    term = Trace(Wn.T * LofCholesky(Kn))
    expr = term ** 2 if scale == 'trace squared' else scale * term
    facts = [Q.positive_definite(Kn)]
    g = computations.function([Kn, Wn, s], [grad(expr, Kn, facts)], facts)
    names = sorted(type(op).__name__ for op in g.computation.toposort())
    assert 'CHOLESKY_ADJOINT' in names and 'TRSM' not in names and 'TRMM' not in names
    value = computations.function([Kn, Wn, s], [expr], facts)
    k, w = spd_problem(n, n)
    rng = np.random.default_rng(3)
    e = rng.standard_normal((n, n))
    e = e + e.T
    h = 1e-6
    difference = (value(k + h * e, w, 1.5)[0] - value(k - h * e, w, 1.5)[0]) / (2 * h)
    np.testing.assert_allclose(np.sum(g(k, w, 1.5)[0] * e), difference, rtol=1e-6)


def test_a_partial_adjoint_compiles_to_trmm_symmetrize_and_trsm():
    """Without the whole form the chain rule recognizes, the pieces still compile: TRMM,
    SYMMETRIZE, and TRSM for the inverse of the factor."""
    Kn, Bn = MatrixSymbol('K', 6, 6), MatrixSymbol('B', 6, 6)
    Lf = LofCholesky(Kn)
    expr = Lf.T.I * computations.matrices.SymmetricLower(Lf.T * Bn) * Bn
    f = computations.function([Kn, Bn], [expr], [Q.positive_definite(Kn)])
    names = {type(op).__name__ for op in f.computation.toposort()}
    assert {'TRMM', 'SYMMETRIZE', 'TRSM'} <= names and 'CHOLESKY_ADJOINT' not in names
    k, b = spd_problem(6, 3)
    Lv = np.linalg.cholesky(k)
    P = np.tril(Lv.T @ b)
    expected = np.linalg.inv(Lv).T @ (P + np.tril(P, -1).T) @ b
    np.testing.assert_allclose(f(k, b)[0], expected, rtol=1e-10)


# The Gaussian-process example ----------------------------------------------------

n = Symbol('n')
Kg, yg = MatrixSymbol('K', n, n), MatrixSymbol('y', n, 1)
NLML = Trace(yg.T * Kg.I * yg) / 2 + log(Determinant(Kg)) / 2 + n * log(2 * pi) / 2


def test_gp_likelihood_and_gradient_factor_k_once_and_match_differences():
    gradient = grad(NLML, Kg, [Q.positive_definite(Kg)])
    f = computations.function([Kg, yg], [NLML, gradient], [Q.positive_definite(Kg)])
    k, _ = spd_problem(30, 1)
    yv = np.random.default_rng(2).standard_normal((30, 1))
    spec = f.specialize(k, yv)
    factorizations = [op for op in spec.computation.toposort()
                      if LofCholesky(Kg) in op.outputs]
    assert len(factorizations) == 1, spec.pseudocode()
    value_, g = f(k, yv)
    assert isinstance(value_, float)
    sign, logdet = np.linalg.slogdet(k)
    expected = 0.5 * (yv.T @ np.linalg.solve(k, yv)).item() + 0.5 * logdet \
        + 15 * np.log(2 * np.pi)
    assert abs(value_ - expected) <= 1e-10 * abs(expected)

    def nlml(kk):
        return 0.5 * (yv.T @ np.linalg.solve(kk, yv)).item() + 0.5 * np.linalg.slogdet(kk)[1]

    rng = np.random.default_rng(3)
    for _ in range(3):
        E = rng.standard_normal(k.shape)
        E = E + E.T
        fd = (nlml(k + 1e-6 * E) - nlml(k - 1e-6 * E)) / 2e-6
        assert abs(np.sum(g * E) - fd) <= 1e-6 * (1 + abs(fd))


# Scalars in compiled programs --------------------------------------------------------

def op_names(f, *arrays):
    return sorted(type(op).__name__ for op in f.specialize(*arrays).computation.toposort()
                  if type(op).__name__ != 'Identity')


def test_trace_of_a_product_is_an_inner_product_not_a_product():
    Xn = MatrixSymbol('X', n, 3)
    f = computations.function([Xn], [Trace(Xn.T * Xn)])
    xv = np.random.default_rng(0).standard_normal((50, 3))
    assert op_names(f, xv) == ['INNER']
    assert f(xv)[0] == pytest.approx(np.sum(xv * xv), rel=1e-12)


def test_log_determinant_shares_the_factor_with_the_solve():
    f = computations.function([Kg, yg], [Kg.I * yg, log(Determinant(Kg))],
                              [Q.positive_definite(Kg)])
    k, _ = spd_problem(8, 4)
    yv = np.ones((8, 1))
    assert op_names(f, k, yv) == ['CHOLESKY_DETERMINANT', 'POSV']
    x, logdet = f(k, yv)
    np.testing.assert_allclose(x, np.linalg.solve(k, yv), rtol=1e-10)
    assert logdet == pytest.approx(np.linalg.slogdet(k)[1], rel=1e-12)


def test_general_determinants_come_from_lu_and_a_negative_one_has_no_logarithm():
    An = MatrixSymbol('A', n, n)
    det = computations.function([An], [Determinant(An)])
    logdet = computations.function([An], [log(Determinant(An))])
    a = np.array([[0., 2., 1.], [1., 0., 0.], [0., 0., 3.]])       # det = -6
    assert op_names(det, a) == ['GETRF', 'LU_DETERMINANT']
    assert det(a)[0] == pytest.approx(np.linalg.det(a), rel=1e-12)
    assert logdet(-a)[0] == pytest.approx(np.log(6), rel=1e-12)
    with pytest.raises(NotPositiveDeterminantError,
                       match=r'log\(Determinant\(A\)\) is undefined: .* -6'):
        logdet(a)


def test_dimensions_in_scalars_take_the_call_sizes():
    f = computations.function([Kg], [n * Trace(Kg) + n])
    assert f(np.eye(3))[0] == pytest.approx(12.0)
    assert f(np.eye(5))[0] == pytest.approx(30.0)


def test_scalar_outputs_run_on_dask():
    f = computations.function([Kg, yg], [NLML], [Q.positive_definite(Kg)])
    k, _ = spd_problem(6, 5)
    yv = np.ones((6, 1))
    assert f(k, yv, scheduler='sync')[0] == pytest.approx(f(k, yv)[0], rel=1e-12)


# Errors -------------------------------------------------------------------------------

def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="wrt: .*'x'.* is not a MatrixSymbol"):
        grad(Trace(A), [A, 'x'])
    with pytest.raises(ValueError, match=r'expr: A is 4x4'):
        grad(A, A)
    with pytest.raises(UnsupportedExpressionError, match='HadamardProduct'):
        grad(Trace(sympy.HadamardProduct(A, W)), A)
    with pytest.raises(UnsupportedExpressionError, match='second derivatives'):
        grad(Trace(W.T * grad(Trace(W.T * L), K)), K)


@pytest.mark.parametrize('shift', [-10.0, 0.0, 10.0])
def test_max_and_min_of_traces_are_differentiated(shift):
    """``Max`` and ``Min`` are not SymPy Functions: they had no rule ('cannot be
    differentiated'), and Max of three gives if-then-else conditions.  Each branch is
    taken in turn (``shift`` moves A's trace below, between and above the others)."""
    rng = np.random.default_rng(8)
    f = (sympy.Max(Trace(A), 2 * Trace(W), 0) + sympy.Min(Trace(A * A), Trace(W)) * Trace(A))
    values = data(8)
    values[A] = values[A] + shift * np.eye(N) / N
    assert_matches_differences(f, grad(f, [A, W]), values, [A, W], rng)
    compiled = computations.function([A, W], [f, *grad(f, [A, W])])(values[A], values[W])
    for got, want in zip(compiled, [evaluate(g, values) for g in [f, *grad(f, [A, W])]]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_a_function_sympy_cannot_differentiate_is_named():
    """``sign``: SymPy's derivative is an unevaluated ``Derivative``; the error named the
    ``Subs`` the compiler met, not ``sign``."""
    with pytest.raises(UnsupportedExpressionError, match=r'sign\(Trace\(W\)\): SymPy has no '
                                                         'derivative of sign'):
        grad(sympy.sign(Trace(W)) * Trace(A * A), W)


def test_grad_does_not_depend_on_what_it_is_not_asked_about():
    assert grad(Trace(A), W) == sympy.ZeroMatrix(N, N)
    assert grad(Trace(A * W), [W]) == [A.T]


# Degenerate cases (issue 17, item 9) ------------------------------------------------------

@pytest.mark.parametrize('f', [Trace(A) - Trace(A), sympy.Integer(3), Symbol('alpha'),
                               sympy.S.Zero, Trace(W) * 0 + 5],
                         ids=['trace-minus-itself', 'number', 'scalar-symbol', 'zero',
                              'constant'])
def test_the_gradient_of_a_constant_is_the_zero_matrix(f):
    """grad(Trace(A) - Trace(A), A) raised '0 (Zero) cannot be differentiated'."""
    assert grad(f, A) == sympy.ZeroMatrix(N, N)
    assert grad(f, [A, X]) == [sympy.ZeroMatrix(N, N), sympy.ZeroMatrix(N, 3)]
    zero, = computations.function([A], [grad(f, A)])(np.ones((N, N)))
    np.testing.assert_array_equal(zero, np.zeros((N, N)))


nn, mm = Symbol('n'), Symbol('m')
Yr, Zs = MatrixSymbol('Y', nn, mm), MatrixSymbol('Z', nn, nn)


@pytest.mark.parametrize('f, message', [
    (Trace(Yr), 'Trace(Y): Y is n x m, and a trace of a non-square matrix is undefined'),
    (Trace(Zs) + sympy.sin(Trace(Yr)), 'Trace(Y): Y is n x m'),
    (log(Determinant(Yr)), 'Determinant(Y): Y is n x m, and a determinant'),
    (Trace(Zs * Yr * Yr), 'Y**2: Y is n x m, and a power'),
    (Trace(Zs * Yr.I), 'Y**(-1): Y is n x m, and an inverse'),
], ids=['trace', 'in-a-function', 'log-determinant', 'power', 'inverse'])
def test_a_trace_of_a_non_square_matrix_has_no_gradient(f, message):
    """grad(Trace(X), X) of an n x m X returned an n x n identity (the wrong shape)."""
    with pytest.raises(sympy.ShapeError, match=re.escape(message)):
        grad(f, Yr)
    with pytest.raises(sympy.ShapeError, match=re.escape(message)):
        computations.function([Yr, Zs], [f])


def test_functions_of_matrices_have_no_gradient():
    """grad(exp(A), A) used to return a scalar 'gradient'."""
    with pytest.raises(UnsupportedExpressionError,
                       match=r'exp\(A\): exp of the matrix A .*cannot be differentiated'):
        grad(exp(A), A)


@pytest.mark.parametrize('runner', ['source', 'interpret'])
def test_the_frobenius_norm_and_its_gradient_at_zero(runner):
    """The norm is 0 and its gradient the zero matrix (the least-norm subgradient) at X = 0,
    computed together in one function: the gradient used to divide by zero, and the norm
    (a valid value) was lost with it.  Elsewhere the gradient is X/norm."""
    Xs, As = MatrixSymbol('X', nn, 3), MatrixSymbol('A', nn, nn)
    norm = frobenius_norm(As * Xs)
    f = computations.function([As, Xs], [frobenius_norm(Xs), grad(frobenius_norm(Xs), Xs),
                                         norm, *grad(norm, [As, Xs])], runner=runner)
    zero, x, a = np.zeros((5, 3)), np.arange(15.).reshape(5, 3) - 7, np.eye(5) + 0.5
    value, gradient, *product = f(a, zero)
    assert value == 0.0 and product[0] == 0.0
    for g in [gradient, *product[1:]]:
        np.testing.assert_array_equal(g, np.zeros_like(g))
    value, gradient, *product = f(np.zeros((5, 5)), x)         # A*X = 0 with X != 0
    assert value == pytest.approx(np.linalg.norm(x))
    np.testing.assert_allclose(gradient, x / np.linalg.norm(x), rtol=1e-12)
    assert product[0] == 0.0 and not np.any(product[1]) and not np.any(product[2])
    value, gradient, *product = f(a, x)
    ax = a @ x
    assert product[0] == pytest.approx(np.linalg.norm(ax))
    np.testing.assert_allclose(product[1], ax @ x.T / np.linalg.norm(ax), rtol=1e-12)
    np.testing.assert_allclose(product[2], a.T @ ax / np.linalg.norm(ax), rtol=1e-12)


def test_only_a_norm_gets_the_zero_subgradient():
    """sqrt of anything else keeps the plain chain rule (its derivative at 0 is infinite)."""
    assert grad(sympy.sqrt(Trace(A)), A) == sympy.Identity(N) / (2 * sympy.sqrt(Trace(A)))
    assert not grad(sympy.sqrt(Trace(A * X * X.T)), A).has(sympy.Piecewise)   # not a Gram
