"""Congruences in row panels: STREAMED_SYRK's kernel, the rewrite, and ``low_memory``.

The rewrite (:func:`stream_congruences`) must keep every value and the
output variables, drop the solve's k x n result, and recompute the product
only where nothing else reads it; ``low_memory=True`` must run the
streamed program exactly when its predicted peak is lower, and the
prediction (with the kernel's workspace) must match the traced peak.
"""
import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import MatrixSymbol, Q

import computations
from computations.matrices import (GEMM, GEMV, POTRF, STREAMED_SYRK, SYRK, TRSM, LofCholesky,
                                   compile_expressions, stream_congruences)
from computations.matrices.examples.problems import PROBLEMS
from computations.testing import evaluate, matrix_problems as problems, relative_error
from computations import CompositeComputation
from computations.schedulers import execute, prepare_inputs
from computations.schedulers.codegen import compile_source
from computations.schedulers.memory import Sizes, peak_bytes, traced_peak
from computations.schedulers.streamed import streamed_syrk
from test_kalman import kalman_data

seeds = st.integers(0, 2**32 - 1)


def op_names(computation):
    return [type(op).__name__ for op in computation.toposort()]


# ---------------------------------------------------------------------------- the kernel

def _factor(rng, shape, transposed, symmetric):
    """A factor whose op() has ``shape``: the array to pass (transposed if the flag is set)."""
    x = rng.standard_normal(shape)
    if symmetric:
        return x + x.T
    return np.asfortranarray(x.T) if transposed else x


@given(st.integers(0, 30), st.integers(1, 12), st.integers(1, 12), st.integers(1, 12),
       st.integers(1, 9), st.sampled_from(['', 'A', 'B', 'none']), st.booleans(),
       st.booleans(), st.booleans(), st.sampled_from([0.0, 1.0, -0.5]), st.booleans(), seeds)
@settings(max_examples=80, deadline=None)
def test_kernel_matches_numpy(m, k, p, n, rows, form, trans, trans_a, trans_b, beta, overwrite,
                              seed):
    """Both orientations, every panel width (rows from 1 to more than m), transposed
    factors, a symmetric factor, no B; C untouched unless it may be overwritten.  An empty
    P (m = 0) gives beta*C (it gave C, or failed without C: found by review)."""
    rng = np.random.default_rng(seed)
    symmetric = form if form in ('A', 'B') else ''
    with_b = form != 'none'
    # The shapes of op(A) and op(B) in X = P*op(A)*op(B), or X = op(A)*op(B)*P.T.
    if trans:
        p = k if symmetric == 'A' else p
        n = p if symmetric == 'B' else n
        shapes = [(k, p), (p, n)] if with_b else [(k, p)]
    else:
        p = k if not with_b or symmetric == 'B' else p
        n = p if symmetric == 'A' else n
        shapes = [(n, p), (p, k)] if with_b else [(n, p)]
    trans_a, trans_b = trans_a and symmetric != 'A', trans_b and symmetric != 'B'
    A = _factor(rng, shapes[0], trans_a, symmetric == 'A')
    B = _factor(rng, shapes[1], trans_b, symmetric == 'B') if with_b else None
    P = rng.standard_normal((m, k))
    opA = A.T if trans_a else A
    product = opA if B is None else opA @ (B.T if trans_b else B)
    X = P @ product if trans else product @ P.T
    gram = X.T @ X if trans else X @ X.T
    size = gram.shape[0]
    C = rng.standard_normal((size, size))
    C = np.asfortranarray(C + C.T) if beta else None
    before = None if C is None else C.copy()
    got = streamed_syrk(-1.5, np.asfortranarray(P), np.asfortranarray(A),
                        None if B is None else np.asfortranarray(B), beta, C, trans_a, trans_b,
                        symmetric, trans=trans, overwrite_c=overwrite, rows=rows)
    expected = -1.5 * gram + (beta * before if C is not None else 0)
    assert relative_error(got, expected) <= 1e-12
    assert np.array_equal(got, got.T)
    if C is not None and not overwrite:
        assert np.array_equal(C, before)
    if C is not None and overwrite:
        assert np.shares_memory(got, C)


@pytest.mark.parametrize('overwrite', [False, True])
def test_kernel_with_an_empty_p_gives_beta_c(overwrite):
    """P with no rows: X is empty, so the result is ``beta*C``, or zero without C (the panel
    loop never ran: C came back unscaled, or None reached ``symmetrize``)."""
    C = np.asfortranarray(np.eye(3) + 1.0)
    got = streamed_syrk(1.0, np.zeros((0, 2)), np.ones((2, 3)), None, 2.0, C,
                        overwrite_c=overwrite)
    np.testing.assert_array_equal(got, 2 * (np.eye(3) + 1.0))
    assert np.shares_memory(got, C) == overwrite
    zero = streamed_syrk(1.0, np.zeros((0, 2)), np.ones((2, 3)), None, 0.0, None)
    assert zero.shape == (3, 3) and not zero.any()


