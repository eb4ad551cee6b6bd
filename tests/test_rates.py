"""The cost model's routine rates (computations.matrices.ops.rates): data on the op classes,
read by the planner's pricing; the mmse estimator that needed them."""
import pathlib
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st
from sympy import MatrixSymbol, Q, Symbol

import computations
from computations.matrices import compile_expressions
from computations.matrices.compiler.properties import Properties
from computations.matrices.compiler.search import Planner
from computations.matrices.ops.blas import GEMM, GEMV, TRSM
from computations.matrices.ops.core import operations
from computations.matrices.ops.lapack import GETRF, POTRF, POTRS, SYTRF
from computations.matrices.ops.rates import Rate, order


@pytest.mark.parametrize('points', [(), ((100, 0.5), (50, 0.6)), ((100, 0.5), (100, 0.6)),
                                    ((0, 0.5),), ((100, -0.1),)])
def test_a_rate_needs_increasing_positive_points(points):
    with pytest.raises(ValueError, match='increasing'):
        Rate(*points)


@given(st.lists(st.tuples(st.integers(1, 10 ** 5), st.floats(0.01, 2)), min_size=1,
                max_size=6, unique_by=lambda p: p[0]),
       st.floats(0.5, 2e5))
def test_a_rate_is_its_points_at_them_and_between_its_neighbours_elsewhere(points, n):
    points = sorted(points)
    rate = Rate(*points)
    for at, ratio in points:
        assert rate.at(at) == pytest.approx(ratio)
    ns = [p[0] for p in points]
    i = np.searchsorted(ns, n)
    neighbours = [points[j][1] for j in (i - 1, i) if 0 <= j < len(points)]
    assert min(neighbours) - 1e-12 <= rate.at(n) <= max(neighbours) + 1e-12


def test_the_planner_prices_an_operation_at_its_flops_over_its_rate():
    n, k = Symbol('n'), Symbol('k')
    A, B, x = MatrixSymbol('A', n, n), MatrixSymbol('B', n, k), MatrixSymbol('x', n, 1)
    properties = Properties(dims={n: 1000, k: 40})
    planner = Planner(properties, [A, B, x])
    assert POTRF.rate is not None and GETRF.rate is not None
    assert planner.work(POTRF(A)) == pytest.approx(1000 ** 3 / 3 / POTRF.rate.at(1000))
    assert planner.work(GETRF(A)) == pytest.approx(2 * 1000 ** 3 / 3 / GETRF.rate.at(1000))
    # as GEMM: no rate, or on a vector
    for op in (GEMM(1, A, B), GEMV(1, A, x), TRSM(1, A, B), POTRS(A, x)):
        assert planner.work(op) == planner.flops(op)
    assert order(POTRS(A, B), properties.size) == 40


def test_the_factorizations_are_priced_above_their_flops_and_a_cholesky_below_an_lu():
    """At every order a factorization is slower per FLOP than GEMM, and POTRF (half
    GETRF's FLOPs) is priced below GETRF or within the tolerance of a tie (up to n = 60,
    where GETRF runs at twice POTRF's speed per FLOP), which FLOPs break: a positive
    definite system is never solved by LU for the rates' sake."""
    from computations.matrices.compiler.search import RATE_TOLERANCE
    n = Symbol('n')
    A, b = MatrixSymbol('A', n, n), MatrixSymbol('b', n, 1)
    for size in (10, 60, 125, 250, 500, 1000, 2000, 8000):
        planner = Planner(Properties(dims={n: size}), [A])
        for cls in (POTRF, GETRF, SYTRF):
            assert cls.rate.at(size) < 1
        assert planner.work(POTRF(A)) <= planner.work(GETRF(A)) * (1 + RATE_TOLERANCE)
        comp = compile_expressions([A.I * b], [A, b], [Q.positive_definite(A)], {n: size})
        assert {type(op).__name__ for op in comp.computation.computations} & {'POSV', 'POTRF'}


def test_the_benchmark_measures_every_routine_that_declares_a_rate():
    """``./dev bench rates`` prints the figures the classes declare (and more)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / 'benchmarks'))
    try:
        import bench_rates
    finally:
        sys.path.pop(0)
    measured = set(bench_rates.operations(8))
    declared = {cls.__name__ for cls in operations() if cls.rate is not None}
    assert declared == {'POTRF', 'GETRF', 'SYTRF'}
    assert declared <= measured


def _mmse(n_, k_):
    n, k = Symbol('n'), Symbol('k')
    Cx, Cn = MatrixSymbol('Cx', n, n), MatrixSymbol('Cn', k, k)
    H, y = MatrixSymbol('H', k, n), MatrixSymbol('y', k, 1)
    output = Cx * H.T * (H * Cx * H.T + Cn).I * y
    return ([output], [Cx, Cn, H, y], [Q.positive_definite(Cx), Q.positive_definite(Cn)],
            {n: n_, k: k_})


@pytest.mark.parametrize('n_, k_', [(500, 250), (1000, 500)])
def test_the_mmse_estimator_takes_symm_where_cholesky_is_slower_per_flop(n_, k_):
    """``Cx*H.T*(H*Cx*H.T + Cn).I*y``: through Cx's Cholesky factor (POTRF, TRMM, SYRK) has
    27% fewer FLOPs than SYMM + GEMM, but POTRF runs at a third of GEMM's speed per FLOP
    at n = 1000: measured 1.25x the hand-written SYMM program there before the rates (at
    n = 2000, where POTRF runs at half GEMM's speed, the two tie, and so do the prices)."""
    comp = compile_expressions(*_mmse(n_, k_))
    names = {type(op).__name__ for op in comp.computation.computations}
    assert 'SYMM' in names and 'POTRF' not in names


def test_the_mmse_estimator_matches_numpy():
    outputs, inputs, assumptions, _ = _mmse(0, 0)
    rng = np.random.default_rng(5)
    g, e = rng.standard_normal((30, 30)), rng.standard_normal((12, 12))
    cx, cn = g @ g.T / 30 + np.eye(30), e @ e.T / 12 + np.eye(12)
    h, y = rng.standard_normal((12, 30)), rng.standard_normal((12, 1))
    f = computations.function(inputs, outputs, assumptions)
    want = cx @ h.T @ np.linalg.solve(h @ cx @ h.T + cn, y)
    got = f(cx, cn, h, y)
    assert np.linalg.norm(got - want) <= 1e-10 * np.linalg.norm(want)
