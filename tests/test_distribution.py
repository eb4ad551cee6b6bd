"""The algebra the search knows: distributing a product over a sum and factoring a sum,
both as cost candidates; outputs held transposed cost their copy; outputs planned jointly.

Numbers are compared with NumPy (``@``, ``np.linalg.solve``) through
``computations.function``; kernels and FLOPs through ``compile_expressions``.
"""
import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from sympy import Identity, MatMul, MatrixSymbol, Q, Symbol, Trace

import computations
from computations.core import Identity as Marks
from computations.matrices import compile_expressions
from computations.matrices.compiler import search as search_module
from computations.matrices.compiler.properties import Properties
from computations.matrices.compiler.search import Planner
from computations.testing import evaluate
from computations.testing.expressions import matrix_problems

n, m, k = (Symbol(s, integer=True, positive=True) for s in 'nmk')
I = Identity(n)
A, B, P, X = (MatrixSymbol(s, n, n) for s in 'ABPX')
K, H = MatrixSymbol('K', n, k), MatrixSymbol('H', k, n)
S, M = MatrixSymbol('S', n, m), MatrixSymbol('M', m, m)
Y = MatrixSymbol('Y', m, n)
x, y, z = (MatrixSymbol(s, n, 1) for s in 'xyz')
c = Symbol('c')


def compiled(outputs, inputs, assumptions=(), dims=None):
    return compile_expressions(outputs, inputs, assumptions, dims or {n: 60, m: 6, k: 5})


def routines(comp):
    return Counter(type(op).__name__ for op in comp.computation if not isinstance(op, Marks))


def spd(rng, size):
    G = rng.standard_normal((size, size))
    return G @ G.T / size + np.eye(size)


def agrees(outputs, inputs, assumptions, values, expected):
    f = computations.function(inputs, outputs, assumptions)
    for got, want in zip(f(*values), expected):
        assert np.linalg.norm(got - want) <= 1e-9 * max(1.0, np.linalg.norm(want))


@pytest.fixture
def rng():
    return np.random.default_rng(19)


# Distributing ----------------------------------------------------------------------------

def test_a_rank_one_update_times_a_vector_is_two_matrix_vector_products(rng):
    """``(I - A*B)*x`` is ``x - A*(B*x)``: two GEMVs, never the n x n GEMM of ``A*B``."""
    comp = compiled([(I - A * B) * x], [A, B, x])
    assert routines(comp) == Counter(GEMV=2)
    assert comp.flops == 2 * (2 * 60 * 60)
    a, b, v = rng.standard_normal((60, 60)), rng.standard_normal((60, 60)), \
        rng.standard_normal((60, 1))
    agrees([(I - A * B) * x], [A, B, x], [], (a, b, v), [v - a @ (b @ v)])


def test_the_kalman_covariance_update_distributes(rng):
    """``(I - K*H)*P`` is ``P - K*(H*P)``: n x k x n work, not an n x n x n product."""
    comp = compiled([(I - K * H) * P], [K, H, P], [Q.symmetric(P)])
    assert comp.flops == 2 * 5 * 60 * 60 * 2
    assert 'TRANSPOSE' not in routines(comp)
    kk, h, p = rng.standard_normal((6, 2)), rng.standard_normal((2, 6)), spd(rng, 6)
    agrees([(I - K * H) * P], [K, H, P], [Q.symmetric(P)], (kk, h, p),
           [(np.eye(6) - kk @ h) @ p])


def test_a_scaled_low_rank_update_on_the_right(rng):
    """``c*B*(I - Y.T*M.I*Y)`` (stochastic Newton's shape) is ``c*B - c*B*Y.T*M.I*Y``."""
    expr = c * B * (I - Y.T * M.I * Y)
    assumptions = [Q.positive_definite(M), Q.positive_definite(B)]
    comp = compiled([expr], [c, B, Y, M], assumptions)
    assert comp.flops < 2 * 60 ** 3          # never the n x n x n product B*(I - ...)
    b, yy, mm = spd(rng, 7), rng.standard_normal((3, 7)), spd(rng, 3)
    agrees([expr], [c, B, Y, M], assumptions, (2.5, b, yy, mm),
           [2.5 * b @ (np.eye(7) - yy.T @ np.linalg.solve(mm, yy))])


