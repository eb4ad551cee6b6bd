"""The BLAS/LAPACK vocabulary as data: outputs, inplace maps, conditions, FLOPs, errors."""
import pickle

import pytest
import sympy
from sympy import MatrixSymbol, Q, ShapeError, Symbol

from computations import CompositeComputation, CycleError
from computations.matrices import (AXPY, COPY, GEMM, GEMV, GESV, GETRF, GETRS, OPERATIONS,
                                   POSV, POTRF, POTRS, SCAL, SYMM, SYRK, TRMM, TRSM, TRTRS, LU,
                                   LofCholesky, LUPivots, MatrixComputation)
from hypothesis import given, strategies as st
from matrix_cases import op_case

n, k = sympy.symbols('n k', integer=True, positive=True)
A, B, C = MatrixSymbol('A', n, n), MatrixSymbol('B', n, k), MatrixSymbol('C', n, k)
X, Y = MatrixSymbol('X', n, k), MatrixSymbol('Y', n, k)
x, y = MatrixSymbol('x', n, 1), MatrixSymbol('y', n, 1)
alpha, beta = Symbol('alpha'), Symbol('beta')


@pytest.mark.parametrize('op, outputs, inputs, inplace', [
    (GEMM(alpha, A, B, beta, C), [alpha * A * B + beta * C], [alpha, A, B, beta, C], {0: 4}),
    (GEMM(1, A, B), [A * B], [A, B], {}),
    (GEMM(1, B, B, trans_a=True), [B.T * B], [B, B], {}),
    (GEMM(1, A, A, 1, A), [A * A + A], [A, A, A], {0: 2}),
    (SYMM(1, A, B, 1, C), [A * B + C], [A, B, C], {0: 2}),
    (SYMM(2, A, B.T, side='R'), [2 * B.T * A], [A, B.T], {}),
    (SYRK(1, B), [B * B.T], [B], {}),
    (SYRK(-1, B, 1, A, trans=False), [A - B * B.T], [B, A], {0: 1}),
    (GEMV(1, A, x, -1, y), [A * x - y], [A, x, y], {0: 2}),
    (AXPY(alpha, X, Y), [alpha * X + Y], [alpha, X, Y], {0: 2}),
    (SCAL(3, X), [3 * X], [X], {0: 0}),
    (COPY(X), [X], [X], {}),
    (TRMM(1, A, B), [A * B], [A, B], {0: 1}),
    (TRSM(1, A, B, trans_a=True), [A.T.I * B], [A, B], {0: 1}),
    (TRSM(alpha, A, B.T, side='R'), [alpha * B.T * A.I], [alpha, A, B.T], {0: 2}),
    (POTRF(A), [LofCholesky(A)], [A], {0: 0}),
    (POTRS(A, B), [A.I * B], [LofCholesky(A), B], {0: 1}),
    (POSV(A, B), [A.I * B, LofCholesky(A)], [A, B], {0: 1, 1: 0}),
    (GETRF(A), [LU(A), LUPivots(A)], [A], {0: 0}),
    (GETRS(A, B), [A.I * B], [LU(A), LUPivots(A), B], {0: 2}),
    (GESV(A, B), [A.I * B, LU(A), LUPivots(A)], [A, B], {0: 1, 1: 0}),
    (TRTRS(A, B, trans=True), [A.T.I * B], [A, B], {0: 1}),
], ids=lambda v: type(v).__name__ if isinstance(v, MatrixComputation) else '')
def test_outputs_inputs_and_inplace_map(op, outputs, inputs, inplace):
    assert op.outputs == tuple(outputs)
    assert op.inputs == tuple(inputs)
    assert op.inplace == inplace


def test_every_routine_is_in_the_vocabulary():
    """The vocabulary is discovered from the classes: every operation class that
    computations.matrices exports is in OPERATIONS, and every one there is exported."""
    import computations.matrices as matrices
    exported = {getattr(matrices, name) for name in matrices.__all__}
    classes = {value for value in exported if isinstance(value, type)
               and issubclass(value, MatrixComputation) and value is not MatrixComputation}
    assert classes == set(OPERATIONS) and len(OPERATIONS) == len(set(OPERATIONS))
    assert {'GEMM', 'POSV', 'TRSM', 'STREAMED_SYRK', 'TRACE'} <= {c.__name__ for c in OPERATIONS}
    for cls in OPERATIONS:
        assert cls.routine and cls.library in ('blas', 'lapack', 'numpy')
        assert set(cls.overwrites.values()) <= set(cls.arguments)


@pytest.mark.parametrize('op, condition', [
    (GEMM(1, A, B), sympy.true),
    (SYMM(1, A, B), Q.symmetric(A)),
    (SYRK(1, B, 1, A), Q.symmetric(A)),
    (SYRK(1, B), sympy.true),
    (POSV(A, B), Q.positive_definite(A)),
    (POTRF(A), Q.positive_definite(A)),
    (POTRS(A, B), Q.positive_definite(A)),
    (GESV(A, B), Q.invertible(A)),
    (TRSM(1, A, B, lower=False), Q.upper_triangular(A)),
    (TRMM(1, A, B, unit_diagonal=True), Q.lower_triangular(A) & Q.unit_triangular(A)),
    (TRTRS(A, B), Q.lower_triangular(A)),
])
def test_conditions(op, condition):
    assert op.condition == condition


