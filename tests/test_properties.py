"""Rule-by-rule tests of :mod:`computations.matrices.compiler.properties`.

Every rule of :data:`RULES` and every implication of :data:`IMPLIES` has a
small parametrized test below.  ``True`` means proved, ``False`` disproved
and ``None`` unknown; a wrong ``True`` is the one unforgivable answer (the
compiler would call POSV on an indefinite matrix), so unknown cases are
asserted to stay ``None`` and a hypothesis test at the end checks every
``True`` against numbers built to satisfy the declared facts.
"""
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st
from sympy import (Identity, Inverse, MatMul, MatPow, MatrixSymbol, Q, Rational, Symbol, Transpose,
                   ZeroMatrix)
from sympy.matrices.expressions.factorizations import LofCholesky

from computations.matrices.compiler.properties import IMPLIES, PREDICATES, RULES, Properties, split_product

n, k, p = sympy.symbols('n k p')

# Square n x n symbols, named after what the standard facts declare about them.
S, S2 = MatrixSymbol('S', n, n), MatrixSymbol('S2', n, n)          # positive definite
T, T2 = MatrixSymbol('T', n, n), MatrixSymbol('T2', n, n)          # symmetric
L, L2 = MatrixSymbol('L', n, n), MatrixSymbol('L2', n, n)          # lower triangular
U, U2 = MatrixSymbol('U', n, n), MatrixSymbol('U2', n, n)          # upper triangular
D, D2 = MatrixSymbol('D', n, n), MatrixSymbol('D2', n, n)          # diagonal
A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, n)            # invertible
O = MatrixSymbol('O', n, n)                                          # orthogonal
M, N = MatrixSymbol('M', n, n), MatrixSymbol('N', n, n)            # nothing known
R = MatrixSymbol('R', k, k)                                          # positive definite
H = MatrixSymbol('H', k, n)                                          # full rank (k < n: rows)
X = MatrixSymbol('X', n, p)                                          # full rank (n > p: columns)
Y = MatrixSymbol('Y', n, p)                                          # nothing known
c, d, e = Symbol('c'), Symbol('d'), Symbol('e')                      # positive, negative, unknown

DIMS = {n: 10, k: 4, p: 3}
FACTS = [Q.positive_definite(S), Q.positive_definite(S2), Q.symmetric(T), Q.symmetric(T2),
         Q.lower_triangular(L), Q.lower_triangular(L2), Q.upper_triangular(U),
         Q.upper_triangular(U2), Q.diagonal(D), Q.diagonal(D2), Q.invertible(A),
         Q.invertible(B), Q.orthogonal(O), Q.positive_definite(R), Q.fullrank(H), Q.fullrank(X),
         Q.positive(c), Q.negative(d)]

SQUARE_ONLY = [q for q in PREDICATES
               if q not in ('fullrank', 'lower_triangular', 'upper_triangular')]


def standard(dims=DIMS):
    return Properties(FACTS, dims=dims)


def check(cases):
    """Parametrize ``(predicate, expr, expected)`` triples with readable ids."""
    return pytest.mark.parametrize(
        'predicate, expr, expected', cases,
        ids=[f'{q}({expr})={expected}' for q, expr, expected in cases])


# Registries -------------------------------------------------------------------

def test_registries_cover_the_predicates():
    assert set(RULES) == set(PREDICATES)
    assert set(IMPLIES) <= set(PREDICATES)
    assert all(set(implied) <= set(PREDICATES) for implied in IMPLIES.values())
    assert {'positive_semidefinite', 'symmetric', 'invertible'} <= set(IMPLIES['positive_definite'])
    assert {'symmetric', 'lower_triangular', 'upper_triangular'} <= set(IMPLIES['diagonal'])


@pytest.mark.parametrize('cls', [Identity, ZeroMatrix, Transpose, Inverse, MatMul, MatPow],
                         ids=lambda cls: cls.__name__)
def test_every_predicate_has_a_rule_for_the_core_expression_types(cls):
    assert all(RULES[q].dispatch(cls) is not RULES[q].dispatch(object) for q in PREDICATES)


# Facts and their implication closure -------------------------------------------

CLOSURE = [
    ('positive_definite', 'positive_definite'), ('positive_definite', 'symmetric'),
    ('positive_definite', 'invertible'), ('positive_definite', 'fullrank'),
    ('positive_definite', 'positive_semidefinite'),
    ('diagonal', 'lower_triangular'), ('diagonal', 'upper_triangular'), ('diagonal', 'symmetric'),
    ('orthogonal', 'invertible'), ('orthogonal', 'fullrank'), ('invertible', 'fullrank'),
    ('symmetric', 'symmetric'), ('lower_triangular', 'lower_triangular'),
]


@pytest.mark.parametrize('declared, implied', CLOSURE, ids=[f'{a}=>{b}' for a, b in CLOSURE])
def test_a_declared_fact_implies_its_closure(declared, implied):
    Z = MatrixSymbol('Z', n, n)
    assert Properties([getattr(Q, declared)(Z)]).ask(implied, Z) is True


NON_IMPLIED = [('symmetric', 'positive_definite'), ('symmetric', 'invertible'),
               ('invertible', 'symmetric'), ('lower_triangular', 'invertible'),
               ('lower_triangular', 'upper_triangular'), ('positive_definite', 'diagonal'),
               ('orthogonal', 'symmetric'), ('symmetric', 'lower_triangular')]


@pytest.mark.parametrize('declared, other', NON_IMPLIED,
                         ids=[f'{a}=/=>{b}' for a, b in NON_IMPLIED])
def test_a_declared_fact_says_nothing_beyond_its_closure(declared, other):
    Z = MatrixSymbol('Z', n, n)
    assert Properties([getattr(Q, declared)(Z)]).ask(other, Z) is None


def test_lower_and_upper_make_diagonal_and_so_symmetric():
    Z = MatrixSymbol('Z', n, n)
    facts = Properties([Q.lower_triangular(Z), Q.upper_triangular(Z)])
    assert facts.ask('diagonal', Z) is True
    assert facts.ask('symmetric', Z) is True


@pytest.mark.parametrize('rows, cols, dims, expected', [
    (n, n, None, True),                  # square by shape
    (n, k, {n: 5, k: 5}, True),          # square once the sizes are bound
    (n, k, None, None),                  # maybe not square
    (n, k, {n: 5, k: 3}, False),         # not square: not invertible
], ids=['n-by-n', 'n-by-k-bound-equal', 'n-by-k-unbound', 'n-by-k-bound-different'])
def test_square_and_fullrank_make_invertible(rows, cols, dims, expected):
    Z = MatrixSymbol('Z', rows, cols)
    assert Properties([Q.fullrank(Z)], dims=dims).ask('invertible', Z) is expected


