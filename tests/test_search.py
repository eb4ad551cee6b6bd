"""The light matrix-chain order (computations.matrices.compiler.chain) the search uses on
long products: optimal against brute force, evenly split on ties, fast on long chains."""
import functools

import pytest
from hypothesis import example, given, settings, strategies as st

from computations.matrices.compiler.chain import ChainOrder, product_flops


def brute_force(dims):
    @functools.lru_cache(maxsize=None)
    def best(i, j):
        if j - i == 1:
            return 0
        return min(best(i, s) + best(s, j) + product_flops(dims[i], dims[s], dims[j])
                   for s in range(i + 1, j))
    return best


def order_cost(order, dims, i, j):
    """The FLOPs of the tree ``order`` chooses over ``[i, j)``, recomputed from its splits."""
    if j - i == 1:
        return 0
    k = order.split(i, j)
    assert i < k < j
    return order_cost(order, dims, i, k) + order_cost(order, dims, k, j) + \
        product_flops(dims[i], dims[k], dims[j])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 80), min_size=2, max_size=12))
def test_every_sub_chain_is_ordered_optimally(dims):
    order = ChainOrder([(dims[i], dims[i + 1]) for i in range(len(dims) - 1)])
    best = brute_force(tuple(dims))
    for i in range(len(dims) - 1):
        for j in range(i + 1, len(dims)):
            assert order.cost(i, j) == best(i, j) == order_cost(order, dims, i, j)


def test_ties_split_evenly():
    """Squares: every order costs the same, and the tree is balanced (depth log2 L)."""
    order = ChainOrder([(8, 8)] * 64)
    assert order.split(0, 64) == 32 and order.split(0, 32) == 16

    def depth(i, j):
        return 0 if j - i == 1 else 1 + max(depth(i, order.split(i, j)),
                                            depth(order.split(i, j), j))
    assert depth(0, 64) == 6


def test_a_chain_of_two_hundred():
    import random
    rng = random.Random(0)
    dims = [rng.randint(5, 500) for _ in range(201)]
    order = ChainOrder([(dims[i], dims[i + 1]) for i in range(200)])
    assert order.cost(0, 200) == order_cost(order, dims, 0, 200)
    assert order.parenthesized().count('(') == 199


def test_a_proposal_whose_operation_fails_its_shape_precondition_is_skipped():
    """A rule that cannot see a shape precondition (TRMM needs a square A) proposes an
    operation that fails when made: that proposal gives no plan, the others still do."""
    import sympy
    from sympy import MatrixSymbol
    from computations.matrices import GEMM, TRMM
    from computations.matrices.compiler.properties import Properties
    from computations.matrices.compiler.rules import Proposal, _made, need
    from computations.matrices.compiler.search import Planner
    R, C = MatrixSymbol('R', 5, 6), MatrixSymbol('C', 6, 3)
    planner = Planner(Properties(), [R, C])
    needs = (need(R), need(C))
    plans = list(planner.propose([Proposal(needs, lambda r, c: _made(TRMM(1, r.var, c.var))),
                                  Proposal(needs, lambda r, c: _made(GEMM(1, r.var, c.var)))]))
    assert [type(op).__name__ for plan in plans for op in plan.ops] == ['GEMM']
    with pytest.raises(sympy.ShapeError):
        TRMM(1, R, C)


# The SymPy shortcuts the search takes on long products ------------------------------------

_n = __import__('sympy').Symbol('n')
_SQUARES = [__import__('sympy').MatrixSymbol(s, _n, _n) for s in 'ABC']


@st.composite
def plain_factors(draw):
    """A list of matrix symbols and their transposes (neighbours often equal), as factors
    of a product whose shapes match (square) or as split operands of one."""
    factors = [draw(st.sampled_from(_SQUARES)) for _ in range(draw(st.integers(1, 7)))]
    factors = [f.T if draw(st.booleans()) else f for f in factors]
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(factors) - 1)), max_size=3)))
    bounds = [0, *(c for c in cuts if c < len(factors)), len(factors)]
    import sympy
    return [sympy.MatMul(*factors[i:j]) if j - i > 1 else factors[i]
            for i, j in zip(bounds, bounds[1:]) if j > i]


