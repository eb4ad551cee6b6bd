"""Batches of independent problems (``computations.front_door.batches``): inputs with leading
batch dimensions give stacked results equal to a loop of single calls."""
import contextlib
import os
import sys
import threading

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import Determinant, Identity, MatrixSymbol, OneMatrix, Q, Symbol, Trace, log

import computations
from computations.front_door.batches import BatchShapeError
from computations.matrices import NotPositiveDefiniteError
from computations.matrices.examples.kalman import kalman
from computations.testing.reference import relative_error, rounding

n, k = Symbol('n'), Symbol('k')
S, B = MatrixSymbol('S', n, n), MatrixSymbol('B', n, k)
s = Symbol('s')


def _spd(rng, batch, size, dtype):
    X = rng.standard_normal(tuple(batch) + (size, size))
    return (X @ np.swapaxes(X, -1, -2) + size * np.eye(size)).astype(dtype)


def _loop(f, batch, *values):
    """The single calls, problem by problem, of the broadcast values (None: the same value)."""
    out = {}
    for index in np.ndindex(*batch):
        problem = [v if lead is None else np.broadcast_to(v, tuple(batch) + v.shape[len(lead):])[index]
                   for v, lead in values]
        out[index] = f(*problem)
    return out


batches = st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple)


@contextlib.contextmanager
def chunks_of(problems, batch_last=False, threads=1):
    """Stacked batches run in chunks of ``problems`` problems (None: the default sizing, one
    chunk for these small batches), on the batch-last layout where their order allows
    (``batch_last``: however few the problems) or as the front door chooses; with
    ``threads`` > 1, batch-first chunks on that many threads whatever the matrices' order
    and the machine's cores."""
    from threadpoolctl import threadpool_limits
    from computations.front_door import batches
    from computations.schedulers import batch_last as layout, stacked
    with pytest.MonkeyPatch.context() as patch:
        if problems is not None:
            patch.setattr(stacked, 'CHUNK_BYTES', 1)
            patch.setattr(stacked, 'MIN_CHUNK', problems)
        if batch_last:
            patch.setattr(layout, 'BATCH_LAST_MIN_PROBLEMS', 1)
        if threads > 1:
            patch.setattr(batches, 'THREADED_MIN_ORDER', 0)
            patch.setattr(stacked, 'CORES', threads)
        with threadpool_limits(threads, user_api='blas') if threads > 1 \
                else contextlib.nullcontext():
            yield


@settings(max_examples=25, deadline=None)
@given(batch=batches, size=st.integers(1, 6), columns=st.integers(1, 3),
       dtype=st.sampled_from([np.float64, np.float32]), share=st.booleans(),
       chunk=st.sampled_from([None, 1, 2, 4]), seed=st.integers(0, 2**32 - 1),
       batch_last=st.booleans(), spread=st.booleans(), threads=st.sampled_from([1, 2]))
def test_a_batch_equals_a_loop_of_single_calls(batch, size, columns, dtype, share, chunk,
                                               seed, batch_last, spread, threads):
    """... with stacks that broadcast against each other when ``spread`` (matrices along
    the first batch axis, right-hand sides along the others: gathered a chunk at a time),
    the chunks on one thread or two."""
    rng = np.random.default_rng(seed)
    f = computations.function([S, B, s], {'x': S.I * B, 'logdet': log(Determinant(S)),
                                          't': s * Trace(S), 'shared': B.T * B},
                              [Q.positive_definite(S)])
    lead = batch[:1] + (1,) * (len(batch) - 1) if spread else batch
    matrices = _spd(rng, lead, size, dtype)
    rhs_lead = (1,) + batch[1:] if spread else batch
    rhs = rng.standard_normal((size, columns) if share else tuple(rhs_lead) + (size, columns))
    rhs = rhs.astype(dtype)
    scalars = rng.standard_normal(batch[-1:])          # one per problem along the last axis
    before = [matrices.copy(), rhs.copy(), scalars.copy()]
    with chunks_of(chunk, batch_last, threads):
        got = f(matrices, rhs, scalars)
    for a, b in zip(before, (matrices, rhs, scalars)):
        np.testing.assert_array_equal(a, b)            # the inputs are not modified
    singles = _loop(lambda m, r, c: f(m, r, float(c)), batch, (matrices, lead),
                    (rhs, None if share else rhs_lead), (scalars, batch[-1:]))
    assert set(got) == {'x', 'logdet', 't', 'shared'}
    assert got['x'].shape == tuple(batch) + (size, columns) and got['x'].dtype == dtype
    assert got['logdet'].shape == tuple(batch) and got['logdet'].dtype == dtype
    tolerance = 1e-5 if dtype is np.float32 else 1e-12
    for index, single in singles.items():
        for name in got:
            np.testing.assert_allclose(got[name][index], single[name], rtol=tolerance,
                                       atol=tolerance)
    # and against NumPy's stacked routines
    np.testing.assert_allclose(got['x'], np.linalg.solve(
                                   np.broadcast_to(matrices, tuple(batch) + (size, size)),
                                   np.broadcast_to(rhs, got['x'].shape)).astype(float),
                               rtol=1e-3 if dtype is np.float32 else 1e-9, atol=1e-4)


def test_the_kalman_filter_over_a_batch_of_targets():
    inputs, outputs, assumptions = kalman()
    f = computations.function(inputs, outputs, assumptions)
    rng = np.random.default_rng()
    count, size, observed = 50, 6, 3
    mu = rng.standard_normal((count, size, 1))
    Sigma = _spd(rng, (count,), size, np.float64)
    H = rng.standard_normal((observed, size))                    # shared by every target
    R = _spd(rng, (), observed, np.float64)
    data = rng.standard_normal((count, observed, 1))
    newmu, newSigma = f(mu, Sigma, H, R, data)
    assert newmu.shape == (count, size, 1) and newSigma.shape == (count, size, size)
    for i in range(count):                 # stacked, or one by one: the same to rounding
        one = f(mu[i], Sigma[i], H, R, data[i])
        assert relative_error(newmu[i], one[0]) < 1e-12
        assert relative_error(newSigma[i], one[1]) < 1e-12
    K = Sigma @ H.T @ np.linalg.inv(H @ Sigma @ H.T + R)
    np.testing.assert_allclose(newmu, mu + K @ (H @ mu - data), rtol=1e-9, atol=1e-12)