def test_facts_are_matched_in_canonical_form():
    # Q.positive_definite((A*B).T) is stored under the canonical B.T*A.T.
    facts = Properties([Q.positive_definite(Transpose(A * B))])
    assert facts.ask('positive_definite', B.T * A.T) is True


# Shapes -------------------------------------------------------------------------

@pytest.mark.parametrize('predicate', SQUARE_ONLY)
@pytest.mark.parametrize('matrix, dims', [
    (MatrixSymbol('W', 3, 2), None), (H, DIMS), (X.T, DIMS),
], ids=['3x2', 'H-k-by-n-bound', 'X.T-bound'])
def test_a_non_square_matrix_has_no_square_only_property(predicate, matrix, dims):
    assert Properties([Q.fullrank(H), Q.fullrank(X)], dims=dims).ask(predicate, matrix) is False


@pytest.mark.parametrize('predicate', SQUARE_ONLY)
def test_unbound_shapes_are_not_assumed_non_square(predicate):
    assert Properties().ask(predicate, MatrixSymbol('W', n, k)) is None


def test_non_square_full_rank():
    facts = Properties([Q.fullrank(H)], dims=DIMS)
    assert facts.ask('fullrank', H) is True
    assert facts.ask('fullrank', H.T) is True
    assert facts.ask('fullrank', Y) is None


# Identity and ZeroMatrix ------------------------------------------------------

@pytest.mark.parametrize('predicate', PREDICATES)
def test_identity_has_every_property(predicate):
    assert Properties().ask(predicate, Identity(n)) is True


ZERO = {'symmetric': True, 'positive_semidefinite': True, 'lower_triangular': True,
        'upper_triangular': True, 'diagonal': True, 'positive_definite': False,
        'invertible': False, 'fullrank': False, 'orthogonal': False}


@pytest.mark.parametrize('predicate, expected', ZERO.items(),
                         ids=[f'{q}={v}' for q, v in ZERO.items()])
def test_zero_matrix_is_everything_but_regular(predicate, expected):
    assert Properties().ask(predicate, ZeroMatrix(n, n)) is expected


def test_rectangular_zero_matrix():
    assert Properties().ask('symmetric', ZeroMatrix(3, 2)) is False
    assert Properties().ask('fullrank', ZeroMatrix(3, 2)) is False


@pytest.mark.parametrize('predicate', ['diagonal', 'symmetric', 'positive_semidefinite'])
def test_a_rectangular_zero_matrix_of_unbound_shape_is_not_taken_for_square(predicate):
    """``ZeroMatrix(n, p)`` was symmetric whatever n and p: its transpose was itself."""
    p = Symbol('p')
    assert Properties().ask(predicate, ZeroMatrix(n, p)) is None
    assert Properties(dims={n: 3, p: 3}).ask(predicate, ZeroMatrix(n, p)) is True
    assert Properties(dims={n: 3, p: 2}).ask(predicate, ZeroMatrix(n, p)) is False


def test_lower_and_upper_triangular_make_a_rectangular_matrix_diagonal_only_if_square():
    """An n x p matrix declared lower and upper triangular (an SVD's Sigma) was concluded
    diagonal, so symmetric, so its own transpose: ``X.T`` came back n x p."""
    p = Symbol('p')
    Y = MatrixSymbol('Y', n, p)
    facts = [Q.lower_triangular(Y), Q.upper_triangular(Y)]
    for predicate in ('diagonal', 'symmetric'):
        assert Properties(facts).ask(predicate, Y) is None
        assert Properties(facts, dims={n: 4, p: 3}).ask(predicate, Y) is False
        assert Properties(facts, dims={n: 3, p: 3}).ask(predicate, Y) is True
    import computations
    f = computations.function([Y], [Y.T, 2 * Y.T], facts)
    y = np.zeros((4, 3))
    np.fill_diagonal(y, [1.0, 2.0, 3.0])
    got = f(y)
    assert [g.shape for g in got] == [(3, 4), (3, 4)]
    assert np.array_equal(got[0], y.T) and np.array_equal(got[1], 2 * y.T)


def test_a_rectangular_matrix_keeps_its_transpose_where_the_sizes_make_it_square():
    """X n x p, lower and upper triangular, is diagonal (so symmetric) where n = p: the
    canonical form wrote X for X.T, and ``X.T*Y`` became ``X*Y``, an n x p times an n x p
    that no routine computes (NotImplementedError at the first square call)."""
    import computations
    p = Symbol('p')
    X, Y = MatrixSymbol('X', n, p), MatrixSymbol('Y', n, p)
    f = computations.function([X, Y], X.T * Y, [Q.lower_triangular(X), Q.upper_triangular(X)])
    for x, y in ((np.eye(3, 2) * 2, np.ones((3, 2))),
                 (np.diag([1.0, 2.0, 3.0]), np.arange(9.0).reshape(3, 3))):
        assert np.allclose(f(x, y), x.T @ y)


# Transposes ---------------------------------------------------------------------

@check([
    ('lower_triangular', U.T, True), ('upper_triangular', L.T, True),
    ('lower_triangular', L.T, None), ('upper_triangular', U.T, None),
    ('symmetric', T.T, True), ('positive_definite', S.T, True),
    ('positive_semidefinite', S.T, True), ('diagonal', D.T, True), ('invertible', A.T, True),
    ('orthogonal', O.T, True), ('fullrank', X.T, True), ('fullrank', H.T, True),
    ('symmetric', M.T, None), ('positive_definite', T.T, None),
    ('symmetric', Transpose(H * S * H.T), True), ('lower_triangular', Transpose(U * U2), True),
])
def test_transpose(predicate, expr, expected):
    assert standard().ask(predicate, expr) is expected


# Inverses -----------------------------------------------------------------------

@check([
    ('positive_definite', S.I, True), ('symmetric', S.I, True),
    ('positive_semidefinite', S.I, True), ('invertible', S.I, True),
    ('symmetric', T.I, True),             # an inverse of a symmetric matrix, when it exists
    ('positive_definite', T.I, None), ('positive_semidefinite', T.I, None),
    ('lower_triangular', L.I, True), ('upper_triangular', U.I, True),
    ('upper_triangular', L.I, None), ('diagonal', D.I, True),
    ('fullrank', A.I, True), ('invertible', A.I, True), ('orthogonal', O.I, True),
    ('fullrank', M.I, None), ('symmetric', A.I, None),
    ('positive_definite', Inverse(R + H * S * H.T), True),
    ('lower_triangular', Inverse(L * L2), True),
])
def test_inverse(predicate, expr, expected):
    assert standard().ask(predicate, expr) is expected