def test_randomized_inversion_reaches_products_of_the_sketch_size(rng):
    """``T + (I - T*A)*X*(I - A*T)``, ``T = S*(S.T*A*S).I*S.T``: every product n x n x m
    (``E = X - T*A*X``, then ``E - E*A*T``), as the hand-written program; no n x n x n.
    ``T + E - T*A*E`` takes ``S*M.I`` out (``S*M.I*(S.T - S.T*A*E) + E``), so T is never
    formed: the FLOPs of the hand-written program (``benchmarks/applications``): A*S,
    ``S.T*(A*S)``, POTRF, two TRSMs and four n x n x m GEMMs, no SYRK nor n x n sum."""
    T = S * (S.T * A * S).I * S.T
    expr = T + (I - T * A) * X * (I - A * T)
    assumptions = [Q.positive_definite(A), Q.fullrank(S)]
    comp = compiled([expr], [A, S, X], assumptions, {n: 200, m: 10})
    hand = 2 * 200**2 * 10 + 2 * 200 * 10**2 + 10**3 / 3 + 2 * 200 * 10**2 + 4 * 2 * 200**2 * 10
    assert comp.flops <= hand
    assert not {'SYRK', 'AXPY'} & set(routines(comp))
    for op in comp.computation:
        if type(op).__name__ == 'GEMM':
            assert m in {dim for var in op.inputs + op.outputs for dim in var.shape}, op
    a, s, xx = spd(rng, 8), rng.standard_normal((8, 3)), rng.standard_normal((8, 8))
    t = s @ np.linalg.solve(s.T @ a @ s, s.T)
    agrees([expr], [A, S, X], assumptions, (a, s, xx),
           [t + (np.eye(8) - t @ a) @ xx @ (np.eye(8) - a @ t)])


def test_a_sum_of_plain_matrices_is_formed_once():
    """``(A + B)*P``: one AXPY and one GEMM; distributing would double the products."""
    assert routines(compiled([(A + B) * P], [A, B, P])) == Counter(AXPY=1, GEMM=1)


# Factoring ------------------------------------------------------------------------------

def test_a_common_factor_is_taken_out(rng):
    """``A*x + A*y`` is ``A*(x + y)``: one GEMV; ``S.I*x - 2*S.I*y`` one solve."""
    assert routines(compiled([A * x + A * y], [A, x, y])) == Counter(GEMV=1, AXPY=1)
    spd_solve = compiled([A.I * x - 2 * A.I * y], [A, x, y], [Q.positive_definite(A)])
    assert routines(spd_solve) == Counter(POSV=1, AXPY=1)
    a, u, v = spd(rng, 6), rng.standard_normal((6, 1)), rng.standard_normal((6, 1))
    agrees([A * x + A * y, A.I * x - 2 * A.I * y], [A, x, y], [Q.positive_definite(A)],
           (a, u, v), [a @ (u + v), np.linalg.solve(a, u - 2 * v)])


def test_a_trailing_common_factor(rng):
    """``x.T*A + y.T*A`` is ``(x + y).T*A``: one matrix-vector product, one vector sum."""
    comp = compiled([x.T * A + y.T * A], [A, x, y])
    assert comp.flops == 2 * 60 * 60 + 2 * 60
    a, u, v = rng.standard_normal((6, 6)), rng.standard_normal((6, 1)), \
        rng.standard_normal((6, 1))
    agrees([x.T * A + y.T * A], [A, x, y], [], (a, u, v), [(u + v).T @ a])


def test_a_run_of_shared_factors_is_taken_out_up_to_its_narrowest_dimension(rng):
    """``(I - T*A)*X + T``, ``T = S*M.I*S.T`` (S n x m): distributed, ``X - T*A*X + T``,
    whose terms share the run ``S*M.I*S.T``.  Taken out whole it leaves ``I - A*X``, an
    n x n sum and an n x n x n product; up to the narrowest dimension (m, after ``M.I``)
    it is ``S*M.I*(S.T - S.T*A*X) + X``: products through m, and T never formed (before,
    factoring stopped outside rewritings, and T was a SYRK added to the rest)."""
    T = S * M.I * S.T
    expr = (I - T * A) * X + T
    comp = compiled([expr], [S, M, A, X], [Q.positive_definite(M)], {n: 60, m: 6})
    assert routines(comp) == Counter(POTRF=1, TRSM=2, GEMM=3)
    for op in comp.computation:
        if type(op).__name__ == 'GEMM':
            assert m in {dim for var in op.inputs + op.outputs for dim in var.shape}, op
    s, mm, a, xx = (rng.standard_normal((6, 2)), spd(rng, 2), rng.standard_normal((6, 6)),
                    rng.standard_normal((6, 6)))
    t = s @ np.linalg.solve(mm, s.T)
    agrees([expr], [S, M, A, X], [Q.positive_definite(M)], (s, mm, a, xx),
           [(np.eye(6) - t @ a) @ xx + t])


def test_distributing_and_factoring_never_cycle(rng):
    """``A*(x + y) + A*z`` factors into ``A*(x + y + z)`` and distributes back into a sum
    with a common factor: the candidate leading back to an expression being planned is
    skipped (no recursion error, no infinite loop)."""
    expr = A * (I - B) * x + A * z
    planner = Planner(Properties(dims={n: 60}), [A, B, x, z])
    plan = planner.plan(planner.properties.canonical(expr))
    assert plan.ops
    a, b, u, w = (rng.standard_normal(s) for s in ((6, 6), (6, 6), (6, 1), (6, 1)))
    agrees([expr], [A, B, x, z], [], (a, b, u, w), [a @ (np.eye(6) - b) @ u + a @ w])


