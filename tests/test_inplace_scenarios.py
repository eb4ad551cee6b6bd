"""The inplace pass and check on the scenarios of the inplace issue, each drawn.

Notation: ``v@t`` is value v in buffer (token) t; ``[OP]`` an operation;
``=>`` marks the output an operation writes into the buffer of its input.
"""
import numpy as np
import pytest
import sympy
from sympy import MatrixSymbol

from computations.matrices import AXPY, GEMM, POSV, SCAL, LofCholesky
from computations.inplace import (Copy, TokenComputation as T, UnsafeInplaceError, check, inplace_compile,
                     plan_overwrites)
from computations.testing import Mix
from computations import CompositeComputation, Identity
from computations.schedulers import execute

n = 4
A, B, X, Y = (MatrixSymbol(s, n, n) for s in 'ABXY')
rng = np.random.default_rng(1)


def data(*names, spd=()):
    out = {}
    for var in names:
        x = rng.uniform(-1, 1, (n, n))
        out[var] = x @ x.T + n * np.eye(n) if var in spd else x
    return out


def kinds(program):
    return [type(node.comp).__name__ for node in program.toposort()]


def test_1_reader_runs_before_the_overwrite():
    """
        A@A -> [GEMM] -> A*A@A_A
         |
         +---> [SCAL] => 2*A@A          (donated A: SCAL may overwrite it)
    """
    comp = GEMM(1, A, A) + SCAL(2, A)
    program = inplace_compile(comp, donate=[A])
    assert kinds(program) == ['GEMM', 'SCAL']              # the reader first
    scal = next(node for node in program.toposort() if isinstance(node.comp, SCAL))
    assert scal.destroy_map == {0: 0}                     # no copy: SCAL overwrites A
    gemm = next(node for node in program.toposort() if isinstance(node.comp, GEMM))
    with pytest.raises(UnsafeInplaceError, match="SCAL overwrites token 'A' holding A, but "
                                                 'GEMM still needs it') as info:
        check(program, order=[scal, gemm], donate=[A])
    assert info.value.operation == scal and info.value.reader == gemm
    assert info.value.token == 'A' and info.value.value.expr == A
    a = data(A)[A]
    out = execute(comp, {A: a.copy()}, donate=[A])
    np.testing.assert_allclose(out[A * A], a @ a)
    np.testing.assert_allclose(out[2 * A], 2 * a)


def test_1_without_donation_the_writer_gets_a_copy():
    """A@A -> [GEMM] ;  A@A -> [Copy] -> A@A_2 -> [SCAL] => 2*A@A_2"""
    program = inplace_compile(GEMM(1, A, A) + SCAL(2, A))
    assert kinds(program).count('Copy') == 1
    check(program)


def test_2_old_and_new_value_at_once_is_rejected_or_copied():
    """
        Y@y -> [SCAL] => 2*Y@y
         |                 |
         +---------> [GEMM] <--- needs Y and 2*Y at once: one buffer cannot hold both
    """
    scal = T(SCAL(2, Y), ['y'], ['y'])
    gemm = T(GEMM(1, Y, 2 * Y), ['y', 'y'], ['out'])
    with pytest.raises(UnsafeInplaceError, match='no order is safe: the overwrites form a cycle'):
        check(scal + gemm, donate=[Y])
    comp = SCAL(2, Y) + GEMM(1, Y, 2 * Y)
    assert plan_overwrites(comp, donate=[Y]) == frozenset()   # the pass copies instead
    y = data(Y)[Y]
    out = execute(comp, {Y: y}, donate=[Y])
    np.testing.assert_allclose(out[2 * Y * Y], 2 * y @ y)


