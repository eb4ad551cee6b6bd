"""Zero-size dimensions (computations/empty.py): empty matrices give NumPy's empty or zero results.

scipy's BLAS/LAPACK wrappers reject empty arrays, so a binding with an
empty matrix runs an :class:`EmptyProgram` instead of a compiled program.
Every case runs twice: through ``EmptyProgram`` itself (``direct``) and end
to end through ``computations.function`` (``function``), and is checked
against NumPy, which handles empty matrices (``inv`` of 0x0, ``@`` over a
zero inner dimension, ``det`` of 0x0 is 1).
"""
import pickle

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import Determinant, Identity, MatrixSymbol, Q, Symbol, Trace, ZeroMatrix, log

import computations
from computations.empty import EmptyProgram, SingularZeroError, is_empty, reduce_empty
from computations.matrices import Properties
from computations.matrices.examples.problems import PROBLEMS, random_inputs
from computations.testing import (evaluate, matrix_problems as problems, relative_error,
                                  rounding)
from computations.testing import random_matrix as _make
from computations.schedulers.execute import prepare_inputs

n, m, k = (Symbol(s, integer=True, positive=True) for s in 'nmk')
alpha = Symbol('alpha')
DTYPES = (np.float64, np.float32)


# ---------------------------------------------------------------------------- helpers

def run_direct(inputs, outputs, assumptions, arrays):
    """The outputs for ``arrays`` by an :class:`EmptyProgram` over the canonical outputs,
    as the front door builds it."""
    properties = Properties(assumptions)
    canonical = [properties.canonical(out) for out in outputs]
    dims = {}
    values = prepare_inputs(inputs, dict(zip(inputs, arrays)), dims=dims)
    assert is_empty(inputs, canonical, dims)
    return EmptyProgram(canonical, inputs, assumptions, dims)(values)


def run_function(inputs, outputs, assumptions, arrays):
    """The outputs for ``arrays`` by ``computations.function``."""
    return computations.function(inputs, outputs, assumptions)(*arrays)


RUNNERS = {'direct': run_direct, 'function': run_function}


@pytest.fixture(params=sorted(RUNNERS))
def run(request):
    return RUNNERS[request.param]


def check(results, expected, arrays, dtype):
    """Each result has the expected value, shape and dtype (scalars: Python floats, or
    ``np.float32`` in float32) and shares
    no memory with the caller's arrays or another result."""
    assert isinstance(results, tuple) and len(results) == len(expected)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for i, (got, want) in enumerate(zip(results, expected)):
        if np.ndim(want) == 0:
            assert type(got) is (float if dtype == np.float64 else np.float32), (i, type(got))
            assert got == pytest.approx(float(want), rel=tolerance, abs=tolerance), i
            continue
        assert isinstance(got, np.ndarray) and got.dtype == dtype, (i, type(got), got.dtype)
        assert got.shape == np.shape(want), (i, got.shape, np.shape(want))
        assert relative_error(got, want) <= tolerance, i
        for other in [*arrays, *results[:i]]:
            assert not (isinstance(other, np.ndarray) and np.shares_memory(got, other)), i


def array(rng, shape, dtype, spd=False):
    """A random Fortran-ordered array (positive definite when ``spd``)."""
    x = rng.standard_normal(shape)
    if spd:
        x = x @ x.T / max(shape[0], 1) + np.eye(shape[0])
    return np.asfortranarray(x, dtype=dtype)


# ---------------------------------------------------------------------------- end to end

@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('rows', [n, sympy.Integer(0)], ids=['symbolic', 'numeric'])
def test_scaling_an_empty_matrix(run, dtype, rows):
    """``2*X`` with X 0 x 3 raised ``_fblas.error`` (DSCAL of an empty array)."""
    X = MatrixSymbol('X', rows, 3)
    x = np.zeros((0, 3), dtype=dtype, order='F')
    check(run([X], [2 * X], [], [x]), [2 * x], [x], dtype)


@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('assumptions', [[], [Q.positive_definite(MatrixSymbol('A', n, n))]],
                         ids=['general', 'spd'])
