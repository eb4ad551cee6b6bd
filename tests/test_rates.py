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
from computations.matrices.ops.blas import GEMM, GEMV, SYMM, SYRK, TRMM, TRSM
from computations.matrices.ops.core import operations
from computations.matrices.ops.lapack import GETRF, GETRS, POTRF, POTRS, SYTRF, TRTRS
from computations.matrices.ops.rates import (TALL, Rate, ShapeRate, SidedRate, order,
                                             orientation, ratio)


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


@pytest.mark.parametrize('orders, widths, ratios', [
    ((), (10,), ()), ((100, 50), (10,), ((0.5,), (0.6,))), ((100,), (10, 10), ((0.5, 0.6),)),
    ((100,), (10,), ((0.5, 0.6),)), ((100,), (10,), ((-0.5,),)), ((0,), (10,), ((0.5,),))])
def test_a_shape_rate_needs_a_grid_of_positive_ratios(orders, widths, ratios):
    with pytest.raises(ValueError, match='increasing positive'):
        ShapeRate(orders, widths, ratios)


def test_a_sided_rate_is_two_shape_rates_over_one_grid():
    left = ShapeRate((100,), (10,), ((0.5,),))
    with pytest.raises(ValueError, match='same grid'):
        SidedRate(left, ShapeRate((100,), (20,), ((0.5,),)))
    with pytest.raises(ValueError, match='same grid'):
        SidedRate(left, Rate((100, 0.5)))
    sided = SidedRate(left, ShapeRate((100,), (10,), ((0.9,),)))
    assert (sided.of('L').at(50, 5), sided.of('R').at(500, 50)) == (0.5, 0.9)


@given(st.data(), st.lists(st.integers(1, 10 ** 4), min_size=1, max_size=4, unique=True),
       st.lists(st.integers(1, 10 ** 4), min_size=1, max_size=4, unique=True),
       st.floats(0.5, 2e4), st.floats(0.5, 2e4))
def test_a_shape_rate_is_its_grid_at_its_points_and_between_the_four_around_elsewhere(
        data, orders, widths, order_, width):
    orders, widths = sorted(orders), sorted(widths)
    ratios = data.draw(st.lists(st.lists(st.floats(0.01, 2), min_size=len(widths),
                                         max_size=len(widths)),
                                min_size=len(orders), max_size=len(orders)))
    rate = ShapeRate(orders, widths, ratios)
    for i, o in enumerate(orders):
        for j, w in enumerate(widths):
            assert rate.at(o, w) == pytest.approx(ratios[i][j])
    i, j = (min(max(np.searchsorted(points, x), 1), len(points) - 1) if len(points) > 1
            else 1 for points, x in ((orders, order_), (widths, width)))
    around = [ratios[a][b] for a in {i - 1, min(i, len(orders) - 1)}
              for b in {j - 1, min(j, len(widths) - 1)}]
    assert min(around) - 1e-12 <= rate.at(order_, width) <= max(around) + 1e-12


def test_the_planner_prices_an_operation_at_its_flops_over_its_rate():
    n, k = Symbol('n'), Symbol('k')
    A, B, x = MatrixSymbol('A', n, n), MatrixSymbol('B', n, k), MatrixSymbol('x', n, 1)
    properties = Properties(dims={n: 1000, k: 40})
    planner = Planner(properties, [A, B, x])
    assert POTRF.rate is not None and GETRF.rate is not None
    assert planner.work(POTRF(A)) == pytest.approx(1000 ** 3 / 3 / POTRF.rate.at(1000))
    assert planner.work(GETRF(A)) == pytest.approx(2 * 1000 ** 3 / 3 / GETRF.rate.at(1000))
    # as a wide GEMM: no rate and a wide result, or on a vector
    for op in (GEMM(1, B, A, trans_a=True), GEMV(1, A, x), TRSM(1, A, x), POTRS(A, x),
               SYRK(1, x)):
        assert planner.work(op) == planner.flops(op)
    assert order(POTRS(A, B), properties.size) == 40
    # a tall GEMM (1000 x 40) at TALL
    assert planner.work(GEMM(1, A, B)) == pytest.approx(
        planner.flops(GEMM(1, A, B)) / TALL.at(1000, 40))
    # the BLAS-3 routines at their shape, (order, width), and side; on the left their
    # result is tall (1000 x 40), on the right wide
    assert planner.work(TRSM(1, A, B)) == pytest.approx(
        planner.flops(TRSM(1, A, B)) / TRSM.rate.of('L').at(1000, 40) / TALL.at(1000, 40))
    assert planner.work(TRMM(1, A, B.T, side='R')) == pytest.approx(
        planner.flops(TRMM(1, A, B.T, side='R')) / TRMM.rate.of('R').at(1000, 40))
    assert ratio(SYRK(1, B), properties.size) == SYRK.rate.at(1000, 40)
    for op, shape in ((SYMM(1, A, B), (1000, 40)), (SYMM(1, A, B.T, side='R'), (1000, 40)),
                      (POTRS(A, B), (1000, 40)), (GETRS(A, B), (1000, 40)),
                      (TRTRS(A, B), (1000, 40))):
        side = getattr(op, 'side', 'L')                      # the solves: on the left
        tall = TALL.at(1000, 40) if side == 'L' else 1.0
        assert ratio(op, properties.size) == pytest.approx(
            type(op).rate.of(side).at(*shape) * tall)
    # below the smallest order measured (60): by FLOPs, a call's overhead is its time there
    assert ratio(SYRK(1, B, trans=True), properties.size) is None          # order 40
    assert ratio(POTRF(MatrixSymbol('C', 40, 40)), properties.size) is None


