"""The Dask runner: graphs of (blocked) programs on Dask's local schedulers and on clusters.

Clusters run on loopback only.  The graph of ``A*A`` blocked 2x2::

    A -> A[0,0] A[0,1] A[1,0] A[1,1]        (one block task each)
    A[i,k], A[k,j] -> t1[i,j].1 -> t1[i,j]   (GEMM tasks)
    t1[*,*] -> A**2                          (Assemble)
"""
import os
import pickle
import signal
import sys
import threading
import time

import cloudpickle
import numpy as np
import pytest
import sympy
from dask.core import validate_key
from distributed import Client, LocalCluster
from distributed.utils_test import gen_cluster

import computations
from computations.matrices import GEMM, NotPositiveDefiniteError
from computations.matrices.blocking import block
from computations.matrices.examples.problems import PROBLEMS, random_inputs
from schedulers import dask_graph
from test_function_random import relative_error


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


def test_tasks_never_modify_their_inputs():
    f, args = kalman(20)
    before = [a.copy() for a in args]
    for scheduler in ('sync', 'threads'):
        same(f(*args, scheduler=scheduler), f(*before))
        for a, b in zip(args, before):
            assert np.array_equal(a, b)


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
    # processes=False: the scheduler and workers talk in process (inproc://), no sockets.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        with Client(cluster) as c:
            yield c


def test_local_cluster(client):
    f, args = kalman(15)
    same(f(*args, scheduler=client), f(*args))


def test_local_cluster_failing_block(client):
    S, Y = sympy.MatrixSymbol('S', 6, 6), sympy.MatrixSymbol('Y', 6, 1)
    f = computations.function([S, Y], [S.I * Y], [sympy.Q.positive_definite(S)], blocksize=3)
    s = np.eye(6)
    s[4, 4] = -1.0
    message = r'POTRF: chol\(S\)\[1,1\]\.u1 is not positive definite'
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


def test_a_worker_dying_mid_run_does_not_change_the_result():
    """Kill one of two worker processes while a long blocked program runs."""
    f, args = kalman(100, n=800, k=400)
    expected = f(*args)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, host='127.0.0.1') as cluster, \
            Client(cluster) as c:
        pids = c.run(os.getpid)
        victim = sorted(pids.values())[0]
        killed, times = threading.Event(), {}

        def kill():
            # Wait until the workers hold results of the run, then kill one.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if sum(len(v) for v in c.has_what().values()) > 20:
                    break
                time.sleep(0.01)
            os.kill(victim, signal.SIGKILL)
            killed.set()
            times['killed'] = time.monotonic()

        killer = threading.Thread(target=kill)
        killer.start()
        got = f(*args, scheduler=c)
        times['returned'] = time.monotonic()
        killer.join()
        assert killed.is_set() and times['killed'] < times['returned']   # killed mid-run
    same(got, expected)
