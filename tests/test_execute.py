"""computations.schedulers.execute: the interpretive executor on scipy.linalg."""
import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import MatrixSymbol

from computations import Computation
from computations.matrices import (GEMM, GESV, POSV, POTRF, POTRS, SYRK, TRTRS, LofCholesky,
                                   NotPositiveDefiniteError, SingularMatrixError)
from numpy.linalg import LinAlgError
from computations.testing import evaluate, relative_error
from computations.schedulers import execute

n = sympy.Symbol('n', integer=True, positive=True)
A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, 2)
rng = np.random.default_rng(0)


def spd(size):
    x = rng.standard_normal((size, size))
    return np.asfortranarray(x @ x.T + size * np.eye(size))


def test_execute_runs_a_composite_in_order():
    """A -> [POTRF] -> L -> [POTRS] -> A.I*B ;  B -> [POTRS]"""
    a, b = spd(5), rng.standard_normal((5, 2))
    out = execute(POTRS(A, B) + POTRF(A), {A: a, B: b})
    assert list(out) == [A.I * B]
    assert relative_error(out[A.I * B], np.linalg.solve(a, b)) < 1e-12


def test_execute_returns_all_outputs_and_factor():
    a, b = spd(4), rng.standard_normal((4, 2))
    out = execute(POSV(A, B), {A: a, B: b})
    assert set(out) == {A.I * B, LofCholesky(A)}
    assert relative_error(out[LofCholesky(A)], np.linalg.cholesky(a)) < 1e-12
    assert relative_error(out[A.I * B], np.linalg.solve(a, b)) < 1e-12


def test_syrk_results_are_full_symmetric_arrays():
    b = rng.standard_normal((6, 2))
    c = execute(SYRK(1, B), {B: b})[B * B.T]
    assert np.array_equal(c, c.T)
    assert relative_error(c, b @ b.T) < 1e-12


@given(st.integers(1, 20), st.booleans(), st.booleans())
@settings(max_examples=30)
def test_caller_arrays_are_never_modified(size, fortran, float32):
    """Even when the caller's arrays are already Fortran-ordered of the right dtype, so that
    no conversion copy protects them."""
    dtype = np.float32 if float32 else np.float64
    a = spd(size).astype(dtype, order='F' if fortran else 'C')
    b = rng.standard_normal((size, 2)).astype(dtype, order='F' if fortran else 'C')
    saved = a.copy(), b.copy()
    comp = POSV(A, B) + GEMM(1, A, A.I * B, -1, B) + SYRK(2, B, 1, A)
    out = execute(comp, {A: a, B: b})
    assert np.array_equal(a, saved[0]) and np.array_equal(b, saved[1])
    for value in out.values():
        assert not np.shares_memory(value, a) and not np.shares_memory(value, b)
        assert value.dtype == dtype


def test_inputs_accept_lists_vectors_and_read_only_arrays():
    x = MatrixSymbol('x', n, 1)
    a = spd(3)
    a.setflags(write=False)
    out = execute(POSV(A, x), {A: a, x: [1.0, 2.0, 3.0]})
    assert relative_error(out[A.I * x], np.linalg.solve(a, [[1.0], [2.0], [3.0]])) < 1e-12
    ints = execute(GEMM(1, A, A), {A: [[1, 2], [3, 4]]})[A * A]
    assert ints.dtype == np.float64 and ints.tolist() == [[7, 10], [15, 22]]


def test_scalar_symbols_take_floats():
    s = sympy.Symbol('s')
    out = execute(GEMM(s, A, A), {A: np.eye(2), s: 2})[s * A * A]
    assert out.tolist() == [[2, 0], [0, 2]]
    with pytest.raises(ValueError, match='input s is a scalar; give it a number'):
        execute(GEMM(s, A, A), {A: np.eye(2), s: np.ones(2)})
    # an int beyond float64 raised a bare OverflowError
    with pytest.raises(ValueError, match='input s is an int too large for a float64'):
        execute(GEMM(s, A, A), {A: np.eye(2), s: 10**400})
    assert execute(GEMM(s, A, A), {A: np.eye(2), s: 10**300})[s * A * A][0, 0] == 1e300


def test_mixed_dtypes_run_in_float64():
    out = execute(GEMM(1, A, B), {A: np.eye(2, dtype=np.float32), B: np.ones((2, 2))})
    assert out[A * B].dtype == np.float64


