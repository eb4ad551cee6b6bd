"""The Dask runner: graphs of (blocked) programs on Dask's local schedulers and on clusters.

Clusters run on loopback only, on free ports (:func:`local_cluster`).  The graph of
``A*A`` blocked 2x2::

    A[0,0] A[0,1] A[1,0] A[1,1]             (the caller's A cut into blocks, in the graph)
    A[i,:], A[:,j] -> t1[i,j]                (one task: the GEMMs adding up the block)
    t1[*,*] -> A**2                          (Assemble)
"""
import errno
import json
import os
import pathlib
import pickle
import re
import signal
import socket
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, wait

import cloudpickle
import numpy as np
import pytest
import sympy
from dask.core import validate_key
from distributed import Client, LocalCluster
from distributed.utils_test import gen_cluster

import computations
from computations.matrices import GEMM, NotPositiveDefiniteError
from computations.matrices.transforms.blocking import block
from computations.matrices.examples.problems import PROBLEMS, random_inputs
from computations.schedulers import dask_graph
from computations.testing import relative_error

#: Where a cluster's scheduler serves HTTP: a free port on loopback.  With
#: ``dashboard_address=None`` distributed still binds the fixed port 8787 (and
#: warns when it is taken); ``':0'`` would bind every interface.
DASHBOARD = '127.0.0.1:0'


def local_cluster(processes=False):
    """A 2-worker LocalCluster, one thread each: in process (``inproc://``, no sockets but
    the dashboard's) or worker processes on loopback."""
    where = {'host': '127.0.0.1'} if processes else {}
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                        dashboard_address=DASHBOARD, **where)


def kalman(blocksize, n=60, k=30, seed=0):
    problem = PROBLEMS['kalman']()
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                              blocksize=blocksize)
    args = random_inputs(problem, {'n': n, 'k': k}, seed)
    return f, args


