"""dask.array in, dask.array out: compiled functions on dask arrays, lazily.

The graph of ``A*A`` on a dask array ``A`` in 2x2 chunks::

    (A, 0, 0) (A, 0, 1) (A, 1, 0) (A, 1, 1)     the caller's chunks, read by key
         A[i,k], A[k,j] -> t1[i,j].1 -> t1[i,j]   GEMM tasks
         t1[i,j] -> (out0, i, j)                  the result's chunks (no Assemble)
"""
import itertools
import warnings

import dask
import dask.array as da
import numpy as np
import pytest
from dask.core import get_dependencies
from distributed import Client
import sympy
from sympy import Identity, MatrixSymbol, OneMatrix, Q, Symbol, Trace, ZeroMatrix

import computations
from computations import ComputationsError
from computations.matrices import NotPositiveDefiniteError
from computations.front_door import DtypeError
from computations.matrices.examples.problems import PROBLEMS, random_inputs
from computations.matrices.transforms.blocking import BlockOp
from computations.schedulers.dask_arrays import DaskArgumentError, RechunkWarning
from computations.testing import relative_error
from expressions import problems
from hypothesis import given, settings, strategies as st
from test_function_random import check_results
from test_dask import killing_a_worker_mid_run, local_cluster

n, k = Symbol('n'), Symbol('k')


def problem_function(name, **options):
    problem = PROBLEMS[name]()
    return computations.function(problem.inputs, problem.outputs, problem.assumptions,
                                 names=problem.names, **options), problem


def same(got, expected, tolerance=1e-10):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert relative_error(np.asarray(g), np.asarray(e)) <= tolerance


def chunked(args, chunks):
    """Each argument as a dask array: ``chunks`` is one value for all, or one per argument."""
    chunks = chunks if isinstance(chunks, list) else [chunks] * len(args)
    return [da.from_array(a, chunks=c) if c is not None else a for a, c in zip(args, chunks)]


def input_chunks(arrays):
    """``{input name: set of its chunk keys}`` of dask arrays."""
    return {x.name: set(dask.core.flatten(x.__dask_keys__())) for x in arrays}


# Results ------------------------------------------------------------------------------

@pytest.mark.parametrize('chunks', [4, 5, 11])
def test_kalman_equals_numpy(chunks):
    """Even and uneven last chunks (n = 11, k = 7) and one chunk (rectangular chunks: the
    next test; a (3, 2) case here passed no dask array at all)."""
    f, problem = problem_function('kalman')
    args = random_inputs(problem, {'n': 11, 'k': 7})
    expected = f(*args)
    with warnings.catch_warnings():
        warnings.simplefilter('error')                 # no rechunking needed
        out = f(*chunked(args, chunks))
    assert all(isinstance(o, da.Array) for o in out)
    same(dask.compute(*out, scheduler='sync'), expected)


def test_kalman_with_rectangular_chunks_that_agree():
    """H is k x n, Sigma n x n, R k x k: chunks of 3 along n and 2 along k agree."""
    f, problem = problem_function('kalman')
    args = random_inputs(problem, {'n': 11, 'k': 7})
    shapes = {str(v): v.shape for v in problem.inputs}
    sizes = {str(n): 3, str(k): 2, '1': 1}
    chunks = [tuple(sizes[str(d)] for d in shapes[str(v)]) for v in problem.inputs]
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        out = f(*chunked(args, chunks))
    assert out[1].chunks == ((3, 3, 3, 2), (3, 3, 3, 2))
    same(dask.compute(*out, scheduler='sync'), f(*args))


@pytest.mark.parametrize('name,sizes', [('least_squares', {'n': 13, 'p': 5}),
                                        ('gls', {'n': 10, 'p': 4})])
def test_least_squares_and_gls_equal_numpy(name, sizes):
    f, problem = problem_function(name)
    args = random_inputs(problem, sizes)
    out = f(*chunked(args, 3))
    assert out[0].shape == (sizes['p'], 1) and out[0].chunks[0][0] == 3
    same(dask.compute(*out, scheduler='sync'), f(*args), 1e-8)