# Transposed outputs ----------------------------------------------------------------------

def test_an_output_held_transposed_costs_its_copy():
    """``x.T*A``: GEMV would leave the transpose (a copy at the end); a one-row GEMM of the
    same FLOPs does not."""
    assert routines(compiled([x.T * A], [A, x])) == Counter(GEMM=1)


def test_a_symmetric_result_is_not_copied():
    """The stochastic Newton update is symmetric (a SYRK): however the search spells it,
    no TRANSPOSE at the end."""
    W = MatrixSymbol('W', m, k)
    Am = MatrixSymbol('Am', m, n)
    kk = Symbol('kk')
    inner = ((kk - 1) * Identity(k) + W.T * Am * B * Am.T * W).I
    expr = (kk / (kk - 1)) * B * (I - Am.T * W * inner * W.T * Am * B)
    comp = compiled([expr], [B, Am, W, kk], [Q.positive_definite(B), Q.fullrank(Am),
                                             Q.fullrank(W), Q.positive(kk - 1)],
                    {n: 200, m: 100, k: 20})
    assert 'TRANSPOSE' not in routines(comp) and 'SYRK' in routines(comp)


# Joint outputs ---------------------------------------------------------------------------

@pytest.mark.parametrize('size', [4, 50])
def test_outputs_share_a_product_whatever_their_order(size, rng):
    """``[X*A - I, A*X*A - A]`` computes ``X*A`` once in either order (276 FLOPs at n = 4:
    two GEMMs, the second scaling A by -1 before accumulating onto it, and a diagonal
    SHIFT; planned one after the other, the first order cost 400 with an AXPY of the
    identity)."""
    outputs = [X * A - I, A * X * A - A]
    forward = compiled(outputs, [X, A], dims={n: size})
    backward = compiled(outputs[::-1], [X, A], dims={n: size})
    assert forward.flops == backward.flops == 2 * (2 * size ** 3) + size ** 2 + size
    assert routines(forward)['GEMM'] == routines(backward)['GEMM'] == 2
    xx, a = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    agrees(outputs, [X, A], [], (xx, a), [xx @ a - np.eye(5), a @ xx @ a - a])


# Several product chains, against a brute force over every parenthesization ------------

#: Inputs of the chains (at these sizes the cost model is FLOPs, no measured rates).
_POOL = {'A': (5, 5), 'B': (5, 3), 'C': (3, 5), 'E': (3, 3), 'F': (5, 2), 'x': (5, 1),
         'y': (3, 1)}


def _shape(factor):
    rows, columns = _POOL[factor[0]]
    return (columns, rows) if factor[1] else (rows, columns)


def _transposed(chain):
    return tuple((name, not t) for name, t in reversed(chain))


def _trees(chain):
    if len(chain) == 1:
        return [chain[0]]
    return [(left, right) for i in range(1, len(chain))
            for left in _trees(chain[:i]) for right in _trees(chain[i:])]


def _leaves(tree):
    return (tree,) if isinstance(tree[0], str) else _leaves(tree[0]) + _leaves(tree[1])


def _products(tree, costs):
    """Each product of ``tree`` (keyed by its chain or the transpose's, one value) with its
    FLOPs: 2pqr, or SYRK's p(p+1)q for a chain times its own transpose."""
    if isinstance(tree[0], str):
        return
    left, right = _leaves(tree[0]), _leaves(tree[1])
    p, q, r = _shape(left[0])[0], _shape(left[-1])[1], _shape(right[-1])[1]
    cost = p * (p + 1) * q if left == _transposed(right) else 2 * p * q * r
    key = min(left + right, _transposed(left + right))
    costs[key] = min(costs.get(key, float('inf')), cost)
    _products(tree[0], costs)
    _products(tree[1], costs)


def _cheapest(chains):
    """The fewest FLOPs computing every chain, each product computed once (either way)."""
    best = float('inf')
    for trees in itertools.product(*map(_trees, chains)):
        costs = {}
        for tree in trees:
            _products(tree, costs)
        best = min(best, sum(costs.values()))
    return best


@st.composite
def _chains(draw, rows, length):
    chain = []
    for _ in range(length):
        factor = draw(st.sampled_from(sorted(
            (name, t) for name in _POOL for t in (False, True) if _shape((name, t))[0] == rows)))
        chain.append(factor)
        rows = _shape(factor)[1]
    return tuple(chain)


