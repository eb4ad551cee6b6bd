"""Every stacked kernel, on both layouts (``computations.schedulers.stacked_kernels``,
batch-first; ``computations.schedulers.batch_last``), against the routine's kernel run
problem by problem: random batches, shared and stacked arguments, both dtypes."""
import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import Determinant, MatrixSymbol, Symbol, Trace, log

from computations import CompositeComputation
from computations.matrices import (AXPY, CHOLESKY_ADJOINT, CHOLESKY_DETERMINANT, COPY, DIAGAXPY,
                                   DIAGMM, DIAGMM_ROOT, ELEMENT, GEMM, GEMV, GESV, GETRF, GETRS,
                                   INNER, LU, LU_DETERMINANT, POSV, POTRF, POTRI, POTRS, SCAL,
                                   SCALAR, SHIFT, SYMM, SYMMETRIZE, SYRK, TRACE, TRANSPOSE,
                                   TRIANGULAR_DETERMINANT, TRMM, TRSM, TRTRI, TRTRS, LofCholesky,
                                   LUPivots, RoutineError)
from computations.matrices.ops.lapack import SYSV, SYTRF, SYTRS
import computations
from computations.schedulers import batch_last, stacked_linalg
from computations.schedulers.stacked import BATCH_FIRST, BATCH_LAST, run_stacked
from computations.schedulers.stacked_kernels import PACKED_FACTORS, STACKED
from computations.testing.assertions import pure_values
from computations.testing.data import random_matrix
from computations.testing.reference import relative_error

A, C, S, Y = (MatrixSymbol(name, 4, 4) for name in 'ACSY')    # general, general, spd, symmetric
L, U, D = (MatrixSymbol(name, 4, 4) for name in 'LUD')        # lower, upper, diagonal
G, E, H, x = MatrixSymbol('G', 4, 3), MatrixSymbol('E', 4, 3), MatrixSymbol('H', 3, 4), \
    MatrixSymbol('x', 4, 1)
a = Symbol('a')
KINDS = {A: 'invertible', C: 'general', S: 'spd', Y: 'symmetric', L: 'lower', U: 'upper',
         D: 'diagonal', G: 'general', E: 'general', H: 'general', x: 'general', a: 'scalar'}

#: Programs of one operation each (with the factorization a solve reads), every flag.
CASES = [
    GEMM(a, A, G, 1.5, E), GEMM(1, G, A, trans_a=True), GEMM(2, H, C, trans_b=True),
    GEMM(-1, G, H, 1, C),                   # C - G*H: one subtraction (stacked_linalg.accumulate)
    GEMV(a, A, x, 1, x, trans=True), GEMV(1, G, x, trans=True),
    SYMM(1, S, G), SYMM(2, S, H, 1, H, side='R'),
    SYRK(1, G, trans=True), SYRK(a, G, 1, S), SYRK(-1, G, 1, S),
    TRMM(a, L, G), TRMM(1, U, H, side='R', lower=False, trans_a=True, unit_diagonal=True),
    AXPY(a, A, C), SCAL(a, A),
    DIAGMM(a, D, G), DIAGMM(1, D, H, side='R', inverse=True),
    DIAGMM_ROOT(1, D, G), DIAGMM_ROOT(a, D, H, side='R', inverse=True),
    SHIFT(a, A), SHIFT(2, C), DIAGAXPY(a, D, A),
    TRANSPOSE(G), SYMMETRIZE(C),
    POTRF(S), POSV(S, G), CompositeComputation(POTRF(S), POTRS(S, G)),
    CompositeComputation(POTRF(S), POTRI(S)),
    TRSM(a, L, G), TRSM(1, U, H, side='R', lower=False, trans_a=True),
    TRSM(2, L, G, trans_a=True, unit_diagonal=True),
    TRTRS(L, G), TRTRS(U, x, lower=False, trans=True, unit_diagonal=True),
    # solves sharing their triangle run as one (stacked._solved_together); the third
    # reads the first's result, so it runs after them
    CompositeComputation(POTRF(S), TRSM(1, LofCholesky(S), G), TRSM(1, LofCholesky(S), x),
                         TRSM(1, LofCholesky(S), LofCholesky(S).I * G)),
    CompositeComputation(TRSM(a, L, G, trans_a=True, unit_diagonal=True),
                         TRSM(a, L, E, trans_a=True, unit_diagonal=True), TRSM(a, L, x)),
    TRTRI(L), TRTRI(U, lower=False, unit_diagonal=True),
    GESV(A, G), SYSV(Y, G),
    CompositeComputation(GETRF(A), GETRS(A, G), GETRS(A, x, trans=True)),
    CompositeComputation(SYTRF(Y), SYTRS(Y, G)),
    CompositeComputation(POTRF(S), CHOLESKY_ADJOINT(sympy.Rational(1, 2), LofCholesky(S), C)),
    TRACE(A), INNER(A, C), INNER(G, H, trans=True), ELEMENT(C, 1, 2),
    CompositeComputation(POTRF(S), CHOLESKY_DETERMINANT(LofCholesky(S)),
                         CHOLESKY_DETERMINANT(LofCholesky(S), log=False)),
    TRIANGULAR_DETERMINANT(L, log=True), TRIANGULAR_DETERMINANT(U, lower=False),
    CompositeComputation(GETRF(A), LU_DETERMINANT(LU(A), LUPivots(A)),
                         LU_DETERMINANT(LU(A), LUPivots(A), log=True)),
    CompositeComputation(TRACE(A), SCALAR(a * Trace(A) + a**2 / 2)),
]