def test_a_tall_result_is_priced_at_tall_of_its_transposes_speed():
    """Orientation (:func:`orientation`): a product or TRSM-made solve with a tall result,
    at least 16 columns, runs at ``TALL`` of its wide transpose; a wide, square or narrower
    result, an unbound dimension, or a routine whose result's orientation is not free at 1."""
    n, w, v = Symbol('n'), Symbol('w'), Symbol('v')
    size = Properties(dims={n: 2000, w: 200, v: 10}).size
    A, B, C = MatrixSymbol('A', n, n), MatrixSymbol('B', n, w), MatrixSymbol('C', n, v)
    assert {cls.__name__ for cls in operations() if cls.oriented} == {
        'GEMM', 'SYMM', 'TRMM', 'TRSM', 'TRTRS', 'POTRS', 'GETRS'}
    assert TALL.at(2000, 200) < 0.95                  # the effect the table records
    for op in (GEMM(1, A, B), SYMM(1, A, B), TRMM(1, A, B), TRSM(1, A, B), POTRS(A, B),
               GETRS(A, B), TRTRS(A, B), GEMM(1, B, B.T[:, :200], trans_b=False)):
        assert orientation(op, size) == TALL.at(2000, 200), op
    for op in (GEMM(1, B, A, trans_a=True), SYMM(1, A, B.T, side='R'),   # wide
               TRSM(1, A, B.T, side='R'), GEMM(1, A, A),                  # square
               GEMM(1, A, C), TRSM(1, A, C),                              # 10 columns
               SYRK(1, B), POTRF(A), GEMV(1, A, C[:, 0])):                # not oriented
        assert orientation(op, size) == 1.0, op
    unbound = Properties(dims={w: 200}).size
    assert orientation(GEMM(1, A, B), unbound) == 1.0


def test_a_transposed_copy_is_priced_per_element_it_moves():
    """A TRANSPOSE has no FLOPs, but moves every element at the memory's speed: 64 GEMM
    FLOPs each (NumPy's transposed copy measured 33-119)."""
    from computations.matrices.ops.auxiliary import TRANSPOSE
    n, k = Symbol('n'), Symbol('k')
    X = MatrixSymbol('X', n, k)
    planner = Planner(Properties(dims={n: 1000, k: 100}), [X])
    assert TRANSPOSE.element_price == 64
    assert planner.work(TRANSPOSE(X)) == 1000 * 100 * 64


def test_a_product_is_made_wide_where_its_tall_transpose_is_slower():
    """``W.T*A*B*A.T*W`` (stochastic Newton, B positive definite, n = 2000, m = 1000,
    l = 200): ``A.T*W`` made tall (n x l) ran at 0.90 of ``W.T*A`` made wide (7.1 against
    6.4 ms), and SYMM likewise: every product is made wide, as the hand-written program
    does; at n = 20 (where TALL is 1) the result still equals NumPy's."""
    n, m, l = Symbol('n'), Symbol('m'), Symbol('l')
    A, W, B = MatrixSymbol('A', m, n), MatrixSymbol('W', m, l), MatrixSymbol('B', n, n)
    expr = W.T * A * B * A.T * W
    comp = compile_expressions([expr], [A, W, B], [Q.positive_definite(B)],
                               {n: 2000, m: 1000, l: 200})
    products = [op for op in comp.computation.computations if getattr(op, "oriented", False)]
    assert products
    for op in products:
        rows, columns = op.outputs[0].shape
        assert rows.subs({n: 2000, m: 1000, l: 200}) <= columns.subs(
            {n: 2000, m: 1000, l: 200}), op
    rng = np.random.default_rng(3)
    a, w, g = rng.standard_normal((15, 20)), rng.standard_normal((15, 4)), \
        rng.standard_normal((20, 20))
    b = g @ g.T + 20 * np.eye(20)
    f = computations.function([A, W, B], [expr], [Q.positive_definite(B)])
    (result,) = f(a, w, b)
    np.testing.assert_allclose(result, w.T @ a @ b @ a.T @ w, rtol=1e-10)