@st.composite
def _shared_chains(draw):
    """Two or three chains around a common core (some transposed): what they share is
    where one output's cheapest order alone can miss the order that serves them all."""
    core = draw(_chains(draw(st.sampled_from([5, 3])), draw(st.integers(2, 3))))
    chains = []
    for _ in range(draw(st.integers(2, 3))):
        prefix = _transposed(draw(_chains(_shape(core[0])[0], draw(st.integers(0, 2)))))
        chain = prefix + core + draw(_chains(_shape(core[-1])[1], draw(st.integers(0, 2))))
        chains.append(_transposed(chain) if draw(st.booleans()) else chain)
    unique = []
    for chain in chains:
        if all(min(chain, _transposed(chain)) != min(u, _transposed(u)) for u in unique):
            unique.append(chain)
    assume(len(unique) > 1)
    return unique


def _expression(chain):
    symbols = {name: MatrixSymbol(name, *shape) for name, shape in _POOL.items()}
    return MatMul(*[symbols[name].T if t else symbols[name] for name, t in chain])


@pytest.mark.parametrize('chains, optimum', [
    # the first output's two orders tie; the one computing A.T*C.T serves the second
    ([(('B', True), ('A', True), ('C', True)),
      (('A', True), ('C', True), ('E', False), ('y', False))], 288),
    # B*E and A*B*E serve all three, though no output's own cheapest order holds them
    ([(('F', False), ('F', True), ('B', False), ('E', False)),
      (('A', False), ('B', False), ('E', False), ('C', False), ('B', False)),
      (('E', True), ('E', True), ('E', True), ('B', True), ('A', True))], 684),
])
def test_outputs_share_products_no_output_would_compute_alone(chains, optimum, rng):
    """Found in review: 338 and 888 FLOPs, each output planned in the order cheapest for
    itself; now each product that two outputs' searches planned is tried first."""
    assert _cheapest(chains) == optimum                  # the brute force agrees
    outputs = [_expression(chain) for chain in chains]
    inputs = sorted(set().union(*(e.atoms(MatrixSymbol) for e in outputs)), key=str)
    assert compiled(outputs, inputs).flops == optimum
    values = [rng.standard_normal(v.shape) for v in inputs]
    agrees(outputs, inputs, [], values,
           [evaluate(e, dict(zip(inputs, values))) for e in outputs])


@given(_shared_chains())
@settings(max_examples=40, deadline=None)
def test_chains_cost_between_the_joint_optimum_and_planning_each_alone(chains):
    """Never fewer FLOPs than the brute force's optimum (else the two count differently),
    never more than each chain at its own optimum, nothing shared (beyond a copy per
    output held transposed)."""
    outputs = [_expression(chain) for chain in chains]
    inputs = sorted(set().union(*(e.atoms(MatrixSymbol) for e in outputs)), key=str)
    comp = compiled(outputs, inputs)
    copies = sum(int(op.X.shape[0] * op.X.shape[1]) for op in comp.computation
                 if type(op).__name__ == 'TRANSPOSE')
    assert _cheapest(chains) <= comp.flops
    assert comp.flops + copies <= sum(_cheapest([chain]) for chain in chains) + sum(
        int(e.shape[0] * e.shape[1]) for e in outputs)


# Needs planned jointly (a congruence through a Cholesky factor against SYMM) -------------

KALMAN_SHAPES = [(50, 5), (100, 10), (200, 40), (500, 3), (1000, 100), (2000, 1000),
                 (1000, 1000)]


def _kalman_symm_program(n_, k_):
    """The Kalman update as SYMM + GEMM + POSV + GEMV + TRSM + SYRK (what the search found
    before congruences went through Sigma's Cholesky factor), and its FLOPs."""
    from computations.matrices.expressions import LofCholesky
    from computations.matrices.ops.blas import GEMM, GEMV, SYMM, SYRK, TRSM
    from computations.matrices.ops.lapack import POSV
    mu, Sigma = MatrixSymbol('mu', n_, 1), MatrixSymbol('Sigma', n_, n_)
    H_, R_, data = MatrixSymbol('H', k_, n_), MatrixSymbol('R', k_, k_), MatrixSymbol('data', k_, 1)
    product = SYMM(1, Sigma, H_, side='R')
    HS = product.outputs[0]
    S_, r = GEMM(1, H_, HS, 1, R_, trans_b=True), GEMV(1, H_, mu, -1, data)
    solve = POSV(S_.outputs[0], r.outputs[0])
    T = TRSM(1, LofCholesky(S_.outputs[0]), HS)
    ops = [product, S_, r, solve, GEMV(1, HS, solve.outputs[0], 1, mu, trans=True), T,
           SYRK(-1, T.outputs[0], 1, Sigma, trans=True)]
    return sum(float(Properties().binding.value(op.flops)) for op in ops)


