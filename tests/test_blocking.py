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
from hypothesis import assume, given, settings, strategies as st
from sympy import MatrixSymbol, Q

import computations
from computations import CompositeComputation, Identity
from computations.matrices import (AXPY, GEMM, GEMV, GESV, POSV, POTRF, POTRS, SCAL, SYMM, SYRK,
                                   SHIFT, TRANSPOSE, TRMM, TRSM, NotPositiveDefiniteError,
                                   SingularMatrixError)
from computations.matrices.transforms.blocking import Assemble, BlockOp, Split, block, partition
from computations.matrices.examples.problems import PROBLEMS, random_inputs
from computations.inplace import check, inplace_compile, is_constant
from computations.schedulers import execute
from computations.testing import matrix_problems as problems, relative_error
from test_function_random import check_results

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
    variables = {v for v in blocked.inputs if not is_constant(v)}   # (identity blocks are read)
    assert variables == {v for v in comp.inputs if not is_constant(v)}
    assert set(blocked.outputs) == set(comp.outputs)
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
    assert comp.dot(blocks='all').source.count('label=POTRF') >= 2
    assert '<svg' in comp._repr_svg_()
    check(inplace_compile(comp))
    assert f.specialize((9, 1), (9, 9), (5, 9), (5, 5), (5, 1)).computation is not \
        f.specialize((9, 1), (9, 9), (5, 9), (5, 5), (5, 1)).unblocked


def test_a_blocked_program_prints_as_pseudocode_and_assembles_only_its_results():
    """Split, Assemble and the block operations each print as one line; a by-product the
    caller did not ask for (POSV's Cholesky factor) is never assembled (that copied a whole
    matrix only to drop it)."""
    n = 8
    S, B = MatrixSymbol('S', n, n), MatrixSymbol('B', n, 2)
    f = computations.function([S, B], [(1.5 * sympy.Identity(n) + S).I * B],
                              [Q.positive_definite(S)], blocksize=4)
    s, b = spd(n), rng.standard_normal((n, 2))
    specialization = f.specialize(s, b)
    text = specialization.pseudocode()
    lines = text.splitlines()
    assert lines[0].endswith('[Split]') and lines[-1].startswith('out0 := Assemble(')
    assert sum(line.endswith('[POTRF]') for line in lines) == 2
    assembled = [op for op in specialization.computation if isinstance(op, Assemble)]
    assert [op.X for op in assembled] == list(specialization.results)
    np.testing.assert_allclose(f(s, b)[0], np.linalg.solve(1.5 * np.eye(n) + s, b),
                               rtol=1e-10)


def test_a_hand_built_program_marking_one_value_keeps_its_other_work():
    """``GEMM + AXPY + Identity(A*A)``: the blocked program dropped the AXPY (and its input
    B), so running it with the values of the unblocked one raised KeyError."""
    A, B = MatrixSymbol('A', 4, 4), MatrixSymbol('B', 4, 4)
    comp = GEMM(1, A, A) + AXPY(1, A * A, B) + Identity(A * A)
    blocked = block(comp, blocksize=2)
    assert set(blocked.inputs) == set(comp.inputs) and set(blocked.outputs) == set(comp.outputs)
    values = {A: rng.standard_normal((4, 4)), B: rng.standard_normal((4, 4))}
    got, expected = execute(blocked, values), execute(comp, values)
    assert set(got) == set(expected) == {A * A, A * A + B}
    for var in expected:        # norm-wise: blocks sum an entry's terms in another order
        assert relative_error(got[var], expected[var]) < 1e-12
    assert relative_error(got[A * A + B], values[A] @ values[A] + values[B]) < 1e-12


def test_failing_block_names_the_block():
    S, Y = MatrixSymbol('S', 6, 6), MatrixSymbol('Y', 6, 1)
    f = computations.function([S, Y], [S.I * Y], [Q.positive_definite(S)], blocksize=3)
    s = spd(6)
    s[4, 4] = -100.0                       # the trailing block is not positive definite
    # the program's matrix first (it named only the internal block)
    message = (r'POTRF: S is not positive definite \(at block chol\(S\)\[1,1\]\.u1: its '
               r'leading minor of order 2 is not positive\)')
    with pytest.raises(NotPositiveDefiniteError, match=message):
        f(s, np.ones(6))
    for scheduler in ('sync', 'threads'):
        with pytest.raises(NotPositiveDefiniteError, match=message) as raised:
            f(s, np.ones(6), scheduler=scheduler)
        assert raised.value.expression == S and str(raised.value.block) == 'chol(S)[1,1].u1'
    g = np.eye(6)                        # C-ordered: the same error as Fortran-ordered
    g[4:, 4:] = 0.0
    G = MatrixSymbol('G', 6, 6)          # not blocked (GESV runs whole): no block to name
    with pytest.raises(SingularMatrixError, match=r'^GESV: G is singular \(its factor') as raised:
        computations.function([G, Y], [G.I * Y], blocksize=3)(g, np.ones(6))
    assert raised.value.block is None