# Sums ---------------------------------------------------------------------------

@check([
    ('symmetric', S + T, True), ('symmetric', S - 3 * T, True), ('symmetric', T + e * T2, True),
    ('symmetric', S + M, None), ('symmetric', T + A, None),
    ('lower_triangular', L + L2, True), ('lower_triangular', L - 2 * D, True),
    ('lower_triangular', L + U, None),
    ('upper_triangular', U + 2 * U2, True), ('upper_triangular', L.T + U, True),
    ('diagonal', D + 2 * D2, True), ('diagonal', D + L, None), ('diagonal', L + U, None),
])
def test_sum_of_terms_with_the_property(predicate, expr, expected):
    assert standard().ask(predicate, expr) is expected


@check([
    ('positive_definite', S + S2, True),
    ('positive_definite', R + H * S * H.T, True),           # the Kalman innovation covariance
    ('positive_definite', S + H.T * H, True),               # PD plus PSD
    ('positive_definite', 2 * S + c * S2, True),            # c declared positive
    ('positive_definite', S + Rational(1, 2) * H.T * R * H, True),
    ('positive_definite', S + Identity(n), True),
    ('positive_definite', S + T, None),                     # T only symmetric
    ('positive_definite', S - S2, None),                    # a negative coefficient
    ('positive_definite', S + d * S2, None),                # d declared negative
    ('positive_definite', S + e * S2, None),                # e unknown
    ('positive_definite', H.T * H + X * X.T, None),         # semidefinite terms only
    ('positive_definite', S + M, None),
    ('positive_semidefinite', H.T * H + X * X.T, True),
    ('positive_semidefinite', S + c * H.T * H, True),
    ('positive_semidefinite', S - S2, None),
    ('positive_semidefinite', S + e * S2, None),
    ('invertible', R + H * S * H.T, True),                  # through positive definite
    ('fullrank', S + S2, True),
])
def test_sum_definite_and_semidefinite(predicate, expr, expected):
    assert standard().ask(predicate, expr) is expected


# Scalings -----------------------------------------------------------------------

q_positive = Symbol('q', positive=True)


@check([
    ('positive_definite', 2 * S, True), ('positive_definite', Rational(1, 3) * S, True),
    ('positive_definite', c * S, True), ('positive_definite', q_positive * S, True),
    ('positive_definite', -2 * S, None), ('positive_definite', d * S, None),
    ('positive_definite', e * S, None), ('positive_definite', c * d * S, None),
    ('positive_semidefinite', c * S, True), ('positive_semidefinite', -S, None),
    ('symmetric', -2 * T, True), ('symmetric', e * T, True), ('symmetric', e * M, None),
    ('lower_triangular', -3 * L, True), ('upper_triangular', e * U, True),
    ('diagonal', d * D, True),
    ('invertible', -2 * A, True), ('invertible', c * A, True), ('invertible', d * A, True),
    ('invertible', e * A, None), ('invertible', 2 * M, None),
    ('orthogonal', -O, True), ('orthogonal', 2 * O, None),
])
def test_scaling(predicate, expr, expected):
    assert standard().ask(predicate, expr) is expected


# Products -----------------------------------------------------------------------

@check([
    ('symmetric', M * M.T, True), ('symmetric', M.T * M, True),
    ('positive_semidefinite', M * M.T, True), ('positive_semidefinite', M.T * M, True),
    ('positive_definite', M * M.T, None),                   # M may be singular
    ('positive_definite', A * A.T, True), ('positive_definite', A.T * A, True),
    ('positive_definite', 3 * A.T * A, True), ('positive_definite', -A.T * A, None),
    ('symmetric', X * X.T, True), ('positive_semidefinite', X * X.T, True),
    ('positive_definite', X.T * X, True),                   # 10 x 3 of full rank: columns
    ('invertible', X.T * X, True), ('fullrank', X.T * X, True),
    ('positive_definite', Y.T * Y, None),                   # rank unknown
    ('positive_semidefinite', Y.T * Y, True),
    ('symmetric', M * N, None), ('symmetric', M * M, None),
])
def test_gram_products(predicate, expr, expected):
    assert standard().ask(predicate, expr) is expected


@pytest.mark.parametrize('predicate', ['positive_definite', 'invertible'])
def test_a_wide_gram_product_is_not_proved_regular(predicate):
    # X is 10 x 3: X*X.T has rank 3 and is singular.
    assert standard().ask(predicate, X * X.T) is not True


@pytest.mark.parametrize('dims, expected', [
    (DIMS, True),                        # n=10 >= p=3: full column rank
    ({n: 2, k: 4, p: 3}, None),          # n=2 < p=3: X.T*X (3 x 3, rank 2) is singular
    (None, None),                        # sizes unknown
], ids=['tall', 'wide', 'unbound'])
def test_gram_product_definite_depends_on_the_bound_sizes(dims, expected):
    assert standard(dims).ask('positive_definite', X.T * X) is expected


@check([
    ('symmetric', H * S * H.T, True), ('positive_semidefinite', H * S * H.T, True),
    ('positive_definite', H * S * H.T, True),               # H 4 x 10 of full (row) rank
    ('symmetric', H * T * H.T, True), ('positive_semidefinite', H * T * H.T, None),
    ('symmetric', H * M * H.T, None), ('positive_definite', H * M * H.T, None),
    ('positive_semidefinite', H.T * R * H, True),
    ('positive_definite', H.T * R * H, None),               # 10 x 10 of rank 4
    ('positive_definite', 2 * H * S * H.T, True), ('positive_definite', -H * S * H.T, None),
    ('positive_definite', A * S * A.T, True), ('positive_definite', A.T * S.I * A, True),
    ('positive_definite', M * S * M.T, None), ('positive_semidefinite', M * S * M.T, True),
    ('symmetric', A * S * B.T, None), ('symmetric', A * S * A, None),
])
def test_congruence(predicate, expr, expected):
    assert standard().ask(predicate, expr) is expected


@pytest.mark.parametrize('dims', [{n: 3, k: 4, p: 3}, None],
                         ids=['more-rows-than-columns', 'unbound'])
def test_congruence_is_not_definite_without_full_row_rank(dims):
    assert standard(dims).ask('positive_definite', H * S * H.T) is None