@settings(max_examples=200, deadline=None)
@given(plain_factors())
@example([_SQUARES[0] * _SQUARES[0].T, _SQUARES[0] * _SQUARES[0].T])   # (A*A.T)**2, found in CI
def test_a_plain_product_is_sympys_canonical_product(operands):
    """multiply and transpose_if build plain products without SymPy's canonicalization:
    the result is SymPy's, the same expression (powers are left to SymPy)."""
    import sympy
    from computations.matrices.ops.algebra import multiply, plain_product, transpose_if
    want = sympy.MatMul(*operands).doit()
    got = plain_product(operands)
    assert got is None or (got == want and sympy.srepr(got) == sympy.srepr(want))
    assert multiply(*operands) == want if len(operands) > 1 else True
    assert sympy.srepr(transpose_if(True, want)) == sympy.srepr(want.T)


_STEPS = ('product', 'sum', 'inverse', 'transpose', 'negated', 'solved', 'scaled', 'sum3')


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_products_of_canonical_expressions_are_sympys(data):
    """With a memo, multiply, add, transpose_if and solved join factors and terms that SymPy
    made canonical there (inverses of sums, Cholesky factors, products and sums of them)
    without SymPy's canonicalization: every expression they build is SymPy's, ``srepr``
    for ``srepr``."""
    import sympy
    from computations.matrices.expressions import LofCholesky
    from computations.matrices.ops.algebra import add, multiply, solved, transpose_if
    from computations.matrices.ops.memo import Memo, sharing
    A, B, C = _SQUARES
    X = sympy.MatrixSymbol('X', _n, sympy.Symbol('m'))      # (X.T*X).I stays an inverse
    built = [A, B, C, A.T, LofCholesky(A), X, X.T]   # built with the memo's shortcuts
    plain = list(built)                          # the same, built by SymPy alone
    memo = Memo()

    def step(kind, x, y, shortcut):
        if kind == 'product':
            return multiply(x, y) if shortcut else x * y
        if kind == 'sum':
            return add(x, y) if shortcut else x + y
        if kind == 'inverse':
            return multiply(x.I) if shortcut else x.I
        if kind == 'transpose':
            return transpose_if(True, x) if shortcut else x.T
        if kind == 'negated':
            return multiply(-1, x) if shortcut else -x
        if kind == 'scaled':
            return multiply(sympy.Rational(3, 2), x, y) if shortcut else \
                sympy.MatMul(sympy.Rational(3, 2), x, y).doit()
        if kind == 'sum3':
            return add(x, y, multiply(-1, x.T)) if shortcut else \
                sympy.MatAdd(x, y, sympy.MatMul(-1, x.T).doit()).doit()
        return solved(x, y) if shortcut else x.I * y

    for _ in range(data.draw(st.integers(1, 8))):
        kind = data.draw(st.sampled_from(_STEPS))
        i, j = (data.draw(st.integers(0, len(built) - 1)) for _ in range(2))
        try:
            want = step(kind, plain[i], plain[j], False)
        except (sympy.ShapeError, sympy.matrices.exceptions.NonSquareMatrixError):
            continue
        if not isinstance(want, sympy.MatrixExpr):
            continue
        with sharing(memo):
            got = step(kind, built[i], built[j], True)
        assert sympy.srepr(got) == sympy.srepr(want), (kind, plain[i], plain[j])
        built.append(got)
        plain.append(want)
    picks = data.draw(st.lists(st.integers(0, len(built) - 1), min_size=2, max_size=4))
    try:
        want = sympy.MatMul(*(plain[i] for i in picks)).doit()
    except sympy.ShapeError:
        return
    with sharing(memo):
        got = multiply(*(built[i] for i in picks))
        flipped = transpose_if(True, got)
    assert sympy.srepr(got) == sympy.srepr(want)
    assert sympy.srepr(flipped) == sympy.srepr(want.T)