@pytest.mark.parametrize('inputs, error, message', [
    ({A: np.eye(3)}, KeyError, 'no value given for input B'),
    ({A: np.eye(3), B: np.ones((3, 2)), 'Z': 1}, KeyError, 'not inputs of the computation: Z'),
    ({A: np.eye(3), B: np.ones((4, 2))}, ValueError, r'input B has 4 rows, but n = 3 \(bound by A\)'),
    ({A: np.eye(3), B: np.ones((3, 3))}, ValueError, 'input B has 3 columns, but it is declared nx2'),
    ({A: np.eye(3) * 1j, B: np.ones((3, 2))}, ValueError, 'input A is complex'),
    ({A: np.array([['a']]), B: np.ones((1, 2))}, ValueError, 'input A must hold real numbers'),
    ({A: np.ones((3, 3, 1)), B: np.ones((3, 2))}, ValueError, 'input A must be a nxn matrix'),
])
def test_bad_inputs_are_named(inputs, error, message):
    with pytest.raises(error, match=message):
        execute(POSV(A, B), inputs)


def test_opaque_operation_has_no_kernel():
    with pytest.raises(NotImplementedError, match='no kernel is registered for Computation'):
        execute(Computation([A], [B]), {A: np.eye(2)})


@pytest.mark.parametrize('op', [POTRF(A), POSV(A, B)], ids=['POTRF', 'POSV'])
def test_not_positive_definite_is_named_and_nothing_is_half_written(op):
    a = np.asfortranarray(np.diag([1.0, -1.0, 2.0]))     # not positive definite
    b = np.asfortranarray(np.ones((3, 2)))
    saved = a.copy(), b.copy()
    inputs = {A: a, B: b} if B in op.inputs else {A: a}
    with pytest.raises(NotPositiveDefiniteError,
                       match=f'{type(op).__name__}: A is not positive definite '
                             r'\(its leading minor of order 2') as info:
        execute(op, inputs)
    assert isinstance(info.value, LinAlgError)
    assert info.value.expression == A and info.value.info == 2
    assert np.array_equal(a, saved[0]) and np.array_equal(b, saved[1])