def same(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert relative_error(g, e) <= 1e-10


def test_graph_keys_are_valid_strings_and_the_graph_pickles():
    f, args = kalman(20)
    spec = f.specialize(*args)
    values = dict(zip(f.inputs, [np.asfortranarray(a) for a in args]))
    graph, keys = dask_graph.to_dask(spec.computation, values, spec.results, spec.dims)
    for key in graph:
        assert isinstance(key, str)
        validate_key(key)
    assert set(keys) <= set(graph)
    for dumps in (pickle.dumps, cloudpickle.dumps):
        again = pickle.loads(dumps(graph))
        from dask.local import get_sync
        same(get_sync(again, keys), f(*args))


def test_keys_are_readable_names_with_a_token_unique_to_each_run():
    from dask.utils import key_split
    f, args = kalman(20)
    spec = f.specialize(*args)
    values = dict(zip(f.inputs, [np.asfortranarray(a) for a in args]))
    graphs = [dask_graph.to_dask(spec.computation, values, spec.results, spec.dims)[0]
              for _ in range(2)]
    assert not set(graphs[0]) & set(graphs[1])
    names = [sorted(key.rsplit('-', 1)[0] for key in graph) for graph in graphs]
    assert names[0] == names[1]
    assert 'H_0_0' in names[0] and 'newSigma' not in names[0]
    assert {key_split(key) for key in graphs[0]} == set(names[0])    # grouped by name
    graph, keys = dask_graph.to_dask(spec.computation, values, spec.results, spec.dims,
                                     token='abc')
    assert all(key.endswith('-abc') for key in graph) and set(keys) <= set(graph)


def test_inputs_are_in_the_graph_block_by_block():
    r"""A*A blocked 2x2 (blocks of 4 and 2 rows and columns)::

        A[0,0] A[0,1] A[1,0] A[1,1]      DataNodes: blocks of the caller's A, cut here
             \    \    /    /
              GEMM tasks -> Assemble      A itself is in no task
    """
    A = sympy.MatrixSymbol('A', 6, 6)
    x = np.asfortranarray(np.arange(36.0).reshape(6, 6))
    graph, keys = dask_graph.to_dask(block(GEMM(1, A, A), 4), {A: x}, token='t')
    from dask._task_spec import DataNode
    data = {key: node.value for key, node in graph.items() if isinstance(node, DataNode)}
    bounds = {'A_0_0-t': (0, 4, 0, 4), 'A_0_1-t': (0, 4, 4, 6),
              'A_1_0-t': (4, 6, 0, 4), 'A_1_1-t': (4, 6, 4, 6)}
    assert sorted(data) == sorted(bounds)
    for key, (r0, r1, c0, c1) in bounds.items():
        assert np.array_equal(data[key], x[r0:r1, c0:c1])
        assert data[key].flags.f_contiguous and not np.shares_memory(data[key], x)
    from dask.local import get_sync
    assert relative_error(get_sync(graph, keys)[0], x @ x) <= 1e-12
    # Unblocked, the whole input is the DataNode.
    graph, keys = dask_graph.to_dask(GEMM(1, A, A), {A: x}, token='t')
    assert isinstance(graph['A-t'], DataNode) and graph['A-t'].value is x


def test_an_accumulation_is_one_task_that_leaves_its_inputs_alone():
    """``C + A*B`` blocked 3x3: each block is C's block plus three products, one task of
    three GEMMs (``dask_graph.runs``) on a private copy of C's block -- no partial sum is
    a result, and running the graph twice gives the same result (the tasks are pure)."""
    from dask._task_spec import DataNode
    from dask.local import get_sync
    A, B, C = (sympy.MatrixSymbol(name, 6, 6) for name in 'ABC')
    rng = np.random.default_rng(0)
    values = {v: np.asfortranarray(rng.standard_normal((6, 6))) for v in (A, B, C)}
    graph, keys = dask_graph.to_dask(block(GEMM(1, A, B, 1, C), 2), values, token='t')
    data = {key: node.value.copy() for key, node in graph.items() if isinstance(node, DataNode)}
    tasks = [key for key, node in graph.items() if not isinstance(node, DataNode)]
    assert len(tasks) == 9 + 1                           # a task per block, and Assemble
    expected = values[C] + values[A] @ values[B]
    for _ in range(2):
        assert relative_error(get_sync(graph, keys)[0], expected) <= 1e-12
        for key, value in data.items():                  # C's blocks too: never written
            assert np.array_equal(graph[key].value, value), key


def test_a_chain_copies_a_value_that_shares_memory_with_its_arguments():
    """What a chain's next operation overwrites is the task's own: a kernel's result that
    is a view of an argument is copied first."""
    x = np.asfortranarray(np.ones((3, 3)))
    assert dask_graph._private(x, (x,)) is not x
    assert not np.shares_memory(dask_graph._private(x[:2], (x,)), x)
    y = np.zeros((3, 3), order='F')
    assert dask_graph._private(y, (x, 2.0)) is y


def test_tasks_never_modify_their_inputs():
    f, args = kalman(20)
    before = [a.copy() for a in args]
    for scheduler in ('sync', 'threads'):
        same(f(*args, scheduler=scheduler), f(*before))
        for a, b in zip(args, before):
            assert np.array_equal(a, b)


def two_solves_with_one_lu(seed=0):
    """``A*G.I`` and ``B*G.I``: one GETRF, then two GETRS reading its pivots."""
    G, A, B = (sympy.MatrixSymbol(name, m, 3) for name, m in (('G', 3), ('A', 2), ('B', 4)))
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    f = computations.function([B, G, A], [A * G.I, B * G.I], [sympy.Q.invertible(G)])
    return f, (b, g, a), [a @ np.linalg.inv(g), b @ np.linalg.inv(g)]


def test_a_task_passes_getrs_a_copy_of_the_pivots_it_reads(monkeypatch):
    """OpenBLAS's dgetrs writes into ipiv while it runs (and restores it): two GETRS tasks
    sharing one LU's pivots on two threads gave 4 to 49 wrong solves in 50 runs."""
    from computations.schedulers import calls
    f, args, _ = two_solves_with_one_lu()
    pivots, passed = [], []
    wrapped = calls.routine

    def spy(op, *arrays):
        wrapper = wrapped(op, *arrays)
        if op.routine != 'getrs':
            return wrapper
        def call(lu, piv, b, **flags):
            passed.append(piv)
            return wrapper(lu, piv, b, **flags)
        return call
    monkeypatch.setattr(calls, 'routine', spy)
    task = dask_graph._call

    def call(op, *values):
        out = task(op, *values)
        if op.routine == 'getrf':
            pivots.append(out[1])
        return out
    monkeypatch.setattr(dask_graph, '_call', call)
    f(*args, scheduler='sync')
    assert len(pivots) == 1 and len(passed) == 2
    assert not any(np.shares_memory(p, pivots[0]) for p in passed)


def test_solves_sharing_lu_pivots_are_right_on_threads():
    f, args, expected = two_solves_with_one_lu()
    for _ in range(30):
        same(f(*args, scheduler='threads'), expected)


@pytest.mark.parametrize('options', [{}, {'blocksize': 2}, {'low_memory': True}])
@pytest.mark.parametrize('scheduler', ['sync', 'threads'])
def test_a_result_is_never_the_callers_array(scheduler, options):
    """``function([A], [A, 2*A])`` returned the caller's own array as its first result."""
    A = sympy.MatrixSymbol('A', 3, 3)
    a = np.asfortranarray(np.arange(9.0).reshape(3, 3))
    f = computations.function([A], [A, 2 * A], **options)
    got = f(a, scheduler=scheduler)
    assert np.array_equal(got[0], a) and np.array_equal(got[1], 2 * a)
    assert not any(np.shares_memory(g, a) for g in got)


@pytest.mark.parametrize('blocksize', [None, 7, 25, {'n': 16}])
def test_local_schedulers_equal_in_process(blocksize):
    f, args = kalman(blocksize)
    expected = f(*args)
    for scheduler in ('sync', 'threads'):
        same(f(*args, scheduler=scheduler), expected)


def test_bad_scheduler():
    f, args = kalman(20)
    with pytest.raises(ValueError, match="scheduler must be None, 'sync', 'threads' or a "
                                         "distributed.Client, got 'processes'"):
        f(*args, scheduler='processes')


def test_without_dask_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'dask._task_spec', None)
    A = sympy.MatrixSymbol('A', 2, 2)
    with pytest.raises(ImportError, match=r"pip install 'computations\[dask\]'"):
        dask_graph.run(GEMM(1, A, A), {A: np.eye(2)}, scheduler='threads')
    f = computations.function([A], [A * A], blocksize=1)
    assert np.array_equal(f(np.eye(2))[0], np.eye(2))      # in process: no Dask needed