@pytest.mark.parametrize('n_, k_', KALMAN_SHAPES)
def test_the_kalman_filter_makes_its_product_once_where_it_serves_twice(n_, k_):
    """``S = H*Sigma*H.T + R`` through Sigma's Cholesky factor (POTRF, TRMM, SYRK) costs less
    alone once k is about n, but the covariance reads ``H*Sigma`` anyway: S is then one
    GEMM.  ``H*Sigma`` is SYMM, or GEMM where the rate tables price SYMM slower at the
    shape (SYMM runs at 0.87-0.95 of GEMM's speed with 200-1000 rows of H at n = 2000).
    At no bench shape does the program cost more FLOPs than the SYMM program."""
    from computations.matrices.examples.kalman import kalman
    inputs, outputs, assumptions = kalman(n, k)
    comp = compiled(outputs, inputs, assumptions, {n: n_, k: k_})
    assert comp.flops <= _kalman_symm_program(n_, k_) * (1 + 1e-12)
    found = routines(comp)
    assert found['SYMM'] + found['GEMM'] == 2 and not found['TRMM']
    # one factorization, of S (never of Sigma): the mean and the covariance share it
    factored = [op.A for op in comp.computation if type(op).__name__ in ('POTRF', 'POSV')]
    assert len(factored) == 1 and factored[0] != inputs[1]


def test_the_kalman_filter_matches_numpy(rng):
    from computations.matrices.examples.kalman import kalman
    inputs, outputs, assumptions = kalman(9, 6)
    mu, sigma, h = rng.standard_normal((9, 1)), spd(rng, 9), rng.standard_normal((6, 9))
    r, data = spd(rng, 6), rng.standard_normal((6, 1))
    gain = sigma @ h.T @ np.linalg.inv(r + h @ sigma @ h.T)
    agrees(outputs, inputs, assumptions, (mu, sigma, h, r, data),
           [mu + gain @ (h @ mu - data), sigma - gain @ h @ sigma])


def _riccati(n_, m_):
    A_, B_, P_ = MatrixSymbol('A', n_, n_), MatrixSymbol('B', n_, m_), MatrixSymbol('P', n_, n_)
    R_, Q_ = MatrixSymbol('R', m_, m_), MatrixSymbol('Qc', n_, n_)
    expr = A_.T * P_ * A_ - A_.T * P_ * B_ * (R_ + B_.T * P_ * B_).I * B_.T * P_ * A_ + Q_
    return [expr], [A_, B_, P_, R_, Q_], [Q.positive_definite(P_), Q.positive_definite(R_),
                                          Q.symmetric(Q_)]


@pytest.mark.parametrize('n_, m_', [(1500, 500)])
def test_the_riccati_recursion_is_the_hand_written_program(n_, m_):
    """``A.T*P*A - A.T*P*B*(R + B.T*P*B).I*B.T*P*A + Qc``: ``P = L*L.T`` (POTRF), ``F = L.T*[A |
    B]`` (two TRMMs), ``A.T*P*A + Qc`` and ``R + B.T*P*B`` as SYRKs, ``B.T*P*A`` one GEMM,
    then POTRF, TRSM, SYRK -- the hand-written plan, ~13.17e9 FLOPs at n = 1500, m = 500
    (SYMM + GEMM took 20.3e9).  Not at n = 40 any more: below the smallest order the rate
    tables measure (125), the factorization's and TRMM's rates there price the route
    through P's factor above SYMM + GEMM (whose calls take microseconds either way).  Nor
    at n = 300, m = 100, since sums are factored inside rewritings: the congruence
    ``A.T*(P - P*B*(R + B.T*P*B).I*B.T*P)*A + Qc`` (SYMM, GEMM, POTRF, TRSM, SYRK, SYMM,
    GEMM: 144e6 FLOPs against 105e6) is priced below it at the rates measured there, and
    ran as fast (median ms of 200 calls, four alternating runs: 3.4-4.9 against
    3.8-5.9, 2026-12-07)."""
    outputs, inputs, assumptions = _riccati(n_, m_)
    comp = compile_expressions(outputs, inputs, assumptions)
    assert routines(comp) == Counter(POTRF=2, TRMM=2, SYRK=3, GEMM=1, TRSM=1)
    hand = (n_ ** 3 / 3 + n_ ** 2 * (n_ + m_) + 2 * m_ * n_ * n_ + m_ * n_ * (m_ + 1)
            + m_ ** 3 / 3 + m_ ** 2 * n_ + n_ * n_ * (n_ + 1) + m_ * n_ * (n_ + 1))
    assert comp.flops == pytest.approx(hand, rel=1e-12)