def test_random_expressions_with_constants_scalars_and_unblocked_operations():
    """``A + I`` keeps A's off-diagonal chunks (converted, not recomputed); ``tr(A*B)`` is a
    0-d array; ``A.I*B`` (GESV, not blocked) reads A whole, put together from its chunks."""
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, n)
    f = computations.function([A, B], [A + Identity(n), Trace(A * B), A.I * B,
                                       (A * B + B.T) * A.T])
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((7, 7)) + 7 * np.eye(7), rng.standard_normal((7, 7))
    out = f(da.from_array(a, chunks=3), da.from_array(b, chunks=3))
    assert out[1].shape == () and out[0].chunks == ((3, 3, 1), (3, 3, 1))
    same(dask.compute(*out, scheduler='sync'), f(a, b))


def _as_chunks(a, chunk, layout):
    """``a`` as a dask array in chunks of ``chunk`` of one memory layout: views of ``a``,
    C-ordered copies (what ``da.random``, zarr or HDF5 give) or Fortran-ordered ones;
    every chunk read-only, so that a task writing into one raises."""
    x = da.from_array(a, chunks=chunk)
    convert = {'views': np.asarray, 'C': np.ascontiguousarray, 'F': np.asfortranarray}[layout]
    return x.map_blocks(lambda block: _read_only(convert(block)), dtype=a.dtype)


def _read_only(block):
    block = block.view()             # a view: the flag is its own, not the caller's array's
    block.flags.writeable = False
    return block


@given(problem=problems(), chunk=st.integers(1, 4), layout=st.sampled_from(['views', 'C', 'F']),
       mixed=st.booleans(), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=30, deadline=None)
def test_random_problems_on_dask_arrays_equal_numpy(problem, chunk, layout, mixed, seed):
    """Any problem, on dask arrays in chunks of any size and memory layout (some inputs
    left NumPy when ``mixed``), gives NumPy's results, writing into no chunk (they are
    read-only); the caller's arrays are left as they were."""
    values = problem.data(np.random.default_rng(seed))
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    before = [np.copy(v) for v in values]
    given_ = [_as_chunks(v, chunk, layout) if isinstance(v, np.ndarray) and not (mixed and i % 2)
              else v for i, v in enumerate(values)]
    results = dask.compute(*f(*given_), scheduler='sync')
    check_results(problem, tuple(np.asarray(r).reshape(problem.shape(e))
                                 for r, e in zip(results, problem.outputs)), values)
    for v, b in zip(values, before):
        np.testing.assert_array_equal(v, b)


def test_float32_stays_float32_and_a_vector_may_be_1d():
    A, v = MatrixSymbol('A', n, n), MatrixSymbol('v', n, 1)
    f = computations.function([A, v], [A * v, Trace(A)])
    a, x = np.arange(25, dtype=np.float32).reshape(5, 5), np.arange(5, dtype=np.float32)
    y, t = f(da.from_array(a, chunks=2), da.from_array(x, chunks=2))
    assert y.dtype == np.float32 and y.shape == (5,) and y.compute().dtype == np.float32
    assert np.allclose(y.compute(), a @ x)
    assert t.dtype == np.float32 and type(t.compute()) is np.float32 and t.compute() == 60


def test_a_result_of_an_operation_without_a_blocked_form_has_the_calls_chunks():
    """``A.I*B`` with A general is one GESV task on the whole matrices; its result is still
    cut into the blocks the inputs' chunks give (it was one chunk), and equals NumPy's."""
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, k)
    f = computations.function([A, B], [A.I * B, A.I * B + B])
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((7, 7)) + 7 * np.eye(7), rng.standard_normal((7, 5))
    x, y = f(da.from_array(a, chunks=3), da.from_array(b, chunks=(3, 2)))
    assert x.chunks == y.chunks == ((3, 3, 1), (2, 2, 1))
    want = np.linalg.solve(a, b)
    same(dask.compute(x, y, scheduler='sync'), (want, want + b))


def test_a_constant_an_unblocked_operation_reads_is_made_by_a_task_not_on_the_client():
    """``S.I`` (GESV on the identity, not blocked) built ``np.eye(n)`` on the client and put
    it in the graph as data: 18 MB of graph at n = 1500, 512 MB at n = 8000.  A task makes
    it now, on the worker that runs the solve."""
    S = MatrixSymbol('S', n, n)
    f = computations.function([S], [S.I, (S + Identity(n)).I])
    s = np.random.default_rng(4).standard_normal((6, 6)) + 6 * np.eye(6)
    inverse, shifted = f(da.from_array(s, chunks=3))
    graph = {**inverse.__dask_graph__(), **shifted.__dask_graph__()}
    data = [task for task in graph.values()
            if type(task).__name__ == 'DataNode' and isinstance(task.value, np.ndarray)]
    assert not data, data
    same(dask.compute(inverse, shifted, scheduler='sync'),
         (np.linalg.inv(s), np.linalg.inv(s + np.eye(6))))


