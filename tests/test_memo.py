"""What a compiled function's compilations share (computations.matrices.ops.memo): the same
programs as a fresh function at every shape, whatever shapes came before; interning that
never confuses values; property answers shared only where the sizes they read agree; and
the size evaluator that replaces SymPy's substitution."""
import fractions
import operator
import pathlib
import sys

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import MatrixSymbol, Q, Symbol

import computations
from computations.matrices import GEMM, SYRK
from computations.matrices.compiler.properties import Properties
from computations.matrices.examples.problems import PROBLEMS
from computations.matrices.ops.memo import Memo, active, sharing
from computations.sizes import Binding, UndefinedAtSizeError, _evaluator

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / 'benchmarks'
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))      # as when the scripts run

import bench_compile  # noqa: E402

n, k = Symbol('n'), Symbol('k')


def _program(specialization):
    """What a specialization runs: its operations and the generated source."""
    return specialization.computation, specialization.results, specialization.source


def _problem(name):
    """``(inputs, outputs, assumptions)``: a bundled problem, or a case of the compile-time
    benchmark (a chain of 11 matrices of random shapes, a random expression of 6 operands)."""
    if name in PROBLEMS:
        problem = PROBLEMS[name]()
        return problem.inputs, problem.outputs, problem.assumptions
    if name == 'chain':
        inputs, product, _ = bench_compile.chain(11, square=False)
        return inputs, [product], []
    inputs, expr, assumptions, _ = bench_compile.random_expression(6, int(name.split()[-1]))
    return inputs, [expr], assumptions


def _shapes(inputs, sizes):
    """Input shapes (tuples) for ``sizes`` of the dimensions, in the inputs' order."""
    dims = dict(zip(sorted({d for x in inputs for d in x.shape if isinstance(d, Symbol)},
                           key=str), sizes))
    return [tuple(int(d.subs(dims)) if isinstance(d, sympy.Expr) else d for d in x.shape)
            for x in inputs]


@pytest.mark.parametrize('name', ['kalman', 'least_squares', 'gls', 'chain', 'random 0',
                                  'random 3'])
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_specializing_to_many_shapes_gives_the_programs_of_a_fresh_function(name, data):
    """One function specialized to shapes in turn (its memo shared by all) compiles each
    to the program a new function compiles, whatever came before -- shapes with equal
    dimensions (where more is square) and vectors included."""
    inputs, outputs, assumptions = _problem(name)
    count = len({d for x in inputs for d in x.shape if isinstance(d, Symbol)})
    sizes = st.lists(st.sampled_from([1, 2, 3, 5, 8, 40, 300]), min_size=count,
                     max_size=count)
    shapes = data.draw(st.lists(sizes, min_size=2, max_size=4), label='sizes')
    shared = computations.function(inputs, outputs, assumptions)
    for size in shapes:
        shape = _shapes(inputs, size)
        fresh = computations.function(inputs, outputs, assumptions)
        assert _program(shared.specialize(*shape)) == _program(fresh.specialize(*shape)), size
    assert len(shared.memo.tables['ops']) > 0