def test_solving_an_empty_system(run, dtype, assumptions):
    """``A.I*b`` with n = 0 raised ``unexpected array size`` (GESV/POSV of empty arrays)."""
    A, b = MatrixSymbol('A', n, n), MatrixSymbol('b', n, 1)
    a, v = np.zeros((0, 0), dtype=dtype), np.zeros((0, 1), dtype=dtype)
    check(run([A, b], [A.I * b], assumptions, [a, v]), [np.linalg.inv(a) @ v], [a, v], dtype)


@pytest.mark.parametrize('dtype', DTYPES)
def test_a_product_over_an_empty_dimension_is_zero(run, dtype):
    """``A*B + C`` with A m x 0 and B 0 x m is C (a copy); ``A*B`` alone is the zero matrix."""
    A, B, C = MatrixSymbol('A', m, k), MatrixSymbol('B', k, m), MatrixSymbol('C', m, m)
    a, b = np.zeros((3, 0), dtype=dtype), np.zeros((0, 3), dtype=dtype)
    c = array(np.random.default_rng(0), (3, 3), dtype)
    check(run([A, B, C], [A * B + C, A * B], [], [a, b, c]), [a @ b + c, a @ b], [a, b, c],
          dtype)


@pytest.mark.parametrize('dtype', DTYPES)
def test_what_remains_is_computed(run, dtype):
    """Outputs that still involve non-empty inputs run a compiled program (``C*D``, a
    trace, an SPD solve) and constants keep the dtype (``alpha*I``)."""
    A, B = MatrixSymbol('A', m, k), MatrixSymbol('B', k, m)
    C, D, S = MatrixSymbol('C', m, m), MatrixSymbol('D', m, m), MatrixSymbol('S', m, m)
    rng = np.random.default_rng(1)
    a, b = np.zeros((4, 0), dtype=dtype), np.zeros((0, 4), dtype=dtype)
    c, d, s = array(rng, (4, 4), dtype), array(rng, (4, 4), dtype), array(rng, (4, 4), dtype,
                                                                          spd=True)
    outputs = [A * B + C * D, A * B + alpha * Identity(m), Trace(A * B + C),
               (S + A * B).I * C, Trace(A * B) + alpha]
    expected = [c @ d, 2.5 * np.eye(4), np.trace(c), np.linalg.solve(s, c), 2.5]
    results = run([A, B, C, D, S, alpha], outputs, [Q.positive_definite(S)],
                  [a, b, c, d, s, 2.5])
    check(results, expected, [a, b, c, d, s], dtype)


@pytest.mark.parametrize('dtype', DTYPES)
def test_a_congruence_over_an_empty_dimension(run, dtype):
    """``B.T*S.I*B`` with n = 0 is the m x m zero matrix."""
    S, B = MatrixSymbol('S', n, n), MatrixSymbol('B', n, m)
    s, b = np.zeros((0, 0), dtype=dtype), np.zeros((0, 3), dtype=dtype)
    check(run([S, B], [B.T * S.I * B], [Q.positive_definite(S)], [s, b]),
          [b.T @ np.linalg.inv(s) @ b], [s, b], dtype)


@pytest.mark.parametrize('dtype', DTYPES)
def test_scalars_of_empty_matrices(run, dtype):
    """The trace of a 0x0 matrix is 0, its determinant 1 and its log-determinant 0."""
    A, S = MatrixSymbol('A', n, n), MatrixSymbol('S', n, n)
    a, s = np.zeros((0, 0), dtype=dtype), np.zeros((0, 0), dtype=dtype)
    outputs = [Trace(A), log(Determinant(S)), Determinant(A), Trace(A) + 3 * log(Determinant(S))]
    expected = [np.trace(a), np.log(np.linalg.det(s)), np.linalg.det(a), 0.0]
    check(run([A, S], outputs, [Q.positive_definite(S)], [a, s]), expected, [a, s], dtype)


@pytest.mark.parametrize('shape, position', [((0, 0), (0, 0)), ((3, 0), (1, 1)),
                                             ((0, 3), (0, 1))])