def test_flops_follow_the_shapes():
    m, p = sympy.symbols('m p', integer=True, positive=True)
    assert GEMM(1, MatrixSymbol('P', m, p), MatrixSymbol('R', p, n)).flops == 2 * m * n * p
    assert GEMM(1, MatrixSymbol('P', 3, 4), MatrixSymbol('R', 5, 4), trans_b=True).flops == 120
    assert SYMM(1, A, B).flops == 2 * n**2 * k
    assert SYRK(1, B).flops == n * (n + 1) * k
    assert GEMV(1, A, x).flops == 2 * n**2
    assert POTRF(MatrixSymbol('S', 30, 30)).flops == 9000
    assert POSV(A, B).flops == n**3 / 3 + 2 * n**2 * k
    assert GESV(A, B).flops == 2 * n**3 / 3 + 2 * n**2 * k
    assert TRSM(1, A, B).flops == n**2 * k
    assert COPY(X).flops == 0
    for cls in OPERATIONS:
        assert cls.flops is not MatrixComputation.flops


@given(st.sampled_from(OPERATIONS).flatmap(op_case))
def test_numeric_flops_are_nonnegative_numbers(case):
    op, _ = case
    assert sympy.sympify(op.flops).is_number and op.flops >= 0


@given(st.sampled_from(OPERATIONS).flatmap(op_case), st.booleans())
def test_operations_are_value_objects(case, renamed):
    """Unpickled, an operation equals the original in every derived fact, its constructor
    not run (it derives outputs through SymPy's canonical forms, 1 ms an operation: a Dask
    graph's tasks are unpickled on the scheduler and the workers)."""
    op, _ = case
    if renamed and isinstance(op.outputs[0], sympy.MatrixExpr):
        op = op.renamed({op.outputs[0]: sympy.MatrixSymbol('named', *op.outputs[0].shape)})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(op), '__init__', _not_called)
        again = pickle.loads(pickle.dumps(op))
    assert again == op and hash(again) == hash(op) and again.outputs == op.outputs
    assert (again.inputs, again.input_arguments) == (op.inputs, op.input_arguments)
    assert again.unnamed() == op.unnamed() and again.flops == op.flops
    assert type(op)(*op.props) == op.unnamed()
    with pytest.raises(AttributeError, match='immutable'):
        op.A = None


def _not_called(*args, **kwargs):
    raise AssertionError('the constructor ran')


def test_factor_is_shared_between_factorization_and_solves():
    """A -> [POTRF] -> LofCholesky(A) -> [POTRS] -> A.I*B ;  LofCholesky(A) -> [POTRS] -> A.I*C"""
    c = POTRF(A) + POTRS(A, B) + POTRS(A, C)
    assert c.inputs == (A, B, C)
    assert set(c.outputs) == {A.I * B, A.I * C}
    assert len(c.consumers(LofCholesky(A))) == 2


def test_copy_cannot_stand_in_a_mathematical_composite():
    with pytest.raises(CycleError, match='X -> COPY'):
        CompositeComputation(COPY(X))


def test_str_shows_arguments_and_non_default_flags():
    assert str(GEMM(1, A, B)) == 'A*B = GEMM(1, A, B)'
    assert str(TRSM(1, A, B, lower=False)) == 'A**(-1)*B = TRSM(1, A, B, lower=False)'
    assert str(POTRS(A, B)) == 'A**(-1)*B = POTRS(LofCholesky(A), B)'


@pytest.mark.parametrize('make, error, message', [
    (lambda: GEMM(1, A, X.T), ShapeError, r'GEMM: op\(A\) = A is nxn and op\(B\) = X.T is kxn'),
    (lambda: GEMM(1, A, B, 1), ValueError, 'GEMM: beta = 1 but C is missing'),
    (lambda: GEMM(1, A, B, 1, A), ShapeError, 'GEMM: C = A is nxn but the product is nxk'),
    (lambda: GEMM('a', A, B), TypeError, 'GEMM: alpha must be a scalar number or SymPy'),
    (lambda: GEMM(A, A, B), TypeError, 'GEMM: alpha must be a scalar'),
    (lambda: GEMM(1, [[1]], B), TypeError, 'GEMM: A must be a SymPy matrix expression'),
    (lambda: GEMM(1, A, B, trans_a='yes'), TypeError, 'GEMM: trans_a must be True or False'),
    (lambda: SYMM(1, B, B), ShapeError, 'SYMM: A must be square, but B is nxk'),
    (lambda: SYMM(1, A, B, side='up'), ValueError, "SYMM: side must be 'L'"),
    (lambda: GEMV(1, A, B), ShapeError, 'GEMV: x = B must be a column vector'),
    (lambda: AXPY(1, X, A), ShapeError, 'AXPY: X = X is nxk and Y = A is nxn'),
    (lambda: POSV(A, X.T), ShapeError, 'POSV: A = A is nxn and B = X.T is kxn'),
    (lambda: POTRF(B), ShapeError, 'POTRF: A must be square'),
    (lambda: TRSM(1, B, A), ShapeError, 'TRSM: A must be square, but B is nxk'),
    (lambda: TRSM(1, B, A, side='R'), ShapeError, 'TRSM: A must be square, but B is nxk'),
    (lambda: TRMM(1, B, A), ShapeError, 'TRMM: A must be square, but B is nxk'),
    (lambda: TRSM(1, MatrixSymbol('R', 3, 2), MatrixSymbol('C', 3, 3)), ShapeError,
     'TRSM: A must be square, but R is 3x2'),          # SymPy knows 3x2 has no inverse
])
def test_bad_arguments_fail_early_and_name_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()