@pytest.mark.parametrize('empty', [False, True])
def test_scalar_results_have_the_programs_dtype(empty):
    """Every scalar result is a 0-d array of the program's dtype computing to NumPy's scalar
    of it, a scalar input returned included, and works in further dask.array code (a
    float64 one computed to a Python float, and ``da.stack``, ``reshape`` or ``astype`` of
    it failed); with empty matrices too."""
    A, alpha = MatrixSymbol('A', n, n), Symbol('alpha')
    f = computations.function([A, alpha], [Trace(A) * alpha, 2 * alpha, alpha])
    size = 0 if empty else 4
    for dtype in (np.float32, np.float64):
        results = f(da.from_array(np.eye(size, dtype=dtype), chunks=2), 1.5)
        assert all(r.dtype == dtype and r.shape == () for r in results)
        computed = dask.compute(*results, scheduler='sync')
        assert [type(c) for c in computed] == [dtype] * 3
        assert computed == ((0 if empty else 6), 3, 1.5)
        stacked = da.stack(list(results)).reshape(3, 1).astype(np.float64)
        np.testing.assert_array_equal(stacked.compute(scheduler='sync'),
                                      np.array(computed, dtype=np.float64).reshape(3, 1))


def test_functions_whose_outputs_print_alike_get_keys_of_their_own():
    """``OneMatrix(n, n)*A`` and ``OneMatrix(k, n)*A`` both print ``1*A``: two functions of
    them called on one dask array had the same keys, so computed together the second
    returned the first's values (of the wrong shape)."""
    A = MatrixSymbol('A', n, k)
    f, g = (computations.function([A], [OneMatrix(m, n) * A]) for m in (n, k))
    a = np.arange(24.0).reshape(6, 4)
    x = da.from_array(a, chunks=2)
    (got_f,), (got_g,) = f(x), g(x)
    assert got_f.name != got_g.name
    value_f, value_g = dask.compute(got_f, got_g, scheduler='sync')
    np.testing.assert_array_equal(value_f, np.ones((6, 6)) @ a)
    np.testing.assert_array_equal(value_g, np.ones((4, 6)) @ a)


@pytest.mark.parametrize('outputs', [
    lambda S: [Trace(S), Trace(Identity(n))], lambda S: [S, n], lambda S: [Identity(n)],
    lambda S: [S, ZeroMatrix(n, n)], lambda S: [OneMatrix(n, n) + S, OneMatrix(n, n)]],
    ids=['trace-of-identity', 'dimension', 'identity', 'zero', 'ones'])
def test_results_that_do_not_depend_on_the_inputs(outputs):
    """A result no operation makes (``n``, ``Trace(I)``, ``I``, a zero matrix) is made by
    tasks of its own, in the call's chunks (its key was missing from the graph)."""
    S = MatrixSymbol('S', n, n)
    f = computations.function([S], outputs(S))
    s = np.arange(25.0).reshape(5, 5)
    got = f(da.from_array(s, chunks=2))
    assert all(g.chunks == ((2, 2, 1),) * 2 for g in got if g.ndim == 2)
    same(dask.compute(*got, scheduler='sync'), f(s))


# Laziness and the graph -----------------------------------------------------------------

def test_nothing_is_computed_before_compute():
    f, problem = problem_function('kalman')
    args = random_inputs(problem, {'n': 8, 'k': 4})
    calls = []

    def counted(block):
        calls.append(1)
        return block

    lazy = [da.from_array(a, chunks=4).map_blocks(counted, meta=np.empty((0, 0), a.dtype))
            for a in args]
    out = f(*lazy)
    out = [o * 1 for o in out]                         # further dask.array code: still lazy
    assert not calls
    got = dask.compute(*out, scheduler='sync')
    assert calls
    same(got, f(*args))