def test_a_symmetric_operand_is_read_untransposed():
    """``S.T*A*S`` with A symmetric at n = 2000, m = 200: ``A*S`` is made wide, as
    ``S.T*A`` -- not ``S.T*A.T``, a GEMM with both operands transposed (7% slower)."""
    n, m = Symbol('n'), Symbol('m')
    A, S = MatrixSymbol('A', n, n), MatrixSymbol('S', n, m)
    expr = S.T * A * S
    comp = compile_expressions([expr], [A, S], [Q.symmetric(A)], {n: 2000, m: 200})
    gemms = [op for op in comp.computation.computations if type(op) is GEMM]
    assert any(A in (op.A, op.B) for op in gemms)
    for op in gemms:
        assert not (op.A == A and op.trans_a) and not (op.B == A and op.trans_b), op
    rng = np.random.default_rng(4)
    g, s = rng.standard_normal((9, 9)), rng.standard_normal((9, 3))
    (result,) = computations.function([A, S], [expr], [Q.symmetric(A)])(g + g.T, s)
    np.testing.assert_allclose(result, s.T @ (g + g.T) @ s, rtol=1e-10)


@pytest.mark.parametrize('fact', [Q.symmetric, Q.diagonal])
def test_a_rectangular_matrix_symmetric_where_its_sizes_are_equal_keeps_its_transpose(fact):
    """``D1.T*D2`` with D1, D2 declared n x p and symmetric (or diagonal) where n = p = 300:
    not their own transposes in the declared shapes (``D1*D2`` is n x p times n x p), so
    one GEMM reads D1 transposed -- a review found the rule reading it untransposed, which
    made the GEMM fail its shape check and left no way to compute the product."""
    n, p = Symbol('n'), Symbol('p')
    D1, D2 = MatrixSymbol('D1', n, p), MatrixSymbol('D2', n, p)
    comp = compile_expressions([D1.T * D2], [D1, D2], [fact(D1), fact(D2)], {n: 300, p: 300})
    assert [type(op).__name__ for op in comp.computation.toposort()
            if type(op).__name__ != 'Identity'] == ['GEMM']
    rng = np.random.default_rng(6)
    d1, d2 = (np.diag(rng.standard_normal(5)) for _ in range(2))
    (result,) = computations.function([D1, D2], [D1.T * D2], [fact(D1), fact(D2)])(d1, d2)
    np.testing.assert_allclose(result, d1.T @ d2, rtol=1e-12)


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
    declared = {cls.__name__: cls.rate for cls in operations() if cls.rate is not None}
    assert set(declared) == {'POTRF', 'GETRF', 'SYTRF', 'POTRI', 'TRTRI', 'SYMM', 'SYRK',
                             'TRMM', 'TRSM', 'TRTRS', 'POTRS', 'GETRS'}
    assert set(declared) <= measured
    # the shape-aware ones over the benchmark's grid (``--shapes``); the solves are TRSMs
    shaped = {name for name, rate in declared.items()
              if isinstance(rate, (ShapeRate, SidedRate))}
    assert shaped == {'SYMM', 'SYRK', 'TRMM', 'TRSM', 'TRTRS', 'POTRS', 'GETRS'}
    assert shaped - {'TRTRS', 'POTRS', 'GETRS'} <= set(bench_rates.shaped_operations(8, 2))
    assert all(declared[name] is TRSM.rate for name in ('TRTRS', 'POTRS', 'GETRS'))
    assert all((rate.orders, rate.widths) == (bench_rates.ORDERS, bench_rates.WIDTHS)
               for rate in [*map(declared.get, shaped), TALL])
    assert {'GEMM', 'GEMM_R'} <= set(bench_rates.shaped_operations(8, 2))     # TALL


def _mmse(n_, k_):
    n, k = Symbol('n'), Symbol('k')
    Cx, Cn = MatrixSymbol('Cx', n, n), MatrixSymbol('Cn', k, k)
    H, y = MatrixSymbol('H', k, n), MatrixSymbol('y', k, 1)
    output = Cx * H.T * (H * Cx * H.T + Cn).I * y
    return ([output], [Cx, Cn, H, y], [Q.positive_definite(Cx), Q.positive_definite(Cn)],
            {n: n_, k: k_})


@pytest.mark.parametrize('n_, k_', [(500, 250), (1000, 500)])
def test_the_mmse_estimator_takes_the_product_where_cholesky_is_slower_per_flop(n_, k_):
    """``Cx*H.T*(H*Cx*H.T + Cn).I*y``: through Cx's Cholesky factor (POTRF, TRMM, SYRK) has
    27% fewer FLOPs than SYMM + GEMM, but POTRF runs at a third of GEMM's speed per FLOP
    at n = 1000: measured 1.25x the hand-written SYMM program there before the rates (at
    n = 2000, where POTRF runs at half GEMM's speed, the two tie, and so do the prices).
    ``H*Cx`` is SYMM, or GEMM where SYMM's rate at the shape is lower (0.87 at n = 500
    with 250 rows of H)."""
    comp = compile_expressions(*_mmse(n_, k_))
    names = {type(op).__name__ for op in comp.computation.computations}
    assert names & {'SYMM', 'GEMM'} and 'POTRF' not in names and 'TRMM' not in names


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