def test_operation_declares_its_facts():
    P, H, S = MatrixSymbol('P', 30, 20), MatrixSymbol('H', 20, 50), MatrixSymbol('S', 50, 50)
    op = STREAMED_SYRK(-1, P, H, S, 1, S, symmetric='B')
    assert op.outputs == (S - (P * H * S).T * (P * H * S),)
    assert op.inputs == (P, H, S, S) and op.inplace == {0: 3}
    assert op.condition == Q.symmetric(S)
    # Panels of P*H and of X (recomputed), then the rank update of the 50 x 50 result.
    assert op.flops == 2 * 30 * 20 * 50 + 2 * 30 * 50 * 50 + 50 * 51 * 30
    assert op.workspace == 30 * (20 + 50 + 50)            # fewer rows than one panel
    big = STREAMED_SYRK(1, MatrixSymbol('P', 1000, 1000), MatrixSymbol('H', 1000, 2000))
    assert big.workspace == STREAMED_SYRK.PANEL_ROWS * (1000 + 2000)


@pytest.mark.parametrize('kwargs, message', [
    (dict(symmetric='C'), "symmetric must be '', 'A' or 'B'"),
    (dict(symmetric='B', B=None), "symmetric must be"),
    (dict(symmetric='A', trans_a=True), 'do not transpose it'),
])
def test_operation_rejects_bad_flags(kwargs, message):
    P, A, B = MatrixSymbol('P', 3, 3), MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 3)
    arguments = dict(B=B)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        STREAMED_SYRK(1, P, A, **arguments)


def test_operation_names_mismatched_shapes():
    P, A = MatrixSymbol('P', 3, 4), MatrixSymbol('A', 5, 2)
    with pytest.raises(sympy.ShapeError, match=r'STREAMED_SYRK: P = P is 3x4 and op\(A\) = A'):
        STREAMED_SYRK(1, P, A)


# ---------------------------------------------------------------------------- the rewrite

def _kalman(n=60, k=30):
    problem = PROBLEMS['kalman']()
    dims = {d: {'n': n, 'k': k}[str(d)] for var in problem.inputs for dim in var.shape
            for d in sympy.sympify(dim).free_symbols}
    compiled = compile_expressions(problem.outputs, problem.inputs, problem.assumptions, dims)
    return problem, compiled, dims


def _run(computation, inputs, results, values, dims):
    """Generated source for ``computation`` (the program the front door would run)."""
    program = compile_source(computation, parameters=inputs, results=results, dims=dims)
    prepared = prepare_inputs(inputs, dict(zip(inputs, values)))
    return program(*[prepared[v] for v in inputs])


def test_kalman_rewrite_keeps_values_and_outputs():
    problem, compiled, dims = _kalman()
    streamed = stream_congruences(compiled.computation)
    assert 'TRSM' in op_names(compiled.computation) and 'SYRK' in op_names(compiled.computation)
    names = op_names(streamed)
    assert 'SYRK' not in names
    # the only triangular solves left are with vectors: the mean's residual through the
    # factor and back (the covariance's L.I*H*Sigma, k x n, is never made)
    assert all(op.B.shape[1] == 1 for op in streamed.computations if type(op) is TRSM)
    assert names.count('TRTRI') == 1 and names.count('STREAMED_SYRK') == 1
    # H*Sigma is still made once (by SYMM or GEMM, as the rates price them at n = 60): S
    # and the new mean read it; the other product is S's H*(H*Sigma)'
    products = [name for name in names if name in ('SYMM', 'GEMM')]
    assert len(products) == 2
    assert set(compiled.results) <= set(streamed.outputs)
    values = kalman_data(60, 30, seed=1)
    expected = [evaluate(out, dict(zip(problem.inputs, values))) for out in problem.outputs]
    for computation in (compiled.computation, streamed):
        got = _run(computation, problem.inputs, compiled.results, values, dims)
        for g, e in zip(got, expected):
            assert relative_error(g, e) <= 1e-10


