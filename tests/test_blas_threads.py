"""Dividing the BLAS threads among a run's threads (``schedulers/blas_threads.py``), from
any thread, overlapping, and across a fork.  (Dask's thread pool's use of it: test_dask.)"""
import multiprocessing
import os
import threading

import pytest
from threadpoolctl import threadpool_limits

from computations.schedulers.blas_threads import DIVIDING, blas_threads, divided_among
from forking import forking_threads_allowed


def _in_thread(*steps):
    """A thread that runs ``steps`` one at a time, each when told (``next(thread)``)."""
    go, done, errors = threading.Event(), threading.Event(), []

    def run():
        for step in steps:
            go.wait()
            go.clear()
            try:
                step()
            except BaseException as error:         # reported by the caller
                errors.append(error)
            done.set()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def advance():
        go.set()
        assert done.wait(30), 'the thread did not run its step'
        done.clear()
        assert not errors, errors
    return thread, advance


def test_a_division_started_and_lifted_in_other_threads_is_set_and_lifted():
    """threadpoolctl's OpenBLAS controller (3.6+) lets only the first thread that set a
    limit set one: a division begun in the main thread and ended last in another stayed
    on one BLAS thread for good, and one begun in a second thread was not set at all."""
    with threadpool_limits(4, user_api='blas'):
        first = divided_among(2)
        second = divided_among(2)
        seen = []
        thread, advance = _in_thread(lambda: second.__enter__(),
                                     lambda: seen.append(blas_threads()),
                                     lambda: second.__exit__(None, None, None))
        first.__enter__()                          # main thread first
        assert blas_threads() == 2
        advance()                                  # the other thread's run begins
        advance()
        first.__exit__(None, None, None)           # main thread's ends first
        assert blas_threads() == 2 and DIVIDING['runs'] == 1
        advance()                                  # the other thread's run ends last
        thread.join(30)
        assert seen == [2] and blas_threads() == 4 and DIVIDING['runs'] == 0


def test_a_division_in_a_thread_leaves_the_user_in_control_of_the_limits():
    """After a division in a thread that lives on (a pool's), the main thread's own
    ``threadpool_limits`` still takes effect (the division claimed threadpoolctl's
    control of OpenBLAS for that thread, and the user's limits were ignored)."""
    def divide():
        with divided_among(2):
            pass
    thread, advance = _in_thread(divide, lambda: None)
    advance()                                      # divided and lifted; the thread lives
    with threadpool_limits(1, user_api='blas'):
        assert blas_threads() == 1
    advance()
    thread.join(30)


def test_overlapping_runs_take_the_smallest_division():
    """A run that needs fewer BLAS threads than the one in force lowers the limit (the
    first run's division held for all: a batch inside a one-worker Dask run kept both
    BLAS threads on each of its chunk threads)."""
    with threadpool_limits(4, user_api='blas'):
        with divided_among(1):
            assert blas_threads() == 4             # one thread: nothing to divide
            with divided_among(2):
                assert blas_threads() == 2
                with divided_among(8):
                    assert blas_threads() == 1
                assert blas_threads() == 1         # the smallest until all end
        assert blas_threads() == 4 and DIVIDING['runs'] == 0


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='os.fork is POSIX only')
def test_a_child_forked_during_a_division_runs_none_and_has_the_threads_back():
    with threadpool_limits(2, user_api='blas'), divided_among(2):
        assert blas_threads() == 1
        queue = multiprocessing.get_context('fork').SimpleQueue()
        child = multiprocessing.get_context('fork').Process(target=_report, args=(queue,))
        with forking_threads_allowed():
            child.start()
        child.join(60)
        assert child.exitcode == 0
        assert queue.get() == (0, 2, 1)            # no run, both threads, divisible again
        assert DIVIDING['runs'] == 1 and blas_threads() == 1   # the parent's run goes on


def _report(queue):
    runs, threads = DIVIDING['runs'], blas_threads()
    with divided_among(2):
        inside = blas_threads()
    queue.put((runs, threads, inside))


def test_a_lower_limit_that_does_not_take_keeps_the_one_in_force_to_lift(monkeypatch):
    """An overlapping run whose lower limit the library refuses (a build that ignores it)
    leaves the first run's limit recorded, so the last run to end lifts it (it was
    forgotten, and the process stayed on the first run's division)."""
    from computations.schedulers import blas_threads as module
    setter = module._set_threads
    with threadpool_limits(4, user_api='blas'):
        with divided_among(2):
            assert blas_threads() == 2
            monkeypatch.setattr(module, '_set_threads', lambda limit, each=None: None)
            with divided_among(4):
                assert blas_threads() == 2         # refused: the first division stays
            monkeypatch.setattr(module, '_set_threads', setter)
        assert blas_threads() == 4