def _on_two_lines(blocks):
    """Whether chunk keys ``(name, i, j)`` all lie on at most two lines of the grid (block
    rows or columns): what one accumulation reads of an input (``A[i,:]`` and ``A[:,j]``
    for a block of ``A*A``, two block columns of ``W`` for ``W.T*W``)."""
    lines = {('row', i) for _, i, _ in blocks} | {('column', j) for _, _, j in blocks}
    return any(all(('row', i) in pair or ('column', j) in pair for _, i, j in blocks)
               for pair in itertools.combinations(sorted(lines), min(2, len(lines))))


def test_no_task_reads_a_whole_input_and_results_are_not_assembled():
    r"""Every task of the program reads of any one input at most the blocks one
    accumulation reads -- two lines of its grid (a block row and a block column of A for
    a block of A*A), never the whole input; an output's chunks are its blocks, each one
    task."""
    f, problem = problem_function('kalman')
    args = random_inputs(problem, {'n': 12, 'k': 8})
    lazy = chunked(args, 4)
    out = f(*lazy)
    graph = {**dict(out[0].__dask_graph__()), **dict(out[1].__dask_graph__())}
    inputs = input_chunks(lazy)
    panels = 0
    for key in graph:
        deps = get_dependencies(graph, key)
        for name, chunks in inputs.items():
            if key in chunks:
                continue
            read = deps & chunks
            assert _on_two_lines(read), (key, name, sorted(read))
            assert len(chunks) < 4 or read != chunks, (key, name)
            panels += len(read) > 2
    assert panels                    # accumulations are single tasks (dask_graph.runs)
    assert not [key for key, task in graph.items()
                if 'assemble' in repr(task).lower() or 'block_copy' in repr(task)]
    assert out[1].chunks == ((4, 4, 4), (4, 4, 4))
    assert len(out[1].__dask_keys__()) == 3


def test_products_with_a_diagonal_matrix_are_blocked():
    """``D*B``, ``B.T*D.I`` (DIAGMM) and ``X.T*W*X`` through W's square root (DIAGMM_ROOT)
    ran whole: every chunk of D and B put together into one task.  Block (i, j) is now
    ``D[i,i]*B[i,j]`` (``B[i,j]*D[j,j]``), each task reading one block of each."""
    m = Symbol('m')
    D, B = MatrixSymbol('D', n, n), MatrixSymbol('B', n, m)
    rng = np.random.default_rng(5)
    d, b = np.diag(rng.uniform(1, 2, 7)), rng.standard_normal((7, 5))
    outputs = [D * B, B.T * D.I, 3 * D * B, B.T * D * B]
    assumptions = [Q.diagonal(D), Q.positive_definite(D)]
    f = computations.function([D, B], outputs, assumptions)
    lazy = chunked([d, b], 3)
    results = f(*lazy)
    graph = {key: task for x in results for key, task in dict(x.__dask_graph__()).items()}
    for key in graph:
        for name, chunks in input_chunks(lazy).items():
            if key not in chunks:
                assert len(get_dependencies(graph, key) & chunks) <= 3, (key, name)
    same(dask.compute(*results, scheduler='sync'),
         (d @ b, b.T @ np.linalg.inv(d), 3 * d @ b, b.T @ d @ b))
    blocked = computations.function([D, B], outputs, assumptions, blocksize=3)
    routines = {type(node.op).__name__ for node in blocked.specialize(d, b).computation
                if isinstance(node, BlockOp)}
    assert {'DIAGMM', 'DIAGMM_ROOT'} <= routines, routines
    same(blocked(d, b), (d @ b, b.T @ np.linalg.inv(d), 3 * d @ b, b.T @ d @ b))


def test_inputs_of_an_operation_that_is_not_blocked_are_read_whole():
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, k)
    f = computations.function([A, B], [A.I * B])          # GESV: not blocked
    a, b = np.eye(6) * 3 + 0.1, np.ones((6, 2))
    (x,) = f(da.from_array(a, chunks=3), da.from_array(b, chunks=3))
    assert np.allclose(x.compute(), np.linalg.solve(a, b))


def test_mixed_numpy_and_dask_inputs():
    f, problem = problem_function('kalman')
    args = random_inputs(problem, {'n': 10, 'k': 6})
    mixed = chunked(args, [4, None, 4, None, None])     # mu and Sigma lazy, the rest NumPy
    out = f(*mixed)
    assert out[1].chunks == ((4, 4, 2), (4, 4, 2))
    same(dask.compute(*out, scheduler='sync'), f(*args))