def test_an_entry_of_an_empty_matrix_is_an_index_error(run, shape, position):
    """``A[0, 0]`` of a 0 x 0 A was 0.0 (NumPy raises IndexError, as a non-empty A does)."""
    X = MatrixSymbol('X', n, Symbol('k'))
    x = np.zeros(shape, order='F')
    with pytest.raises(IndexError):
        x[position]
    with pytest.raises(IndexError, match=rf'X\[{position[0]}, {position[1]}\]: '
                                         r'(row|column) \d is outside X, which has 0 '):
        run([X], [X[position]], [], [x])


def kalman_case(sizes, dtype):
    problem = PROBLEMS['kalman']()
    arrays = [np.asfortranarray(x, dtype=dtype) for x in random_inputs(problem, sizes)]
    return problem, arrays


@pytest.mark.parametrize('dtype', DTYPES)
def test_kalman_without_observations(run, dtype):
    """With k = 0 nothing is observed: newmu == mu and newSigma == Sigma (as copies)."""
    problem, arrays = kalman_case({'n': 5, 'k': 0}, dtype)
    mu, Sigma = arrays[0], arrays[1]
    results = run(problem.inputs, problem.outputs, problem.assumptions, arrays)
    check(results, [mu, Sigma], arrays, dtype)


@pytest.mark.parametrize('dtype', DTYPES)
def test_kalman_without_a_state(run, dtype):
    """With n = 0 the state is empty: empty results."""
    problem, arrays = kalman_case({'n': 0, 'k': 3}, dtype)
    mu, Sigma, H, R, data = (a.astype(float) for a in arrays)
    S = R + H @ Sigma @ H.T
    expected = [mu + Sigma @ H.T @ np.linalg.solve(S, H @ mu - data),
                Sigma - Sigma @ H.T @ np.linalg.solve(S, H @ Sigma)]
    check(run(problem.inputs, problem.outputs, problem.assumptions, arrays), expected, arrays,
          dtype)


def test_a_singular_zero_matrix_is_an_error(run):
    """``(A*B).I*C`` with a zero inner dimension inverts the zero matrix: NumPy raises
    LinAlgError; so do we, naming the expression."""
    A, B, C = MatrixSymbol('A', m, k), MatrixSymbol('B', k, m), MatrixSymbol('C', m, 1)
    a, b, c = np.zeros((2, 0)), np.zeros((0, 2)), np.ones((2, 1))
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.inv(a @ b)
    with pytest.raises(SingularZeroError, match=r'\(A\*B\)\*\*\(-1\) is undefined when k = 0'):
        run([A, B, C], [(A * B).I * C], [], [a, b, c])


# ---------------------------------------------------------------------------- the rewrite

def test_reduce_empty_replaces_empty_subexpressions():
    A, B, C = MatrixSymbol('A', m, k), MatrixSymbol('B', k, m), MatrixSymbol('C', m, m)
    S, H = MatrixSymbol('S', n, n), MatrixSymbol('H', n, m)
    assert reduce_empty(A * B + C, {m: 3, k: 0}) == C
    assert reduce_empty(A * B, {m: 3, k: 0}) == ZeroMatrix(m, m)
    assert reduce_empty(H.T * S.I * H, {n: 0, m: 3}) == ZeroMatrix(m, m)
    assert reduce_empty(2 * A, {m: 0, k: 2}) == ZeroMatrix(m, k)
    assert reduce_empty(Trace(S) + log(Determinant(S)) + Determinant(S), {n: 0}) == 1
    assert reduce_empty(Trace(A * B + C), {m: 3, k: 0}) == Trace(C)
    assert reduce_empty(A * B + C, {m: 3, k: 2}) == A * B + C        # nothing empty


def test_reduce_empty_never_builds_an_inverse_of_zero():
    A, B, C = MatrixSymbol('A', m, k), MatrixSymbol('B', k, m), MatrixSymbol('C', m, m)
    assert reduce_empty((A * B).I * C, {m: 0, k: 0}) == ZeroMatrix(m, m)   # empty: no inverse
    for singular in [(A * B).I * C, log(Determinant(A * B)), C / Determinant(A * B)]:
        with pytest.raises(SingularZeroError, match='is undefined when k = 0, m = 3'):
            reduce_empty(singular, {m: 3, k: 0})
    assert reduce_empty(Determinant(A * B), {m: 3, k: 0}) == 0