@check([
    ('symmetric', S * H.T * R.I * H * S, True),
    ('positive_semidefinite', S * H.T * R.I * H * S, True),
    ('positive_definite', S * H.T * R.I * H * S, None),     # H*S is 4 x 10: rank 4
    ('symmetric', S * H.T * T * H * S, True),
    ('positive_semidefinite', S * H.T * T * H * S, None),
    ('positive_definite', S * A.T * S2.I * A * S, True),    # A*S square and invertible
    ('symmetric', S * H.T * R.I * H * T, None),             # not a palindrome
    ('symmetric', S * H.T * M * H * S, None),
    ('positive_semidefinite', S ** 2, True), ('positive_definite', S ** 2, True),
    ('positive_definite', MatPow(S, -2), True),
    ('positive_semidefinite', T ** 2, True), ('positive_definite', T ** 2, None),
    ('positive_definite', A ** 2, None),
])
def test_palindromes_and_powers(predicate, expr, expected):
    assert standard().ask(predicate, expr) is expected


@check([
    ('lower_triangular', L * L2, True), ('lower_triangular', 2 * L * L2.I, True),
    ('lower_triangular', L ** 3, True), ('lower_triangular', MatPow(L, -2), True),
    ('lower_triangular', L * D, True), ('lower_triangular', U.T * L, True),
    ('upper_triangular', U * L.T, True), ('upper_triangular', U * U2 * D, True),
    ('lower_triangular', L * U, None), ('upper_triangular', L * U, None),
    ('lower_triangular', L * M, None),
    ('diagonal', D * D2, True), ('symmetric', D * D2, True), ('diagonal', D * L, None),
    ('symmetric', D * L, None),
])
def test_triangular_products(predicate, expr, expected):
    assert standard().ask(predicate, expr) is expected


@check([
    ('invertible', A * B, True), ('invertible', A * S * O, True), ('invertible', 2 * A * B.I, True),
    ('invertible', A ** 2, True), ('invertible', MatPow(A, -3), True),
    ('invertible', A * M, None), ('invertible', L * L2, None),
    ('invertible', H.T * H, None),
    ('fullrank', A * B, True),
    ('orthogonal', O * O.T, True), ('orthogonal', O * A, None),
])
def test_invertible_products(predicate, expr, expected):
    assert standard().ask(predicate, expr) is expected


# Cholesky factors ---------------------------------------------------------------

@check([
    ('lower_triangular', LofCholesky(S), True), ('invertible', LofCholesky(S), True),
    ('fullrank', LofCholesky(S), True), ('upper_triangular', LofCholesky(S).T, True),
    ('invertible', LofCholesky(T), None), ('invertible', LofCholesky(M), None),
    ('invertible', LofCholesky(R + H * S * H.T), True),
    ('symmetric', LofCholesky(S), None),
])
def test_cholesky_factor(predicate, expr, expected):
    assert standard().ask(predicate, expr) is expected


# Unknowns stay unknown ------------------------------------------------------------

@check([
    ('symmetric', M, None), ('positive_definite', A, None), ('lower_triangular', A, None),
    ('diagonal', S, None), ('invertible', M, None), ('orthogonal', A, None),
    ('symmetric', A * B, None), ('symmetric', S * T, None),
    ('positive_definite', S * S2, None),                    # not even symmetric
    ('positive_definite', S * S2 * S, True),                # but this is a congruence
    ('positive_definite', T * S * T, None), ('positive_semidefinite', T * S * T, True),
    ('positive_definite', M + M.T, None), ('symmetric', M + M.T, None),
    ('symmetric', MatPow(S, k), None), ('positive_definite', S - Identity(n), None),
])
def test_unknowns_stay_unknown(predicate, expr, expected):
    assert standard().ask(predicate, expr) is expected


@pytest.mark.parametrize(
    'Z_fact', [None, Q.symmetric, Q.positive_definite, Q.diagonal, Q.invertible],
    ids=['unknown', 'symmetric', 'positive_definite', 'diagonal', 'invertible'])
@pytest.mark.parametrize('gram', ['Z*Z.T', 'Z.T*Z'])
def test_gram_product_is_semidefinite_whatever_is_known_of_the_factor(gram, Z_fact):
    """Z*Z.T and Z.T*Z are semidefinite whatever Z is: a fact on Z must not lose that.

    With no fact on Z the answer is True; declaring Z symmetric (or more)
    must not turn it into None.
    """
    Z = MatrixSymbol('Z', n, n)
    facts = Properties([] if Z_fact is None else [Z_fact(Z)])
    expr = Z * Z.T if gram == 'Z*Z.T' else Z.T * Z
    assert facts.ask('positive_semidefinite', expr) is True


@pytest.mark.parametrize('Z_fact', [Q.symmetric, Q.positive_definite, Q.diagonal],
                         ids=['symmetric', 'positive_definite', 'diagonal'])
def test_gram_product_of_a_symmetric_factor_in_canonical_form(Z_fact):
    Z = MatrixSymbol('Z', n, n)
    facts = Properties([Z_fact(Z)])
    canonical = facts.canonical(Z * Z.T)
    assert canonical == Z ** 2
    assert facts.ask('symmetric', canonical) is True
    assert facts.ask('positive_semidefinite', canonical) is True


def test_answers_are_remembered_consistently():
    facts = standard()
    first = [facts.ask(q, R + H * S * H.T) for q in PREDICATES]
    assert [facts.ask(q, R + H * S * H.T) for q in PREDICATES] == first


# Errors and the shape of the assumptions -------------------------------------------

@pytest.mark.parametrize('predicate', ['hermitian', 'spd', 'Symmetric', ''])
def test_unknown_predicate_raises_value_error(predicate):
    with pytest.raises(ValueError, match='unknown predicate'):
        standard().ask(predicate, S)


@pytest.mark.parametrize('assumption', [
    S, 'symmetric', Q.symmetric(S) | Q.symmetric(T), sympy.Implies(Q.symmetric(S), Q.symmetric(T)),
], ids=['matrix', 'string', 'Or', 'Implies'])
def test_non_predicate_assumptions_raise_type_error(assumption):
    with pytest.raises(TypeError, match='predicates'):
        Properties([assumption])


def test_a_single_assumption_need_not_be_in_a_list():
    assert Properties(Q.positive_definite(S)).ask('invertible', S) is True


@pytest.mark.parametrize('assumptions', [
    Q.positive_definite(S) & Q.lower_triangular(L) & Q.positive(c),
    [Q.positive_definite(S) & Q.lower_triangular(L), Q.positive(c)],
    [sympy.And(Q.positive_definite(S), sympy.And(Q.lower_triangular(L), Q.positive(c),
                                                 evaluate=False), evaluate=False)],
    [True, sympy.true, Q.positive_definite(S), Q.lower_triangular(L) & Q.positive(c)],
], ids=['And', 'And-in-a-list', 'nested-And', 'with-True'])
def test_and_assumptions_are_flattened(assumptions):
    facts = Properties(assumptions)
    assert facts.ask('positive_definite', c * S) is True
    assert facts.ask('lower_triangular', L * L) is True