def test_chaining_two_functions_without_materializing():
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, n)
    f = computations.function([A, B], [A * B + B])
    S = MatrixSymbol('S', n, n)
    g = computations.function([S, B], [S.T * S + B], [Q.positive_definite(B)], names=['G'])
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((9, 9)), rng.standard_normal((9, 9))
    spd = b @ b.T + 9 * np.eye(9)
    x, y = da.from_array(a, chunks=4), da.from_array(b, chunks=4)
    (first,) = f(x, y)
    (second,) = g(first, da.from_array(spd, chunks=4))
    more = (second @ second.T).sum()                     # and on into dask.array
    assert any(str(key).startswith("('out0-") for key in second.__dask_graph__())
    expected = (a @ b + b).T @ (a @ b + b) + spd
    got, total = dask.compute(second, more, scheduler='threads')
    assert relative_error(got, expected) <= 1e-12
    assert np.isclose(total, (expected @ expected.T).sum())


def test_keys_are_readable_and_deterministic():
    f, problem = problem_function('kalman')
    args = random_inputs(problem, {'n': 8, 'k': 4})
    lazy = chunked(args, 4)
    one, two = f(*lazy), f(*lazy)
    assert [o.name for o in one] == [o.name for o in two]
    assert set(one[1].__dask_graph__()) == set(two[1].__dask_graph__())
    assert one[0].name.startswith('newmu-') and one[1].name.startswith('newSigma-')
    other = f(*chunked(random_inputs(problem, {'n': 8, 'k': 4}, seed=1), 4))
    assert not {o.name for o in one} & {o.name for o in other}
    rechunked = f(*chunked(args, 2))
    assert not {o.name for o in one} & {o.name for o in rechunked}
    problem = PROBLEMS['kalman']()
    g = computations.function(problem.inputs, [2 * out for out in problem.outputs],
                              problem.assumptions, names=problem.names)
    assert not {o.name for o in one} & {o.name for o in g(*lazy)}
    program = {key for key in one[1].__dask_graph__() if key not in
               set().union(*input_chunks(lazy).values())}
    assert {dask.utils.key_split(key) for key in program} >= {'newSigma', 'chol_t3'}
    assert all(isinstance(key, (str, tuple)) for key in program)


# Schedulers ------------------------------------------------------------------------------

@pytest.mark.parametrize('scheduler', ['sync', 'threads'])
@pytest.mark.parametrize('chunks', [3, 'whole', 'mixed'])
def test_local_schedulers_and_inputs_never_modified(scheduler, chunks):
    """Chunks of 3 are views the blocks copy; whole Fortran-ordered arrays in one chunk
    are handed to the kernels as they are, and NumPy arguments mixed in are chunked from
    the caller's arrays: none is overwritten."""
    f, problem = problem_function('kalman')
    args = [np.asfortranarray(a) for a in random_inputs(problem, {'n': 10, 'k': 6})]
    before = [a.copy() for a in args]
    if chunks == 'whole':
        given = [da.from_array(a, chunks=a.shape) for a in args]
    elif chunks == 'mixed':
        given = [da.from_array(a, chunks=a.shape) if i % 2 else a for i, a in enumerate(args)]
    else:
        given = chunked(args, chunks)
    out = f(*given)
    same(dask.compute(*out, scheduler=scheduler), f(*before))
    for a, b in zip(args, before):
        assert np.array_equal(a, b)


def test_c_ordered_chunks_reach_the_products_uncopied(monkeypatch):
    """A dask array's chunks are C-ordered: a product's operand reads its chunk as it is
    (the kernel passes its transpose), and only other reads copy it into Fortran order."""
    from computations.schedulers import dask_arrays
    f, problem = problem_function('kalman')
    args = random_inputs(problem, {'n': 10, 'k': 6})
    given = [da.from_array(a, chunks=4).map_blocks(np.ascontiguousarray) for a in args]
    reads, block = [], dask_arrays._block

    def counted(x, dtype, c_order=False):
        made = block(x, dtype, c_order)
        reads.append((c_order, made is x, x.flags.c_contiguous and not x.flags.f_contiguous))
        return made
    monkeypatch.setattr(dask_arrays, '_block', counted)
    same(dask.compute(*f(*given), scheduler='sync'), f(*args))
    uncopied = [r for r in reads if r[0] and r[2]]
    assert len(uncopied) > len(reads) / 2 and all(r[1] for r in uncopied)
    assert not any(r[1] for r in reads if not r[0] and r[2])