@pytest.fixture
def client():
    with local_cluster() as cluster, Client(cluster) as c:
        yield c


def test_local_cluster(client):
    f, args = kalman(15)
    same(f(*args, scheduler=client), f(*args))


def test_local_cluster_failing_block(client):
    S, Y = sympy.MatrixSymbol('S', 6, 6), sympy.MatrixSymbol('Y', 6, 1)
    f = computations.function([S, Y], [S.I * Y], [sympy.Q.positive_definite(S)], blocksize=3)
    s = np.eye(6)
    s[4, 4] = -1.0
    # the program's matrix first (it named only the internal block)
    message = (r'POTRF: S is not positive definite \(at block chol\(S\)\[1,1\]\.u1: its '
               r'leading minor of order 2 is not positive\)')
    with pytest.raises(NotPositiveDefiniteError, match=message):
        f(s, np.ones(6))
    with pytest.raises(NotPositiveDefiniteError, match=message):
        f(s, np.ones(6), scheduler=client)


@gen_cluster(client=True)
async def test_gen_cluster(c, s, a, b):
    A = sympy.MatrixSymbol('A', 9, 9)
    x = np.random.default_rng(1).standard_normal((9, 9))
    graph, keys = dask_graph.to_dask(block(GEMM(1, A, A), 4), {A: np.asfortranarray(x)})
    futures = c.get(graph, keys, sync=False)
    (result,) = await c.gather(futures)
    assert relative_error(result, x @ x) <= 1e-12


