"""Blocked programs: every blocked operation, the bundled problems and random ones, against unblocked.

A blocked GEMM with 2x2 blocks of ``C = A*B``::

    A -> [Split] -> A[i,k]          B -> [Split] -> B[k,j]
    A[i,0], B[0,j] -> [GEMM] -> C[i,j].1
    A[i,1], B[1,j], C[i,j].1 -> [GEMM] -> C[i,j]
    C[0,0] .. C[1,1] -> [Assemble] -> A*B
"""
import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import MatrixSymbol, Q

import computations
from computations import CompositeComputation
from computations.matrices import (AXPY, GEMM, GEMV, GESV, POSV, POTRF, POTRS, SCAL, SYMM, SYRK,
                                   TRANSPOSE, TRMM, TRSM, NotPositiveDefiniteError)
from computations.matrices.blocking import Assemble, BlockOp, Split, block, partition
from computations.matrices.examples.problems import PROBLEMS, random_inputs
from inplace import check, inplace_compile
from schedulers import execute
from expressions import problems
from test_function_random import check_results, relative_error

rng = np.random.default_rng(0)


def spd(n):
    a = rng.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


def lower(n):
    return np.tril(rng.standard_normal((n, n))) + n * np.eye(n)


def run_both(comp, values, blocksize):
    """The outputs of ``comp`` unblocked and blocked, on the same values."""
    blocked = block(comp, blocksize)
    assert isinstance(blocked, CompositeComputation)
    assert set(blocked.inputs) == set(comp.inputs) and set(blocked.outputs) == set(comp.outputs)
    plain, pieces = execute(comp, values), execute(blocked, values)
    return [(plain[v], pieces[v]) for v in comp.outputs], blocked


def assert_same(pairs):
    for plain, pieces in pairs:
        assert relative_error(pieces, plain) <= 1e-10


def test_partition():
    assert partition(10, 3) == (0, 3, 6, 9, 10)
    assert partition(9, 3) == (0, 3, 6, 9)
    assert partition(5, 8) == (0, 5)
    assert partition(1, 1) == (0, 1)


M, K, N = 7, 5, 6                        # with blocksize 2 or 3: ragged last blocks
A, B, C = MatrixSymbol('A', M, K), MatrixSymbol('B', K, N), MatrixSymbol('C', M, N)