def test_the_riccati_recursion_through_the_factor_matches_numpy(rng):
    outputs, inputs, assumptions = _riccati(12, 5)
    a, b, p_ = rng.standard_normal((12, 12)), rng.standard_normal((12, 5)), spd(rng, 12)
    r, q = spd(rng, 5), spd(rng, 12)
    comp = compile_expressions(outputs, inputs, assumptions)
    assert 'TRMM' in routines(comp)
    pb = p_ @ b
    agrees(outputs, inputs, assumptions, (a, b, p_, r, q),
           [a.T @ p_ @ a - a.T @ pb @ np.linalg.solve(r + b.T @ pb, pb.T @ a) + q])


# Random products of sums against NumPy ---------------------------------------------------

ATOMS = (A, B, P)


@st.composite
def sums_in_products(draw):
    """``F1*F2*...*v``: factors are inputs or sums of the identity, inputs and products."""
    def term():
        kind = draw(st.sampled_from(['I', 'atom', 'product']))
        if kind == 'I':
            return draw(st.sampled_from([1, -1, 2])) * I
        if kind == 'atom':
            return draw(st.sampled_from(ATOMS))
        return draw(st.sampled_from(ATOMS)) * draw(st.sampled_from(ATOMS))

    def factor():
        if draw(st.booleans()):
            return draw(st.sampled_from(ATOMS))
        terms = [term() for _ in range(draw(st.integers(2, 3)))]
        return terms[0] + terms[1] + (terms[2] if len(terms) > 2 else 0 * I)

    factors = [factor() for _ in range(draw(st.integers(1, 3)))]
    tail = draw(st.sampled_from([x, P]))
    expr = factors[0]
    for f in factors[1:] + [tail]:
        expr = expr * f
    return expr + x if tail == x and draw(st.booleans()) else expr


@settings(max_examples=25, deadline=None)
@given(sums_in_products(), st.integers(0, 2**32 - 1))
def test_random_products_of_sums_match_numpy(expr, seed):
    rng = np.random.default_rng(seed)
    values = {A: rng.standard_normal((5, 5)), B: rng.standard_normal((5, 5)),
              P: rng.standard_normal((5, 5)), x: rng.standard_normal((5, 1))}
    inputs = [A, B, P, x]
    agrees([expr], inputs, [], [values[v] for v in inputs], [_numpy(expr, values)])


def _numpy(expr, values):
    """``expr`` evaluated with NumPy, written independently of the compiler."""
    from sympy import MatAdd, MatMul, MatPow, ZeroMatrix
    if expr in values:
        return values[expr]
    if isinstance(expr, Identity):
        return np.eye(5)
    if isinstance(expr, ZeroMatrix):             # I - I, drawn now and then
        return np.zeros((5, 1 if expr.shape[1] == 1 else 5))
    if isinstance(expr, MatAdd):
        return sum(_numpy(arg, values) for arg in expr.args)
    if isinstance(expr, MatMul):
        coefficient, factors = expr.as_coeff_matrices()
        result = float(coefficient) * np.eye(5)
        for f in factors:
            result = result @ _numpy(f, values)
        return result
    if isinstance(expr, MatPow):
        return np.linalg.matrix_power(_numpy(expr.base, values), int(expr.exp))
    raise TypeError(expr)


def test_plans_under_the_same_free_operations_are_reused_unchanged(monkeypatch):
    """A need planned again with other operations free reuses the plan made when the same
    of those operations touched its search (in another set): the programs are those of
    planning each set afresh (randomized inversion, the Kalman filter at two shapes), both
    with searches unbounded (afresh takes more than :data:`MAX_GIVEN_SEARCHES`)."""
    from computations.matrices.compiler import search
    from computations.matrices.compiler.joint import JointPlanning
    monkeypatch.setattr(search, 'MAX_GIVEN_SEARCHES', 10 ** 6)
    from computations.matrices.examples.kalman import kalman
    T = S * (S.T * A * S).I * S.T
    problems = [([T + (I - T * A) * X * (I - A * T)], [A, S, X],
                 [Q.positive_definite(A), Q.fullrank(S)], {n: 200, m: 10})]
    inputs, outputs, assumptions = kalman()
    dims = {str(d): d for v in inputs for d in v.shape if isinstance(d, Symbol)}
    for sizes in ({'n': 50, 'k': 5}, {'n': 500, 'k': 3}):
        problems.append((outputs, inputs, assumptions,
                         {dims[name]: size for name, size in sizes.items()}))
    reused = [compile_expressions(*problem) for problem in problems]
    monkeypatch.setattr(JointPlanning, '_keep_given', lambda self, key, plan: None)
    afresh = [compile_expressions(*problem) for problem in problems]
    for one, other in zip(reused, afresh):
        assert one.flops == other.flops
        assert set(one.computation.computations) == set(other.computation.computations)