def test_is_empty():
    X = MatrixSymbol('X', n - 1, 3)
    Y = MatrixSymbol('Y', 0, 3)
    assert is_empty([X], [2 * X], {n: 1}) and not is_empty([X], [2 * X], {n: 2})
    assert is_empty([Y], [2 * Y], {})
    A, B = MatrixSymbol('A', m, k), MatrixSymbol('B', k, m)
    assert is_empty([A, B], [A * B], {m: 2, k: 0}) and not is_empty([A, B], [A * B],
                                                                      {m: 2, k: 1})


def test_singular_zero_error_pickles():
    A, B = MatrixSymbol('A', m, k), MatrixSymbol('B', k, m)
    error = SingularZeroError((A * B).I, {m: 3, k: 0})
    loaded = pickle.loads(pickle.dumps(error))
    assert type(loaded) is SingularZeroError and str(loaded) == str(error)


def test_an_empty_program_computes_only_what_remains():
    A, B, C, D = (MatrixSymbol(name, m, m) for name in 'ABCD')
    K, L = MatrixSymbol('K', m, k), MatrixSymbol('L', k, m)
    program = EmptyProgram([K * L + C * D, K * L + A], [A, B, C, D, K, L], [], {m: 3, k: 0})
    assert program.function is not None and program.function.inputs == (
        MatrixSymbol('C', 3, 3), MatrixSymbol('D', 3, 3))
    assert program.reduced[1] == MatrixSymbol('A', 3, 3)
    assert EmptyProgram([K * L + A], [A, K, L], [], {m: 3, k: 0}).function is None


def test_a_function_whose_default_program_is_empty_shows_itself():
    """``function([A, B], [A*B, B*B])`` with A 0 x 3: ``f.source``, ``f.dot()`` and
    Jupyter's display raised AttributeError (the empty program has no generated source);
    the source now says what each output is and shows the program that runs."""
    A, B = MatrixSymbol('A', 0, 3), MatrixSymbol('B', 3, 3)
    f = computations.function([A, B], [A * B, B * B])
    source = f.source
    assert '#   out0 = 0 (0 x 3)' in source and '#   out1: the program below' in source
    assert 'dgemm' in source.lower() or 'dsymm' in source.lower()
    assert 'image/svg+xml' in f._repr_mimebundle_() and f.dot().source
    assert str(f).startswith('function(A, B) -> out0, out1')
    alone = computations.function([A], [A.T * A])           # nothing left to run
    assert alone.source.splitlines()[1] == '#   out0 = 0 (3 x 3)'
    assert 'image/svg+xml' in alone._repr_mimebundle_()


def test_an_empty_program_predicts_its_memory():
    """The outputs made directly count their bytes; a program its own peak."""
    problem, arrays = kalman_case({'n': 5, 'k': 0}, np.float32)
    program = EmptyProgram(problem.outputs, problem.inputs, problem.assumptions, {n: 5, k: 0})
    assert program.function is None
    assert program.peak_bytes(np.float32) == (5 + 25) * 4
    A, B, C = MatrixSymbol('A', m, k), MatrixSymbol('B', k, m), MatrixSymbol('C', m, m)
    program = EmptyProgram([A * B, C * C], [A, B, C], [], {m: 10, k: 0})
    assert program.peak_bytes() == 800 + program.function.default.peak_bytes()
    assert program.peak_bytes() >= 1600


def test_an_empty_program_runs_the_rest_on_dask():
    """``scheduler=`` goes to the program of the outputs that remain."""
    A, B, C = MatrixSymbol('A', m, k), MatrixSymbol('B', k, m), MatrixSymbol('C', m, m)
    a, b, c = np.zeros((3, 0)), np.zeros((0, 3)), array(np.random.default_rng(2), (3, 3),
                                                        np.float64)
    program = EmptyProgram([A * B + C * C, A * B], [A, B, C], [], {m: 3, k: 0})
    results = program({A: a, B: b, C: c}, scheduler='sync')
    check(results, [c @ c, np.zeros((3, 3))], [a, b, c], np.float64)