CONGRUENCES = {
    'product': lambda A, B, S, C, Sym, T: C - (A * B).T * S.I * (A * B),
    'transposed factor': lambda A, B, S, C, Sym, T: (B.T * A.T) * S.I * (B.T * A.T).T + C,
    'symmetric right': lambda A, B, S, C, Sym, T: (B * Sym).T * S.I * (B * Sym),
    'symmetric left': lambda A, B, S, C, Sym, T: (T * B).T * S.I * (T * B),
    'input': lambda A, B, S, C, Sym, T: 2 * B.T * S.I * B,
}


@pytest.mark.parametrize('form', sorted(CONGRUENCES))
@given(st.integers(1, 20), st.integers(1, 20), seeds)
@settings(max_examples=10, deadline=None)
def test_congruences_stream_and_agree_with_numpy(form, k, n, seed):
    """``Y.T*S.I*Y`` for Y made by GEMM (either orientation), SYMM (either side) or given."""
    S, C, Sym = MatrixSymbol('S', k, k), MatrixSymbol('C', n, n), MatrixSymbol('Sym', n, n)
    A, B, T = MatrixSymbol('A', k, k), MatrixSymbol('B', k, n), MatrixSymbol('T', k, k)
    inputs = [A, B, S, C, Sym, T]
    expr = CONGRUENCES[form](A, B, S, C, Sym, T)
    assumptions = [Q.positive_definite(S), Q.symmetric(C), Q.symmetric(Sym), Q.symmetric(T)]
    compiled = compile_expressions([expr], inputs, assumptions)
    streamed = stream_congruences(compiled.computation)
    if 'SYRK' not in op_names(compiled.computation):
        return                           # the search found a cheaper way (tiny sizes)
    assert 'STREAMED_SYRK' in op_names(streamed), form
    # A product that only the solve read is recomputed in panels, not formed: no op is dead.
    for op in streamed.computations:
        assert all(streamed.consumers(v) for v in op.outputs) or type(op).__name__ == 'Identity'
    rng = np.random.default_rng(seed)
    s, c, sym, t = (rng.standard_normal(shape) for shape in [(k, k), (n, n), (n, n), (k, k)])
    values = [rng.standard_normal((k, k)), rng.standard_normal((k, n)),
              s @ s.T + k * np.eye(k), c + c.T, sym + sym.T, t + t.T]
    (got,) = _run(streamed, inputs, compiled.results, values, {})
    assert relative_error(got, evaluate(expr, dict(zip(inputs, values)))) <= 1e-9


def test_nothing_to_stream_returns_the_computation():
    X, y = MatrixSymbol('X', 30, 3), MatrixSymbol('y', 30, 1)
    compiled = compile_expressions([(X.T * X).I * X.T * y], [X, y], [Q.fullrank(X)])
    assert stream_congruences(compiled.computation) is compiled.computation


def test_a_solve_read_elsewhere_is_not_streamed():
    """When ``L.I*Y`` is an output too, the rewrite would have to make it anyway."""
    S, Y = MatrixSymbol('S', 20, 20), MatrixSymbol('Y', 20, 40)
    L = LofCholesky(S)
    solve = TRSM(1, L, Y)
    syrk = SYRK(1, solve.outputs[0], trans=True)
    computation = CompositeComputation(POTRF(S), solve, syrk,
                                       GEMM(1, solve.outputs[0], solve.outputs[0], trans_b=True))
    assert stream_congruences(computation) is computation


@given(st.integers(1, 12), st.integers(1, 12), st.booleans(), seeds)
@settings(max_examples=20, deadline=None)
def test_a_solve_also_read_through_its_transpose_times_a_vector_is_streamed(k, n, with_y,
                                                                            seed):
    """``X = L.I*Y`` read by the SYRK and by GEMVs ``alpha*X.T*z + beta*y``: each GEMV
    becomes ``Y.T*(L.-T*z)`` (its output keeps its name), X is never made, and the values
    are NumPy's."""
    S, Y = MatrixSymbol('S', k, k), MatrixSymbol('Y', k, n)
    z, y = MatrixSymbol('z', k, 1), MatrixSymbol('y', n, 1)
    L = LofCholesky(S)
    solve = TRSM(1, L, Y)
    X = solve.outputs[0]
    gemvs = [GEMV(2, X, z, *((-1, y) if with_y else ()), trans=True), GEMV(1, X, z, trans=True)]
    computation = CompositeComputation(POTRF(S), solve, SYRK(-1, X, trans=True), *gemvs)
    streamed = stream_congruences(computation)
    assert 'STREAMED_SYRK' in op_names(streamed)
    assert X not in {v for op in streamed.computations for v in op.inputs + op.outputs}
    assert set(computation.outputs) <= set(streamed.outputs)
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((k, k))
    values = [s @ s.T + k * np.eye(k), rng.standard_normal((k, n)),
              rng.standard_normal((k, 1)), rng.standard_normal((n, 1))]
    inputs = [S, Y, z, y] if with_y else [S, Y, z]
    results = [op.outputs[0] for op in gemvs]
    got = _run(streamed, inputs, results, values[:len(inputs)], {})
    Sv, Yv, zv = values[:3]
    Xv = np.linalg.solve(np.linalg.cholesky(Sv), Yv)
    want = [2 * Xv.T @ zv - (values[3] if with_y else 0), Xv.T @ zv]
    for g, w in zip(got, want):
        assert relative_error(g, w) <= 1e-9


