"""Dividing the BLAS threads among a run's threads (``schedulers/blas_threads.py``), from
any thread, overlapping, and across a fork.  (Dask's thread pool's use of it: test_dask.)"""
import multiprocessing
import os
import queue
import threading

import pytest
from threadpoolctl import threadpool_limits

from computations.schedulers.blas_threads import (DIVIDING, _openblas_controller, blas_threads,
                                                  divided_among)
from forking import forking_threads_allowed


class Worker:
    """A thread that runs the callables it is given, one at a time, each call waiting for
    its result (an error is raised in the caller)."""

    def __init__(self):
        self.tasks, self.results = queue.Queue(), queue.Queue()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        for task in iter(self.tasks.get, None):
            try:
                self.results.put((True, task()))
            except BaseException as error:       # raised in the caller
                self.results.put((False, error))

    def __call__(self, task):
        self.tasks.put(task)
        ok, value = self.results.get(timeout=30)
        if not ok:
            raise value
        return value

    def stop(self):
        self.tasks.put(None)
        self.thread.join(30)


@pytest.fixture
def workers():
    """Two worker threads, stopped after the test, the BLAS threads at 4 meanwhile and
    nobody in threadpoolctl's control of OpenBLAS at the start."""
    clear = getattr(_openblas_controller(), 'clear_controlling_thread', lambda force: None)
    with threadpool_limits(4, user_api='blas'):
        clear(force=True)
        pair = Worker(), Worker()
        yield pair
        for worker in pair:
            worker.stop()
    clear(force=True)


def test_a_division_started_and_lifted_in_other_threads_is_set_and_lifted(workers):
    """threadpoolctl's OpenBLAS controller (3.6+) lets only the first thread that set a
    limit set one: a division begun in the main thread and ended last in another stayed
    on one BLAS thread for good, and one begun in a second thread was not set at all."""
    other, _ = workers
    first, second = divided_among(2), divided_among(2)
    first.__enter__()                              # main thread first
    assert blas_threads() == 2
    assert other(lambda: (second.__enter__(), blas_threads())[1]) == 2
    first.__exit__(None, None, None)               # main thread's ends first
    assert blas_threads() == 2 and DIVIDING['runs'] == 1
    other(lambda: second.__exit__(None, None, None))   # the other thread's ends last
    assert blas_threads() == 4 and DIVIDING['runs'] == 0


def test_a_division_in_a_thread_leaves_the_user_in_control_of_the_limits(workers):
    """After a division in a thread that lives on (a pool's), the main thread's own
    ``threadpool_limits`` still takes effect (the division claimed threadpoolctl's
    control of OpenBLAS for that thread, and the user's limits were ignored)."""
    other, _ = workers

    def divide():
        with divided_among(2):
            pass
    other(divide)                                  # divided and lifted; the thread lives
    with threadpool_limits(1, user_api='blas'):
        assert blas_threads() == 1


def _entered(limits):
    """A ``threadpool_limits`` block entered (as ``with`` does), to leave later."""
    limits.__enter__()
    return limits


def _left(limits):
    limits.__exit__(None, None, None)


def test_a_users_limit_begun_during_a_run_holds_in_their_block(workers):
    """A user's limit of the division's value, entered in another thread during a run: the
    run's end leaves it in force (told by value alone, it was the run's, and lifted)."""
    runner, user = workers
    run = divided_among(4)
    runner(run.__enter__)
    assert blas_threads() == 1
    theirs = user(lambda: _entered(threadpool_limits(1, user_api='blas')))
    runner(lambda: run.__exit__(None, None, None))
    assert blas_threads() == 1                     # still in their block
    user(lambda: _left(theirs))


def test_a_users_limit_ended_during_a_run_is_not_restored_by_it(workers):
    """A user's limit in force when a run starts and ended during it, restoring the very
    value of the division: the run's end leaves what their end left (told by value
    alone, the run put back the user's limit for good)."""
    runner, user = workers
    theirs = user(lambda: _entered(threadpool_limits(8, user_api='blas')))   # from 4
    run = divided_among(2)
    runner(run.__enter__)
    assert blas_threads() == 4                     # 8 divided by 2
    user(lambda: _left(theirs))                    # back to 4: the division's value
    runner(lambda: run.__exit__(None, None, None))
    assert blas_threads() == 4 and DIVIDING['runs'] == 0


def test_a_run_begun_after_a_users_limit_ended_divides_what_it_left(workers):
    """The first run began under a user's limit and divided nothing; the limit ended; a
    second, overlapping run divides the threads then in force, and the last to end puts
    those back (it put back the ended limit, for good)."""
    runner, user = workers
    theirs = user(lambda: _entered(threadpool_limits(1, user_api='blas')))
    first, second = divided_among(2), divided_among(2)
    runner(first.__enter__)                        # nothing to divide: 1 thread
    user(lambda: _left(theirs))
    assert blas_threads() == 4
    user(second.__enter__)
    assert blas_threads() == 2
    runner(lambda: first.__exit__(None, None, None))
    user(lambda: second.__exit__(None, None, None))
    assert blas_threads() == 4 and DIVIDING['runs'] == 0


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


def _report(results):
    runs, threads = DIVIDING['runs'], blas_threads()
    with divided_among(2):
        inside = blas_threads()
    results.put((runs, threads, inside))


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


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='os.fork is POSIX only')
def test_a_child_forked_inside_a_division_leaves_the_block_with_no_run():
    """The child of a fork inside a ``divided_among`` block has no run (the fork reset
    them) and leaves the block without counting one down (it went to -1, and every later
    run in the child raised)."""
    with threadpool_limits(2, user_api='blas'):
        with forking_threads_allowed():
            with divided_among(2):
                pid = os.fork()
            if pid == 0:                           # the child, out of the block
                ok = False
                try:
                    ok = DIVIDING['runs'] == 0 and blas_threads() == 2
                    with divided_among(2):
                        ok = ok and blas_threads() == 1
                    ok = ok and DIVIDING['runs'] == 0 and blas_threads() == 2
                finally:
                    os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert DIVIDING['runs'] == 0 and blas_threads() == 2


def test_every_library_with_threadpoolctls_gate_has_the_setter_that_bypasses_it():
    """The division sets limits through a controller's ``_real_set_num_threads`` (private
    to threadpoolctl): were it renamed, the gated setter would be used again, silently,
    and the division from a second thread lost; this says so instead."""
    from computations.schedulers.blas_threads import _blas_libraries
    gated = [library for library in _blas_libraries()
             if hasattr(type(library), '_SHARED_STATE')]
    assert all(callable(getattr(library, '_real_set_num_threads', None)) for library in gated)


def test_a_run_lifts_its_division_when_the_thread_in_control_ended_meanwhile(workers):
    """threadpoolctl's controlling thread (one that set a limit without leaving a block)
    ending during a run changes no limit: the run's end still lifts its division (it
    took the dead thread for someone else's limit, and left the process divided)."""
    limited, finish = threading.Event(), threading.Event()

    def control():
        threadpool_limits(4, user_api='blas')      # no change, but control kept
        limited.set()
        finish.wait(30)
    thread = threading.Thread(target=control)
    thread.start()
    assert limited.wait(30)
    run = divided_among(2)
    run.__enter__()
    assert blas_threads() == 2
    finish.set()
    thread.join(30)                                # the thread in control ended
    run.__exit__(None, None, None)
    assert blas_threads() == 4