def test_negated_facts_prove_nothing():
    facts = Properties([~Q.symmetric(M), Q.symmetric(T)])
    assert facts.ask('symmetric', M) is None
    assert facts.ask('symmetric', T) is True


# SymPy's own ask is wrong or unhelpful here --------------------------------------------

SYMPY_DIFFERS = [
    # SymPy answers False, but M may well be symmetric (M = S, say): the answer is unknown.
    ('symmetric', S + M, Q.symmetric(S), False, None),
    # SymPy does not see that R + H*Sigma*H.T is positive definite, hence invertible.
    ('invertible', R + H * S * H.T,
     Q.positive_definite(S) & Q.positive_definite(R) & Q.fullrank(H), None, True),
    # SymPy does not see through the congruence.
    ('symmetric', H * S * H.T, Q.positive_definite(S), None, True),
]


@pytest.mark.parametrize('predicate, expr, assumptions, sympy_answer, ours', SYMPY_DIFFERS,
                         ids=[f'{q}({expr})' for q, expr, *_ in SYMPY_DIFFERS])
def test_our_answer_where_sympy_is_wrong_or_unhelpful(predicate, expr, assumptions, sympy_answer,
                                                       ours):
    assert sympy.ask(getattr(Q, predicate)(expr), assumptions) is sympy_answer
    assert Properties(assumptions).ask(predicate, expr) is ours


# Helpers ------------------------------------------------------------------------

@pytest.mark.parametrize('dim, expected', [(n, 10), (n + 1, 11), (3, 3), (Symbol('m'), None)],
                         ids=['n', 'n+1', '3', 'unbound'])
def test_size(dim, expected):
    assert standard().size(dim) == expected


@pytest.mark.parametrize('a, b, dims, expected', [
    (n, k, DIMS, 6), (k, n, DIMS, -6), (n, n, None, 0), (n + 1, n, None, 1),
    (n, k, None, None), (3, 2, None, 1),
], ids=['n-k', 'k-n', 'n-n-unbound', 'n+1-n-unbound', 'n-k-unbound', '3-2'])
def test_compare(a, b, dims, expected):
    assert Properties(dims=dims).compare(a, b) == expected


@pytest.mark.parametrize('matrix, dims, expected', [
    (S, None, True), (H, DIMS, False), (H, None, None), (MatrixSymbol('W', 3, 2), None, False),
    (H * H.T, None, True),
], ids=['S', 'H-bound', 'H-unbound', '3x2', 'H*H.T'])
def test_square(matrix, dims, expected):
    assert Properties(dims=dims).square(matrix) is expected


@pytest.mark.parametrize('matrix, dims, expected', [
    (X, DIMS, True), (X.T, DIMS, False), (Y, DIMS, None), (X, None, None), (A, None, True),
    (H.T, DIMS, True),
], ids=['X-tall', 'X.T-wide', 'Y-unknown-rank', 'X-unbound', 'A-square', 'H.T-tall'])
def test_full_column_rank(matrix, dims, expected):
    assert standard(dims).full_column_rank(matrix) is expected


@pytest.mark.parametrize('scalar, expected', [
    (2, 1), (Rational(-1, 2), -1), (0, 0), (c, 1), (d, -1), (e, None), (c * d, -1), (-d, 1),
    (c + 1, 1), (q_positive, 1), (c ** 2 + 1, 1), (sympy.I, None),
], ids=['2', '-1/2', '0', 'c', 'd', 'e', 'c*d', '-d', 'c+1', 'q', 'c**2+1', 'I'])
def test_sign(scalar, expected):
    assert standard().sign(scalar) == expected


@pytest.mark.parametrize('expr, expected', [
    (S, S), (A, A.T), (A.T, A), (S * A, A.T * S), (T + M, T + M.T), (A.I, Inverse(A.T)),
    (H * S * H.T, H * S * H.T), (2 * A * B, 2 * B.T * A.T),
], ids=['S', 'A', 'A.T', 'S*A', 'T+M', 'A.I', 'H*S*H.T', '2*A*B'])
def test_transpose_helper(expr, expected):
    assert standard().transpose(expr) == expected


@pytest.mark.parametrize('expr, expected', [
    (Transpose(A * S), S * A.T), (Inverse(S * A), A.I * S.I), (S.T * T.T, S * T),
    (Transpose(R + H * S * H.T), R + H * S * H.T),
], ids=['(A*S).T', '(S*A).I', 'S.T*T.T', '(R+H*S*H.T).T'])
def test_canonical_helper(expr, expected):
    assert standard().canonical(expr) == expected


@pytest.mark.parametrize('expr, coefficient, factors', [
    (A, 1, [A]), (2 * A * B, 2, [A, B]), (A ** 2, 1, [A, A]), (MatPow(A, -2), 1, [A.I, A.I]),
    (c * S * A ** 2, c, [S, A, A]),
], ids=['A', '2*A*B', 'A**2', 'A**-2', 'c*S*A**2'])
def test_split_product(expr, coefficient, factors):
    assert split_product(expr) == (coefficient, factors)


# Property test: no wrong True ------------------------------------------------------

m = Symbol('m')
SIZES = {n: 4, m: 2}

#: data kind -> the facts its numbers satisfy (in the square case).
KINDS = {
    'spd': ('positive_definite', 'symmetric', 'invertible', 'fullrank'),
    'psd': ('symmetric',),                       # singular, semidefinite
    'symmetric': ('symmetric', 'invertible', 'fullrank'),
    'lower': ('lower_triangular', 'invertible', 'fullrank'),
    'upper': ('upper_triangular', 'invertible', 'fullrank'),
    'diagonal': ('diagonal', 'symmetric', 'lower_triangular', 'upper_triangular', 'invertible',
                 'fullrank'),
    'orthogonal': ('orthogonal', 'invertible', 'fullrank'),
    'general': ('invertible', 'fullrank'),
    'singular': (),
}
RECTANGULAR_KINDS = {'fullrank': ('fullrank',), 'rankdef': (),
                     # trapezoidal: a rectangular matrix may be declared triangular, and
                     # both at once (an SVD's Sigma), which makes it neither diagonal nor
                     # symmetric
                     'lower_trapezoidal': ('lower_triangular', 'fullrank'),
                     'upper_trapezoidal': ('upper_triangular', 'fullrank'),
                     'rectangular_diagonal': ('lower_triangular', 'upper_triangular',
                                              'fullrank')}
