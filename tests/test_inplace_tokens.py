"""Unit tests for computations.inplace.tokens and the pass's public functions on the Kalman program."""
import pickle

import pytest
import sympy

from computations import Computation
from computations.matrices import GEMM, POSV, SCAL
from computations.matrices.examples import kalman, kalman_program
from computations.inplace import (Copy, ExprToken, TokenComputation, TokenNamer, TokenProgram, check,
                     inplace_compile, insert_copies, is_token_program, pure, token_name, tokenize)

X = sympy.MatrixSymbol('X', 3, 3)


def test_expr_token_is_a_value_object():
    t = ExprToken(X, 'X')
    assert t == ExprToken(X, 'X') and hash(t) == hash(ExprToken(X, 'X'))
    assert t != ExprToken(X, 'X_2') and t != ExprToken(2 * X, 'X')
    assert pickle.loads(pickle.dumps(t)) == t
    with pytest.raises(AttributeError, match='immutable'):
        t.token = 'Y'
    assert str(t) == 'X@X' and repr(t) == "ExprToken(X, 'X')"


@pytest.mark.parametrize('token', ['2x', 'a-b', 'lambda', '', 3])
def test_tokens_must_be_identifiers(token):
    with pytest.raises(ValueError, match='is not a valid Python identifier'):
        ExprToken(X, token)


def test_token_computation_checks_its_tokens():
    """X@x -> [SCAL] => 2*X@x"""
    t = TokenComputation(SCAL(2, X), ['x'], ['x'])
    assert t.inputs == (ExprToken(X, 'x'),) and t.outputs == (ExprToken(2 * X, 'x'),)
    assert t.destroy_map == {0: 0} and t.destroyed == {0}
    assert TokenComputation(SCAL(2, X), ['x'], ['y']).destroy_map == {}
    assert pickle.loads(pickle.dumps(t)) == t
    with pytest.raises(ValueError, match='SCAL has 1 inputs but 2 input tokens'):
        TokenComputation(SCAL(2, X), ['x', 'y'], ['x'])
    with pytest.raises(TypeError, match='wraps a mathematical Computation'):
        TokenComputation(t, ['x'], ['x'])


def test_token_names_come_from_the_mathematics():
    S, H = sympy.MatrixSymbol('Sigma', 3, 3), sympy.MatrixSymbol('H', 2, 3)
    assert token_name(S) == 'Sigma' and token_name(H * S) == 'H_Sigma'
    assert token_name(2 * S) == 'prod_Sigma' and token_name(S.T) == 't_Sigma'
    assert token_name(POSV(S, S).outputs[1]) == 'chol_Sigma'
    names = TokenNamer()
    assert [names(S) for _ in range(3)] == ['Sigma', 'Sigma_2', 'Sigma_3']
    assert all(t.isidentifier() for t in map(token_name, ['a b', '3', 'x.y', 'for']))


def test_kalman_program_stages():
    program = kalman_program()
    (mu, Sigma, H, R, data), _, _ = kalman()
    pure_program = tokenize(program)
    assert not any(n.destroyed for n in pure_program.toposort())
    assert not any(isinstance(n.comp, Copy) for n in pure_program.toposort())
    copied = insert_copies(program)
    compiled = inplace_compile(program)
    donated = inplace_compile(program, donate=[mu, Sigma, H, R, data])
    copies = [sum(isinstance(n.comp, Copy) for n in p.toposort()) for p in (copied, compiled,
                                                                               donated)]
    assert copies == [7, 4, 0]          # 4: the caller's R, data, mu and Sigma are protected
    for p in (pure_program, copied, compiled):
        check(p)
        assert pure(p) == program and is_token_program(p) and isinstance(p, TokenProgram)
    check(donated, donate=[mu, Sigma, H, R, data])
    assert inplace_compile(compiled) == compiled
    assert inplace_compile(inplace_compile(program)) == inplace_compile(program)
    assert not is_token_program(program)


def test_token_program_prints_in_execution_order():
    """X@X -> [GEMM] -> X*X ; X@X -> [SCAL] => 2*X@X : GEMM must be listed first"""
    program = inplace_compile(SCAL(2, X) + GEMM(1, X, X), donate=[X])
    assert [type(n.comp).__name__ for n in program] == ['GEMM', 'SCAL']
    assert str(program).splitlines()[1] == 'X = SCAL(X)  # 2*X'


def test_pass_rejects_non_computations():
    with pytest.raises(TypeError, match='expected a Computation'):
        inplace_compile('x')
    with pytest.raises(TypeError, match='is not a TokenComputation'):
        check(Computation(['x'], ['y']))
