"""The light matrix-chain order (computations.matrices.compiler.chain) the search uses on
long products: optimal against brute force, evenly split on ties, fast on long chains."""
import functools

import pytest
from hypothesis import given, settings, strategies as st

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