def _cancelling_products():
    import sympy
    A, B, _ = _SQUARES
    X = sympy.MatrixSymbol('X', _n, sympy.Symbol('m'))
    XtX = X.T * X
    return [(XtX.I, X.T, X), (X.T, X, XtX.I), (XtX.I, XtX), (A * A, A.I), (A.I, A * A),
            (A * A * B, B.I), ((A * A).I, A * A), (A.I * B, B.I * A)]


@pytest.mark.parametrize('index', range(len(_cancelling_products())))
def test_products_that_cancel_or_combine_are_sympys(index):
    """The neighbours SymPy combines (an inverse of a product beside that product, powers
    of one base) are left to SymPy even when every factor is canonical."""
    import sympy
    from computations.matrices.ops.algebra import multiply
    from computations.matrices.ops.memo import Memo, sharing
    factors = _cancelling_products()[index]
    memo = Memo()
    with sharing(memo):
        canonical = [multiply(f) if isinstance(f, sympy.MatMul) else f for f in factors]
        canonical = [memo.canonical(f) for f in canonical]
        got = multiply(*canonical)
    assert sympy.srepr(got) == sympy.srepr(sympy.MatMul(*factors).doit())


def test_a_plain_product_with_mismatched_shapes_is_left_to_sympy():
    import sympy
    from computations.matrices.ops.algebra import multiply, plain_product
    A, B = sympy.MatrixSymbol('A', 2, 3), sympy.MatrixSymbol('B', 2, 3)
    assert plain_product([A, B]) is None
    with pytest.raises(sympy.ShapeError):
        multiply(A, B)


@settings(max_examples=100, deadline=None)
@given(plain_factors(), st.booleans())
def test_the_orientation_key_reads_as_srepr(operands, summed):
    """The search's orientation key builds a product's, sum's, transpose's and inverse's
    text from its arguments' (kept in the memo): ``srepr``'s, except that a sum's terms
    are in the order of their texts -- the same characters (so the same count of
    transposes and length, the key's first parts), whatever order the terms are given in."""
    import sympy
    from computations.matrices.compiler.search import _orientation_key, _text
    from computations.matrices.ops.memo import Memo, active, sharing
    expr = sympy.MatMul(*operands).doit()
    if summed:
        expr = _SQUARES[1] * (expr + 2 * _SQUARES[0].T * expr)     # a sum in a product
    with sharing(Memo()):
        remembered = _text(expr, active())
    assert remembered == _text(expr, None)
    assert sorted(remembered) == sorted(sympy.srepr(expr))
    assert (remembered == sympy.srepr(expr)) or summed
    if summed:
        terms = expr.args[-1].args
        assert isinstance(expr.args[-1], sympy.MatAdd) and len(terms) == 2
        for order in (terms, terms[::-1]):
            again = sympy.MatMul(*expr.args[:-1], sympy.MatAdd(*order, evaluate=False),
                                 evaluate=False)
            assert _text(again, None) == remembered
            assert _orientation_key(again) == _orientation_key(expr)


def test_a_long_chain_compiles_to_the_program_sympys_products_give(monkeypatch):
    """The plain-product shortcut changes no program: a chain of 30 with the shortcut and
    with every product built by SymPy."""
    import sys
    sys.path.insert(0, 'benchmarks')
    from bench_compile import chain
    from computations.matrices import compile_expressions
    from computations.matrices.compiler import canonical
    from computations.matrices.ops import algebra
    inputs, product, dims = chain(30, square=False)
    fast = compile_expressions([product], inputs, (), dims)
    monkeypatch.setattr(algebra, 'plain_product', lambda factors, memo=None: None)
    monkeypatch.setattr(canonical, 'plain_product', lambda factors, memo=None: None)
    slow = compile_expressions([product], inputs, (), dims)
    assert fast.flops == slow.flops
    assert set(fast.computation.computations) == set(slow.computation.computations)