def _sum_of_products_of_sums():
    """A sum of products of sums with a shared factor, found by the random-expression tests:
    joint planning re-planned each split's need under every other need (5334 searches for
    206 alone, 8 s at n = 5) until the re-plans got a budget."""
    A_, B_ = MatrixSymbol('A', n, k), MatrixSymbol('B', k, n)
    C, D, T = (MatrixSymbol(s, n, n) for s in 'CDT')
    M_ = (5 * I + C).I * D + 9 * C + C * D + 3 * T + 2 * C.T
    output = (5 * I + C).I * D + (A_ * B_) ** 2 * B_.T * A_.T * C * M_ + 9 * C + C * D \
        + 3 * T + 2 * C.T
    return [output], [A_, B_, C, D, T], [Q.positive_definite(T)]


def _counting_searches(monkeypatch):
    """Count the planner's searches made under free operations, per planner."""
    counts = []
    original = Planner._searching_given

    def searching(self):
        original(self)               # raises when the budget is used up: not a search
        counts.append(id(self))
    monkeypatch.setattr(Planner, '_searching_given', searching)
    return counts


def test_replans_under_free_operations_stop_at_their_budget(monkeypatch):
    """No more searches under free operations than :data:`MAX_GIVEN_SEARCHES` per commit (one
    output, one commit), and the program is still right: past the budget a need keeps the
    plan made alone."""
    from computations.matrices.compiler import joint, search
    counts = _counting_searches(monkeypatch)
    outputs, inputs, assumptions = _sum_of_products_of_sums()
    comp = compiled(outputs, inputs, assumptions, {n: 5, k: 3})
    assert 0 < len(counts) <= joint.MAX_GIVEN_SEARCHES
    budget = 40
    monkeypatch.setattr(search, 'MAX_GIVEN_SEARCHES', budget)
    counts.clear()
    small = compiled(outputs, inputs, assumptions, {n: 5, k: 3})
    assert 0 < len(counts) <= budget
    # the larger budget never gives a dearer program (each re-plan is kept only when cheaper)
    assert comp.flops <= small.flops
    rng = np.random.default_rng(0)
    values = [rng.standard_normal((5, 3)), rng.standard_normal((3, 5)),
              rng.standard_normal((5, 5)), rng.standard_normal((5, 5)), spd(rng, 5)]
    a, b, c_, d, t = values
    m_ = np.linalg.solve(5 * np.eye(5) + c_, d) + 9 * c_ + c_ @ d + 3 * t + 2 * c_.T
    ab = a @ b
    expected = (np.linalg.solve(5 * np.eye(5) + c_, d) + ab @ ab @ b.T @ a.T @ c_ @ m_
                + 9 * c_ + c_ @ d + 3 * t + 2 * c_.T)
    for budget in (0, 40):
        monkeypatch.setattr(search, 'MAX_GIVEN_SEARCHES', budget)
        agrees(outputs, inputs, assumptions, values, [expected])


def test_the_applications_joint_plans_fit_in_the_budget(monkeypatch):
    """The Kalman filter and the riccati recursion, whose programs need joint planning, use
    a fraction of the budget, so the budget never changes them."""
    from computations.matrices.compiler import joint
    from computations.matrices.examples.kalman import kalman
    counts = _counting_searches(monkeypatch)
    inputs, outputs, assumptions = kalman(n, k)
    compiled(outputs, inputs, assumptions, {n: 2000, k: 1000})
    outputs, inputs, assumptions = _riccati(1500, 500)
    compile_expressions(outputs, inputs, assumptions)
    per_planner = Counter(counts)
    assert per_planner and max(per_planner.values()) <= joint.MAX_GIVEN_SEARCHES // 4


def _forgetting_restart(self):
    """The search's state forgotten at each commit (as before it was kept per set of
    committed operations)."""
    self._memo, self._children, self._reaches, self._joint = {}, {}, {}, {}
    self._given_memos, self._given_plans = {}, {}
    self._rewrites, self._given_searches = self.max_rewrites, search_module.MAX_GIVEN_SEARCHES


def _joint_problems():
    """Programs whose outputs and needs are planned jointly: the Kalman filter at shapes where
    either output order wins, randomized inversion, the sum of products of sums."""
    from computations.matrices.examples.kalman import kalman
    T = S * (S.T * A * S).I * S.T
    problems = [([T + (I - T * A) * X * (I - A * T)], [A, S, X],
                 [Q.positive_definite(A), Q.fullrank(S)], {n: 200, m: 10}),
                (*_sum_of_products_of_sums(), {n: 5, k: 3}),
                ([X * A - I, A * X * A - A], [X, A], [], {n: 40})]
    inputs, outputs, assumptions = kalman()
    dims = {str(d): d for v in inputs for d in v.shape if isinstance(d, Symbol)}
    for sizes in ((50, 5), (500, 3), (500, 400), (1000, 1000), (2000, 1000), (20, 10)):
        problems.append((outputs, inputs, assumptions, dict(zip((dims['n'], dims['k']), sizes))))
    return problems