def test_3_two_destroyers_of_one_value():
    """
        Y@y ---> [SCAL 2] => 2*Y@y
          \\---> [SCAL 3] => 3*Y@y       at most one may overwrite y
    """
    s2, s3 = T(SCAL(2, Y), ['y'], ['y']), T(SCAL(3, Y), ['y'], ['y'])
    with pytest.raises(UnsafeInplaceError, match='Y in token .y. is overwritten by two '
                                                 'operations'):
        check(s2 + s3, donate=[Y])
    comp = SCAL(2, Y) + SCAL(3, Y)
    program = inplace_compile(comp, donate=[Y])
    assert len(plan_overwrites(comp, donate=[Y])) == 1 and kinds(program).count('Copy') == 1
    check(program, donate=[Y])
    y = data(Y)[Y]
    out = execute(comp, {Y: y.copy()}, donate=[Y])
    np.testing.assert_allclose(out[2 * Y], 2 * y)
    np.testing.assert_allclose(out[3 * Y], 3 * y)


@pytest.mark.parametrize('args, tokens', [((A * B, Y), ['c', 'y', 'c']),
                                          ((Y, A * B), ['y', 'c', 'c'])], ids=['C=A', 'C=B'])
def test_4_aliased_gemm_is_rejected(args, tokens):
    """
        A@a, B@b -> [GEMM] -> A*B@c
        A*B@c (as A or B), Y@y, A*B@c (as C) -> [GEMM] => ...@c
                              GEMM writes c while still reading it as A or B
    """
    make = T(GEMM(1, A, B), ['a', 'b'], ['c'])
    gemm = T(GEMM(1, *args, 1, A * B), tokens, ['c'])
    with pytest.raises(UnsafeInplaceError, match="overwrites token 'c' .* aliased arguments"):
        check(make + gemm, donate=[A, B, Y])


def test_4_the_pass_never_aliases():
    """X@X -> [GEMM(X, B, 1, X)]: X is both A and C; the pass copies C"""
    comp = GEMM(1, X, B, 1, X)
    program = inplace_compile(comp, donate=[X, B])
    assert kinds(program) == ['Copy', 'GEMM']
    x, b = data(X, B).values()
    out = execute(comp, {X: x, B: b}, donate=[X, B])
    np.testing.assert_allclose(out[X * B + X], x @ b + x)


def test_5_a_cycle_of_destroyers_is_rejected_with_the_cycle_named():
    """
        X@x ---> [AXPY(X, Y)] => X + Y@y     reads x, overwrites y
        Y@y ---> [AXPY(Y, X)] => X + Y'@x    reads y, overwrites x
    """
    xy = T(AXPY(1, X, Y), ['x', 'y'], ['y'])
    yx = T(AXPY(2, Y, X), ['y', 'x'], ['x'])
    with pytest.raises(UnsafeInplaceError, match='cycle') as info:
        check(xy + yx, donate=[X, Y])
    assert set(info.value.cycle) == {xy, yx}
    assert 'AXPY reads what AXPY overwrites, so it must run first' in str(info.value)
    comp = AXPY(1, X, Y) + AXPY(2, Y, X)
    assert len(plan_overwrites(comp, donate=[X, Y])) == 1       # one of them gets a copy
    x, y = data(X, Y).values()
    out = execute(comp, {X: x.copy(), Y: y.copy()}, donate=[X, Y])
    np.testing.assert_allclose(out[X + Y], x + y)
    np.testing.assert_allclose(out[X + 2 * Y], x + 2 * y)