# ---------------------------------------------------------------------------- random problems

@st.composite
def empty_problems(draw):
    """A random symbolic problem with some dimensions zero: ``(problem, dims, values)``."""
    problem = draw(problems(symbolic=True).filter(lambda p: p.dims))
    zeros = draw(st.sets(st.sampled_from(sorted(problem.dims, key=str)), min_size=1))
    dims = {d: 0 if d in zeros else v for d, v in problem.dims.items()}
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    subs = {d: sympy.Integer(v) for d, v in dims.items()}
    values = []
    for var in problem.inputs:
        if not isinstance(var, MatrixSymbol):
            values.append(_make('scalar', None, rng))
            continue
        shape = tuple(int(sympy.sympify(d).xreplace(subs)) for d in var.shape)
        # An empty matrix has no entries to satisfy the declared properties with.
        values.append(np.zeros(shape) if 0 in shape else _make(problem.kinds[var], shape, rng))
    return problem, dims, values


def numpy_reference(problem, dims, values):
    """The outputs by NumPy at numeric shapes with the error rounding may leave in them
    (:func:`computations.testing.rounding`), or the LinAlgError NumPy raises."""
    subs = {d: sympy.Integer(v) for d, v in dims.items()}
    known = {var.xreplace(subs): value for var, value in zip(problem.inputs, values)}
    try:
        return [(evaluate(out.xreplace(subs), known), rounding(out.xreplace(subs), known))
                for out in problem.outputs]
    except np.linalg.LinAlgError as error:
        return error


def check_random(problem, dims, values, runner):
    expected = numpy_reference(problem, dims, values)
    if isinstance(expected, Exception):          # the zero matrix inverted
        with pytest.raises(np.linalg.LinAlgError):
            runner(problem.inputs, problem.outputs, problem.assumptions, values)
        return
    results = runner(problem.inputs, problem.outputs, problem.assumptions, values)
    assert len(results) == len(expected)
    for out, got, (want, allowed) in zip(problem.outputs, results, expected):
        assert isinstance(got, np.ndarray) and got.shape == want.shape, (out, got, want)
        assert relative_error(got, want, allowed) <= 1e-8, out
        assert not any(np.shares_memory(got, v) for v in values if isinstance(v, np.ndarray))


@given(empty_problems())
@settings(max_examples=40)
def test_random_problems_with_empty_dimensions(case):
    """EmptyProgram agrees with NumPy on random expressions whose dimensions may be zero."""
    check_random(*case, run_direct)


@given(empty_problems())
@settings(max_examples=20)
def test_function_on_random_problems_with_empty_dimensions(case):
    """The same, end to end through ``computations.function``."""
    check_random(*case, run_function)



@pytest.mark.parametrize('output', ['trace', 'gram'])
def test_a_coefficient_undefined_at_the_empty_size_is_refused_as_at_any_size(output):
    """``Trace(A)/n`` at n = 0 is 0/0: the empty matrices' reduction made Trace(A) the 0 it
    is first, and SymPy folded 0/n to 0 before the size was bound -- a silent 0 where
    ``A/(n - 1)`` at n = 1 raises UndefinedAtSizeError."""
    from computations.sizes import UndefinedAtSizeError
    n, k = Symbol('n'), Symbol('k')
    A, X = MatrixSymbol('A', n, n), MatrixSymbol('X', n, k)
    f, value = ((computations.function([A], Trace(A) / n), np.zeros((0, 0))) if output == 'trace'
                else (computations.function([X], X.T * X / n), np.zeros((0, 2))))
    with pytest.raises(UndefinedAtSizeError, match=r'undefined when .*n = 0'):
        f(value)
    g = computations.function([X], X.T * X * (n + 1))        # defined: zeros, as before
    assert np.array_equal(g(np.zeros((0, 2))), np.zeros((2, 2)))