def test_every_stacked_kernel_is_tested_here():
    tested = {type(op) for case in CASES
              for op in getattr(case, 'computations', (case,))} | {COPY}
    assert set(STACKED) <= tested, set(STACKED) - tested
    assert set(batch_last.KERNELS) == set(STACKED)

layouts = pytest.mark.parametrize('layout', [BATCH_FIRST, BATCH_LAST], ids=repr)


@settings(max_examples=400, deadline=None)
@given(case=st.sampled_from(CASES), count=st.integers(1, 4), data=st.data(),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**32 - 1),
       layout=st.sampled_from([BATCH_FIRST, BATCH_LAST]))
def test_a_stacked_kernel_equals_the_routine_on_each_problem(case, count, data, dtype, seed,
                                                            layout):
    rng = np.random.default_rng(seed)
    shared = {var: data.draw(st.booleans(), label=f'{var} shared') for var in case.inputs}
    problems = [{var: random_matrix(KINDS[var], None if var == a else var.shape, rng)
                 for var in case.inputs} for _ in range(count if not all(shared.values())
                                                     else 1)]
    problems = [{var: np.asarray(v, dtype=dtype) if var != a else v for var, v in p.items()}
                for p in problems]
    for op in getattr(case, 'computations', (case,)):
        if getattr(op, 'unit_diagonal', False):   # what the flag declares of the triangle
            for p in problems:
                np.fill_diagonal(p[op.A], 1.0)
    stacks = {}
    for var in case.inputs:
        values = [np.asarray(p[var], dtype=dtype).reshape(var.shape if var != a else (1, 1))
                  for p in problems]
        stacks[var] = values[0] if shared[var] else np.stack(values)
        for p in problems[1:]:
            if shared[var]:
                p[var] = problems[0][var]
    results = [v for v in case.outputs if not isinstance(v, PACKED_FACTORS)]
    singles = []
    for p in problems:
        try:
            singles.append(pure_values(case, p))
        except RoutineError:                      # a log of a negative determinant, say
            with pytest.raises(np.linalg.LinAlgError):
                run_stacked(case, stacks, results, layout)
            return
    got = run_stacked(case, stacks, results, layout)
    rtol = 1e-10 if dtype == np.float64 else 2e-4
    for var, stacked in zip(results, got):
        assert stacked.dtype == dtype, var
        for i, single in enumerate(singles):
            value = stacked if stacked.ndim == 2 else stacked[i if len(stacked) > 1 else 0]
            want = np.asarray(single[var])
            if isinstance(var, sympy.MatrixExpr):
                assert relative_error(value, want) <= rtol, (var, i)
            else:       # a logarithm's rounding is absolute: log(det) of an orthogonal A is ~0
                assert abs(value[0, 0] - want) <= rtol * max(1.0, abs(want)), (var, i)


@layouts
def test_a_copy_is_its_argument(layout):
    stack = np.arange(48.0).reshape(3, 4, 4)
    assert np.array_equal(run_stacked(COPY(A), {A: stack}, [A], layout)[0], stack)


@pytest.mark.parametrize('case, bad', [
    (POTRF(S), lambda s: -s), (DIAGMM(1, D, G, inverse=True), lambda d: 0 * d),
    (DIAGMM_ROOT(1, D, G), lambda d: -d), (GESV(A, G), lambda m: 0 * m),
    (TRIANGULAR_DETERMINANT(L, log=True), lambda m: m * [-1, 1, 1, 1]),
    (POSV(S, G), lambda s: s - 3 * np.eye(4)), (TRSM(1, L, G), lambda m: m * [1, 0, 1, 1])])