def test_the_shared_program_computes_the_kalman_update():
    """After specializations at other shapes, the program still matches NumPy."""
    problem = PROBLEMS['kalman']()
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    rng = np.random.default_rng(0)
    for n_, k_ in [(6, 2), (40, 5), (5, 40), (30, 30)]:
        mu, data = rng.standard_normal((n_, 1)), rng.standard_normal((k_, 1))
        h = rng.standard_normal((k_, n_))
        s = rng.standard_normal((n_, n_))
        sigma = s @ s.T + n_ * np.eye(n_)
        r = np.eye(k_) * 2
        values = dict(zip(map(str, problem.inputs),
                          [mu, sigma, h, r, data]))
        args = [values[str(x)] for x in problem.inputs]
        new_mu, new_sigma = f(*args)
        gain = sigma @ h.T @ np.linalg.inv(h @ sigma @ h.T + r)
        np.testing.assert_allclose(new_mu, mu + gain @ (h @ mu - data), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(new_sigma, sigma - gain @ h @ sigma, rtol=1e-8, atol=1e-10)


# Interning ----------------------------------------------------------------------

def test_operations_are_interned_only_while_a_memo_is_shared():
    A, B = MatrixSymbol('A', n, k), MatrixSymbol('B', k, n)
    assert GEMM(1, A, B) is not GEMM(1, A, B)
    memo = Memo()
    with sharing(memo):
        assert GEMM(1, A, B) is GEMM(1, A, B)
        assert GEMM(1, A, B, trans_a=False) is GEMM(1, A, B, trans_a=False)
        # equal in Python, different operations: never confused
        assert GEMM(1.0, A, B).alpha == sympy.Float(1.0)
        assert GEMM(1, A, B).alpha == sympy.Integer(1)
        assert GEMM(2, A, B) is not GEMM(1, A, B)
    assert active() is None
    with sharing(Memo()):                        # another memo: another operation
        assert GEMM(1, A, B) is not next(iter(memo.tables['ops'].values()))


def test_errors_are_raised_with_a_memo_as_without():
    A, B = MatrixSymbol('A', n, k), MatrixSymbol('B', n, k)
    with sharing(Memo()):
        for _ in range(2):
            with pytest.raises(sympy.ShapeError, match='do not match'):
                GEMM(1, A, B)


def test_flop_counts_are_kept_and_equal_the_declared_ones():
    A = MatrixSymbol('A', n, k)
    memo = Memo()
    with sharing(memo):
        op = SYRK(1, A)
        assert op.flops == op.flops == SYRK(1, A).flops
    assert memo.tables['flops'] == {op: SYRK(1, A).flops}
    assert SYRK(1, A).flops == k * n * (n + 1)


def test_memo_tables_are_bounded():
    memo = Memo(limit=3)
    A = MatrixSymbol('A', n, n)
    with sharing(memo):
        for i in range(10):
            GEMM(i + 2, A, A)
    assert 1 <= len(memo.tables['ops']) <= 3
    memo.clear()
    assert all(not table for table in memo.tables.values())


# Property answers shared across sizes -------------------------------------------

@pytest.mark.parametrize('order', [[(5, 3), (3, 5), (4, 4)], [(3, 5), (5, 3), (4, 4)],
                                   [(4, 4), (3, 5), (5, 3)]])
def test_answers_that_read_sizes_are_shared_only_where_the_sizes_agree(order):
    """``H.T*H`` with H (k x n) of full rank is positive definite exactly when k >= n; ``H``
    is not symmetric when k != n and may be when k == n."""
    H = MatrixSymbol('H', k, n)
    facts = [Q.fullrank(H)]
    memo = Memo()
    for k_, n_ in order:
        with sharing(memo):
            shared = Properties(facts, {k: k_, n: n_})
            answers = [shared.ask('positive_definite', H.T * H),
                       shared.ask('symmetric', H), shared.ask('invertible', H),
                       shared.ask('positive_definite', H * H.T)]
        fresh = Properties(facts, {k: k_, n: n_})
        assert answers == [fresh.ask('positive_definite', H.T * H), fresh.ask('symmetric', H),
                           fresh.ask('invertible', H), fresh.ask('positive_definite', H * H.T)]
        assert answers[0] is (True if k_ >= n_ else None)
        assert answers[1] is (None if k_ == n_ else False)


def test_canonical_forms_and_transposes_are_shared():
    S, H = MatrixSymbol('S', n, n), MatrixSymbol('H', k, n)
    memo = Memo()
    expr = (H * S * H.T).T + H * H.T
    results = []
    for sizes in [{n: 3, k: 2}, {n: 5, k: 4}]:
        with sharing(memo):
            properties = Properties([Q.symmetric(S)], sizes)
            results.append((properties.canonical(expr), properties.transpose(H * S)))
    fresh = Properties([Q.symmetric(S)], {n: 5, k: 4})
    assert results[0] == results[1] == (fresh.canonical(expr), fresh.transpose(H * S))
    assert results[0][1] == S * H.T


# The size evaluator -------------------------------------------------------------

symbols = sympy.symbols('a b c')


def _expressions():
    leaves = st.one_of(st.sampled_from(symbols),
                       st.integers(-5, 7).map(sympy.Integer),
                       st.tuples(st.integers(-4, 4), st.integers(1, 6)).map(
                           lambda pq: sympy.Rational(*pq)))
    def extend(inner):
        return st.one_of(st.builds(operator.add, inner, inner),
                         st.builds(operator.mul, inner, inner),
                         st.builds(operator.pow, inner, st.integers(-2, 3)))
    return st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(expr=_expressions(), sizes=st.tuples(*[st.integers(1, 50)] * 3),
       bound=st.integers(0, 3))
def test_the_evaluator_gives_what_substitution_gives(expr, sizes, bound):
    """Exact ints and rationals, as SymPy's substitution, including unbound symbols (None)
    and divisions by zero (no finite real value: UndefinedAtSizeError from both)."""
    binding = Binding(dict(zip(symbols[:bound], sizes)))
    try:
        expected = binding._substituted(expr)
    except UndefinedAtSizeError:      # SymPy's complex infinity is no size: the same error
        with pytest.raises(UndefinedAtSizeError):
            binding.value(expr)
        return
    got = binding.value(expr)
    assert type(got) is type(expected), (expr, got, expected)
    assert got == expected or abs(got - expected) <= 1e-12 * abs(expected), (expr, got)


def test_the_evaluator_is_exact_on_large_products():
    m = Symbol('m')
    expr = sympy.Rational(1, 3) * m ** 3 + 2 * m ** 2 * n - m
    values = {m: 10 ** 7, n: 3}
    exact = fractions.Fraction(10 ** 21, 3) + 2 * 10 ** 14 * 3 - 10 ** 7
    assert _evaluator(expr)(values) == float(exact)
    assert Binding(values).value(2 * m * n) == 6 * 10 ** 7


def test_compare_knows_differences_of_unbound_dimensions():
    binding = Binding({n: 4})
    assert binding.compare(n + 1, n) == 1 and binding.compare(k + 2, k) == 2
    assert binding.compare(n, 1) == 3 and binding.compare(k, n) is None