def test_an_error_names_the_problem_of_the_batch():
    f = computations.function([S, B], S.I * B, [Q.positive_definite(S)])
    matrices = np.stack([np.stack([np.eye(3)] * 4)] * 3)          # a 3 x 4 batch
    matrices[2, 1, 1, 1] = -1.0
    with pytest.raises(NotPositiveDefiniteError,
                       match=r'^problem \(2, 1\) of the batch: POSV: S is not positive '
                             r'definite') as caught:
        f(matrices, np.ones((3, 1)))
    assert caught.value.batch_index == (2, 1)


def test_an_error_that_is_not_a_message_names_the_problem_too():
    """Python's OverflowError(34, 'Numerical result out of range') has no message as its
    first argument (found by review L)."""
    from computations.front_door.batches import _name_the_problem
    error = OverflowError(34, 'Numerical result out of range')
    _name_the_problem(error, (1,))
    assert str(error).startswith('problem (1,) of the batch: ') and error.batch_index == (1,)
    assert 'Numerical result out of range' in str(error)


def test_a_scalar_that_overflows_in_one_problem_is_inf_there_as_in_a_single_call():
    """A scalar expression is NumPy's arithmetic in a batch as in one call: the problem
    whose ``alpha**2`` overflows gets inf (with NumPy's warning), the others their value."""
    alpha = Symbol('alpha')
    f = computations.function([S, alpha], [Trace(S) * alpha**2])
    with pytest.warns(RuntimeWarning, match='overflow'):
        got = f(np.stack([np.eye(2)] * 3), np.array([1.0, 1e300, 3.0]))
    with pytest.warns(RuntimeWarning, match='overflow'):
        single = f(np.eye(2), 1e300)
    assert list(np.ravel(got)) == [2.0, np.inf, 18.0] and np.ravel(single)[0] == np.inf


@pytest.mark.parametrize('size, count, rhs', [(32, 50, 200), (70, 20, 100)])  # stacked, loop
def test_stacks_that_broadcast_are_never_copied_whole(size, count, rhs):
    """``count`` matrices against ``rhs`` right-hand sides: the matrices are never
    broadcast into a copy per problem (they were, in both runners: 34x the result's memory;
    found by review L)."""
    import tracemalloc
    f = computations.function([S, B], S.I * B, [Q.positive_definite(S)])
    rng = np.random.default_rng(0)
    matrices = _spd(rng, (count, 1), size, np.float64)
    right = rng.standard_normal((1, rhs, size, 1))
    f(matrices[:2], right[:, :2])                        # compiled, outside the trace
    tracemalloc.start()
    try:
        x = f(matrices, right)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    broadcast = count * rhs * size * size * 8            # the matrices copied per problem
    assert peak < broadcast / 3, (peak, broadcast)
    expected = np.linalg.solve(np.broadcast_to(matrices, (count, rhs, size, size)), right)
    assert relative_error(x, expected) < 1e-10


@pytest.mark.parametrize('count', [3, 700])                     # stacked, batch-last
def test_a_shape_every_problem_has_wrong_is_the_calls_error_not_a_problems(count):
    f = computations.function([S, B], S.I * B, [Q.positive_definite(S)])
    stack = np.broadcast_to(np.eye(3), (count, 3, 3))
    with pytest.raises(ValueError, match=r'^input B has 4 rows, but n = 3 \(bound by S\)') \
            as caught:
        f(stack, np.ones((4, 3)))              # a shared B that fits no problem
    assert not hasattr(caught.value, 'batch_index')


def test_batch_dimensions_that_do_not_broadcast_are_named():
    f = computations.function([S, B], S.I * B, [Q.positive_definite(S)])
    with pytest.raises(BatchShapeError, match=r'do not broadcast together \(S: \(3,\), '
                                              r'B: \(4,\)\)'):
        f(np.stack([np.eye(2)] * 3), np.ones((4, 2, 1)))


@pytest.mark.parametrize('stacks, expected', [
    (((0, 3, 3), (3, 2)), (0, 3, 2)),
    (((2, 0, 3, 3), (3, 2)), (2, 0, 3, 2)),
    (((0, 3, 3), (5, 1, 3, 2)), (5, 0, 3, 2)),                 # broadcast as NumPy does
])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_a_batch_of_no_problem_gives_empty_stacks_as_numpy_does(stacks, expected, dtype):
    f = computations.function([S, B], [S.I * B, sympy.log(sympy.Determinant(S))],
                              [Q.positive_definite(S)])
    s, b = (np.ones(shape, dtype) for shape in stacks)
    solved, logdet = f(s, b)
    assert solved.shape == np.linalg.solve(s, b).shape == expected
    assert logdet.shape == expected[:-2] and solved.dtype == logdet.dtype == dtype
    with pytest.raises(ValueError, match=r'input B has 4 rows, but n = 3'):
        f(s, np.ones((4, 2)))                  # the shapes are still checked
    x = MatrixSymbol('x', n, 1)
    g = computations.function([S, x], S * x)
    assert g(np.ones((0, 3, 3)), np.ones(3)).shape == (0, 3)   # a shared 1-D vector: 1-D