def test_the_blocks_above_a_symmetric_results_diagonal_are_views_of_those_below():
    """The covariance's blocks above the diagonal are the transposes of those below: views,
    not copies, and equal to NumPy's."""
    f, problem = problem_function('kalman')
    args = random_inputs(problem, {'n': 10, 'k': 6})
    _, covariance = dask.persist(*f(*chunked(args, 4)), scheduler='sync')
    graph = dict(covariance.__dask_graph__())

    def chunk(i, j):                           # a persisted chunk, as the worker holds it
        value = graph[(covariance.name, i, j)]
        return getattr(value, 'value', value)
    for i, j in itertools.combinations(range(covariance.numblocks[0]), 2):
        upper, lower = chunk(i, j), chunk(j, i)
        assert np.shares_memory(upper, lower) and np.array_equal(upper, lower.T)
    same([covariance.compute()], [f(*args)[1]])


def test_local_cluster_and_a_failing_block():
    f, problem = problem_function('kalman')
    args = random_inputs(problem, {'n': 12, 'k': 6})
    S, Y = MatrixSymbol('S', 6, 6), MatrixSymbol('Y', 6, 1)
    g = computations.function([S, Y], [S.I * Y], [Q.positive_definite(S)])
    s = np.eye(6)
    s[4, 4] = -1.0
    with local_cluster() as cluster, Client(cluster) as client:
        out = f(*chunked(args, 4))
        same(client.compute(out, sync=True), f(*args))
        persisted = client.persist(out)
        same(dask.compute(*persisted), f(*args))
        (bad,) = g(da.from_array(s, chunks=3), da.ones(6, chunks=3))
        with pytest.raises(NotPositiveDefiniteError,
                           match=r'POTRF: S is not positive definite \(at block '
                                 r'chol\(S\)\[1,1\]\.u1: its leading minor of order 2'):
            bad.compute()


def test_a_worker_dying_mid_compute_does_not_change_the_result():
    """Kill one of two worker processes while the blocked Kalman filter runs on dask
    arrays."""
    f, problem = problem_function('kalman')
    args = random_inputs(problem, {'n': 800, 'k': 400})
    expected = f(*args)
    lazy = chunked(args, 100)
    with local_cluster(processes=True) as cluster, Client(cluster) as c:
        got = killing_a_worker_mid_run(c, lambda: c.compute(f(*lazy), sync=True))
    same(got, expected)


# Chunks -------------------------------------------------------------------------------

def test_disagreeing_chunks_are_rechunked_with_a_warning():
    f, problem = problem_function('kalman')
    args = random_inputs(problem, {'n': 10, 'k': 6})
    lazy = chunked(args, [4, 3, 4, 3, 3])               # mu, Sigma: 4; H: 3 (both axes)
    with pytest.warns(RechunkWarning) as record:
        out = f(*lazy)
    messages = [str(w.message) for w in record]
    assert any(m.startswith('dimension n: ') and 'H' in m for m in messages), messages
    assert all(isinstance(w.message, RechunkWarning) for w in record)
    assert record[0].filename == __file__
    same(dask.compute(*out, scheduler='sync'), f(*args))


def test_irregular_chunks_are_made_regular_with_a_warning():
    A = MatrixSymbol('A', n, n)
    f = computations.function([A], [A * A.T])
    a = np.arange(49.0).reshape(7, 7)
    with pytest.warns(RechunkWarning, match=r'dimension n: .*A rows: \(2, 5\).*blocks of 5'):
        (y,) = f(da.from_array(a, chunks=((2, 5), (2, 5))))
    assert y.chunks == ((5, 2), (5, 2))
    assert np.allclose(y.compute(), a @ a.T)