def test_6_inputs_constants_and_outputs_are_never_overwritten():
    """
        X@x -> [SCAL] => 2*X@x          X is the caller's: rejected unless donated
        Y@y -> [SCAL] => 3*Y ; Y is also returned (Identity): the pass copies it
        0@z -> [Mix]  => w@z            a constant: never overwritten
    """
    scal = CompositeComputation(T(SCAL(2, X), ['x'], ['x']))
    with pytest.raises(UnsafeInplaceError, match="holding X, which is the caller's input"):
        check(scal)
    check(scal, donate=[X])
    zero = sympy.ZeroMatrix(n, n)
    mix = CompositeComputation(T(Mix([zero], ['w'], [(0, 0)]), ['z'], ['z']))
    with pytest.raises(UnsafeInplaceError, match='which is a constant'):
        check(mix, donate=[zero])
    assert plan_overwrites(Mix([zero], ['w'], [(0, 0)]), donate=[zero]) == frozenset()
    made = GEMM(1, A, B)
    comp = made + SCAL(3, A * B)                       # A*B is read by SCAL and returned
    comp = comp + Identity(A * B)
    assert plan_overwrites(comp, donate=[A, B]) == frozenset()
    written = T(GEMM(1, A, B), ['a', 'b'], ['ab']) + T(SCAL(3, A * B), ['ab'], ['ab'])
    with pytest.raises(UnsafeInplaceError, match='which is a returned output'):
        check(written + T(Identity(A * B), ['ab'], ['ab']), donate=[A, B])
    a, b = data(A, B).values()
    saved = a.copy(), b.copy()
    out = execute(comp, {A: a, B: b})
    np.testing.assert_allclose(out[A * B], a @ b)
    np.testing.assert_allclose(out[3 * A * B], 3 * a @ b)
    assert np.array_equal(a, saved[0]) and np.array_equal(b, saved[1])


@pytest.mark.parametrize('dependent', [False, True], ids=['independent', 'needs-solution'])
def test_7_posv_overwrites_a_and_b_with_a_third_reader_of_a(dependent):
    """
        A@a ---> [POSV] => LofCholesky(A)@a, A.I*B@b
         \\           ^
          \\---> [GEMM] (reads A; in the second case it also reads POSV's A.I*B,
                        so it must run after POSV and A needs a copy)
    """
    third = GEMM(1, A, A.I * B, 1, X) if dependent else GEMM(1, A, X)
    comp = POSV(A, B) + third + Identity(A.I * B)
    plan = plan_overwrites(comp, donate=[A, B, X])
    posv = next(op for op in comp.toposort() if isinstance(op, POSV))
    assert ((posv, 1) in plan) and (((posv, 0) in plan) is not dependent)
    program = inplace_compile(comp, donate=[A, B, X])
    check(program, donate=[A, B, X])
    assert kinds(program).count('Copy') == (1 if dependent else 0)
    values = data(A, B, X, spd=(A,))
    expected = {k: v.copy() for k, v in values.items()}
    out = execute(comp, values, donate=[A, B, X])
    a, b, x = expected[A], expected[B], expected[X]
    np.testing.assert_allclose(out[A.I * B], np.linalg.solve(a, b))
    np.testing.assert_allclose(out[LofCholesky(A)], np.linalg.cholesky(a))
    expected_third = a @ np.linalg.solve(a, b) + x if dependent else a @ x
    np.testing.assert_allclose(out[third.outputs[0]], expected_third, rtol=1e-10)


def test_8_poisoned_dead_buffers_do_not_change_results():
    """The Kalman program with every dead buffer filled with NaN the moment it dies."""
    from computations.matrices.examples import kalman, kalman_numpy, kalman_program
    (mu, Sigma, H, R, data_), (newmu, newSigma), _ = kalman()
    r = np.random.default_rng(3)
    s, q = r.standard_normal((8, 8)), r.standard_normal((5, 5))
    values = [r.standard_normal((8, 1)), s @ s.T + 8 * np.eye(8), r.standard_normal((5, 8)),
              q @ q.T + 5 * np.eye(5), r.standard_normal((5, 1))]
    expected = kalman_numpy(*values)
    for donate in ((), (mu, Sigma, H, R, data_)):
        inputs = dict(zip((mu, Sigma, H, R, data_), [v.copy() for v in values]))
        out = execute(kalman_program(), inputs, donate=donate, poison=True)
        np.testing.assert_allclose(out[newmu], expected[0], rtol=1e-10)
        np.testing.assert_allclose(out[newSigma], expected[1], rtol=1e-10)


def test_copies_are_tokens_of_the_same_value():
    program = inplace_compile(SCAL(2, X))
    copy = next(node for node in program.toposort() if isinstance(node.comp, Copy))
    assert copy.inputs[0].expr == copy.outputs[0].expr == X
    assert copy.inputs[0].token == 'X' and copy.outputs[0].token == 'X_2'
