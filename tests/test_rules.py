"""The rewrite rules on their own, without the search (:mod:`computations.matrices.compiler.rules`).

A rule sees an expression and what is known of it and returns proposals:
operations, and the values they need.  Each test gives a rule an
expression and properties and checks what it proposes -- the needs, and the
operations made when the needs are held as they are (or, where a routine
depends on it, transposed) -- and the cases where it must propose nothing.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sympy import (Determinant, Identity, Inverse, MatMul, MatrixSymbol, OneMatrix, Q, Symbol,
                   Trace, log)

import computations
from computations.matrices import (CHOLESKY_ADJOINT, CHOLESKY_DETERMINANT, DIAGMM, ELEMENT, GEMM,
                                   GEMV, DIAGMM_ROOT,
                                   GETRF, GETRS, INNER, LU_DETERMINANT, POTRF, POTRI, POTRS, SYMM,
                                   SYRK, SYTRF, SYTRS, LDL, TRACE, TRIANGULAR_DETERMINANT, TRMM, TRSM,
                                   TRTRI, LofCholesky, LUPivots, Properties,
                                   SymmetricLower)
from computations.matrices import NotPositiveDeterminantError
from computations.matrices.compiler import rules
from computations.matrices.compiler.rules import Accumulator, Need, Operand, need
from computations.matrices import positive_semidefinite
from computations.testing import evaluate

n, p = Symbol('n'), Symbol('p')
A, B, C = (MatrixSymbol(s, n, n) for s in 'ABC')
S, L, U = (MatrixSymbol(s, n, n) for s in 'SLU')
X = MatrixSymbol('X', n, p)
x = MatrixSymbol('x', n, 1)
alpha, beta = Symbol('alpha'), Symbol('beta')

FACTS = Properties([Q.positive_definite(S), Q.lower_triangular(L), Q.upper_triangular(U),
                    Q.symmetric(C)], dims={n: 10, p: 3})
NOTHING = Properties(dims={n: 10, p: 3})


def made(proposals, *orientations):
    """The operations of each proposal, its needs held as they are (``orientations``: which
    needs are held transposed, by default none); None for a proposal that makes nothing."""
    result = []
    for proposal in proposals:
        flags = orientations or (False,) * len(proposal.needs)
        operands = [Operand(rules._held(nd), t) for nd, t in zip(proposal.needs, flags)]
        result.append(proposal.ops(operands))
    return result


def test_the_default_operands_hold_each_need_as_it_is():
    proposal, _ = rules.cholesky_solve(FACTS, S, B, 'L', 1)
    assert proposal.needs == (need(S, factorization=POTRF), need(B, orientation=False))
    assert proposal.ops() == made([proposal])[0] == (POTRS(S, B),)


# Products --------------------------------------------------------------------------

def test_gemm_proposes_the_product_and_its_transpose():
    proposals = rules.gemm(NOTHING, A, B, alpha, None)
    assert [p.needs for p in proposals] == [(need(A), need(B))] * 2
    assert made(proposals) == [(GEMM(alpha, A, B),),
                               (GEMM(alpha, B, A, trans_a=True, trans_b=True),)]


def test_gemm_accumulates_onto_c_in_its_orientation_only():
    proposals = rules.gemm(NOTHING, A, B, 1, Accumulator(beta, C))
    assert [p.needs for p in proposals] == [(need(A), need(B), need(C))] * 2
    assert made(proposals) == [(GEMM(1, A, B, beta, C),), None]
    # C held transposed: only the swapped product writes into it
    assert made(proposals, False, False, True) == [
        None, (GEMM(1, B, A, beta, C, trans_a=True, trans_b=True),)]


def test_gemm_reads_transposed_operands_through_its_flags():
    straight, _ = rules.gemm(NOTHING, A.T, B, 1, None)
    assert straight.ops([Operand(A, True), Operand(B)]) == (GEMM(1, A, B, trans_a=True),)


@pytest.mark.parametrize('left, right, expected', [
    (C, B, [(SYMM(1, C, B),)]),
    (B, C, [(SYMM(1, C, B, side='R'),)]),
    (S, C, [(SYMM(1, S, C),), (SYMM(1, C, S, side='R'),)]),
])
def test_symm_needs_a_symmetric_operand(left, right, expected):
    assert made(rules.symm(FACTS, left, right, 1, None)) == expected


def test_symm_does_not_fire_without_a_symmetric_operand():
    assert rules.symm(FACTS, A, B, 1, None) == []
    assert rules.symm(NOTHING, C, B, 1, None) == []


def test_symm_with_the_other_side_transposed_computes_the_transpose():
    proposal, = rules.symm(FACTS, C, B.T, 1, None)
    made_ = proposal.make(Operand(C), Operand(B, True))
    assert made_.ops == (SYMM(1, C, B, side='R'),) and made_.operand.transposed


def test_trmm_needs_a_triangular_operand_and_no_accumulation():
    assert made(rules.trmm(FACTS, L, B, 2, None)) == [(TRMM(2, L, B, lower=True),)]
    assert made(rules.trmm(FACTS, B, U, 2, None)) == [(TRMM(2, U, B, side='R', lower=False),)]
    assert rules.trmm(FACTS, A, B, 1, None) == []
    assert rules.trmm(FACTS, L, B, 1, Accumulator(1, C)) == []


def test_trmm_of_a_transposed_lower_factor_reads_the_lower_triangle():
    proposal, = rules.trmm(FACTS, L.T, B, 1, None)
    assert proposal.ops([Operand(L, True), Operand(B)]) == \
        (TRMM(1, L, B, lower=True, trans_a=True),)


def test_gemv_fires_for_declared_vectors_only():
    assert made(rules.gemv(NOTHING, A, x, 1, None)) == [(GEMV(1, A, x),)]
    row, = rules.gemv(NOTHING, x.T, A, 1, None)
    assert row.ops([Operand(x, True), Operand(A)]) == (GEMV(1, A, x, trans=True),)
    assert row.ops([Operand(x.T), Operand(A)]) is None        # x.T held as a row: no GEMV
    assert rules.gemv(NOTHING, A, B, 1, None) == []


def test_syrk_reads_one_variable_both_ways():
    proposal, = rules.syrk(NOTHING, X.T, X, 1, None)
    assert proposal.ops([Operand(X, True), Operand(X)]) == (SYRK(1, X, trans=True),)
    assert proposal.ops([Operand(A), Operand(B)]) is None


def test_syrk_does_not_accumulate_onto_a_matrix_not_known_symmetric():
    assert rules.syrk(FACTS, X.T, X, 1, Accumulator(1, A)) == []
    assert len(rules.syrk(FACTS, X.T, X, 1, Accumulator(1, C))) == 1


# Solves ------------------------------------------------------------------------------

def test_posv_needs_positive_definiteness():
    assert rules.cholesky_solve(NOTHING, S, B, 'L', 1) == []
    assert rules.cholesky_solve(FACTS, A, B, 'L', 1) == []


def test_cholesky_solves_share_the_factor():
    left, half = rules.cholesky_solve(FACTS, S, B, 'L', 1)
    assert left.needs[0] == half.needs[0] == Need((S,), factorization=POTRF)
    # a scaled left solve is not POTRS's (the search scales after); the half solve's TRSM
    # scales
    scaled, = rules.cholesky_solve(FACTS, S, B, 'L', 2)
    assert scaled.needs == half.needs


def test_a_cholesky_solve_is_also_a_trsm_on_its_half_solve():
    """``S.I*B = L.-T*(L.I*B)`` and ``B*S.I = (B*L.-T)*L.-1`` (S = L*L.T): the half is a value
    of its own, which the SYRK of ``B.T*S.I*B`` computes too (LCMV's ``R.I*A*(A.T*R.I*A).I``)."""
    F, factor = LofCholesky(S), Operand(LofCholesky(S))
    left, = rules.cholesky_solve(FACTS, S, A * B, 'L', alpha)
    assert left.needs[1] == Need((Inverse(F), A, B))
    G = F.I * A * B
    assert left.ops([factor, Operand(G)]) == (TRSM(alpha, F, G, trans_a=True),)
    # the half held transposed: G.T*L.-1 is the transpose of L.-T*G
    assert left.ops([factor, Operand(G, True)]) == (TRSM(alpha, F, G, side='R'),)
    assert left.make(factor, Operand(G, True)).operand.transposed
    *_, right = rules.cholesky_solve(FACTS, S, B, 'R', 1)
    assert right.needs[1] == Need((B, Inverse(F.T)))
    H = B * F.T.I
    assert right.ops([factor, Operand(H)]) == (TRSM(1, F, H, side='R'),)
    assert right.ops([factor, Operand(H, True)]) == (TRSM(1, F, H, trans_a=True),)
    # no half of an explicit inverse
    assert not any(need.factors[0] == Inverse(F) for p in
                   rules.cholesky_solve(FACTS, S, Identity(n), 'L', 1) for need in p.needs)


def test_an_explicit_inverse_of_a_positive_definite_matrix_is_potri():
    proposals = rules.cholesky_solve(FACTS, S, Identity(n), 'L', 1)
    assert made(proposals)[0] == (POTRI(S),)


def test_a_right_cholesky_solve_is_potrs_on_a_transposed_b_or_two_trsms():
    potrs, trsms, _ = rules.cholesky_solve(FACTS, S, B, 'R', 1)
    factor = Operand(LofCholesky(S))
    assert potrs.ops([factor, Operand(B, True)]) == (POTRS(S, B),)
    assert potrs.ops([factor, Operand(B)]) is None
    first = TRSM(1, LofCholesky(S), B, side='R', trans_a=True)
    assert trsms.ops([factor, Operand(B)]) == (first, TRSM(1, LofCholesky(S), first.outputs[0],
                                                           side='R'))
    assert trsms.ops([factor, Operand(B, True)]) is None


def test_triangular_solves_need_a_triangle():
    assert made(rules.triangular_solve(FACTS, L, B, 'L', 1)) == [(TRSM(1, L, B),)]
    assert made(rules.triangular_solve(FACTS, U, B, 'R', alpha)) == \
        [(TRSM(alpha, U, B, side='R', lower=False),)]
    assert rules.triangular_solve(FACTS, A, B, 'L', 1) == []
    assert rules.triangular_solve(FACTS, S, B, 'L', 1) == []


def test_lu_solves_any_square_matrix_unscaled():
    left, = rules.lu_solve(NOTHING, A, B, 'L', 1)
    assert left.needs == (Need((A,), factorization=GETRF), Need((B,), orientation=False))
    assert made([left]) == [(GETRS(A, B),)]
    right, = rules.lu_solve(NOTHING, A, B, 'R', 1)
    assert right.needs[1] == Need((B,), orientation=True)
    assert made([right]) == [(GETRS(A, B, trans=True),)]
    assert rules.lu_solve(NOTHING, A, B, 'L', 2) == []


def test_a_symmetric_matrix_not_known_positive_definite_is_solved_with_ldl():
    """SYTRF (shared by every solve with C) and SYTRS; the driver fuses one pair into SYSV."""
    left, = rules.symmetric_solve(FACTS, C, B, 'L', 1)
    assert left.needs == (Need((C,), factorization=SYTRF), Need((B,), orientation=False))
    assert made([left]) == [(SYTRS(C, B),)]
    right, = rules.symmetric_solve(FACTS, C, B, 'R', 1)
    assert right.needs[1] == Need((B,), orientation=True)
    assert made([right]) == [(SYTRS(C, B),)] and right.make(
        Operand(LDL(C), False), Operand(B, True)).operand.transposed
    # not for a positive definite S (Cholesky is as cheap and shares its factor),
    # not without symmetry, not scaled
    assert rules.symmetric_solve(FACTS, S, B, 'L', 1) == []
    assert rules.symmetric_solve(NOTHING, C, B, 'L', 1) == []
    assert rules.symmetric_solve(FACTS, C, B, 'L', 2) == []


def test_an_explicit_triangular_inverse_is_trtri_first():
    trtri, trsm = rules.triangular_solve(FACTS, L, Identity(n), 'L', 1)
    assert made([trtri]) == [(TRTRI(L),)] and trsm.needs[1] == need(Identity(n))
    assert made([trtri], True) == [(TRTRI(L, lower=False),)]   # held transposed: upper
    assert len(rules.triangular_solve(FACTS, L, Identity(n), 'L', 2)) == 1    # scaled: TRSM


def test_a_trapezoidal_matrix_gets_no_triangular_routine():
    R = MatrixSymbol('R', n, p)
    trapezoidal = Properties([Q.upper_triangular(R)], dims={n: 10, p: 3})
    assert rules.trmm(trapezoidal, R, X.T, 1, None) == []
    assert rules.triangular_solve(trapezoidal, R, X, 'L', 1) == []


def test_an_orthogonal_solve_is_a_transposed_product_and_its_inverse_a_transpose():
    orthogonal = Properties([Q.orthogonal(A)], dims={n: 10, p: 3})
    left, = rules.orthogonal_solve(orthogonal, A, B, 'L', 2)
    assert made([left]) == [(GEMM(2, A, B, trans_a=True),)]
    right, = rules.orthogonal_solve(orthogonal, A, B, 'R', 1)
    assert made([right]) == [(GEMM(1, B, A, trans_b=True),)]
    inverse, = rules.orthogonal_solve(orthogonal, A, Identity(n), 'L', 1)
    assert inverse.make(Operand(A, False)) == rules.Made((), Operand(A, True))
    assert rules.orthogonal_solve(NOTHING, A, B, 'L', 1) == []


def test_a_diagonal_factor_scales_rows_or_columns_and_its_solve_divides():
    diagonal = Properties([Q.diagonal(A)], dims={n: 10, p: 3})
    left, = rules.diagonal_product(diagonal, A, X, 2, None)
    assert made([left]) == [(DIAGMM(2, A, X),)]
    right, = rules.diagonal_product(diagonal, X.T, A, 1, None)
    assert made([right]) == [(DIAGMM(1, A, X.T, side='R'),)]
    # B held transposed: the other side, and the result is the transpose
    square, = rules.diagonal_product(diagonal, A, B, 2, None)
    assert made([square], False, True) == [(DIAGMM(2, A, B, side='R'),)]
    assert square.make(Operand(A, False), Operand(B, True)).operand.transposed
    solve, = rules.diagonal_solve(diagonal, A, B, 'L', 1)
    assert made([solve]) == [(DIAGMM(1, A, B, inverse=True),)]
    # not without a diagonal operand, not onto an accumulator
    assert rules.diagonal_product(NOTHING, A, X, 1, None) == []
    assert rules.diagonal_product(diagonal, A, B, 1, Accumulator(1, C)) == []
    assert rules.diagonal_solve(FACTS, L, B, 'L', 1) == []


# Whole products -------------------------------------------------------------------------

def test_congruence_y_t_y_is_one_syrk():
    proposal, = rules.congruence(NOTHING, 3, [X.T, X], None)
    assert proposal.needs == (need(X),)
    assert made([proposal]) == [(SYRK(3, X, trans=True),)]


def test_congruence_through_a_positive_definite_inverse_is_trsm_then_syrk():
    proposal, = rules.congruence(FACTS, 1, [X.T, Inverse(S), X], None)
    assert proposal.needs == (need(X), need(S, factorization=POTRF))
    W = TRSM(1, LofCholesky(S), X)
    assert made([proposal]) == [(W, SYRK(1, W.outputs[0], trans=True))]


def test_congruence_does_not_fire_without_definiteness_or_a_congruence():
    assert rules.congruence(NOTHING, 1, [X.T, Inverse(A), X], None) == []
    assert rules.congruence(NOTHING, 1, [A, B], None) == []
    assert rules.congruence(FACTS, 1, [X.T, X], Accumulator(1, MatrixSymbol('P', p, p))) == []


def test_congruence_through_a_positive_definite_matrix_reads_its_cholesky_factor():
    """``Z.T*S*Z = F.T*F`` with ``F = L.T*Z``, ``S = L*L.T``: F is a value of its own (TRMM),
    whatever Z's width: the search weighs it against SYMM + GEMM, whose by-product ``S*Z``
    may serve elsewhere (the Kalman filter's ``Sigma*H.T``)."""
    Z, K = MatrixSymbol('Z', n, p), MatrixSymbol('K', p, p)
    for dims in ({n: 10, p: 13}, {n: 10, p: 2}, {n: 10, p: 10}):     # wide, thin, square
        facts = Properties([Q.positive_definite(S), Q.symmetric(K)], dims=dims)
        F = LofCholesky(S).T * Z
        proposal, = rules.congruence(facts, 2, [Z.T, S, Z], Accumulator(beta, K))
        assert proposal.needs == (Need((LofCholesky(S).T, Z)), need(K))
        assert made([proposal]) == [(SYRK(2, F, beta, K, trans=True),)]
    assert rules.congruence(FACTS, 1, [A.T, B.T, S, B, A], None) == []  # a product side


def test_congruence_through_a_positive_diagonal_scales_by_its_square_root():
    """``X.T*W*X = F.T*F`` with ``F = L.T*X``, L = W**(1/2) the Cholesky factor of a positive
    diagonal W: a scaling (DIAGMM_ROOT), no POTRF."""
    W, K = MatrixSymbol('W', n, n), MatrixSymbol('K', p, p)
    weights = Properties([Q.diagonal(W), Q.positive_definite(W), Q.symmetric(K)],
                         dims={n: 10, p: 3})
    proposal, = rules.congruence(weights, 2, [X.T, W, X], None)
    assert proposal.needs == (need(X), need(W))
    F = DIAGMM_ROOT(1, W, X)
    assert made([proposal]) == [(F, SYRK(2, F.outputs[0], trans=True))]
    # a variable holding X.T: its columns scaled, and the other SYRK
    F = DIAGMM_ROOT(1, W, X.T, side='R')
    assert proposal.ops([Operand(X.T, True), Operand(W)]) == (F, SYRK(2, F.outputs[0]))
    inverse, = rules.congruence(weights, 1, [X.T, Inverse(W), X], Accumulator(beta, K))
    G = DIAGMM_ROOT(1, W, X, inverse=True)
    assert made([inverse]) == [(G, SYRK(1, G.outputs[0], beta, K, trans=True))]
    # not without definiteness
    semi = Properties([Q.diagonal(W), positive_semidefinite(W)], dims={n: 10, p: 3})
    assert rules.congruence(semi, 1, [X.T, W, X], None) == []
    assert rules.congruence(Properties([Q.diagonal(W)]), 1, [X.T, W, X], None) == []


def test_a_product_through_a_positive_definite_matrix_is_a_gemm_of_its_factored_sides():
    """``A.T*S*B = FA.T*FB``, ``F = L.T*Y``: the F shared with congruences through S (not for
    ``Y.T*S*Y``, congruence's)."""
    U_ = LofCholesky(S).T
    proposal, = rules.cholesky_product(FACTS, alpha, [A.T, S, B], None)
    assert proposal.needs == (Need((U_, A)), Need((U_, B)))
    FA, FB = U_ * A, U_ * B
    assert made([proposal]) == [(GEMM(alpha, FA, FB, trans_a=True),)]
    onto, = rules.cholesky_product(FACTS, 1, [A, S, B], Accumulator(beta, C))
    assert onto.needs == (Need((U_, A.T)), Need((U_, B)), need(C))
    # C held transposed: the transposed product is written into it
    assert made([onto], False, False, True) == [
        (GEMM(1, FB, U_ * A.T, beta, C, trans_a=True),)]
    # only strictly inside, only one positive definite factor, no inverse
    assert rules.cholesky_product(FACTS, 1, [S, B], None) == []
    assert rules.cholesky_product(FACTS, 1, [A.T, S, B, S, C], None) == []
    assert rules.cholesky_product(FACTS, 1, [A.T, S, Inverse(B)], None) == []
    assert rules.cholesky_product(NOTHING, 1, [A.T, S, B], None) == []
    assert rules.cholesky_product(FACTS, 1, [A.T, S, A], None) == []


def test_a_product_through_an_inverse_reads_the_half_solves_of_its_factor():
    """``c*Y1.T*S.I*Y2 + acc``, S positive definite strictly inside: S's factor, then
    ``(L.I*Y1).T*(L.I*Y2)`` by GEMM (GEMV when Y2 is a column), the half solves being
    needs of their own that another output may make (the Kalman covariance's)."""
    Li = Inverse(LofCholesky(S))
    proposal, = rules.inverse_cholesky_product(FACTS, alpha, [A.T, Inverse(S), B], None)
    assert proposal.needs == (need(S, factorization=POTRF), Need((Li, A)), Need((Li, B)))
    GA, GB = Li * A, Li * B
    assert made([proposal]) == [(GEMM(alpha, GA, GB, trans_a=True),)]
    c = MatrixSymbol('c', n, 1)
    onto, = rules.inverse_cholesky_product(FACTS, 2, [A.T, B.T, Inverse(S), x],
                                           Accumulator(-1, c))
    assert onto.needs == (need(S, factorization=POTRF), Need((Li, B, A)), Need((Li, x)),
                          need(c))
    assert made([onto]) == [(GEMV(2, Li * B * A, Li * x, -1, c, trans=True),)]
    # strictly inside, one inverse of a positive definite matrix, not a congruence
    assert rules.inverse_cholesky_product(FACTS, 1, [Inverse(S), B], None) == []
    assert rules.inverse_cholesky_product(FACTS, 1, [A.T, Inverse(S), B, Inverse(S), C],
                                          None) == []
    assert rules.inverse_cholesky_product(NOTHING, 1, [A.T, Inverse(S), B], None) == []
    assert rules.inverse_cholesky_product(FACTS, 1, [A.T, Inverse(C), B], None) == []
    assert rules.inverse_cholesky_product(FACTS, 1, [B.T, Inverse(S), B], None) == []


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_two_outputs_through_one_inverse_agree_with_numpy(k, m, columns, seed):
    """``Y.T*S.I*Z`` beside ``Y.T*S.I*Y`` (the Kalman mean and covariance's shape): whichever
    program the search picks, NumPy's values."""
    S_, Y, Z = (MatrixSymbol('S', k, k), MatrixSymbol('Y', k, m),
                MatrixSymbol('Z', k, columns))
    f = computations.function([S_, Y, Z], [Y.T * S_.I * Z, Y.T * S_.I * Y],
                              [Q.positive_definite(S_)])
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((k, k))
    s, y, z = G @ G.T + k * np.eye(k), rng.standard_normal((k, m)), rng.standard_normal((k, columns))
    cross, gram = f(s, y, z)
    np.testing.assert_allclose(cross, y.T @ np.linalg.solve(s, z), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gram, y.T @ np.linalg.solve(s, y), rtol=1e-9, atol=1e-12)


def test_a_congruence_reads_its_side_through_a_positive_definite_factor_inside_it():
    """``Y.T*M.I*Y`` with ``Y = B.T*S*A``: Y as planned, or as ``FB.T*FA`` (the Riccati
    recursion), the F shared with the congruences through S."""
    U_ = LofCholesky(S).T
    planned, through = rules.congruence(FACTS, -1, [A.T, S, B, Inverse(S), B.T, S, A], None)
    assert planned.needs == (need(B.T * S * A), need(S, factorization=POTRF))
    assert through.needs == (Need((U_, B)), Need((U_, A)), need(S, factorization=POTRF))
    FB, FA, factor = U_ * B, U_ * A, LofCholesky(S)
    Y = GEMM(1, FB, FA, trans_a=True)
    W = TRSM(1, factor, Y.outputs[0])
    assert made([through]) == [(Y, W, SYRK(-1, W.outputs[0], trans=True))]
    # a side at an end of S: as planned only
    assert len(rules.congruence(FACTS, 1, [S, B.T, Inverse(S), B, S], None)) == 1


def test_the_cholesky_adjoint_needs_a_lower_factor():
    factors = [Inverse(L.T), SymmetricLower(L.T * B), Inverse(L)]
    proposal, = rules.cholesky_adjoint(FACTS, 2, factors, None)
    assert proposal.needs == (need(L), Need((B,), orientation=False))
    assert made([proposal]) == [(CHOLESKY_ADJOINT(2, L, B),)]
    assert proposal.ops([Operand(L, True), Operand(B)]) is None
    assert rules.cholesky_adjoint(NOTHING, 2, factors, None) == []
    assert rules.cholesky_adjoint(FACTS, 2, factors, Accumulator(1, C)) == []


# Scalars ---------------------------------------------------------------------------------

def test_a_trace_is_the_diagonal_sum_or_an_element():
    trace = Trace(A)
    assert made(rules.whole_trace(NOTHING, trace)) == [(TRACE(A, output=trace),)]
    one = Trace(x.T * x)
    proposal, = rules.whole_trace(NOTHING, one)
    assert proposal.needs == (need(x.T * x),)
    assert made([proposal]) == [(ELEMENT(x.T * x, output=one),)]


def test_a_trace_of_a_product_is_an_inner_product_at_every_split_of_its_cycle():
    """Two cuts on the cycle of factors (a canonical trace is one rotation of many: the
    others' splits must stay candidates), a wrapped part whose factors cancel left out."""
    trace = Trace(A * B * C)
    proposals = rules.inner_product(NOTHING, trace)
    assert [p.needs for p in proposals] == [(Need((A,)), Need((B, C))),
                                            (Need((A, B)), Need((C,))),
                                            (Need((B,)), Need((C, A)))]
    assert made(proposals[:1]) == [(INNER(A, B * C, trans=True, output=trace),)]
    assert len(rules.inner_product(NOTHING, Trace(A * B * C * A.T))) == 6   # 4 * 3 / 2
    longer = (A, B, C) * 3                               # past CYCLIC_MAX_FACTORS: one cut
    assert len(rules.inner_product(NOTHING, Trace(MatMul(*longer)))) == len(longer) - 1
    X = MatrixSymbol('X', A.rows, A.rows)
    assert [p.needs for p in rules.inner_product(NOTHING, Trace(X.I * A * X))] == [
        (Need((X.I,)), Need((A, X))), (Need((X.I, A)), Need((X,)))]   # not A and X*X.I
    assert rules.inner_product(NOTHING, Trace(2 * A * B)) == []


@pytest.mark.parametrize('take_log', [False, True])
def test_determinants_come_from_cholesky_when_positive_definite_else_from_lu(take_log):
    def of(M):
        return log(Determinant(M)) if take_log else Determinant(M)
    proposal, = rules.determinant(FACTS, of(S))
    assert proposal.needs == (need(S, factorization=POTRF),)
    assert made([proposal]) == [(CHOLESKY_DETERMINANT(LofCholesky(S), log=take_log,
                                                      output=of(S)),)]
    proposal, = rules.determinant(FACTS, of(A))
    assert proposal.needs == (need(A, factorization=GETRF),)
    lu = GETRF(A).outputs[0]
    assert made([proposal]) == [(LU_DETERMINANT(lu, LUPivots(A), log=take_log, output=of(A)),)]


@pytest.mark.parametrize('take_log', [False, True])
def test_determinants_of_triangles_are_the_products_of_their_diagonals(take_log):
    def of(M):
        return log(Determinant(M)) if take_log else Determinant(M)
    for M, lower in ((L, True), (U, False)):
        proposal, = rules.determinant(FACTS, of(M))
        assert proposal.needs == (need(M),)
        assert made([proposal]) == [(TRIANGULAR_DETERMINANT(M, lower=lower, log=take_log,
                                                            output=of(M)),)]
    # held transposed, U.T's storage U is upper triangular: the op reads U's triangle
    proposal, = rules.determinant(FACTS, of(U.T))
    (op,), = proposal.make(Operand(U, True)).ops,
    assert op == TRIANGULAR_DETERMINANT(U, lower=False, log=take_log, output=of(U.T))


@pytest.mark.parametrize('fact', [Q.lower_triangular, Q.upper_triangular, Q.diagonal])
def test_a_triangular_determinant_runs_no_factorization_and_matches_numpy(fact):
    M = MatrixSymbol('M', n, n)
    f = computations.function([M], [Determinant(M), log(Determinant(M.T))], [fact(M)])
    routines = {type(op).__name__ for op in f.specialize((50, 50)).computation.computations}
    assert routines - {'Identity'} == {'TRIANGULAR_DETERMINANT'}     # (Identity marks outputs)
    rng = np.random.default_rng()
    m = np.diag(rng.uniform(0.5, 1.5, 50))
    if fact is not Q.diagonal:
        m += (np.tril if fact is Q.lower_triangular else np.triu)(rng.random((50, 50)), -1 if
                                                                    fact is Q.lower_triangular
                                                                    else 1)
    det, logdet = f(m)
    np.testing.assert_allclose(det, np.linalg.det(m), rtol=1e-10)
    np.testing.assert_allclose(logdet, np.linalg.slogdet(m)[1], rtol=1e-10)
    m[0, 0] = -m[0, 0]
    with pytest.raises(NotPositiveDeterminantError, match='TRIANGULAR_DETERMINANT'):
        f(m)


# The tables ---------------------------------------------------------------------------------

def test_the_tables_hold_every_rule_once_specialized_first():
    assert rules.PRODUCT_RULES[-1] is rules.gemm
    assert rules.PRODUCT_RULES[0] is rules.diagonal_product
    assert rules.SOLVE_RULES[:3] == (rules.diagonal_solve, rules.orthogonal_solve,
                                     rules.triangular_solve)
    assert rules.SOLVE_RULES[-1] is rules.lu_solve
    tables = (rules.PRODUCT_RULES, rules.SOLVE_RULES, rules.CHAIN_RULES, rules.TRACE_RULES,
              rules.DETERMINANT_RULES)
    every = [rule for table in tables for rule in table]
    assert len(every) == len(set(every))


def test_rules_are_pure_they_return_the_same_proposals_twice():
    first = rules.gemm(NOTHING, A, B, 1, None)
    second = rules.gemm(NOTHING, A, B, 1, None)
    assert [p.needs for p in first] == [p.needs for p in second]
    assert made(first) == made(second)


# The rules through the compiler, numerically --------------------------------------------
#
# Each rule above proposes; these compile expressions that need it, check that the search
# takes it where it is the cheapest (the routines of the program), and that the program's
# results agree with NumPy on random data that satisfies the assumptions.

def _spd(rng, k):
    x = rng.uniform(-1, 1, (k, k))
    return x @ x.T + k * np.eye(k)


def _compiled(inputs, outputs, assumptions, data):
    f = computations.function(inputs, outputs, assumptions)
    routines = {type(op).__name__
                for op in f.specialize(*data).computation.toposort()}
    return f(*data), routines


def _close(got, want):
    assert np.linalg.norm(got - want) <= 1e-9 * max(np.linalg.norm(want), 1.0)


sizes = st.integers(2, 9)


@settings(max_examples=10, deadline=None)
@given(k=sizes, extra=st.integers(0, 4), seed=st.integers(0, 2**16))
def test_a_congruence_through_a_positive_definite_matrix_is_trmm_and_syrk(k, extra, seed):
    """``X.T*P*X + Qc`` with X wide (k x 2k and more): POTRF, TRMM, SYRK."""
    rng = np.random.default_rng(seed)
    m = 2 * k + extra
    P_, X_, K_ = MatrixSymbol('P', k, k), MatrixSymbol('X', k, m), MatrixSymbol('K', m, m)
    p_, x_, q_ = _spd(rng, k), rng.uniform(-1, 1, (k, m)), _spd(rng, m)
    (got,), routines = _compiled([P_, X_, K_], [X_.T * P_ * X_ + K_],
                                 [Q.positive_definite(P_), Q.symmetric(K_)], (p_, x_, q_))
    _close(got, x_.T @ p_ @ x_ + q_)
    if k >= 4:
        assert {'POTRF', 'TRMM', 'SYRK'} <= routines and 'SYMM' not in routines, routines


@settings(max_examples=10, deadline=None)
@given(k=sizes, extra=st.integers(0, 4), inverse=st.booleans(), seed=st.integers(0, 2**16))
def test_a_congruence_through_a_positive_diagonal_is_a_scaling_and_syrk(k, extra, inverse,
                                                                         seed):
    """``X.T*W*X`` and ``X.T*W.I*X``, W a positive diagonal: DIAGMM_ROOT and SYRK, no GEMM,
    no factorization, no triangular routine."""
    rng = np.random.default_rng(seed)
    n_ = k + extra
    W_, X_ = MatrixSymbol('W', n_, n_), MatrixSymbol('X', n_, k)
    weights = rng.uniform(0.5, 2, n_)
    w_, x_ = np.diag(weights), rng.uniform(-1, 1, (n_, k))
    middle = W_.I if inverse else W_
    (got,), routines = _compiled([W_, X_], [X_.T * middle * X_],
                                 [Q.diagonal(W_), Q.positive_definite(W_)], (w_, x_))
    _close(got, x_.T @ (np.diag(1 / weights) if inverse else w_) @ x_)
    assert {'DIAGMM_ROOT', 'SYRK'} <= routines, routines
    assert not routines & {'GEMM', 'TRMM', 'TRSM', 'POTRF', 'POSV'}, routines


@settings(max_examples=8, deadline=None)
@given(n_=st.integers(4, 9), m_=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_the_riccati_recursion_shares_the_factor_and_its_products(n_, m_, seed):
    """``A.T*P*A - A.T*P*B*(R + B.T*P*B).I*B.T*P*A + Qc``, correct whichever route the search
    takes (through P's factor, or SYMM), always by Cholesky."""
    rng = np.random.default_rng(seed)
    A_, B_, P_ = MatrixSymbol('A', n_, n_), MatrixSymbol('B', n_, m_), MatrixSymbol('P', n_, n_)
    R_, Q_ = MatrixSymbol('R', m_, m_), MatrixSymbol('Qc', n_, n_)
    expr = A_.T * P_ * A_ - A_.T * P_ * B_ * (R_ + B_.T * P_ * B_).I * B_.T * P_ * A_ + Q_
    a, b, p_, r, q = (rng.uniform(-1, 1, (n_, n_)), rng.uniform(-1, 1, (n_, m_)), _spd(rng, n_),
                      _spd(rng, m_), _spd(rng, n_))
    (got,), routines = _compiled([A_, B_, P_, R_, Q_], [expr],
                                 [Q.positive_definite(P_), Q.positive_definite(R_),
                                  Q.symmetric(Q_)], (a, b, p_, r, q))
    pb = p_ @ b
    _close(got, a.T @ p_ @ a - a.T @ pb @ np.linalg.solve(r + b.T @ pb, pb.T @ a) + q)
    assert 'POTRF' in routines and not routines & {'GESV', 'GETRF', 'POTRS'}, routines


@settings(max_examples=8, deadline=None)
@given(n_=st.integers(4, 9), m_=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_a_solve_reuses_the_half_solve_its_congruence_computes(n_, m_, seed):
    """LCMV, ``R.I*A*(A.T*R.I*A).I`` with A tall (square, it is ``A.-T``): ``G = L.I*A``
    feeds the SYRK and, by one more TRSM, ``R.I*A`` -- no POTRS.  With one column (m = 1)
    POSV and GEMV cost exactly as much, in fewer operations: either may be taken."""
    rng = np.random.default_rng(seed)
    R_, A_ = MatrixSymbol('R', n_, n_), MatrixSymbol('A', n_, m_)
    r, a = _spd(rng, n_), rng.uniform(-1, 1, (n_, m_))
    (got,), routines = _compiled([R_, A_], [R_.I * A_ * (A_.T * R_.I * A_).I],
                                 [Q.positive_definite(R_), Q.fullrank(A_)], (r, a))
    ra = np.linalg.solve(r, a)
    _close(got, ra @ np.linalg.inv(a.T @ ra))
    assert not routines & {'GESV', 'GETRF'}, routines
    if m_ > 1:
        assert 'POTRS' not in routines and 'POSV' not in routines and 'SYRK' in routines, routines


def test_a_rectangular_input_promised_positive_definite_takes_no_route_through_a_factor():
    """An n x m input declared positive definite (a promise that n = m, checked at the
    call) crashed the compile of ``C.T*S*B`` with POTRF's ShapeError: the route through
    S's Cholesky factor was proposed without S known square (review)."""
    n, m = Symbol('n'), Symbol('m')
    S, B, C = MatrixSymbol('S', n, m), MatrixSymbol('B', m, 2), MatrixSymbol('C', n, 2)
    x, y = MatrixSymbol('x', n, 1), MatrixSymbol('y', m, 1)
    rng = np.random.default_rng()
    s = rng.standard_normal((3, 3))
    values = {S: s @ s.T + np.eye(3), B: rng.standard_normal((3, 2)),
              C: rng.standard_normal((3, 2)), x: rng.standard_normal((3, 1)),
              y: rng.standard_normal((3, 1))}
    for out in (C.T*S*B, x.T*S*y, Trace(C.T*S*B)):
        inputs = sorted(out.atoms(MatrixSymbol), key=str)
        f = computations.function(inputs, [out], [Q.positive_definite(S)])
        (got,) = f(*[values[v] for v in inputs])
        want = evaluate(out.subs({n: 3, m: 3}),
                        {v.subs({n: 3, m: 3}): a for v, a in values.items()})
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_a_square_matrix_of_ones_is_held_transposed_without_a_transpose():
    """``E.T*P + OneMatrix`` (its product held transposed) and ``OneMatrix*A.I`` (an LU
    right solve, whose right-hand side is transposed) built TRANSPOSE(1), which computes
    nothing: NothingToComputeError ended the compile (review)."""
    E, P, A = (MatrixSymbol(s, 3, 3) for s in 'EPA')
    ones = OneMatrix(3, 3)
    rng = np.random.default_rng()
    e, p = rng.standard_normal((2, 3, 3))
    a = rng.standard_normal((3, 3)) + 4 * np.eye(3)
    f = computations.function([E, P], [E.T*P + ones], [Q.lower_triangular(P)])
    np.testing.assert_allclose(f(e, np.tril(p))[0], e.T @ np.tril(p) + 1, rtol=1e-12)
    g = computations.function([A], [ones*A.I], [Q.invertible(A)])
    np.testing.assert_allclose(g(a)[0], np.ones((3, 3)) @ np.linalg.inv(a), rtol=1e-10)