def concurrent_calls(count):
    """``count`` calls alternating a blocked Kalman filter and a blocked GLS, each on its
    own inputs: ``(calls, expected)``, the calls' functions fresh (not yet compiled), the
    expected results from other functions, in process, one call at a time."""
    kinds = []
    for name, sizes in (('kalman', {'n': 24, 'k': 12}), ('gls', {'n': 24, 'p': 12})):
        problem = PROBLEMS[name]()
        make = [computations.function(problem.inputs, problem.outputs, problem.assumptions,
                                      blocksize=12) for _ in range(2)]
        kinds.append((make, problem, sizes))
    calls, expected = [], []
    for i in range(count):
        (fresh, reference), problem, sizes = kinds[i % 2]
        args = random_inputs(problem, sizes, seed=i)
        calls.append((fresh, args))
        expected.append(reference(*args))
    return calls, expected


def call_all_at_once(calls, scheduler, timeout=180):
    """Run every call from a pool of 8 threads; each call's results or error.

    Fails if they have not all returned within ``timeout`` seconds (runs that shared
    keys could deadlock; closing the client then ends the calls still waiting)."""
    def one(call):
        f, args = call
        try:
            return f(*args, scheduler=scheduler)
        except Exception as error:               # reported with the call, below
            return error

    pool = ThreadPoolExecutor(max_workers=8)
    futures = [pool.submit(one, call) for call in calls]
    _, running = wait(futures, timeout=timeout)
    pool.shutdown(wait=not running, cancel_futures=True)
    assert not running, f'{len(running)} of {len(calls)} calls still running after {timeout} s'
    return [future.result() for future in futures]


def test_concurrent_calls_on_one_client_get_their_own_results(client):
    """100 overlapping calls of two programs on one Client (with keys shared between runs,
    most got another run's blocks, or a BLAS error from blocks of the wrong shape)."""
    calls, expected = concurrent_calls(100)
    got = call_all_at_once(calls, client)
    wrong = [i for i, (g, e) in enumerate(zip(got, expected))
             if isinstance(g, Exception) or any(np.shape(a) != np.shape(b) for a, b in zip(g, e))
             or max(map(relative_error, g, e)) > 1e-10]
    assert not wrong, f'{len(wrong)} of 100 calls wrong: {[got[i] for i in wrong[:3]]}'


@pytest.mark.parametrize('scheduler', [None, 'sync', 'threads'])
def test_concurrent_calls_are_thread_safe(scheduler):
    calls, expected = concurrent_calls(100)
    got = call_all_at_once(calls, scheduler)
    for g, e in zip(got, expected):
        assert not isinstance(g, Exception), repr(g)
        same(g, e)


@pytest.fixture
def port_8787_taken():
    """Listening sockets on 0.0.0.0:8787 and 127.0.0.1:8787, as far as they can be bound
    (once 0.0.0.0:8787 listens, 127.0.0.1:8787 cannot be; a port another program holds
    is taken already)."""
    taken = []
    for host in ('0.0.0.0', '127.0.0.1'):
        sock = socket.socket()
        try:
            sock.bind((host, 8787))
            sock.listen()
            taken.append(sock)
        except OSError as error:
            sock.close()
            if error.errno != errno.EADDRINUSE:
                raise
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as tornado binds
    with pytest.raises(OSError, match='in use'):
        probe.bind(('127.0.0.1', 8787))
    probe.close()
    yield
    for sock in taken:
        sock.close()


@pytest.mark.parametrize('processes', [False, True])
def test_clusters_never_need_port_8787(port_8787_taken, processes):
    with warnings.catch_warnings():
        warnings.simplefilter('error')             # "Port 8787 is already in use"
        with local_cluster(processes) as cluster, Client(cluster) as c:
            assert c.submit(sum, [1, 2]).result() == 3
            assert cluster.scheduler.http_server.port != 8787