def test_a_dimension_no_dask_input_has_takes_the_functions_blocksize():
    """k is whole in the dask input A (its chunks win over the blocksize); m, only in the
    NumPy input B, takes the function's blocksize."""
    m = Symbol('m')
    A, B = MatrixSymbol('A', n, k), MatrixSymbol('B', k, m)
    f = computations.function([A, B], [A * B], blocksize={'k': 2, 'm': 2})
    a, b = np.arange(30.0).reshape(6, 5), np.arange(20.0).reshape(5, 4)
    (y,) = f(da.from_array(a, chunks=(3, 5)), b)
    assert y.chunks == ((3, 3), (2, 2))
    assert np.allclose(y.compute(), a @ b)


# Errors -------------------------------------------------------------------------------

def test_errors_name_the_argument():
    A = MatrixSymbol('A', n, n)
    f = computations.function([A], [A * A])
    x = da.ones((4, 4), chunks=2)
    with pytest.raises(DaskArgumentError, match=r"scheduler='threads' with dask arrays"):
        f(x, scheduler='threads')
    with pytest.raises(DaskArgumentError, match='check_assumptions=True'):
        f(x, check_assumptions=True)
    with pytest.raises(DaskArgumentError, match='input A is a Delayed'):
        f(dask.delayed(np.eye)(4))
    with pytest.raises(DaskArgumentError, match='input A has unknown chunk sizes'):
        f(x[x[:, 0] > 0])
    with pytest.raises(DtypeError, match=r'input A is complex \(complex128\)'):
        f(x.astype(complex))                  # the one dtype rule, as for NumPy inputs
    with pytest.raises(ValueError, match='input A'):
        f(da.ones((4, 3), chunks=2))
    masked = da.ma.masked_array(x, mask=da.eye(4, chunks=2).astype(bool))
    with pytest.raises(DaskArgumentError, match='input A is a masked array; the routines would '
                                                'read the masked entries'):
        f(masked)                             # as NumPy's masked arrays are refused
    assert issubclass(DaskArgumentError, ComputationsError)


def test_a_dask_array_for_a_scalar_input_is_refused_as_a_scalar_not_as_a_batch():
    A, S, x, alpha = (MatrixSymbol('A', n, n), MatrixSymbol('S', n, n), MatrixSymbol('x', n, 1),
                      Symbol('alpha'))
    scale = computations.function([A, alpha], alpha * A)
    logdet = computations.function([S], sympy.log(sympy.Determinant(S)),
                                   [Q.positive_definite(S)])
    quad = computations.function([x], x.T * x)
    a = da.from_array(np.eye(3), chunks=2)
    for scalar in (logdet(4 * a), quad(da.ones(3, chunks=2)), da.ones(5, chunks=2)):
        with pytest.raises(DaskArgumentError, match='input alpha is a scalar: give a float, '
                                                    'not a dask array'):
            scale(a, scalar)
        with pytest.raises(DaskArgumentError, match='input alpha is a scalar'):
            scale(np.eye(3), scalar)


class _NotNumPy:
    """The chunk type of a dask array whose chunks are not NumPy arrays (as CuPy's): as
    much of an array as dask needs to keep it as the array's meta."""
    ndim, shape, dtype = 2, (0, 0), np.dtype(float)

    def __getitem__(self, key):
        return self

    def __array_function__(self, *args, **kwargs):
        return NotImplemented


def test_chunks_that_are_not_numpy_arrays_are_refused_by_name():
    A = MatrixSymbol('A', n, n)
    x = da.ones((4, 4), chunks=2).map_blocks(lambda block: block, meta=_NotNumPy())
    assert isinstance(x._meta, _NotNumPy)
    with pytest.raises(DaskArgumentError, match='input A has chunks of type _NotNumPy: the '
                                                'routines take NumPy arrays'):
        computations.function([A], [A * A])(x)


# Names, duplicates and blocks of ones (review of the dask.array path) ------------------

def _square_and_tall():
    n, m = Symbol('n'), Symbol('m')
    return MatrixSymbol('A', n, n), MatrixSymbol('B', n, m), n