SCALARS = {Symbol('c'): 1.7, Symbol('d'): -0.6, Symbol('e'): -1.3}
SCALAR_FACTS = [Q.positive(Symbol('c')), Q.negative(Symbol('d'))]


def _spread(rng, size):
    """Values of size 1 to 2 with random signs."""
    return rng.uniform(1, 2, size) * rng.choice([-1, 1], size)


def make(kind, rows, cols, rng):
    """Numbers of the given kind: well conditioned unless the kind is singular."""
    G = rng.standard_normal((rows, cols))
    if kind == 'spd':
        return G @ G.T + rows * np.eye(rows)
    if kind == 'psd':
        F = rng.standard_normal((rows, max(rows - 2, 1)))
        return F @ F.T
    if kind == 'symmetric':                     # indefinite, eigenvalues of size 1 to 2
        Q_ = np.linalg.qr(G)[0]
        return Q_ @ np.diag(_spread(rng, rows)) @ Q_.T
    if kind == 'lower':
        return np.tril(G, -1) + np.diag(_spread(rng, rows))
    if kind == 'upper':
        return np.triu(G, 1) + np.diag(_spread(rng, rows))
    if kind == 'diagonal':
        return np.diag(rng.uniform(0.5, 2, rows) * rng.choice([-1, 1], rows))
    if kind == 'orthogonal':
        return np.linalg.qr(G)[0]
    if kind == 'general':                       # singular values of size 1 to 2
        return np.linalg.qr(G)[0] @ np.diag(_spread(rng, rows)) @ np.linalg.qr(G.T)[0]
    if kind == 'singular':
        return np.outer(G[:, 0], G[0])
    if kind == 'fullrank':
        left = np.linalg.qr(rng.standard_normal((rows, rows)))[0]
        right = np.linalg.qr(rng.standard_normal((cols, cols)))[0]
        sigma = np.zeros((rows, cols))
        np.fill_diagonal(sigma, rng.uniform(1, 2, min(rows, cols)))
        return left @ sigma @ right
    if kind == 'rankdef':
        return np.outer(G[:, 0], G[0])
    if kind in ('lower_trapezoidal', 'upper_trapezoidal', 'rectangular_diagonal'):
        part = {'lower_trapezoidal': np.tril(G, -1), 'upper_trapezoidal': np.triu(G, 1),
                'rectangular_diagonal': np.zeros_like(G)}[kind]
        np.fill_diagonal(part, _spread(rng, min(rows, cols)))
        return part
    raise AssertionError(kind)


@st.composite
def symbol_pool(draw):
    """Symbols of shapes n x n, m x m, n x m and m x n with a data kind and declared facts."""
    shapes = [('A', n, n), ('B', n, n), ('C', n, n), ('K', m, m), ('V', n, m), ('W', m, n)]
    pool = []
    for name, rows, cols in shapes:
        kinds = KINDS if rows == cols else RECTANGULAR_KINDS
        kind = draw(st.sampled_from(sorted(kinds) + (['spd'] * 3 if rows == cols else [])))
        declared = draw(st.lists(st.sampled_from(kinds[kind]), unique=True)) if kinds[kind] else []
        pool.append((MatrixSymbol(name, rows, cols), kind, declared))
    return pool


def _leaves(pool, rows, cols):
    return [s for s, _, _ in pool if s.shape == (rows, cols)]


@st.composite
def square_expressions(draw, pool, size, depth):
    other = m if size == n else n
    ops = ['leaf']
    if depth > 0:
        ops += ['leaf'] * 4 + [
            'transpose', 'Transpose', 'inverse', 'leaf_inverse', 'product', 'sum', 'difference',
            'scale', 'combination', 'combination', 'gram', 'congruence', 'square_congruence',
            'through', 'power', 'cholesky']
    op = draw(st.sampled_from(ops))
    sub = lambda: draw(square_expressions(pool, size, depth - 1))  # noqa: E731
    if op == 'leaf':
        return draw(st.sampled_from(_leaves(pool, size, size) * 3 + [Identity(size)]))
    if op == 'transpose':
        return sub().T
    if op == 'Transpose':
        return Transpose(sub())
    if op == 'inverse':
        inner = sub()
        return inner if inner.has(ZeroMatrix) else Inverse(inner)
    if op == 'leaf_inverse':
        return Inverse(draw(st.sampled_from(_leaves(pool, size, size))))
    if op == 'product':
        return sub() * sub()
    if op == 'sum':
        return sub() + sub()
    if op == 'difference':
        return sub() - sub()
    if op == 'scale':
        return draw(st.sampled_from([2, -3, Rational(1, 2), *SCALARS])) * sub()
    if op == 'combination':
        coefficients = draw(st.lists(st.sampled_from([1, 2, -1, *SCALARS]), min_size=2, max_size=3))
        return sympy.MatAdd(*[a * sub() for a in coefficients]).doit()
    if op == 'gram':
        Z = draw(st.sampled_from(_leaves(pool, size, other) + _leaves(pool, size, size)))
        return Z * Z.T
    if op == 'congruence':
        Z = draw(st.sampled_from(_leaves(pool, size, other)))
        inner = draw(square_expressions(pool, other, depth - 1))
        return Z * inner * Z.T if draw(st.booleans()) else Z * inner * Transpose(Z)
    if op == 'through':                             # size x other x other x size, any factors
        rectangular = _leaves(pool, size, other) + [Z.T for Z in _leaves(pool, other, size)]
        left, right = draw(st.sampled_from(rectangular)), draw(st.sampled_from(rectangular))
        return left * draw(square_expressions(pool, other, depth - 1)) * right.T
    if op == 'square_congruence':
        Z, inner = sub(), sub()
        return Z.T * inner * Z
    if op == 'power':
        inner = sub()
        exponent = draw(st.sampled_from([2, 3] if inner.has(ZeroMatrix) else [2, 3, -2]))
        return MatPow(inner, exponent)
    if op == 'cholesky':
        return LofCholesky(draw(st.sampled_from(_leaves(pool, size, size))))
    raise AssertionError(op)


class Undefined(Exception):
    """The expression has no value on these numbers (a singular inverse, no Cholesky factor)."""