def test_singular_matrix_is_named():
    a = np.asfortranarray([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(SingularMatrixError, match='GESV: A is singular'):
        execute(GESV(A, B), {A: a, B: np.ones((2, 2))})
    with pytest.raises(SingularMatrixError, match='TRTRS: A is singular'):
        execute(TRTRS(A, B), {A: np.diag([1.0, 0.0]), B: np.ones((2, 2))})


def test_a_singular_lu_factor_is_no_error_until_a_solve_reads_it():
    """GETRF's positive info (an exact zero on U's diagonal) raised for ``Determinant(M)``
    of a singular M (NumPy says 0.0); a GETRS reading that factor raises, naming itself,
    through the interpreter and through generated source."""
    from computations.inplace import inplace_compile
    from computations.matrices import GETRF, GETRS, LU_DETERMINANT, LU, LUPivots
    from computations.schedulers.codegen import generate
    a = np.asfortranarray([[1.0, 2.0], [2.0, 4.0]])
    determinant = LU_DETERMINANT(LU(A), LUPivots(A))
    out = execute(GETRF(A) + determinant, {A: a})
    assert out[sympy.Determinant(A)] == np.linalg.det(a) == 0.0
    solve = GETRF(A) + GETRS(A, B)
    with pytest.raises(SingularMatrixError, match=r'GETRS: A is singular \(its factor has a '
                                                  r'zero at diagonal position 2\)'):
        execute(solve, {A: a, B: np.ones((2, 2))})
    generated = generate(inplace_compile(solve), parameters=[A, B], results=[A.I * B])
    with pytest.raises(SingularMatrixError, match='GETRS: A is singular'):
        generated(a, np.ones((2, 2)))
    x = generated(a + np.eye(2), np.ones((2, 2)))[0]
    np.testing.assert_allclose(x, np.linalg.solve(a + np.eye(2), np.ones((2, 2))))


def test_results_match_the_reference_evaluator():
    """A, B -> [POSV] -> A.I*B -> [GEMM with B.T] -> B.T*A.I*B  (a quadratic form)"""
    a, b = spd(7), rng.standard_normal((7, 2))
    comp = POSV(A, B) + GEMM(1, B, A.I * B, trans_a=True)
    out = execute(comp, {A: a, B: b})
    assert set(out) == {B.T * A.I * B, LofCholesky(A)}
    for expr, value in out.items():
        assert relative_error(value, evaluate(expr, {A: a, B: b})) < 1e-12


def test_donated_arrays_are_overwritten_and_others_are_not():
    """A@A, B@B -> [POSV] => A.I*B@B, LofCholesky(A)@A  when both are donated"""
    a, b = spd(5), np.asfortranarray(rng.standard_normal((5, 2)))
    expected = np.linalg.solve(a, b)
    out = execute(POSV(A, B), {A: a, B: b}, donate=[A, B])
    assert np.shares_memory(out[A.I * B], b) and np.shares_memory(out[LofCholesky(A)], a)
    np.testing.assert_allclose(out[A.I * B], expected)
    a2, b2 = spd(5), np.asfortranarray(rng.standard_normal((5, 2)))
    saved = a2.copy()
    out = execute(POSV(A, B), {A: a2, B: b2}, donate=[B])
    assert np.shares_memory(out[A.I * B], b2) and np.array_equal(a2, saved)


def test_inplace_and_pure_runs_agree_and_allocate_as_counted():
    a, b = spd(6), rng.standard_normal((6, 2))
    comp = POSV(A, B) + GEMM(1, B, A.I * B, trans_a=True)
    pure_stats, inplace_stats = {}, {}
    pure = execute(comp, {A: a, B: b}, inplace=False, stats=pure_stats)
    inplace = execute(comp, {A: a, B: b}, donate=[A, B], stats=inplace_stats)
    for expr in pure:
        np.testing.assert_allclose(inplace[expr], pure[expr])
    # pure: POSV's two outputs (6x6 factor, 6x2 solution) and the 2x2 product are new.
    # donated: A is overwritten by its factor, but B is read by the GEMM that needs
    # POSV's solution, so POSV cannot destroy B: one 6x2 copy, plus the product.
    assert pure_stats['allocated_bytes'] == (36 + 12 + 4) * 8
    assert inplace_stats['allocated_bytes'] == (12 + 4) * 8


@pytest.mark.parametrize('facts', [[], ['lower_triangular'], ['positive_definite']],
                         ids=['lu', 'triangular', 'cholesky'])
@pytest.mark.parametrize('batch', [False, True])
def test_a_determinant_is_not_lost_to_a_partial_product_that_underflows(facts, batch):
    """The diagonal's product underflowed on the way: the determinant of diag(1e-200,
    1e-200, 1e250, 1e250) came out 0, not 1e100 (review of the batch runner, which got it
    right by slogdet)."""
    import computations
    A = MatrixSymbol('A', 4, 4)
    f = computations.function([A], [sympy.Determinant(A)],
                              [getattr(sympy.Q, fact)(A) for fact in facts])
    d = np.diag([1e-200, 1e-200, 1e250, 1e250])
    got = f(np.stack([d, d]))[0] if batch else f(d)[0]
    np.testing.assert_allclose(got, 1e100, rtol=1e-13)


@given(st.lists(st.floats(-1e300, 1e300, allow_subnormal=False), min_size=0, max_size=300))
def test_the_product_of_a_diagonal_is_exact_where_it_is_representable(values):
    """:func:`~computations.schedulers.stacked_linalg.product` against exact rational
    arithmetic: within n roundings of the true product whenever that is a normal float;
    inf or 0 only when the product is beyond them."""
    import fractions
    import math
    from computations.schedulers.stacked_linalg import product
    with np.errstate(over='ignore', under='ignore'):     # NumPy's warnings, as np.prod's
        got = float(product(np.array(values, dtype=float)))
    exact = math.prod(map(fractions.Fraction, values)) if values else fractions.Fraction(1)
    bound = (len(values) + 1) * 2.0 ** -52              # n roundings
    largest, tiny = (fractions.Fraction(x) for x in (np.finfo(float).max, np.finfo(float).tiny))
    if exact == 0:
        assert got == 0
    elif abs(exact) > largest * (1 + fractions.Fraction(bound)):
        assert got == (np.inf if exact > 0 else -np.inf)
    elif abs(exact) < tiny:
        assert abs(got) <= np.finfo(float).tiny
    elif abs(exact) <= largest:
        assert abs(fractions.Fraction(got) / exact - 1) <= bound