@layouts
def test_a_failing_problem_raises_linalgerror(case, bad, layout):
    """The front door then runs the batch problem by problem, which names the problem."""
    rng = np.random.default_rng()
    stacks = {var: np.stack([random_matrix(KINDS[var], var.shape, rng) for _ in range(3)])
              for var in case.inputs}
    first = case.inputs[0]
    stacks[first][1] = bad(stacks[first][1])
    with pytest.raises((np.linalg.LinAlgError, FloatingPointError)), \
            np.errstate(divide='raise', invalid='raise', over='raise'):
        run_stacked(case, stacks, [v for v in case.outputs if not isinstance(v, PACKED_FACTORS)],
                    layout)


def test_log_of_a_determinant_through_the_front_door_names_the_problem():
    import computations
    M = MatrixSymbol('M', Symbol('n'), Symbol('n'))
    f = computations.function([M], log(Determinant(M)))
    rng = np.random.default_rng()
    stack = np.stack([random_matrix('spd', (3, 3), rng) for _ in range(4)])
    np.testing.assert_allclose(f(stack), np.linalg.slogdet(stack)[1], rtol=1e-10)
    stack[2] = -stack[2]                          # a negative determinant (odd order)
    with pytest.raises(RoutineError, match=r'problem \(2,\) of the batch'):
        f(stack)


@settings(max_examples=200, deadline=None)
@given(alpha=st.sampled_from([1.0, -1.0, 2.5, 0.0]), beta=st.sampled_from([1.0, -1.0, 0.0, 0.5]),
       fresh=st.booleans(), shared_c=st.booleans(), seed=st.integers(0, 2**32 - 1),
       dtypes=st.sampled_from([(np.float64, np.float64), (np.float32, np.float32),
                               (np.float32, np.float64)]))
def test_accumulate_is_alpha_product_plus_beta_c_and_writes_only_a_fresh_product(
        alpha, beta, fresh, shared_c, seed, dtypes):
    from computations.schedulers.stacked_linalg import accumulate
    rng = np.random.default_rng(seed)
    product = rng.standard_normal((3, 4, 2)).astype(dtypes[0])
    C = rng.standard_normal((4, 2) if shared_c else (3, 4, 2)).astype(dtypes[1])
    want = alpha * product.astype(np.float64) + beta * C.astype(np.float64)
    product_before, C_before = product.copy(), C.copy()
    got = accumulate(alpha, product, beta, C, fresh=fresh)
    assert got.shape == want.shape
    assert got.dtype == (product.dtype if beta == 0 else np.result_type(product, C))  # no C term
    single = np.float32 in dtypes                    # a float32 operand rounds in float32
    assert relative_error(got, want) <= (1e-6 if single else 1e-15)
    assert np.array_equal(C, C_before)                # C is never written
    if not fresh:
        assert np.array_equal(product, product_before)


@pytest.mark.parametrize('layout', [BATCH_FIRST, BATCH_LAST], ids=repr)
def test_solves_sharing_their_triangle_are_one_substitution(layout, monkeypatch):
    """The Kalman update's two solves with its innovation factor, on stacks: one call of
    the layout's triangular solve, the results those of solving one by one."""
    from computations.matrices.examples.kalman import kalman
    from computations.schedulers import stacked as module
    inputs, outputs, assumptions = kalman()
    f = computations.function(inputs, outputs, assumptions, sizes={'n': 5, 'k': 3})
    program = f.specialize((5, 1), (5, 5), (3, 5), (3, 3), (3, 1)).unblocked
    assert [type(op).__name__ for op in program.computations].count('TRSM') == 2
    rng = np.random.default_rng()
    X = rng.standard_normal((40, 5, 5))
    values = dict(zip(inputs, (rng.standard_normal((40, 5, 1)), X @ np.swapaxes(X, 1, 2) + np.eye(5),
                               rng.standard_normal((3, 5)), np.eye(3),
                               rng.standard_normal((40, 3, 1)))))
    solver = batch_last if layout is BATCH_LAST else stacked_linalg
    calls = []
    original = solver.triangular_solve
    monkeypatch.setattr(solver, 'triangular_solve',
                        lambda *args: calls.append(args[1].shape) or original(*args))
    module._plan.cache_clear()
    together = run_stacked(program, values, outputs, layout)
    assert len(calls) == 1 and calls[0][layout.columns] == 1 + 5
    monkeypatch.setattr(module, '_solved_together', lambda steps, *_: iter(steps))
    module._plan.cache_clear()
    apart = run_stacked(program, values, outputs, layout)
    module._plan.cache_clear()
    assert len(calls) == 3
    for got, want in zip(together, apart):
        assert relative_error(got, want) <= 1e-13
