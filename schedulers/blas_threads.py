"""The BLAS threads of this process: how many there are, and dividing them among threads.

NumPy and SciPy each load their own BLAS (two OpenBLAS builds in the pip wheels), whose
threads serve every call in the process.  Where several threads of the process call
BLAS at once -- a Dask thread pool running block operations
(:func:`computations.schedulers.dask_graph.run`), a batch's chunks on threads
(:func:`computations.schedulers.stacked.run_in_chunks`) -- each call on every BLAS
thread oversubscribes the cores (on two cores, two block operations each on both BLAS
threads ran 1.8x slower than one at a time), so such a run divides the BLAS threads
among its threads while it runs (:func:`divided_among`).

The limits are set through threadpoolctl's controllers of the loaded BLAS libraries,
found once (3 us, where ``threadpool_limits`` takes 0.8 ms), and process-wide from
whatever thread runs: threadpoolctl's OpenBLAS controller (3.6 and later) lets only
one "controlling" thread set a limit -- the first that did, until a
``threadpool_limits`` block of its ends -- and silently ignores the others, which left
a run started in another thread undivided and a division ended in another thread on
one BLAS thread for good.

>>> from threadpoolctl import threadpool_limits
>>> with threadpool_limits(2, user_api='blas'):
...     with divided_among(2):
...         inside = blas_threads()
...     (inside, blas_threads())
(1, 2)
"""
import contextlib
import functools
import importlib
import os
import threading

__all__ = ['blas_threads', 'divided_among', 'DIVIDING']

#: Runs under way whose threads each got a share of the BLAS threads (:func:`divided_among`):
#: their level-3 calls release the GIL whatever their share
#: (:func:`~computations.schedulers.released.may_release`).  Changed only under ``_STATE``'s
#: lock.
DIVIDING = {'runs': 0}

#: The runs' division: the lock, each library's threads before the first run
#: (``originals``), the limit in force if the runs set one (``limit``), and the thread
#: threadpoolctl let set limits when they did (``owner``, :func:`_controlling_thread`).
_STATE = {'lock': threading.Lock(), 'originals': None, 'limit': None, 'owner': None}


def blas_threads():
    """The most threads a loaded BLAS uses (1 if none), asked each time (1 us).

    >>> from threadpoolctl import threadpool_limits
    >>> with threadpool_limits(1, user_api='blas'):
    ...     blas_threads()
    1
    """
    return max((library.get_num_threads() for library in _blas_libraries()), default=1)


@contextlib.contextmanager
def divided_among(threads):
    """Divide the BLAS threads among ``threads`` threads of this process while the block
    runs (each at least one).  Runs that overlap (from any threads) share one limit: the
    smallest any of them asked for, set from the threads the libraries had before the
    first, and lifted by the last to end, whatever order they end in -- unless someone
    else's limit is in force then (a ``threadpool_limits`` entered or left meanwhile, told
    by its value or by threadpoolctl's controlling thread): that one is left as it is,
    theirs to lift, and a run that begins after it divides the threads it left.  (A limit
    is process-wide: one entered during a run and left after it restores the run's
    division, and nothing here can tell.)

    >>> from threadpoolctl import threadpool_limits
    >>> with threadpool_limits(4, user_api='blas'):
    ...     with divided_among(2):
    ...         with divided_among(4):         # an overlapping run that needs fewer
    ...             inner = blas_threads()
    ...         outer = blas_threads()
    ...     (inner, outer, blas_threads())
    (1, 1, 4)
    """
    with _STATE['lock']:
        if _STATE['limit'] is None or not _ours():
            # what the last run puts back: the threads in force while no run's limit is
            # (before the first run, or after someone else's limit began or ended)
            _STATE['originals'] = [library.get_num_threads() for library in _blas_libraries()]
            _STATE['limit'] = None
        limit = max(1, max(_STATE['originals'], default=1) // max(threads, 1))
        if limit < blas_threads():
            _set_threads(limit)
            if blas_threads() == limit:       # a limit that did not take leaves the last
                _STATE['limit'], _STATE['owner'] = limit, _controlling_thread()
        DIVIDING['runs'] += 1
        pid = os.getpid()
    try:
        yield
    finally:
        with _STATE['lock']:
            if os.getpid() == pid:            # not a child forked in the block (it has none)
                DIVIDING['runs'] -= 1
                if DIVIDING['runs'] == 0:
                    _lift()


def _lift():
    """End the runs' division: the threads the libraries had before put back, if the limit
    in force is still the runs' (one someone else set meanwhile -- their
    ``threadpool_limits``, entered or left during the runs -- is theirs to lift)."""
    if _STATE['limit'] is not None and _ours():
        _set_threads(None, _STATE['originals'])
    _STATE['originals'] = _STATE['limit'] = _STATE['owner'] = None


def _ours():
    """Whether the limit in force is still the runs': its value, and no ``threadpool_limits``
    begun or ended since it was set (threadpoolctl's controlling thread of OpenBLAS
    unchanged).  Told by value alone, a user's limit of the division's value was lifted
    inside their own block, and one that ended restoring it was overwritten."""
    return blas_threads() == _STATE['limit'] and _controlling_thread() is _STATE['owner']


def _controlling_thread():
    """The thread threadpoolctl (3.6 and later) lets set OpenBLAS's limits -- the one whose
    ``threadpool_limits`` is in force -- or None (None too for versions before the gate).
    Alive or not: a thread that set a limit and ended during a run changed nothing, and
    the run's end still lifts the division."""
    shared = getattr(_openblas_controller(), '_SHARED_STATE', None)
    return getattr(shared, 'controlling_thread', None)


@functools.lru_cache(maxsize=None)
def _openblas_controller():
    try:
        from threadpoolctl import OpenBLASController
    except ImportError:                      # versions before the controllers' classes
        return None
    return OpenBLASController


def _set_threads(limit, each=None):
    """Every loaded BLAS on ``limit`` threads at most (or library by library on ``each``),
    process-wide from whatever thread calls (see the module: the library's own setter,
    not threadpoolctl's gate, where it has one)."""
    for i, library in enumerate(_blas_libraries()):
        threads = each[i] if each is not None else min(limit, library.get_num_threads())
        setter = getattr(library, '_real_set_num_threads', None) or library.set_num_threads
        setter(threads)


@functools.lru_cache(maxsize=None)
def _blas_libraries():
    """The loaded BLAS libraries' controllers, found once: NumPy's and SciPy's, both loaded
    first (a library loaded later would be neither counted nor divided).  Not an OpenBLAS
    on OpenMP threads: its limits are per thread, so a process-wide division cannot be
    set or lifted from one thread (two overlapping runs left a thread on its division for
    good); it is left undivided."""
    from threadpoolctl import ThreadpoolController
    for module in ('numpy', 'scipy.linalg'):
        importlib.import_module(module)
    return tuple(library for library in ThreadpoolController().lib_controllers
                 if library.user_api == 'blas'
                 and getattr(library, 'threading_layer', None) != 'openmp')


def _after_fork_in_child():
    """A child forked while runs divided the BLAS threads runs none of them: a fresh lock
    (the parent's may have been held by another thread, which the child has not), no run,
    and the BLAS threads the parent's runs found (the child inherits the division, which
    no run of its would lift)."""
    _STATE['lock'] = threading.Lock()
    _lift()                                   # (with no run, no limit is the runs')
    DIVIDING['runs'] = 0


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_in_child)