def test_blocksize_errors():
    X = MatrixSymbol('X', sympy.Symbol('n'), 3)
    for bad, error in ((0, ValueError), (-2, ValueError), (2.5, TypeError), (True, TypeError),
                       ('2', TypeError)):    # a value out of range, a value of the wrong type
        with pytest.raises(error, match='blocksize must be a positive integer'):
            computations.function([X], [X.T * X], blocksize=bad)
    with pytest.raises(TypeError, match=r"sizes: n must be a positive integer, got 2.0 "
                                        r'\(float\)'):
        computations.function([X], [X.T * X], sizes={'n': 2.0})
    with pytest.raises(ValueError, match=r'blocksize: m is not a dimension .*dimensions: n'):
        computations.function([X], [X.T * X], blocksize={'m': 2})
    with pytest.raises(ValueError, match=r'blocksize\[n\] must be a positive integer'):
        computations.function([X], [X.T * X], blocksize={'n': 0})
    with pytest.raises(TypeError, match='block needs a Computation'):
        block('X', 2)


# Identity and zero blocks ------------------------------------------------------------
#
# The blocks of an identity are identities on the diagonal and zeros off it:
#
#     I = [[I, 0, 0],      S + I = [[S00 + I, S01,     S02    ],
#          [0, I, 0],               [S10,     S11 + I, S12    ],
#          [0, 0, I]]               [S20,     S21,     S22 + I]]
#
# A zero block contributes nothing (no call reads one) and an identity block is a
# diagonal shift (AXPY of the identity) or leaves the other factor of a product.

def reads_no_zero_block(comp):
    """Whether no operation of ``comp`` reads a block of zeros."""
    return not any(isinstance(v, sympy.ZeroMatrix) for node in comp for v in node.inputs)


_n = sympy.Symbol('n', integer=True, positive=True)
_S, _B = MatrixSymbol('S', _n, _n), MatrixSymbol('B', _n, 2)
_X, _y = MatrixSymbol('X', 12, _n), MatrixSymbol('y', 12, 1)
_lam, _alpha = sympy.Symbol('lam'), sympy.Symbol('alpha')
_A5 = MatrixSymbol('A', 5, 5)
IDENTITY_CASES = {
    'S + I': ([_S], _S + sympy.Identity(_n), [Q.positive_definite(_S)],
              lambda s: s + np.eye(len(s))),
    '(1.5 I + S).I B': ([_S, _B], (1.5 * sympy.Identity(_n) + _S).I * _B,
                        [Q.positive_definite(_S)],
                        lambda s, b: np.linalg.solve(1.5 * np.eye(len(s)) + s, b)),
    'ridge': ([_X, _y, _lam], (_X.T * _X + _lam * sympy.Identity(_n)).I * _X.T * _y,
              [Q.positive(_lam)],
              lambda x, y, lam: np.linalg.solve(x.T @ x + lam * np.eye(x.shape[1]), x.T @ y)),
    '2 alpha I + 2 A': ([_alpha, _A5], 2 * _alpha * sympy.Identity(5) + 2 * _A5, [],
                        lambda alpha, a: 2 * alpha * np.eye(5) + 2 * a),
}


def _identity_case_values(name, n):
    if name == 'S + I':
        return [spd(n)]
    if name == '(1.5 I + S).I B':
        return [spd(n), rng.standard_normal((n, 2))]
    if name == 'ridge':
        return [rng.standard_normal((12, n)), rng.standard_normal((12, 1)), 0.5]
    return [-0.7, rng.standard_normal((5, 5))]


@pytest.mark.parametrize('name', sorted(IDENTITY_CASES))
@pytest.mark.parametrize('blocksize', [1, 2, 3, 4])
def test_expressions_with_an_identity_run_blocked(name, blocksize):
    """Issue 17, item 4: identity blocks raised 'AXPY(1, 0, S[0,1]) ... nothing to compute'
    (or SCAL's); now they give NumPy's answer, reading no block of zeros."""
    inputs, output, assumptions, numpy_version = IDENTITY_CASES[name]
    f = computations.function(inputs, [output], assumptions, blocksize=blocksize)
    for n in (7, 8):                       # 7: no block size here divides it
        values = _identity_case_values(name, n)
        (got,) = f(*values)
        assert relative_error(got, numpy_version(*values)) <= 1e-10
        comp = f.specialize(*values).computation
        assert reads_no_zero_block(comp)
        assert not any(isinstance(v, sympy.Identity) for node in comp for v in node.inputs), \
            'an identity block is a diagonal shift (SHIFT), never read as a matrix'