def test_the_search_state_kept_per_committed_operations_gives_the_programs_made_afresh(
        monkeypatch):
    """Plans made under a set of committed operations are reused when another output order
    commits the same set again (:meth:`Planner._restart`): the programs are those of
    planning afresh after each commit, at every shape (the Kalman filter's two output
    orders each win somewhere)."""
    problems = _joint_problems()
    kept = [compile_expressions(*problem) for problem in problems]
    monkeypatch.setattr(Planner, '_restart', _forgetting_restart)
    afresh = [compile_expressions(*problem) for problem in problems]
    for one, other in zip(kept, afresh):
        assert one.flops == other.flops
        assert set(one.computation.computations) == set(other.computation.computations)


def test_the_kalman_filter_searches_each_expression_a_few_times(monkeypatch):
    """The Kalman filter (27 expressions) at n = 2000, k = 1000 runs 97 searches: the
    covariance planned first finds what the mean planned first searched already, and the
    outputs are planned again around each other once, for the cheapest order (124 searches
    when the state was forgotten at each commit and every order ran its own rounds; 84
    before the mean could also go through the covariance's half solve, which plans the
    half solves of the residual and of H*Sigma)."""
    from computations.matrices.examples.kalman import kalman
    searched = Counter()
    original = Planner._search

    def counting(self, expr):
        searched[expr] += 1
        return original(self, expr)
    monkeypatch.setattr(Planner, '_search', counting)
    inputs, outputs, assumptions = kalman(n, k)
    compiled(outputs, inputs, assumptions, {n: 2000, k: 1000})
    assert len(searched) == 27
    assert sum(searched.values()) <= 100


@settings(max_examples=60, deadline=None)
@given(matrix_problems(max_outputs=3))
def test_random_programs_are_those_of_planning_afresh_after_each_commit(p):
    """Over random problems of up to three outputs, keeping the search's state per set of
    committed operations gives the program of forgetting it at each commit."""
    try:
        kept = compile_expressions(p.outputs, p.inputs, p.assumptions, dict(p.dims))
    except (NotImplementedError, ValueError):      # a draw the compiler refuses: both do
        return
    original = Planner._restart
    Planner._restart = _forgetting_restart
    try:
        afresh = compile_expressions(p.outputs, p.inputs, p.assumptions, dict(p.dims))
    finally:
        Planner._restart = original
    assert kept.flops == afresh.flops
    assert set(kept.computation.computations) == set(afresh.computation.computations)


def _sharing_tries(monkeypatch):
    """The shared values tried (``_program`` with a value planned first), as they happen."""
    from computations.matrices.compiler import joint
    tried, original = [], joint.JointPlanning._program

    def program(self, exprs, order, committed, first=None):
        if first is not None:
            tried.append(first)
        return original(self, exprs, order, committed, first)
    monkeypatch.setattr(joint.JointPlanning, '_program', program)
    return tried


def test_shared_values_are_tried_unless_the_outputs_plannings_were_long(monkeypatch):
    """``[B.T*A.T*C.T, A.T*C.T*E*y]``: computing ``A.T*C.T`` first serves both outputs (600
    FLOPs at order 5, 650 without); a shared value is tried when the plannings of the
    outputs made few searches under free operations.  The gradients of the Kalman filter's
    covariance made 2,642 before the tries (four, 2.5 s of a 5.3 s compilation, none
    cheaper): past :data:`~.joint.MAX_GIVEN_BEFORE_SHARING` none is tried, and the program
    is the one made with every try."""
    from computations.matrices.compiler import joint
    A, B, C, E = (MatrixSymbol(name, 5, 5) for name in 'ABCE')
    y = MatrixSymbol('y', 5, 1)
    tried = _sharing_tries(monkeypatch)
    shared = compile_expressions([B.T * A.T * C.T, A.T * C.T * E * y], [A, B, C, E, y])
    assert tried and shared.flops == 600
    S, H, R, V = (MatrixSymbol('S', 4, 4), MatrixSymbol('H', 2, 4), MatrixSymbol('R', 2, 2),
                  MatrixSymbol('V', 4, 4))
    assumptions = [Q.positive_definite(S), Q.positive_definite(R)]
    scalar = Trace(V.T * (S - S * H.T * (H * S * H.T + R).I * H * S))
    outputs = [scalar, *computations.grad(scalar, [S, H, R], assumptions)]
    tried.clear()
    bounded = compile_expressions(outputs, [S, H, R, V], assumptions)
    assert not tried
    monkeypatch.setattr(joint, 'MAX_GIVEN_BEFORE_SHARING', 10 ** 9)
    every = compile_expressions(outputs, [S, H, R, V], assumptions)
    assert tried and every.flops == bounded.flops
    assert str(every.computation) == str(bounded.computation)
