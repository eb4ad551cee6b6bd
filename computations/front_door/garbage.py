"""Compilation with Python's cyclic garbage collector paused.

A compilation allocates tens of thousands of small objects (expressions, operations,
plans, dictionaries), and most of them die young by reference counting.  Those that
survive (the function's memo, the program) are scanned again by every collection of
the young generations that the allocations trigger, and now and then a collection of
the oldest generation scans every object the process holds: measured on the Kalman
filter's specialization to a new shape (about 30 ms of CPU), the young collections
took 0.5-3 ms of it, and one specialization in fifteen met a full collection that
took 78 ms on its own.  Paused, the objects a compilation keeps are scanned once, by
the next collection after it; the cycles it leaves (if any) are collected then.

The pause nests and is shared by threads: the collector is enabled again when the
last compilation under way ends, and never enabled by this module when it was
disabled before the first began (a caller who disabled it keeps it so).

>>> import gc
>>> with paused():
...     gc.isenabled()
False
>>> gc.isenabled()
True
"""
import contextlib
import gc
import threading

__all__ = ['paused']

_lock = threading.Lock()
_depth = 0            # compilations under way that paused the collector
_resume = False       # whether the first of them found it enabled


@contextlib.contextmanager
def paused():
    """A context in which the cyclic garbage collector does not run (see the module)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