def evaluate(expr, env, memo):
    if expr in memo:
        return memo[expr]
    if expr in env:
        value = env[expr]
    elif isinstance(expr, Identity):
        value = np.eye(SIZES[expr.rows] if expr.rows in SIZES else int(expr.rows))
    elif isinstance(expr, ZeroMatrix):
        value = np.zeros(tuple(SIZES.get(s, s) for s in expr.shape))
    elif isinstance(expr, Transpose):
        value = evaluate(expr.arg, env, memo).T
    elif isinstance(expr, Inverse):
        value = _inv(evaluate(expr.arg, env, memo))
    elif isinstance(expr, MatPow):
        base = evaluate(expr.base, env, memo)
        value = np.linalg.matrix_power(base if expr.exp > 0 else _inv(base), abs(int(expr.exp)))
    elif isinstance(expr, MatMul):
        value = None
        scalar = 1.0
        for arg in expr.args:
            if isinstance(arg, sympy.MatrixExpr):
                a = evaluate(arg, env, memo)
                value = a if value is None else value @ a
            else:
                scalar *= float(arg.subs(SCALARS))
        value = scalar * value
    elif isinstance(expr, sympy.MatAdd):
        value = sum(evaluate(a, env, memo) for a in expr.args)
    elif isinstance(expr, LofCholesky):
        try:
            value = np.linalg.cholesky(evaluate(expr.arg, env, memo))
        except np.linalg.LinAlgError:
            raise Undefined(expr) from None
    else:
        raise AssertionError(f'cannot evaluate {expr!r}')
    memo[expr] = value
    return value


def _inv(a):
    if np.linalg.cond(a) > 1e8:
        raise Undefined('singular')
    return np.linalg.inv(a)


def _scale(V):
    return max(1.0, np.abs(V).max())


def holds(predicate, V):
    """Whether the numbers V have the property (with a relative tolerance)."""
    tol = 1e-10 * _scale(V)
    square = V.shape[0] == V.shape[1]
    singular_values = np.linalg.svd(V, compute_uv=False)
    regular = singular_values[-1] > 1e-9 * singular_values[0]
    if predicate == 'fullrank':
        return regular
    if predicate == 'lower_triangular':          # a rectangular one is trapezoidal
        return np.abs(np.triu(V, 1)).max(initial=0.0) <= tol
    if predicate == 'upper_triangular':
        return np.abs(np.tril(V, -1)).max(initial=0.0) <= tol
    if not square:
        return False
    symmetric = np.abs(V - V.T).max() <= tol
    if predicate == 'symmetric':
        return symmetric
    if predicate == 'positive_definite':
        try:
            np.linalg.cholesky((V + V.T) / 2)
        except np.linalg.LinAlgError:
            return False
        return symmetric and regular
    if predicate == 'positive_semidefinite':
        return symmetric and np.linalg.eigvalsh((V + V.T) / 2).min() >= -1e-8 * _scale(V)
    if predicate == 'diagonal':
        return np.abs(V - np.diag(np.diag(V))).max() <= tol
    if predicate == 'invertible':
        return regular
    if predicate == 'orthogonal':
        return np.abs(V.T @ V - np.eye(len(V))).max() <= 1e-8
    raise AssertionError(predicate)


def robustly_fails(predicate, V):
    """Whether the numbers V clearly lack the property (for checking False answers)."""
    square = V.shape[0] == V.shape[1]
    if predicate not in ('fullrank', 'lower_triangular', 'upper_triangular') and not square:
        return True
    if predicate in ('fullrank', 'invertible'):
        s = np.linalg.svd(V, compute_uv=False)
        return s[-1] <= 1e-12 * s[0] or s[0] == 0
    if predicate in ('positive_definite', 'orthogonal'):
        return not holds(predicate, V)
    return not holds(predicate, V) and np.abs(V).max() > 0


def _problem(pool_expr_seed):
    pool, expr, seed = pool_expr_seed
    rng = np.random.default_rng(seed)
    env = {s: make(kind, SIZES[s.rows], SIZES[s.cols], rng) for s, kind, _ in pool}
    declared = [getattr(Q, q)(s) for s, _, facts in pool for q in facts] + SCALAR_FACTS
    return env, declared


@st.composite
def problems(draw):
    pool = draw(symbol_pool())
    size = draw(st.sampled_from([n, m]))
    expr = draw(square_expressions(pool, size, draw(st.integers(2, 4))))
    return pool, expr, draw(st.integers(0, 2 ** 32 - 1))


def _subexpressions(expr):
    return [node for node in sympy.preorder_traversal(expr) if isinstance(node, sympy.MatrixExpr)]