@pytest.mark.parametrize('method', ['specialize', 'peak_bytes', 'profile'])
def test_the_methods_that_take_one_problem_refuse_a_stack_by_name(method):
    f = computations.function([S, B], S.I * B, [Q.positive_definite(S)])
    stack, b = np.stack([np.eye(3) * (i + 2) for i in range(4)]), np.ones((3, 1))
    message = (rf"^{method} takes one problem, but input S is a stack of them \(batch \(4,\)\): "
               r"give one problem's arrays, e\.g\. S\[0\], or their shapes")
    with pytest.raises(ValueError, match=message):
        getattr(f, method)(stack, b)
    if method != 'profile':
        with pytest.raises(ValueError, match=message):
            getattr(f, method)((4, 3, 3), (3, 1))
        assert getattr(f, method)((3, 3), (3, 1)) is not None
    assert getattr(f, method)(stack[0], b) is not None       # one problem: as before


def test_a_single_output_and_a_tuple_are_stacked_as_given():
    A = MatrixSymbol('A', n, n)
    single = computations.function([A], A * A)
    pair = computations.function([A], [A.T, Trace(A)])
    stack = np.arange(2 * 2 * 3 * 3, dtype=float).reshape(2, 2, 3, 3)
    np.testing.assert_allclose(single(stack), stack @ stack)
    transposed, traces = pair(stack)
    np.testing.assert_array_equal(transposed, np.swapaxes(stack, -1, -2))
    np.testing.assert_allclose(traces, np.trace(stack, axis1=-2, axis2=-1))
    assert traces.shape == (2, 2)


def test_a_donating_function_leaves_a_batchs_arrays_alone():
    """Donation gives up the caller's array for one problem; in a batch every problem reads
    a view of the stack (and all read a shared matrix), so nothing may be overwritten."""
    f = computations.function([S, B], S.I * B, [Q.positive_definite(S)], donate=[S, B])
    rng = np.random.default_rng()
    stack = np.asfortranarray(_spd(rng, (4,), 3, np.float64))
    shared = np.asfortranarray(rng.standard_normal((3, 2)))
    before = stack.copy(), shared.copy()
    got = f(stack, shared)
    np.testing.assert_array_equal(stack, before[0])
    np.testing.assert_array_equal(shared, before[1])
    np.testing.assert_allclose(got, np.linalg.solve(before[0], before[1]), rtol=1e-10)


# Stacked: one NumPy/SciPy call per operation for the whole batch -------------------------

from computations.front_door import compiled as compiled_module  # noqa: E402
from computations.testing import matrix_problems  # noqa: E402


def test_a_small_batch_runs_stacked_not_problem_by_problem(monkeypatch):
    inputs, outputs, assumptions = kalman()
    f = computations.function(inputs, outputs, assumptions)
    rng = np.random.default_rng()
    count = 20
    values = (rng.standard_normal((count, 6, 1)), _spd(rng, (count,), 6, np.float64),
              rng.standard_normal((3, 6)), _spd(rng, (), 3, np.float64),
              rng.standard_normal((count, 3, 1)))
    singles = [f(*(v[i] if v.ndim == 3 else v for v in values)) for i in range(count)]

    def loop(*args, **kwargs):
        raise AssertionError('ran problem by problem')
    monkeypatch.setattr(compiled_module, 'run_batch', loop)
    newmu, newSigma = f(*values)
    for i, (mu, Sigma) in enumerate(singles):
        assert relative_error(newmu[i], mu) < 1e-12 and relative_error(newSigma[i], Sigma) < 1e-12
    bad = values[1].copy()
    bad[7] = -1e6 * np.eye(6)           # S = H*Sigma*H.T + R surely not positive definite
    with pytest.raises(AssertionError, match='ran problem by problem'):
        f(values[0], bad, *values[2:])      # a failure hands the batch to the loop, which names it


@settings(max_examples=40, deadline=None)
@given(problem=matrix_problems(symbolic=False), count=st.integers(1, 4),
       chunk=st.sampled_from([None, 1, 3]), seed=st.integers(0, 2**32 - 1),
       batch_last=st.booleans(), dtype=st.sampled_from([np.float64, np.float32]),
       threads=st.sampled_from([1, 3]))
def test_random_problems_in_a_batch_equal_their_single_calls(problem, count, chunk, seed,
                                                             batch_last, dtype, threads):
    """Stacked where every operation has a stacked kernel, problem by problem where not:
    either way the results of single calls, in float64 and float32, with the chunks on
    one thread or several, the stacks given left as they were.  Compared beyond the rounding at the size of the terms summed
    (:func:`computations.testing.rounding`): the two ways may round a sum that cancels to
    about zero differently."""
    rng = np.random.default_rng(seed)
    draws = [[v.astype(dtype) if isinstance(v, np.ndarray) else v for v in problem.data(rng)]
             for _ in range(count)]
    f = computations.function(problem.inputs, list(problem.outputs), problem.assumptions)
    try:
        singles = [f(*draw) for draw in draws]
    except (ArithmeticError, ValueError):
        return                                   # data the single calls refuse too
    stacks = [np.stack(column) if isinstance(column[0], np.ndarray) else np.array(column)
              for column in zip(*draws)]
    if not any(isinstance(s, np.ndarray) and s.ndim == 3 for s in stacks):
        return                                   # no matrix input: not a batch
    before = [np.copy(s) for s in stacks]
    with chunks_of(chunk, batch_last, threads):
        got = f(*stacks)
    for s, b in zip(stacks, before):
        np.testing.assert_array_equal(s, b)      # the stacks are not modified
    tolerance = 1e-8 if dtype == np.float64 else 1e-4
    for i, single in enumerate(singles):
        known = dict(zip(problem.inputs, draws[i]))
        for expr, g, want in zip(problem.outputs, got, single):
            assert np.asarray(g).dtype == dtype, expr
            allowed = rounding(expr, known, dtype)
            assert relative_error(g[i], want, allowed) <= tolerance, expr