X7, Y7, S7, L7 = (MatrixSymbol(name, 7, 7) for name in 'XYSL')
v7, I7 = MatrixSymbol('v', 7, 1), sympy.Identity(7)
CONSTANT_OPERATIONS = [
    AXPY(2, I7, X7), AXPY(-1, X7, I7), SCAL(3, I7), AXPY(2, I7, X7) + TRANSPOSE(2 * I7 + X7),
    GEMM(2, X7, I7, -1, Y7), GEMM(1, X7, Y7, 3, I7), GEMM(2, I7, Y7, trans_b=True),
    GEMM(1.5, X7, I7, trans_a=True), GEMM(2, I7, I7, 1, X7),
    SYMM(2, S7, X7, 1, I7), SYMM(2, I7, X7), SYMM(2, S7, I7, side='R'),
    SYRK(1, X7, 2, I7), SYRK(1, X7, 2, I7, trans=True), SYRK(2, I7),
    GEMV(2, I7, v7), GEMV(2, I7, v7, trans=True),
    TRSM(2, L7, I7), TRSM(1, L7, I7, side='R', trans_a=True), TRSM(2, I7, X7),
    TRSM(1, L7, I7, lower=False, trans_a=True, side='R'), TRSM(3, L7, I7, unit_diagonal=True),
    TRMM(3, L7, I7, side='R', unit_diagonal=True),
    TRMM(2, L7, I7), TRMM(2, I7, X7, side='R'), TRMM(1, L7, I7, side='R', trans_a=True),
    POTRF(I7), POSV(S7, I7), POTRF(S7) + POTRS(S7, I7), POSV(2 * I7 + X7.T * X7, v7)
    + SYRK(1, X7, 2, I7, trans=True),
    GESV(X7, I7),
    SHIFT(2, X7), SHIFT(2, I7), SHIFT(3, X7) + POTRF(X7 + 3 * I7),
]


@pytest.mark.parametrize('blocksize', [2, 3])
@pytest.mark.parametrize('comp', CONSTANT_OPERATIONS, ids=lambda c: str(c).replace('\n', '; '))
def test_every_blocked_operation_takes_identity_and_zero_blocks(comp, blocksize):
    """Every blocker, with an identity among its arguments (zero blocks off its diagonal),
    computes what the unblocked operation does, and no call reads a block of zeros."""
    t = lower(7)
    values = {X7: rng.standard_normal((7, 7)) + 7 * np.eye(7), Y7: rng.standard_normal((7, 7)),
              S7: spd(7), L7: t, v7: rng.standard_normal((7, 1))}
    values = {var: values[var] for var in CompositeComputation(comp).inputs if var in values}
    pairs, blocked = run_both(comp, values, blocksize)
    assert_same(pairs)
    assert reads_no_zero_block(blocked)