@given(problems(symbolic=False), seeds)
@settings(max_examples=30, deadline=None)
def test_random_problems_keep_their_values_when_streamed(problem, seed):
    """The rewrite applied to whatever the compiler makes of random problems."""
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    values = problem.data(np.random.default_rng(seed))
    spec = f.specialize(*values)
    streamed = stream_congruences(spec.computation)
    got = _run(streamed, list(problem.inputs), spec.results, values, spec.dims)
    for expr, error in zip(problem.outputs, problem.errors(got, values)):
        assert error <= 1e-8, expr


# ---------------------------------------------------------------------------- low_memory

def test_low_memory_runs_the_leaner_program_and_predicts_its_peak():
    """Kalman at n=1000, k=400: the streamed program, a lower peak, the same values, and
    ``peak_bytes`` (workspace included) within 10% of the traced peak."""
    problem = PROBLEMS['kalman']()
    lean = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                                 low_memory=True)
    fast = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    args = [np.asfortranarray(v) for v in kalman_data(1000, 400, seed=2)]
    assert 'STREAMED_SYRK' in op_names(lean.specialize(*args).computation)
    assert 'STREAMED_SYRK' not in op_names(fast.specialize(*args).computation)
    assert lean.peak_bytes(*args) < fast.peak_bytes(*args)
    assert lean.specialize(*args).flops > fast.specialize(*args).flops
    traced, got = traced_peak(lambda: lean(*args))
    assert abs(lean.peak_bytes(*args) - traced) <= 0.1 * traced
    expected = [evaluate(out, dict(zip(problem.inputs, args))) for out in problem.outputs]
    for g, e in zip(got, expected):
        assert relative_error(g, e) <= 1e-10
    interpreted = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                                        low_memory=True, runner='interpret')(*args)
    for g, i in zip(got, interpreted):
        assert relative_error(g, i) <= 1e-13


def test_low_memory_keeps_the_program_when_streaming_does_not_pay():
    """At k = n the panels and P hold as much as the solve's result did: no change."""
    problem = PROBLEMS['kalman']()
    lean = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                                 low_memory=True)
    args = kalman_data(40, 40)
    assert 'STREAMED_SYRK' not in op_names(lean.specialize(*args).computation)


def test_low_memory_must_be_a_bool():
    X = MatrixSymbol('X', 3, 3)
    with pytest.raises(TypeError, match='low_memory must be True or False'):
        computations.function([X], [X * X], low_memory='yes')


def test_workspace_is_part_of_the_step():
    """A program of one STREAMED_SYRK: its peak is the result plus the panels."""
    from computations.inplace import inplace_compile
    P, H = MatrixSymbol('P', 200, 200), MatrixSymbol('H', 200, 300)
    op = STREAMED_SYRK(1, P, H)
    program = inplace_compile(CompositeComputation(op))
    sizes = Sizes({})
    panels = 8 * STREAMED_SYRK.PANEL_ROWS * (200 + 300)
    assert sizes.workspace(op) == panels
    assert peak_bytes(program, program.toposort(), sizes) == 8 * 300 * 300 + panels
    values = {P: np.asfortranarray(np.tril(np.ones((200, 200)))),
              H: np.asfortranarray(np.ones((200, 300)))}
    traced, _ = traced_peak(lambda: execute(program, values))
    assert abs(traced - (8 * 300 * 300 + panels)) <= 0.05 * traced


def test_low_memory_with_blocks():
    """Streaming is chosen before blocking; the streamed ops then run whole on their blocks'
    assembly (the BlockOp fallback), and the values stay right."""
    problem = PROBLEMS['kalman']()
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                              low_memory=True, blocksize=500)
    args = [np.asfortranarray(v) for v in kalman_data(1000, 400, seed=3)]
    assert 'STREAMED_SYRK' in op_names(f.specialize(*args).unblocked)
    expected = [evaluate(out, dict(zip(problem.inputs, args))) for out in problem.outputs]
    for g, e in zip(f(*args), expected):
        assert relative_error(g, e) <= 1e-10