def test_every_cluster_example_serves_http_on_a_free_loopback_port():
    """Docs, notebooks, tests and benchmarks make every LocalCluster with
    ``dashboard_address='127.0.0.1:0'`` (a free port), never the default ':8787' nor
    None (also 8787)."""
    root = pathlib.Path(__file__).resolve().parents[1]
    paths = [*root.glob('*.md'), *root.glob('docs/*.md'), *root.glob('notebooks/*.py'),
             *root.glob('notebooks/*.ipynb'), *root.glob('tests/*.py'),
             *root.glob('benchmarks/*.py')]
    calls = []
    for path in paths:
        text = path.read_text(encoding='utf-8')
        if path.suffix == '.ipynb':
            text = '\n'.join(''.join(cell['source']) for cell in json.loads(text)['cells'])
        calls += [(path.relative_to(root), match.group(1)) for match in
                  re.finditer(r'LocalCluster\(((?:[^()]|\([^()]*\))*)\)', text)]
    assert len(calls) >= 4
    for path, arguments in calls:
        assert re.search(r"dashboard_address=('127\.0\.0\.1:0'|DASHBOARD)", arguments), \
            f'{path}: a cluster made with ({arguments}) may serve HTTP on port 8787'


def test_a_call_right_after_a_worker_died_succeeds():
    """Kill one of two worker processes, then call at once (the scheduler may not know
    yet, and the nanny is restarting it), and again."""
    f, args = kalman(100, n=400, k=200)
    expected = f(*args)
    with local_cluster(processes=True) as cluster, Client(cluster) as c:
        same(f(*args, scheduler=c), expected)
        victim = sorted(c.run(os.getpid).values())[0]
        os.kill(victim, signal.SIGKILL)
        got = [f(*args, scheduler=c), f(*args, scheduler=c)]
    for g in got:
        same(g, expected)


def killing_a_worker_mid_run(client, run):
    """``run()``'s result, one of the client's two worker processes killed (SIGKILL) once
    the workers hold more than 20 results of it; asserts the kill came before the end."""
    victim = min(client.run(os.getpid).values())
    killed, times = threading.Event(), {}

    def kill():
        # Wait until the workers hold results of the run, then kill one.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if sum(len(v) for v in client.has_what().values()) > 20:
                break
            time.sleep(0.01)
        os.kill(victim, signal.SIGKILL)
        killed.set()
        times['killed'] = time.monotonic()

    killer = threading.Thread(target=kill)
    killer.start()
    got = run()
    times['returned'] = time.monotonic()
    killer.join()
    assert killed.is_set() and times['killed'] < times['returned']      # killed mid-run
    return got


def test_a_worker_dying_mid_run_does_not_change_the_result():
    """Kill one of two worker processes while a long blocked program runs."""
    f, args = kalman(100, n=800, k=400)
    expected = f(*args)
    with local_cluster(processes=True) as cluster, Client(cluster) as c:
        got = killing_a_worker_mid_run(c, lambda: f(*args, scheduler=c))
    same(got, expected)


