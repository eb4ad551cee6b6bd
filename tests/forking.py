"""Forking a child from a process with threads, on purpose, in the tests of fork handling."""
import contextlib
import warnings


@contextlib.contextmanager
def forking_threads_allowed():
    """Fork without Python's warning that the process is multi-threaded (3.12 and later:
    "use of fork() may lead to deadlocks in the child"; an error under the suite's
    ``filterwarnings = error``): these tests fork a process with threads because that
    is what they test."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message=r'This process .* is multi-threaded',
                                category=DeprecationWarning)
        yield