@settings(max_examples=300,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(problems(), st.booleans())
def test_every_true_answer_holds_on_numbers_satisfying_the_facts(problem, bind_dims):
    """The guard against wrong Trues: each True (and False) answer checked on numbers."""
    env, declared = _problem(problem)
    facts = Properties(declared, dims=SIZES if bind_dims else None)
    memo = {}
    checked = 0
    for sub in _subexpressions(problem[1]):
        try:
            V = evaluate(sub, env, memo)
        except Undefined:
            continue
        for predicate in PREDICATES:
            answer = facts.ask(predicate, sub)
            if answer is True:
                assert holds(predicate, V), f'{predicate}({sub}) answered True under {declared}'
            elif answer is False:
                assert robustly_fails(predicate, V), f'{predicate}({sub}) answered False'
            checked += 1
    assume(checked)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_answers_do_not_depend_on_the_order_of_questions(problem):
    """A shared Properties answers every question as a fresh one does."""
    env, declared = _problem(problem)
    shared = Properties(declared, dims=SIZES)       # asked from the leaves up
    for sub in reversed(_subexpressions(problem[1])):
        fresh = Properties(declared, dims=SIZES)    # asked this expression first, in another order
        answers = {predicate: fresh.ask(predicate, sub) for predicate in reversed(PREDICATES)}
        for predicate in PREDICATES:
            assert shared.ask(predicate, sub) is answers[predicate], f'{predicate}({sub})'


def _all_true_facts(pool):
    return [getattr(Q, q)(s) for s, kind, _ in pool
            for q in (KINDS if s.rows == s.cols else RECTANGULAR_KINDS)[kind]] + SCALAR_FACTS


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
@example(([(MatrixSymbol('A', n, n), 'diagonal', []), (MatrixSymbol('B', n, n), 'spd', []),
           (MatrixSymbol('C', n, n), 'symmetric', []), (MatrixSymbol('K', m, m), 'spd', []),
           (MatrixSymbol('V', n, m), 'fullrank', []), (MatrixSymbol('W', m, n), 'fullrank', [])],
          MatrixSymbol('A', n, n) * MatrixSymbol('A', n, n).T, 0))   # A diagonal: A*A.T is A**2
def test_more_facts_never_lose_an_answer(problem):
    """Declaring every true fact of the data proves at least what a subset of them proves."""
    pool, expr, _ = problem
    _, declared = _problem(problem)
    some = Properties(declared, dims=SIZES)
    every = Properties(_all_true_facts(pool), dims=SIZES)
    for sub in _subexpressions(expr):
        for predicate in PREDICATES:
            answer = some.ask(predicate, sub)
            if answer is not None:
                assert every.ask(predicate, sub) is answer, f'{predicate}({sub})'


# Bounds on scalar symbols ------------------------------------------------------

_k = Symbol('k')
_RELATIONS = {'gt': (lambda c: Q.gt(_k, c), lambda v, c: v > c),
              'ge': (lambda c: Q.ge(_k, c), lambda v, c: v >= c),
              'lt': (lambda c: Q.lt(_k, c), lambda v, c: v < c),
              'le': (lambda c: Q.le(_k, c), lambda v, c: v <= c),
              'positive shifted': (lambda c: Q.positive(_k - c), lambda v, c: v > c),
              'negative shifted': (lambda c: Q.negative(_k - c), lambda v, c: v < c),
              'reversed': (lambda c: Q.lt(c, _k), lambda v, c: v > c)}


@given(st.sampled_from(sorted(_RELATIONS)), st.integers(-3, 3),
       st.sampled_from([_k, _k - 1, _k + 2, _k / (_k - 1), (_k + 1) / (_k - 2), 2 - _k,
                        _k ** 2 - 1, 1 / _k, -_k / (_k + 3)]),
       st.lists(st.floats(0, 50), min_size=5, max_size=5))
def test_a_sign_inferred_from_a_bound_holds_for_numbers_within_it(relation, bound, expr,
                                                                  offsets):
    """Whenever sign() answers under a bound on k, the expression has that sign at every
    k the bound allows (drawn at and beyond the bound)."""
    fact, holds = _RELATIONS[relation]
    sign = Properties([fact(bound)]).sign(expr)
    if sign is None:
        return
    for offset in offsets:
        for value in (bound + offset, bound - offset):
            if not holds(value, bound):
                continue
            number = expr.subs(_k, value)
            if number.is_finite:
                assert sign * float(number) > 0, (fact(bound), expr, value)


def test_bounds_decide_the_sign_of_a_coefficient():
    assert Properties([Q.gt(_k, 1)]).sign(_k / (_k - 1)) == 1
    assert Properties([Q.positive(_k - 1)]).sign(1 - _k) == -1
    assert Properties([Q.ge(_k, 0)]).sign(_k / (_k - 1)) is None      # k = 0.5 is negative
    assert Properties().sign(_k / (_k - 1)) is None


def test_sympys_ask_never_sees_a_trace_and_is_not_asked_without_facts(monkeypatch):
    """``ask``'s time grows fast with the traces in a scalar (a gradient's coefficient
    ``exp(Trace(...))/5`` took 40 s to compile; review K): it is asked only when the facts
    name one of the scalar's symbols, with each trace, determinant and entry a real
    symbol (the matrices are real)."""
    asked = []
    ask = sympy.ask
    monkeypatch.setattr(sympy, 'ask', lambda question, facts=True: asked.append(question)
                        or ask(question, facts))
    A = MatrixSymbol('A', 3, 3)
    coefficient = sympy.exp(sympy.Trace(A * A.T * A) / 10) / 5
    assert Properties().sign(coefficient) is None and not asked
    assert Properties([Q.positive(_k)]).sign(_k * coefficient) == 1     # exp of a real: > 0
    assert asked and not any(q.has(sympy.Trace) for q in asked)
    assert Properties([Q.positive(_k)]).sign(_k * sympy.Trace(A)) is None
    assert Properties([Q.positive(_k)]).sign(-_k * sympy.Determinant(A)**2) is None  # could be 0
    assert Properties([Q.positive(_k)]).sign(-_k * sympy.exp(A[0, 1])) == -1


# Rank through products ----------------------------------------------------------

@st.composite
def _rank_chains(draw):
    """A product of factors of consistent shapes, each invertible (square), full rank
    (tall or wide), or rank one (nothing declared), with numbers for each.

    A declared factor's singular values are drawn from [1, 2] (orthogonal factors around
    them), so a product of up to four has a condition number of at most 16 and its Gram
    matrix at most 256: a True is checked on numbers that show it.  (``standard_normal +
    3*eye`` could be nearly singular; a product of four had a Gram matrix of condition
    1.8e9, past the check's 1e-9 tolerance, and failed under CI.)"""
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    sizes = draw(st.lists(st.integers(2, 6), min_size=2, max_size=5))
    factors, facts, values = [], [], {}
    for i, (rows, cols) in enumerate(zip(sizes, sizes[1:])):
        kind = draw(st.sampled_from(['declared', 'declared', 'rank one']))
        F = MatrixSymbol(f'F{i}', rows, cols)
        if kind == 'declared':
            facts.append(Q.invertible(F) if rows == cols else Q.fullrank(F))
            m = min(rows, cols)
            u, _ = np.linalg.qr(rng.standard_normal((rows, rows)))
            v, _ = np.linalg.qr(rng.standard_normal((cols, cols)))
            values[F] = u[:, :m] @ np.diag(rng.uniform(1, 2, m)) @ v[:, :m].T
        else:
            values[F] = np.outer(rng.standard_normal(rows), rng.standard_normal(cols))
        factors.append(F)
    return factors, facts, values


@given(_rank_chains(), st.booleans())
def test_full_rank_through_products_holds_on_numbers(chain, transpose_first):
    """Each True of fullrank (and positive_definite of the Gram matrix) on a product holds."""
    factors, facts, values = chain
    product = MatMul(*factors)
    properties = Properties(facts)
    number = np.linalg.multi_dot([values[f] for f in factors]) if len(factors) > 1 \
        else values[factors[0]]
    if properties.ask('fullrank', product):
        assert holds('fullrank', number), (product, facts)
    gram = Transpose(product) * product if transpose_first else product * Transpose(product)
    if properties.ask('positive_definite', gram):
        assert holds('positive_definite', number.T @ number if transpose_first
                     else number @ number.T), (gram, facts)


def test_an_invertible_matrix_times_a_tall_full_rank_one_has_full_column_rank():
    A, F = MatrixSymbol('A', n, n), MatrixSymbol('F', n, p)
    facts = Properties([Q.invertible(A), Q.fullrank(F)], dims=DIMS)
    assert facts.ask('fullrank', A * F) and facts.ask('positive_definite', F.T * A.T * A * F)
    assert facts.ask('fullrank', A * Y) is None