@st.composite
def identity_problems(draw):
    """``(inputs, output, assumptions, values)``: a random expression over n x n matrices
    with Identity and ZeroMatrix terms, made of sums, scalings, products, transposes and
    solves with shifted (``c*I + ...``) positive definite or triangular matrices."""
    n = draw(st.integers(1, 9), label='n')
    A, S, L = (MatrixSymbol(name, n, n) for name in 'ASL')
    B = MatrixSymbol('B', n, draw(st.integers(1, 3), label='columns of B'))
    alpha, I, Z = sympy.Symbol('alpha'), sympy.Identity(n), sympy.ZeroMatrix(n, n)
    shift = st.sampled_from([sympy.Rational(1, 2), 1, sympy.Float(1.5), 2])
    coefficient = st.sampled_from([alpha, 2, -1, sympy.Float(0.5)])

    def square(depth):
        leaves = st.sampled_from([A, S, L, I, Z, alpha * I, -I])
        if depth == 0:
            return leaves
        inner = square(depth - 1)
        return st.one_of(
            leaves,
            st.tuples(coefficient, inner).map(lambda t: t[0] * t[1]),
            st.tuples(inner, inner).map(lambda t: t[0] + t[1]),
            st.tuples(inner, inner).map(lambda t: t[0] * t[1]),
            inner.map(lambda x: x.T))

    # c*I + M, M positive semidefinite, perhaps with a ZeroMatrix term
    positive_definite = st.tuples(shift, st.sampled_from([S, A.T * A, S + A.T * A, I]),
                                  st.booleans()) \
        .map(lambda t: t[0] * I + t[1] + Z if t[2] else t[0] * I + t[1])
    solves = st.one_of(
        st.tuples(positive_definite, st.sampled_from([B, I, A, I + A]))
        .map(lambda t: t[0].I * t[1]),
        st.tuples(shift, st.sampled_from([B, I, A])).map(lambda t: (t[0] * I + L).I * t[1]),
        positive_definite.map(lambda spd: spd.I))
    output = draw(st.one_of(square(2), square(1).map(lambda x: x * B), solves), label='output')
    assume(isinstance(output, sympy.MatrixExpr) and output.free_symbols & {A, S, L, B}
           and output not in (A, S, L, B))
    inputs = sorted(output.free_symbols, key=str)
    assumptions = [Q.positive_definite(S), Q.lower_triangular(L)]
    data = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label='seed'))
    make = {A: lambda: data.uniform(-1, 1, (n, n)), S: lambda: spd_of(data, n),
            L: lambda: np.tril(data.uniform(-1, 1, (n, n)), -1) + np.diag(data.uniform(1, 2, n)),
            B: lambda: data.uniform(-1, 1, B.shape), alpha: lambda: data.uniform(0.5, 2)}
    return inputs, output, [a for a in assumptions if a.arg in inputs], [make[v]() for v in inputs]


def spd_of(data, n):
    x = data.uniform(-1, 1, (n, n))
    return x @ x.T / n + np.eye(n)


@given(identity_problems(), st.integers(1, 5))
@settings(max_examples=60, deadline=None)
def test_random_expressions_with_identity_and_zero_blocks(problem, blocksize):
    """Blocked, unblocked and NumPy agree on expressions with Identity and ZeroMatrix terms,
    and no blocked call reads a block of zeros."""
    inputs, output, assumptions, values = problem
    unblocked = computations.function(inputs, [output], assumptions)
    blocked = computations.function(inputs, [output], assumptions, blocksize=blocksize)
    expected = np.asarray(sympy.lambdify(inputs, output, 'numpy')(*values), dtype=float)
    (plain,), (got,) = unblocked(*values), blocked(*values)
    assert relative_error(plain, expected) <= 1e-8
    assert relative_error(got, expected) <= 1e-8
    assert reads_no_zero_block(blocked.specialize(*values).computation)


def test_a_blocked_program_too_large_to_build_is_refused_at_once():
    """Blocks of 2 at n = 10**6 (2.5e17 block products) seemed to hang when the function
    was printed; the blocking refuses at once, naming the dimension and its blocks."""
    n_ = sympy.Symbol('n')
    A_ = MatrixSymbol('A', n_, n_)
    f = computations.function([A_], A_ * A_, sizes={'n': 10 ** 6}, blocksize=2)
    with pytest.raises(ValueError, match=r'blocking: n = 1000000 in 500000 blocks makes about '
                                         r'1.2e\+17 block operations'):
        str(f)
    blocked = computations.function([A_], A_ * A_, sizes={'n': 20}, blocksize=2).computation
    assert sum(isinstance(node, BlockOp) for node in blocked) == 10 ** 3   # 10 x 10 blocks


def test_the_size_guard_counts_a_matrix_times_a_vector_as_its_blocks():
    """``S*x`` at n = 20,000 in 223 blocks is 223**2 = 49,729 block products (20 s to
    build); the guard took the cube of the most blocks, 1.1e7, and refused it.  It now
    divides the operation's FLOPs by those of one block: 223**2 here, 223**3 for a
    product of two matrices."""
    from computations.matrices.transforms.blocking.driver import (_block_operations,
                                                                  _check_size)
    from computations.matrices.transforms.blocking.state import Blocking
    n_ = sympy.Symbol('n')
    S_, x_ = MatrixSymbol('S', n_, n_), MatrixSymbol('x', n_, 1)
    for outputs, power in (([S_ * x_], 2), ([S_ * S_], 3)):
        program = computations.function([S_, x_], outputs)._specialization({n_: 20000})
        env = Blocking(program.unblocked, {n_: 90}, {n_: 20000})
        (op,) = [op for op in program.unblocked.computations
                 if not isinstance(op, Identity)]
        assert abs(_block_operations(op, env, 223) / 223 ** power - 1) < 0.02
        if power == 2:
            _check_size(program.unblocked, env)                    # not refused
        else:
            with pytest.raises(ValueError, match='1.1e\\+07 block operations'):
                _check_size(program.unblocked, env)
