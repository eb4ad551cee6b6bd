"""computations.sizes: one evaluator of symbolic sizes under a binding."""
import pickle

import pytest
import sympy
from hypothesis import given, strategies as st

from computations.matrices import GEMM, SYRK
from computations.sizes import Binding, UnboundSizeError

m, n, k = sympy.symbols('m n k')


@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_flops_and_shapes_match_the_numbers(mv, nv, kv):
    A, B = sympy.MatrixSymbol('A', m, k), sympy.MatrixSymbol('B', k, n)
    binding = Binding({m: mv, 'n': nv, k: kv})
    op = GEMM(1, A, B)
    assert binding.flops(op) == 2 * mv * nv * kv
    assert binding.shape(op.outputs[0]) == (mv, nv)
    assert binding.nelements(A) == mv * kv
    assert binding.value(m - k) == mv - kv


def test_unbound_sizes_raise_naming_what_and_which():
    binding = Binding({n: 3})
    op = SYRK(1, sympy.MatrixSymbol('A', n, k))
    with pytest.raises(UnboundSizeError, match=r'cannot size the FLOPs of .*\(k\); bound are n'):
        binding.flops(op)
    assert binding.value(n * k) is None
    with pytest.raises(UnboundSizeError, match='the shape of A'):
        binding.shape(sympy.MatrixSymbol('A', n, k))
    error = pickle.loads(pickle.dumps(UnboundSizeError('x', k, {})))
    assert str(error) == 'cannot size x: the dimension k is unbound; bound are none'


def test_scalars_have_no_shape_and_operations_without_declarations_cost_nothing():
    binding = Binding()
    assert binding.shape(sympy.Symbol('alpha')) is None and binding.nelements(sympy.Symbol('a')) == 0
    assert binding.flops(object()) == 0.0 and binding.workspace(object()) == 0


def test_compare_knows_differences_of_unknown_sizes():
    assert Binding().compare(n + 2, n) == 2 and Binding().compare(n, k) is None
    assert Binding({n: 5, k: 2}).compare(n, k) == 3


def test_a_binding_refuses_sizes_that_are_not_counts():
    """{n: 3.7} became 3, and True, '3' or -1 were taken as they came (review)."""
    from computations.sizes import Binding
    for size, error, message in [(3.7, TypeError, 'must be bound to an integer, got 3.7'),
                                 (True, TypeError, 'must be bound to an integer, got True'),
                                 ('3', TypeError, "must be bound to an integer, got '3'"),
                                 (-1, ValueError, 'must be bound to a size >= 0, got -1')]:
        with pytest.raises(error, match=f'dimension n {message}'):
            Binding({'n': size})
    import numpy as np
    assert Binding({'n': np.int64(3), 'm': sympy.Integer(2)}).value(
        sympy.Symbol('n') * sympy.Symbol('m')) == 6


def test_a_name_binds_the_symbol_whatever_its_assumptions():
    from computations.sizes import Binding
    n = sympy.Symbol('n', integer=True, positive=True)
    assert Binding({'n': 4}).value(2 * n) == 8
    assert Binding({'n': 4}).nelements(sympy.MatrixSymbol('A', n, n)) == 16


def test_a_size_with_no_real_value_is_undefined_not_a_crash():
    """``value(1/n)`` at n = 0 raised 'Cannot convert complex to float' (review)."""
    from computations.sizes import Binding, UndefinedAtSizeError
    n = sympy.Symbol('n')
    with pytest.raises(UndefinedAtSizeError, match='1/n is undefined when n = 0'):
        Binding({n: 0}).value(1 / n)