def test_the_thread_pool_divides_the_blas_threads():
    """Under Dask's threads the kernels run at once (they release the GIL), so the BLAS
    threads are divided among the pool's threads while the graph runs, and restored after;
    a Client or 'sync' leaves them alone."""
    import dask
    from threadpoolctl import threadpool_info, threadpool_limits
    from computations.schedulers.dask_graph import _blas_shared

    def blas_threads():
        return max(p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas')
    with threadpool_limits(limits=4, user_api='blas'):
        outside = blas_threads()
        with dask.config.set(num_workers=2), _blas_shared('threads'):
            assert blas_threads() == max(1, outside // 2)
        with dask.config.set(num_workers=8), _blas_shared('threads'):
            assert blas_threads() == 1
        with _blas_shared('sync'):
            assert blas_threads() == outside
        assert blas_threads() == outside


def _blas_threads():
    from threadpoolctl import threadpool_info
    return max(p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas')


@pytest.mark.parametrize('first_ends_first', [True, False])
def test_overlapping_thread_pool_runs_restore_the_blas_threads(first_ends_first):
    """Two runs that overlap and end in either order leave the BLAS threads as they were
    (nested limits restored out of order left the process on one thread)."""
    import dask
    from threadpoolctl import threadpool_limits
    from computations.schedulers.dask_graph import _blas_shared
    with threadpool_limits(limits=4, user_api='blas'), dask.config.set(num_workers=2):
        first, second = _blas_shared('threads'), _blas_shared('threads')
        first.__enter__()
        second.__enter__()
        assert _blas_threads() == 2                    # divided while they run
        ends = (first, second) if first_ends_first else (second, first)
        ends[0].__exit__(None, None, None)
        assert _blas_threads() == 2                    # one still runs
        ends[1].__exit__(None, None, None)
        assert _blas_threads() == 4


def test_a_limit_lifted_during_a_run_is_not_restored_by_it():
    """Someone else's limit in force when a run starts and lifted while it runs: the run
    leaves the BLAS threads as that left them (it restored the limit it found, leaving
    the process on fewer threads)."""
    import dask
    from threadpoolctl import threadpool_limits
    from computations.schedulers.dask_graph import _blas_shared
    with threadpool_limits(limits=4, user_api='blas'), dask.config.set(num_workers=2):
        theirs = threadpool_limits(limits=2, user_api='blas')
        run = _blas_shared('threads')
        run.__enter__()
        assert _blas_threads() == 1
        theirs.restore_original_limits()                # lifted while the run runs
        run.__exit__(None, None, None)
        assert _blas_threads() == 4


def test_a_thread_pool_run_divides_the_blas_threads(monkeypatch):
    """``run(..., scheduler='threads')`` runs its graph inside the shared limit; 'sync'
    does not (the limit's own tests call it directly)."""
    import contextlib
    from computations.schedulers import dask_graph
    entered = []

    @contextlib.contextmanager
    def recording(threads):
        entered.append(threads)
        yield
    monkeypatch.setattr(dask_graph, 'divided_among', recording)
    f, args = kalman(30)
    f(*args, scheduler='threads')
    assert entered
    entered.clear()
    f(*args, scheduler='sync')
    assert not entered


def test_threaded_batches_inside_dask_thread_pool_tasks_restore_the_blas_threads(monkeypatch):
    """Dask's thread pool running tasks that each call a batch whose chunks run on threads
    (order 32): the divisions of the BLAS threads overlap in several threads, ending in any
    order; the results are NumPy's, and the BLAS threads are what they were after (a
    division ended in another thread than the first left them on one for good)."""
    import dask
    from threadpoolctl import threadpool_limits
    from computations.schedulers import stacked
    from computations.schedulers.blas_threads import DIVIDING, blas_threads
    monkeypatch.setattr(stacked, 'CHUNK_BYTES', 1)
    monkeypatch.setattr(stacked, 'MIN_CHUNK', 16)                 # 4 chunks a batch
    n = sympy.Symbol('n')
    T, B = sympy.MatrixSymbol('T', n, n), sympy.MatrixSymbol('B', n, 2)
    f = computations.function([T, B], [T.I * B], [sympy.Q.lower_triangular(T)])
    rng = np.random.default_rng()
    batches = [(np.tril(rng.standard_normal((64, 32, 32))) / 32 + 3 * np.eye(32),
                rng.standard_normal((64, 32, 2))) for _ in range(6)]
    from chunk_threads import watch_chunk_threads
    ran, inside = watch_chunk_threads(monkeypatch)
    with threadpool_limits(2, user_api='blas'):
        results = dask.compute(*[dask.delayed(lambda t, b: f(t, b)[0])(t, b) for t, b in batches],
                               scheduler='threads', num_workers=3)
        assert blas_threads() == 2 and DIVIDING['runs'] == 0
    assert ran and set(ran) == {2} and set(inside) == {1}     # divided from the pool's threads
    for (t, b), got in zip(batches, results):
        np.testing.assert_allclose(got, np.linalg.solve(t, b), rtol=1e-10)