@pytest.mark.parametrize('fact', [Q.lower_triangular, Q.upper_triangular])
@pytest.mark.parametrize('size, count', [(3, 300), (3, 5), (40, 5)])  # substitution; NumPy's
def test_stacked_triangular_solves_and_a_singular_problem(fact, size, count):  # LU (2 ways)
    from computations.schedulers.stacked_linalg import SUBSTITUTION_MAX, SUBSTITUTION_MIN_WORK
    by_substitution = size <= SUBSTITUTION_MAX and count * size >= SUBSTITUTION_MIN_WORK
    assert by_substitution == (count == 300)
    from computations.matrices import SingularMatrixError
    T = MatrixSymbol('T', n, n)
    f = computations.function([T, B], [T.I * B, B.T * T.T.I], [fact(T)])
    rng = np.random.default_rng()
    keep = np.tril if fact is Q.lower_triangular else np.triu
    # entries of order 1/size off the diagonal: well conditioned at every draw (random
    # triangles with entries of order 1 have condition numbers growing exponentially)
    stack = keep(rng.standard_normal((count, size, size))) / size + 3 * np.eye(size)
    rhs = rng.standard_normal((count, size, 2))
    left, right = f(stack, rhs)
    np.testing.assert_allclose(left, np.linalg.solve(stack, rhs), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(right, np.swapaxes(left, -1, -2), rtol=1e-9, atol=1e-12)
    stack[3, 1, 1] = 0.0
    with pytest.raises(SingularMatrixError, match=r'^problem \(3,\) of the batch'):
        f(stack, rhs)


def test_a_functions_batches_remember_each_layout_and_share_no_writable_constant():
    """Batches of two shapes, alternately: each layout's program (and constants) is its own,
    read-only; the results are the single calls'."""
    f = computations.function([S, B], {'x': (S + 2 * Identity(n)).I * B,
                                       'sums': S * OneMatrix(n, 1)},      # a constant array
                              [Q.positive_definite(S)])
    rng = np.random.default_rng()
    for size in (3, 5, 3, 5):
        stack, rhs = _spd(rng, (4,), size, np.float64), rng.standard_normal((4, size, 2))
        got = f(stack, rhs)
        want = np.linalg.solve(stack + 2 * np.eye(size), rhs)
        assert relative_error(got['x'], want) < 1e-12
        assert relative_error(got['sums'], stack.sum(axis=-1, keepdims=True)) < 1e-12
    assert len(f._batches) == 2
    for sizes, constants, layout in f._batches.values():
        assert constants and all(not c.flags.writeable for c in constants.values()
                                 if isinstance(c, np.ndarray))


def test_a_large_batch_runs_batch_last_and_a_failing_problem_is_named(monkeypatch):
    """600 Kalman problems at n = 6 go through the batch-last layout (no problem-by-problem
    run), equal to their single calls; one that is not positive definite is named."""
    from computations.schedulers import stacked
    from computations.schedulers.batch_last import BATCH_LAST_MAX, BATCH_LAST_MIN_PROBLEMS
    count = max(600, BATCH_LAST_MIN_PROBLEMS)
    assert BATCH_LAST_MAX >= 6
    inputs, outputs, assumptions = kalman()
    f = computations.function(inputs, outputs, assumptions)
    rng = np.random.default_rng()
    values = (rng.standard_normal((count, 6, 1)), _spd(rng, (count,), 6, np.float64),
              rng.standard_normal((3, 6)), _spd(rng, (), 3, np.float64),
              rng.standard_normal((count, 3, 1)))
    singles = [f(*(v[i] if v.ndim == 3 else v for v in values)) for i in range(count)]
    layouts = []
    original = stacked.run_in_chunks

    def spy(*args, **kwargs):
        layouts.append(args[4])                 # computation, values, results, batch, layout
        return original(*args, **kwargs)
    monkeypatch.setattr(stacked, 'run_in_chunks', spy)
    monkeypatch.setattr(compiled_module, 'run_batch', _no_loop)
    newmu, newSigma = f(*values)
    assert layouts == [stacked.BATCH_LAST]
    for i, (mu, Sigma) in enumerate(singles):
        assert relative_error(newmu[i], mu) < 1e-12 and relative_error(newSigma[i], Sigma) < 1e-12
    monkeypatch.undo()
    bad = values[1].copy()
    bad[444] = -1e6 * np.eye(6)
    with pytest.raises(NotPositiveDefiniteError, match=r'problem \(444,\) of the batch'):
        f(values[0], bad, *values[2:])


def _no_loop(*args, **kwargs):
    raise AssertionError('ran problem by problem')


def _kalman_stacks(rng, count):
    return (rng.standard_normal((count, 6, 1)), _spd(rng, (count,), 6, np.float64),
            rng.standard_normal((3, 6)), _spd(rng, (), 3, np.float64),
            rng.standard_normal((count, 3, 1)))


def test_batch_last_chunks_take_their_arrays_again_and_no_result_shares_them(monkeypatch):
    """The chunks of a batch-last run, and the next call's, write into the same buffers
    (kept by the function); every result is a fresh array, untouched by the next call, and
    equal to the single calls."""
    inputs, outputs, assumptions = kalman()
    f = computations.function(inputs, outputs, assumptions)
    monkeypatch.setattr(compiled_module, 'run_batch', _no_loop)
    rng = np.random.default_rng()
    with chunks_of(64, batch_last=True):
        first = _kalman_stacks(rng, 300)                       # five chunks
        results = f(*first)
        kept = [r.copy() for r in results]
        buffers, = f._chunk_buffers
        held = buffers.nbytes
        second = _kalman_stacks(rng, 300)
        again = f(*second)
    assert f._chunk_buffers == [buffers] and buffers.nbytes == held > 0
    for result, copy in zip(results, kept):
        np.testing.assert_array_equal(result, copy)
    for values, stacked_results in ((first, results), (second, again)):
        for i in (0, 77, 299):
            single = f(*(v[i] if v.ndim == 3 else v for v in values))
            for got, want in zip(stacked_results, single):
                assert relative_error(got[i], want) < 1e-12
    for result in (*results, *again):
        assert not any(np.shares_memory(result, memory) for memory in buffers._memory)


@pytest.mark.parametrize('count', [20_000, 5_000])
def test_the_buffers_kept_are_one_measured_chunk_and_cache_clear_lets_them_go(count, monkeypatch):
    """The first chunk's size is a guess from the inputs' bytes: a program whose values are
    much larger than its inputs grew the buffers to 4.6 chunks' worth (9.3 MiB for chunks
    of 2) and kept them -- also when the guessed chunk was the whole batch (5,000 problems
    here; 22 MB kept for chunks of 8 MiB).  The memory the guess took beyond a measured
    chunk is let go, the next call starts at the measured size, and ``cache_clear`` lets
    the buffers go."""
    from computations.schedulers import stacked
    monkeypatch.setattr(stacked, 'CHUNK_BYTES', 2 ** 21)     # a guess of 8,738 problems
    u, A = MatrixSymbol('u', 10, 1), MatrixSymbol('A', 10, 10)
    f = computations.function([u, A], [u * u.T * A * A * A])
    rng = np.random.default_rng()
    kept = []
    for _ in range(3):
        out, = f(rng.standard_normal((count, 10, 1)), rng.standard_normal((10, 10)))
        kept.append(f._chunk_buffers[0].nbytes)
    assert out.shape == (count, 10, 10)
    assert kept[1] == kept[2] > 0 and max(kept) <= 1.25 * stacked.CHUNK_BYTES
    f.cache_clear()
    assert f._chunk_buffers == []


def test_threads_running_batches_of_one_function_at_once_get_their_own_results():
    """Calls from several threads at once each take buffers of their own (one is kept)."""
    import threading
    inputs, outputs, assumptions = kalman()
    f = computations.function(inputs, outputs, assumptions)
    rng = np.random.default_rng()
    work = [_kalman_stacks(rng, 600) for _ in range(4)]
    expected = [f(*values) for values in work]
    failures = []

    def run(values, want):
        for _ in range(10):
            for got, result in zip(f(*values), want):
                if relative_error(got, result) > 1e-12:
                    failures.append(relative_error(got, result))
    threads = [threading.Thread(target=run, args=pair) for pair in zip(work, expected)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures and len(f._chunk_buffers) == 1


@pytest.mark.parametrize('singular_at', [3, 450])   # in the first chunk; in a pool thread's
def test_chunks_on_threads_give_one_threads_results_and_name_a_failing_problem(singular_at,
                                                                               monkeypatch):
    """A batch's chunks run on as many threads as BLAS may use: the results are one
    thread's, exactly; the BLAS threads are divided while they run and left as they were
    found; ``threadpool_limits(1)`` keeps the batch on one thread; and a singular problem
    in a chunk a pool thread ran is named as on one thread (a zero pivot of a substitution
    raises only in NumPy's error state, which a new thread does not inherit: there it came
    back inf)."""
    from threadpoolctl import threadpool_limits
    from computations.matrices import SingularMatrixError
    from computations.schedulers import stacked
    from computations.schedulers.blas_threads import blas_threads
    from computations.front_door.batches import THREADED_MIN_ORDER
    from computations.schedulers.batch_last import BATCH_LAST_MAX
    from computations.schedulers.stacked_linalg import SUBSTITUTION_MAX, SUBSTITUTION_MIN_WORK
    from chunk_threads import watch_chunk_threads
    ran, divided = watch_chunk_threads(monkeypatch)
    monkeypatch.setattr(stacked, 'CORES', 4)                # four threads on any machine
    T = MatrixSymbol('T', n, n)
    f = computations.function([T, B], [T.I * B], [Q.lower_triangular(T)])
    rng = np.random.default_rng()
    size = 32      # threaded, batch-first (checked by NumPy's error state), by substitution
    assert max(BATCH_LAST_MAX + 1, THREADED_MIN_ORDER) <= size <= SUBSTITUTION_MAX
    assert 100 * size >= SUBSTITUTION_MIN_WORK
    stack = np.tril(rng.standard_normal((500, size, size))) / size + 3 * np.eye(size)
    rhs = rng.standard_normal((500, size, 2))
    with chunks_of(100), pytest.MonkeyPatch.context() as patch:
        patch.setattr(compiled_module, 'run_batch', _no_loop)
        with threadpool_limits(1, user_api='blas'):
            one, = f(stack, rhs)
        assert ran == []
        with threadpool_limits(4, user_api='blas'):
            many, = f(stack, rhs)
            assert blas_threads() == 4
    # chunks 1 to 5, one BLAS thread apiece: the first call measured the chunk size (on
    # one thread, a first chunk alone, then the rest), so this one cuts every chunk at once
    assert ran == [4] and divided == [1] * 5
    np.testing.assert_array_equal(many, one)
    np.testing.assert_allclose(one, np.linalg.solve(stack, rhs), rtol=1e-10)
    stack[singular_at, 1, 1] = 0.0
    with chunks_of(100), threadpool_limits(4, user_api='blas'):
        with pytest.raises(SingularMatrixError, match=rf'^problem \({singular_at},\) of'):
            f(stack, rhs)
    assert len(ran) == 2 or singular_at < 100               # the first chunk fails first


@pytest.mark.parametrize('failing', [0, 1])           # the caller's first span; a pool thread's
def test_after_an_error_no_thread_starts_another_span(failing):
    """An error in one thread's span stops the others at their next span (they ran the
    whole batch before, 57 ms of a 111 ms batch after a failure in its first chunk), and
    is the one raised, not a cancelled span's."""
    import threading
    import time
    from computations.schedulers import stacked
    started, lock = [], threading.Lock()

    def run_chunk(start, stop, buffers):
        with lock:
            started.append(start)
        if start == failing:
            raise ZeroDivisionError(start)
        time.sleep(0.02)
    spans = [(i, i + 1) for i in range(40)]
    with pytest.raises(ZeroDivisionError, match=f'^{failing}$'):
        stacked._on_threads(run_chunk, spans, 2, None)
    assert len(started) <= 4, started


@pytest.mark.parametrize('layout', ['BATCH_FIRST', 'BATCH_LAST'])
def test_run_in_chunks_on_threads_equals_one_thread_in_either_layout(layout, monkeypatch):
    """``run_in_chunks`` with ``threads`` (whatever the front door's choice): the results
    of one thread's run, exactly, with a broadcast stack gathered a chunk at a time; on
    the batch-last layout the calling thread writes into the buffers given, the others
    into their own, and no result shares memory with them."""
    from computations.schedulers import batch_last, stacked
    from computations.matrices import GEMM
    monkeypatch.setattr(stacked, 'CHUNK_BYTES', 1)
    monkeypatch.setattr(stacked, 'MIN_CHUNK', 7)
    A, C = MatrixSymbol('A', 4, 3), MatrixSymbol('C', 3, 2)
    op = GEMM(1.0, A, C)
    rng = np.random.default_rng()
    values = {A: rng.standard_normal((9, 1, 4, 3)), C: rng.standard_normal((1, 8, 3, 2))}
    runs = {}
    for threads in (1, 3):
        buffers = batch_last.ChunkBuffers()
        runs[threads], = stacked.run_in_chunks(op, values, op.outputs, (9, 8),
                                               getattr(stacked, layout), None, buffers,
                                               threads=threads)
        if layout == 'BATCH_LAST':
            assert buffers.nbytes > 0
            assert not any(np.shares_memory(runs[threads], m) for m in buffers._memory)
    np.testing.assert_array_equal(runs[3], runs[1])
    # norm-wise: an entry that cancels to about zero may differ from NumPy's by the
    # rounding of its terms, relative to itself 1e-13 (this failed one run in a few)
    assert relative_error(runs[1], values[A] @ values[C]) < 1e-13


@pytest.mark.parametrize('layout', ['BATCH_FIRST', 'BATCH_LAST'])
def test_a_run_that_knows_its_chunk_size_runs_every_chunk_on_threads(layout, monkeypatch):
    """The first run on buffers measures its chunk size on a first chunk alone, then runs
    the rest on threads; the next run on the same buffers, in either layout, cuts the batch
    into equal chunks at once and runs them all on threads, with the same results."""
    from chunk_threads import watch_chunk_threads
    from computations.schedulers import batch_last, stacked
    from computations.matrices import GEMM
    monkeypatch.setattr(stacked, 'CHUNK_BYTES', 1)
    monkeypatch.setattr(stacked, 'MIN_CHUNK', 10)
    ran, _ = watch_chunk_threads(monkeypatch)
    spans = []
    original = stacked._on_threads
    monkeypatch.setattr(stacked, '_on_threads', lambda run_chunk, given, *rest: (
        spans.append(given), original(run_chunk, given, *rest))[1])
    A, C = MatrixSymbol('A', 4, 3), MatrixSymbol('C', 3, 2)
    op = GEMM(1.0, A, C)
    values = {A: np.random.default_rng().standard_normal((45, 4, 3)), C: np.ones((3, 2))}
    buffers = batch_last.ChunkBuffers()
    first, second = (stacked.run_in_chunks(op, values, op.outputs, (45,),
                                           getattr(stacked, layout), None, buffers,
                                           threads=2)[0] for _ in range(2))
    assert ran == [2, 2]
    for run, start in zip(spans, (10, 0)):       # the first run's first chunk: 10 problems
        sizes = [stop - begin for begin, stop in run]
        assert run[0][0] == start and run[-1][1] == 45
        assert all(a[1] == b[0] for a, b in zip(run, run[1:]))
        assert len(run) == -(-(45 - start) // 10) and max(sizes) - min(sizes) <= 1
    np.testing.assert_array_equal(second, first)
    np.testing.assert_allclose(first, values[A] @ values[C], rtol=1e-13)


def test_chunks_on_threads_substitute_one_at_a_time(monkeypatch):
    """A stacked triangular solve by substitution holds ``SUBSTITUTING``, a lock (with the
    GIL): the chunks of a threaded batch-first run substitute one at a time (two at once
    took 2.4x one's time, contending for the GIL); every chunk's solve takes it, and the
    results are one thread's."""
    from computations.schedulers import stacked, stacked_linalg
    from computations.matrices import TRSM
    if getattr(sys, '_is_gil_enabled', lambda: True)():
        assert isinstance(stacked_linalg.SUBSTITUTING, type(threading.Lock()))
    monkeypatch.setattr(stacked, 'CHUNK_BYTES', 1)
    monkeypatch.setattr(stacked, 'MIN_CHUNK', 150)       # 150 x 5 rows: by substitution
    entered = []

    class Counted:
        lock = threading.Lock()

        def __enter__(self):
            self.lock.acquire()
            entered.append(threading.get_ident())

        def __exit__(self, *exc):
            self.lock.release()

    monkeypatch.setattr(stacked_linalg, 'SUBSTITUTING', Counted())
    L, B = MatrixSymbol('L', 5, 5), MatrixSymbol('B', 5, 3)
    op = TRSM(1.0, L, B)
    rng = np.random.default_rng()
    values = {L: np.tril(rng.standard_normal((1200, 5, 5))) + 5 * np.eye(5),
              B: rng.standard_normal((1200, 5, 3))}
    runs = []
    for threads in (1, 2):
        entered.clear()
        runs.append(stacked.run_in_chunks(op, values, op.outputs, (1200,),
                                          stacked.BATCH_FIRST, threads=threads)[0])
        assert len(entered) == 8                  # every chunk of 150 problems
    assert len(set(entered)) == 2                 # both threads substituted
    np.testing.assert_array_equal(runs[1], runs[0])
    np.testing.assert_allclose(runs[0], np.linalg.solve(values[L], values[B]), rtol=1e-10)


def test_chunk_sizes_are_remembered_per_program_and_layout_and_a_few_at_most(monkeypatch):
    """A size measured on one layout is not taken for the other; the buffers remember
    ``REMEMBERED`` programs' sizes, forgetting the oldest first (a key holds its program);
    an empty batch is refused by name (the front door answers it without running)."""
    from computations.schedulers import batch_last, stacked
    from computations.matrices import GEMM
    monkeypatch.setattr(batch_last, 'REMEMBERED', 3)
    A, C = MatrixSymbol('A', 2, 2), MatrixSymbol('C', 2, 2)
    buffers = batch_last.ChunkBuffers()
    values = {A: np.ones((70, 2, 2)), C: np.eye(2)}
    ops = [GEMM(float(i + 1), A, C) for i in range(4)]
    for layout in (stacked.BATCH_FIRST, stacked.BATCH_LAST):
        stacked.run_in_chunks(ops[0], values, ops[0].outputs, (70,), layout, None, buffers)
    assert sorted(key[1] for key in buffers.chunks) == ['batch-first', 'batch-last']
    for op in ops[1:]:
        out, = stacked.run_in_chunks(op, values, op.outputs, (70,), stacked.BATCH_FIRST, None,
                                     buffers)
        np.testing.assert_array_equal(out, np.full((70, 2, 2), float(op.alpha)))  # ones*eye
    assert [key[0] for key in buffers.chunks] == ops[1:]         # the oldest two forgotten
    with pytest.raises(ValueError, match=r'the batch \(0,\) has no problem'):
        stacked.run_in_chunks(ops[0], {A: np.ones((0, 2, 2)), C: np.eye(2)}, ops[0].outputs,
                              (0,), stacked.BATCH_FIRST, None, buffers)


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='os.fork is POSIX only')
def test_a_child_forked_after_threaded_chunks_runs_them_too(monkeypatch):
    """A fork copies the chunks' thread pool but not its threads: a child process that
    ran a threaded batch waited for ever.  Parent and child each run one."""
    import multiprocessing
    from threadpoolctl import threadpool_limits
    from computations.schedulers import stacked
    from forking import forking_threads_allowed
    monkeypatch.setattr(stacked, 'CORES', 2)
    with chunks_of(64), threadpool_limits(2, user_api='blas'):
        f, values, want = _threaded_batch()
        np.testing.assert_allclose(f(*values)[0], want, rtol=1e-10)  # the pool's threads run
        child = multiprocessing.get_context('fork').Process(target=_threaded_child)
        with forking_threads_allowed():
            child.start()
        child.join(60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and child.exitcode == 0


def _threaded_batch():
    """A function, a batch of 256 problems of order 32 (threaded, in chunks of 64), and
    its result from NumPy."""
    from computations.front_door.batches import THREADED_MIN_ORDER
    size = max(32, THREADED_MIN_ORDER)
    T = MatrixSymbol('T', n, n)
    f = computations.function([T, B], [T.I * B], [Q.lower_triangular(T)])
    rng = np.random.default_rng(7)
    stack = np.tril(rng.standard_normal((256, size, size))) / size + 3 * np.eye(size)
    rhs = rng.standard_normal((256, size, 2))
    return f, (stack, rhs), np.linalg.solve(stack, rhs)


def _threaded_child():
    from computations.schedulers import stacked
    ran = []
    original = stacked._on_threads
    stacked._on_threads = lambda *args: ran.append(args[2]) or original(*args)
    f, values, want = _threaded_batch()
    got, = f(*values)
    os._exit(0 if ran == [2] and np.allclose(got, want, rtol=1e-10) else 1)


@pytest.mark.parametrize('batch_last', [False, True])
def test_inputs_returned_as_they_are_constants_and_empty_matrices_in_a_batch(batch_last):
    """Outputs that no operation computes (an input, a constant) and bindings with an empty
    matrix run as batches too, equal to their single calls (they raised KeyError and
    AttributeError in the stacked path)."""
    A, C = MatrixSymbol('A', n, n), MatrixSymbol('C', n, k)
    rng = np.random.default_rng()
    square, empty = rng.standard_normal((5, 3, 3)), np.zeros((5, 3, 0))
    spd = _spd(rng, (5,), 3, np.float64)
    cases = [([A, C], [C, A * A], (square, rng.standard_normal((5, 3, 2))), []),
             ([A], [2 * A, Trace(Identity(n)), 3 * Identity(n)], (square,), []),
             ([S, C], [S.I * C, log(Determinant(S))], (spd, empty), [Q.positive_definite(S)]),
             ([A, C], [A * A, A * C], (square, empty), [])]
    with chunks_of(2, batch_last):
        for inputs, outputs, values, assumptions in cases:
            f = computations.function(inputs, outputs, assumptions)
            got = f(*values)
            for i in range(5):
                for g, want in zip(got, f(*(v[i] for v in values))):
                    assert np.shape(g[i]) == np.shape(want)
                    # norm-wise: an entry that cancels may round otherwise (FMA, order)
                    assert relative_error(np.atleast_2d(g[i]), np.atleast_2d(want)) < 1e-12


@pytest.mark.parametrize('stacked', [True, False], ids=['stacked', 'problem-by-problem'])
def test_a_shared_1d_vector_gives_1d_results_per_problem(stacked, monkeypatch):
    """1-D in, 1-D out holds in a batch (NumPy 2's ``solve(stack, vector)`` is (batch, n)):
    a shared 1-D column vector makes its results (batch, n), on either path; the results
    read from a stack of columns (batch, n, 1) stay (batch, n, 1)."""
    x = MatrixSymbol('x', n, 1)
    f = computations.function([S, x], [S.I * x, S * S, x.T * x], [Q.positive_definite(S)])
    if stacked:                                         # one call per operation: no loop
        monkeypatch.setattr(compiled_module, 'run_batch', _no_loop)
    else:
        monkeypatch.setattr(compiled_module, 'run_stacked_batch', lambda *args: None)
    rng = np.random.default_rng()
    stack, vector = _spd(rng, (3, 2), 4, np.float64), rng.standard_normal(4)
    solved, squared, norms = f(stack, vector)
    assert solved.shape == (3, 2, 4) and squared.shape == (3, 2, 4, 4)
    assert norms.shape == (3, 2, 1, 1)
    for index in np.ndindex(3, 2):
        single = f(stack[index], vector)
        assert single[0].shape == (4,)
        np.testing.assert_allclose(solved[index], single[0], rtol=1e-12)
    np.testing.assert_allclose(solved, np.linalg.solve(stack, vector), rtol=1e-10)
    assert f(stack, vector[:, None])[0].shape == (3, 2, 4, 1)


def test_dask_arrays_in_a_batch_are_refused_by_name():
    """A batch runs on NumPy arrays: a dask input in one (the stack, or a shared matrix) is
    refused naming it, rather than computed whole with NumPy results returned."""
    import dask.array as da                  # the optional 'dask' extra (installed by ./dev)
    from computations.schedulers.dask_arrays import DaskArgumentError
    f = computations.function([S, B], S.I * B, [Q.positive_definite(S)])
    rng = np.random.default_rng()
    stack, rhs = _spd(rng, (3,), 4, np.float64), rng.standard_normal((3, 4, 2))
    for args, name in [((da.from_array(stack), rhs[0]), 'S'),
                       ((stack, da.from_array(rhs)), 'B'),
                       ((stack, da.from_array(rhs[0])), 'B')]:
        with pytest.raises(DaskArgumentError, match=rf'^input {name} is a dask array in a '
                                                    r'batch of problems \((its|batch) shape \(3,'):
            f(*args)
    got = f(da.from_array(stack[0]), da.from_array(rhs[0]))     # one problem: lazy
    np.testing.assert_allclose(got.compute(), np.linalg.solve(stack[0], rhs[0]), rtol=1e-10)


# Scalars in a batch (review of the stacked runner) -----------------------------------

K = MatrixSymbol('K', n, n)
_EYES32 = np.stack([np.eye(3, dtype=np.float32) * (i + 1) for i in range(4)])


def test_a_scalar_expression_with_constants_keeps_a_float32_batch_float32():
    """``log(2*pi)`` is a float64 constant: the stacked SCALAR returned float64, which
    widened the matrix result too; a single call casts it."""
    constant = log(2 * sympy.pi)
    f = computations.function([K], [Trace(K) + constant, (Trace(K) + constant) * K])
    got = f(_EYES32)
    assert [r.dtype for r in got] == [np.float32, np.float32] == [r.dtype for r in f(_EYES32[1])]
    for i in range(4):
        for r, single in zip(got, f(_EYES32[i])):
            np.testing.assert_allclose(r[i], single, rtol=1e-6)


@pytest.mark.parametrize('t1', [1.7e9 + 0.5, np.array([1.7e9 + 0.5, 1.7e9 + 64, 1.7e9 + 100,
                                                        1.7e9])])
def test_scalar_arithmetic_in_a_float32_batch_runs_in_float64_as_a_single_calls(t1):
    """``(t1 - t0)*K`` of timestamps: the batch rounded t1 and t0 to float32 first (0.5
    became 0, 100 became 128); a single call subtracts in float64 and rounds the result."""
    t0_, t1_ = Symbol('t0'), Symbol('t1')
    f = computations.function([K, t1_, t0_], (t1_ - t0_) * K)
    got = f(_EYES32, t1, 1.7e9)
    assert got.dtype == np.float32
    expected = [f(_EYES32[i], float(np.broadcast_to(t1, 4)[i]), 1.7e9) for i in range(4)]
    np.testing.assert_array_equal(got, np.stack(expected))
    np.testing.assert_allclose(got[:, 0, 0], (np.broadcast_to(t1, 4) - 1.7e9) * np.arange(1, 5))


@pytest.mark.parametrize('function', [sympy.gamma, sympy.erf, sympy.loggamma])
def test_special_functions_of_scalars_run_in_a_batch(function):
    """NumPy's printer names them as Python's math functions, of one number only: the
    stacked batch raised TypeError."""
    f = computations.function([K, s], function(s + 1) * Trace(K))
    got = f(_EYES32, np.array([0.5, 1.5, 2.5, 3.5]))
    expected = [f(_EYES32[i], v) for i, v in enumerate([0.5, 1.5, 2.5, 3.5])]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize('value, message', [
    (None, r'input s is a scalar; give it a number, not None'),
    ('2.5', r'input s is a scalar; give it a number, not .2\.5.'),
    (True, r'input s is a scalar; give it a number, not True'),
    (10 ** 400, r'input s is an int too large for a float64'),
])
@pytest.mark.parametrize('batch', [4, 0])
def test_a_shared_scalar_is_checked_as_in_a_single_call(value, message, batch):
    """A batch converted it without a check: None became NaN, '2.5' and True numbers,
    10**400 an unnamed OverflowError; an empty batch accepted anything."""
    f = computations.function([K, s], s * K)
    with pytest.raises(ValueError, match=message):
        f(np.ones((2, 2)), value)
    with pytest.raises(ValueError, match=message):
        f(np.ones((batch, 2, 2)), value)


def test_a_ragged_list_in_a_batch_is_named():
    f = computations.function([K, S], K * S)
    with pytest.raises(ValueError, match=r'input S: cannot make an array of list'):
        f(np.ones((3, 2, 2)), [[1.0, 2.0], [3.0]])