@pytest.mark.parametrize('case', ['cube', 'congruence'])
def test_functions_that_differ_only_in_their_output_names_get_graphs_of_their_own(case):
    """An output named t1 pushes the program's own t1 to t1_2: the graphs differ, and had
    one token, so computed together one result was the other's intermediate value
    (``A*A`` for ``A*A*A``; a 6 x 4 ``A*B`` for ``A*B*B.T*A``), silently."""
    A, B, _ = _square_and_tall()
    a = np.random.default_rng(0).standard_normal((6, 6))
    b = np.random.default_rng(1).standard_normal((6, 4))
    if case == 'cube':
        inputs, outputs, values, expected = [A], [A * A * A], [a], a @ a @ a
    else:
        inputs, outputs, values, expected = [A, B], [A * B * B.T * A], [a, b], a @ b @ b.T @ a
    values[0] = da.from_array(values[0], chunks=2)
    (rf,), (rg,) = (computations.function(inputs, outputs, names=names)(*values)
                    for names in (['t1'], None))
    assert rf.name.split('-')[-1] != rg.name.split('-')[-1]
    vf, vg = dask.compute(rf, rg)
    assert relative_error(vf, expected) < 1e-12 and relative_error(vg, expected) < 1e-12


def test_an_output_named_like_the_program_layer_keeps_the_graph_whole():
    """``names=['computations']`` overwrote the program's layer: a missing dependency at
    compute time."""
    A, B, _ = _square_and_tall()
    a, b = np.eye(6) * 2, np.ones((6, 4))
    f = computations.function([A, B], [A * B], names=['computations'])
    assert np.allclose(f(da.from_array(a, chunks=3), b)[0].compute(), a @ b)


@pytest.mark.parametrize('chunks', [1, 2])
def test_blocks_of_ones_of_order_one_are_the_identity(chunks):
    """At blocks of 1 a block of ``OneMatrix`` is 1 x 1, which SymPy takes for the identity:
    the blocked product made a GEMM that computed nothing (NothingToComputeError)."""
    A, B, n = _square_and_tall()
    x = MatrixSymbol('x', n, 1)
    b = np.arange(24.0).reshape(6, 4)
    a = np.arange(36.0).reshape(6, 6)
    f = computations.function([B], [OneMatrix(n, n) * B])
    assert np.allclose(f(da.from_array(b, chunks=chunks))[0].compute(), np.ones((6, 6)) @ b)
    g = computations.function([A, x], [A * OneMatrix(n, 1)])
    assert np.allclose(g(da.from_array(a, chunks=chunks), np.ones((6, 1)))[0].compute(),
                       a @ np.ones((6, 1)))
    h = computations.function([B], [OneMatrix(n, n) * B], blocksize=chunks)
    assert np.allclose(h(b)[0], np.ones((6, 6)) @ b)


def test_an_output_given_twice_is_two_arrays_as_in_process():
    """Both were one dask array under the first name, computed into one ndarray: writing
    into one changed the other.  In process they are separate copies."""
    A, _, _ = _square_and_tall()
    a = np.random.default_rng(2).standard_normal((6, 6))
    f = computations.function([A], [A * A, A * A, Trace(A), Trace(A)], names=['p', 'q', 's', 't'])
    results = f(da.from_array(a, chunks=3))
    assert len({r.name for r in results}) == 4
    first, second, s, t = dask.compute(*results)
    assert not np.shares_memory(first, second) and np.allclose(first, a @ a)
    assert np.array_equal(first, second) and s == t == np.trace(a)


def test_an_empty_dimension_leaves_the_other_outputs_blocked_by_their_chunks():
    """A zero-size dimension anywhere made the whole call one task, which gathered the
    non-empty inputs whole: ``C*C`` and ``C`` came back in one chunk each."""
    k, m = Symbol('k'), Symbol('m')
    A, B, C = MatrixSymbol('A', n, n), MatrixSymbol('B', n, m), MatrixSymbol('C', k, k)
    c = np.random.default_rng(3).standard_normal((8, 8))
    lazy_c = da.from_array(c, chunks=2)
    f = computations.function([A, B, C], [A * B, C * C, C, Trace(A) + 1])
    results = f(da.zeros((0, 0), chunks=2), da.zeros((0, 3), chunks=2), lazy_c)
    assert [r.chunks for r in results[1:3]] == [((2,) * 4, (2,) * 4)] * 2
    graph = dict(results[1].__dask_graph__())
    chunks_read = [{d for d in get_dependencies(graph, key) if d[0] == lazy_c.name}
                   for key in graph if key[0] != lazy_c.name]
    assert max(map(len, chunks_read)) < 16                  # no task reads all of C
    product, square, same, trace = dask.compute(*results)
    assert product.shape == (0, 3) and np.allclose(square, c @ c)
    assert np.array_equal(same, c) and trace == 1.0