@pytest.mark.parametrize('blocksize', [2, 3, 4])
@pytest.mark.parametrize('trans_a, trans_b', [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_gemm(blocksize, trans_a, trans_b):
    a = MatrixSymbol('a', *((K, M) if trans_a else (M, K)))
    b = MatrixSymbol('b', *((N, K) if trans_b else (K, N)))
    op = GEMM(2, a, b, -1, C, trans_a=trans_a, trans_b=trans_b)
    values = {a: rng.standard_normal(a.shape), b: rng.standard_normal(b.shape),
              C: rng.standard_normal(C.shape)}
    pairs, blocked = run_both(op, values, blocksize)
    assert_same(pairs)
    expected = 2 * (values[a].T if trans_a else values[a]) @ \
        (values[b].T if trans_b else values[b]) - values[C]
    assert relative_error(pairs[0][1], expected) <= 1e-12
    assert sum(isinstance(n, BlockOp) and n.routine == 'gemm' for n in blocked) > 1


@pytest.mark.parametrize('side', ['L', 'R'])
def test_symm(side):
    S = MatrixSymbol('S', 7, 7)
    X = MatrixSymbol('X', 7, 4) if side == 'L' else MatrixSymbol('X', 4, 7)
    pairs, blocked = run_both(SYMM(1.5, S, X, side=side), {S: spd(7), X: rng.standard_normal(X.shape)}, 3)
    assert_same(pairs)
    assert {n.routine for n in blocked if isinstance(n, BlockOp)} == {'symm', 'gemm'}


@pytest.mark.parametrize('trans', [False, True])
def test_syrk(trans):
    X = MatrixSymbol('X', 7, 5)
    op = SYRK(1, X, trans=trans)
    value = execute(block(op, 2), {X: (x := rng.standard_normal((7, 5)))})[op.outputs[0]]
    assert relative_error(value, x.T @ x if trans else x @ x.T) <= 1e-12
    assert np.array_equal(value, value.T)


@pytest.mark.parametrize('trans', [False, True])
def test_gemv(trans):
    a = MatrixSymbol('a', 7, 5)
    x, y = MatrixSymbol('x', 7 if trans else 5, 1), MatrixSymbol('y', 5 if trans else 7, 1)
    values = {a: rng.standard_normal((7, 5)), x: rng.standard_normal(x.shape),
              y: rng.standard_normal(y.shape)}
    pairs, _ = run_both(GEMV(2, a, x, 3, y, trans=trans), values, 2)
    assert_same(pairs)


@pytest.mark.parametrize('kind', [TRSM, TRMM])
@pytest.mark.parametrize('side', ['L', 'R'])
@pytest.mark.parametrize('is_lower', [True, False])
@pytest.mark.parametrize('trans_a', [False, True])
@pytest.mark.parametrize('unit', [False, True])
def test_triangular(kind, side, is_lower, trans_a, unit):
    T = MatrixSymbol('T', 7, 7)
    X = MatrixSymbol('X', 7, 3) if side == 'L' else MatrixSymbol('X', 3, 7)
    t = lower(7) if is_lower else lower(7).T
    if unit:
        np.fill_diagonal(t, 1.0)
    nan = np.full((7, 7), np.nan)
    t = t + (np.triu(nan, 1) if is_lower else np.tril(nan, -1))   # the other triangle: never read
    op = kind(2, T, X, side=side, lower=is_lower, trans_a=trans_a, unit_diagonal=unit)
    x = rng.standard_normal(X.shape)
    value = execute(block(op, 3), {T: t, X: x})[op.outputs[0]]
    clean = np.nan_to_num(t, nan=0.0)
    opT = clean.T if trans_a else clean
    if kind is TRSM:
        expected = 2 * (np.linalg.solve(opT, x) if side == 'L' else np.linalg.solve(opT.T, x.T).T)
    else:
        expected = 2 * (opT @ x if side == 'L' else x @ opT)
    assert relative_error(value, expected) <= 1e-10


@pytest.mark.parametrize('n, blocksize', [(7, 2), (7, 3), (8, 4), (9, 9)])
def test_cholesky_solves(n, blocksize):
    S, Y = MatrixSymbol('S', n, n), MatrixSymbol('Y', n, 2)
    values = {S: spd(n), Y: rng.standard_normal((n, 2))}
    for comp in (POTRF(S), POSV(S, Y), POTRF(S) + POTRS(S, Y)):
        pairs, blocked = run_both(comp, {v: values[v] for v in comp.inputs}, blocksize)
        assert_same(pairs)
    factor = execute(block(POTRF(S), blocksize), {S: values[S]})[POTRF(S).outputs[0]]
    assert np.allclose(factor, np.linalg.cholesky(values[S]), rtol=1e-12, atol=1e-12)
    assert np.array_equal(factor, np.tril(factor))          # zeros above the diagonal


def test_elementwise_and_fallback():
    X, Y, Z = (MatrixSymbol(name, 7, 7) for name in 'XYZ')
    b = MatrixSymbol('b', 7, 2)
    comp = (AXPY(2, X, Y) + SCAL(3, 2 * X + Y) + TRANSPOSE(3 * (2 * X + Y))
            + GESV(Z, b))
    values = {X: rng.standard_normal((7, 7)), Y: rng.standard_normal((7, 7)),
              Z: rng.standard_normal((7, 7)) + 7 * np.eye(7), b: rng.standard_normal((7, 2))}
    pairs, blocked = run_both(comp, values, 3)
    assert_same(pairs)
    # GESV has no blocked form: it runs whole, on assembled arguments.
    whole = [n for n in blocked if isinstance(n, BlockOp) and n.routine == 'gesv']
    assert len(whole) == 1 and any(isinstance(n, Assemble) for n in blocked)


@pytest.mark.parametrize('name', sorted(PROBLEMS))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_bundled_problems_over_random_block_sizes(name, data):
    problem = PROBLEMS[name]()
    sizes = {str(d): data.draw(st.integers(2, 6), label=str(d))
             for d in sorted({s for v in problem.inputs for s in
                              sympy.Matrix(v.shape).free_symbols}, key=str)}
    if 'p' in sizes:                       # regressions: more observations than unknowns
        sizes['n'] = sizes['p'] + data.draw(st.integers(1, 5), label='n - p')
    blocksize = data.draw(st.integers(1, 4) | st.fixed_dictionaries(
        {d: st.integers(1, 4) for d in sizes}), label='blocksize')
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    args = random_inputs(problem, sizes)
    expected = f(*args)
    g = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                              blocksize=blocksize)
    for got, want in zip(g(*args), expected):
        assert relative_error(got, want) <= 1e-8


@given(problems(), st.integers(1, 4), st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None)
def test_random_problems_blocked(problem, blocksize, seed):
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                              blocksize=blocksize)
    values = problem.data(np.random.default_rng(seed))
    check_results(problem, f(*values), values)


def test_blocked_program_is_picturable_and_checkable():
    problem = PROBLEMS['kalman']()
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                              sizes={'n': 9, 'k': 5}, blocksize=3)
    comp = f.computation
    assert isinstance(comp, CompositeComputation)
    assert set(comp.inputs) == set(problem.inputs)
    assert any(isinstance(n, Split) for n in comp) and any(isinstance(n, Assemble) for n in comp)
    assert comp.dot().source.count('label=POTRF') >= 2
    assert '<svg' in comp._repr_svg_()
    check(inplace_compile(comp))
    assert f.specialize((9, 1), (9, 9), (5, 9), (5, 5), (5, 1)).computation is not \
        f.specialize((9, 1), (9, 9), (5, 9), (5, 5), (5, 1)).unblocked


def test_failing_block_names_the_block():
    S, Y = MatrixSymbol('S', 6, 6), MatrixSymbol('Y', 6, 1)
    f = computations.function([S, Y], [S.I * Y], [Q.positive_definite(S)], blocksize=3)
    s = spd(6)
    s[4, 4] = -100.0                       # the trailing block is not positive definite
    message = r'POTRF: chol\(S\)\[1,1\]\.u1 is not positive definite'
    with pytest.raises(NotPositiveDefiniteError, match=message):
        f(s, np.ones(6))
    for scheduler in ('sync', 'threads'):
        with pytest.raises(NotPositiveDefiniteError, match=message):
            f(s, np.ones(6), scheduler=scheduler)


def test_blocksize_errors():
    X = MatrixSymbol('X', sympy.Symbol('n'), 3)
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match='blocksize must be a positive integer'):
            computations.function([X], [X.T * X], blocksize=bad)
    with pytest.raises(ValueError, match=r'blocksize: m is not a dimension .*dimensions: n'):
        computations.function([X], [X.T * X], blocksize={'m': 2})
    with pytest.raises(ValueError, match=r'blocksize\[n\] must be a positive integer'):
        computations.function([X], [X.T * X], blocksize={'n': 0})
    with pytest.raises(TypeError, match='block needs a Computation'):
        block('X', 2)
