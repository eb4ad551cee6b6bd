"""An optional on-disk cache of compiled plans: a new process skips the compiler's search.

``function(..., plan_cache=DIRECTORY)`` keeps, per shape signature, what
:func:`~computations.matrices.compiler.driver.compile_expressions` chose
(the mathematical program, the variables holding the outputs, its FLOPs) in
``DIRECTORY`` as a pickle, keyed by a SHA-256 of everything the choice
depends on: the library's code (:func:`code_digest`), the canonical
outputs, the inputs, the assumptions and the dimension sizes.  Loading the
Kalman filter's plan at n = 2000, k = 1000 takes ~10 ms where compiling it
in a fresh process takes ~150 ms.  The rest (lowering, the inplace pass, the generated source) is
redone: it is cheap and depends on the running library's code.

A file is written whole under a temporary name and then renamed, so two
processes sharing a directory never read half a plan.  Each file starts
with a SHA-256 of its key and its pickled plan: a file that does not match
(damaged on disk, or stored under another name), cannot be unpickled (from
a library whose classes changed) or is not a plan is ignored and compiled
again, so a flipped bit costs a compile, never a wrong result.  A plan that
cannot be stored (a read-only or full disk) is logged and the call goes on.
Plans are pickles: point ``plan_cache`` only at a directory you trust, as
for any pickle (the checksum guards against damage, not against someone
who can write there).

>>> import tempfile, sympy
>>> cache = PlanCache(tempfile.mkdtemp())
>>> A = sympy.MatrixSymbol('A', 3, 3)
>>> key = cache.key((A * A,), (A,), (), {})
>>> cache.get(key) is None
True
>>> cache.put(key, ('the plan',))
>>> cache.get(key)
('the plan',)
>>> path = cache.directory / f'{key}.pickle'
>>> damaged = bytearray(path.read_bytes()); damaged[-3] ^= 1
>>> _ = path.write_bytes(bytes(damaged))
>>> cache.get(key) is None
True
"""
import functools
import hashlib
import os
import pathlib
import pickle
import tempfile
import time

import sympy
from sympy import srepr

from ..log import get_logger

__all__ = ['PlanCache']

_log = get_logger('plan_cache')


#: A temporary file older than this (seconds) is a dead writer's (:meth:`PlanCache.put`).
STALE_SECONDS = 3600


class PlanCache:
    """Compiled plans in a directory, one pickle per key (made if missing)."""

    def __init__(self, directory):
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f'plan_cache must be a directory path (str or os.PathLike), got '
                            f'{type(directory).__name__}')
        if not os.fspath(directory):
            raise ValueError("plan_cache must name a directory, got '' (the current "
                             "directory would fill with plans: give '.' to mean it)")
        self.directory = pathlib.Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise NotADirectoryError(f'plan_cache {str(self.directory)!r} is not a directory')

    def __repr__(self):
        return f'PlanCache({str(self.directory)!r})'

    def __reduce__(self):
        return PlanCache, (str(self.directory),)

    @staticmethod
    def key(outputs, inputs, assumptions, dims):
        """The hex SHA-256 naming the plan of ``outputs`` of ``inputs`` under
        ``assumptions`` at the dimension sizes ``dims``."""
        parts = [code_digest(), srepr(tuple(outputs)), srepr(tuple(inputs)),
                 *sorted(map(srepr, assumptions)),
                 *sorted(f'{srepr(symbol)}={int(size)}' for symbol, size in dims.items())]
        return hashlib.sha256('\n'.join(parts).encode()).hexdigest()

    def _path(self, key):
        return self.directory / f'{key}.pickle'

    def get(self, key):
        """The plan stored under ``key``, or None (none stored, damaged or unreadable)."""
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            return _miss(key, error)
        digest, payload = data[:_DIGEST_BYTES], data[_DIGEST_BYTES:]
        if digest != _digest(key, payload):
            return _miss(key, 'its checksum does not match')
        try:
            return pickle.loads(payload)
        except Exception as error:           # pickled by classes that changed since
            return _miss(key, error)

    def put(self, key, plan):
        """Store ``plan`` under ``key`` (atomically: written whole, then renamed); a
        plan that cannot be stored (read-only or full disk) is logged and dropped."""
        try:
            payload = pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:           # noqa: BLE001 (anything pickling raises)
            _log.warning('plan %s not stored (%s: %s): it cannot be pickled',
                         key[:12], type(error).__name__, error)
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix='.tmp')
            try:
                with os.fdopen(handle, 'wb') as file:
                    file.write(_digest(key, payload) + payload)
                os.replace(temporary, self._path(key))
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as error:
            _log.warning('plan %s not stored in %s (%s: %s): the call goes on without it',
                         key[:12], self.directory, type(error).__name__, error)
            return
        self._sweep()

    def _sweep(self, age=STALE_SECONDS):
        """Remove the temporary files of writers that died before renaming them (older
        than ``age`` seconds: a writer takes milliseconds), which would stay forever."""
        now = time.time()
        for path in self.directory.glob('*.tmp'):
            try:
                if now - path.stat().st_mtime > age:
                    path.unlink()
            except OSError:
                pass                        # gone already, or not ours to remove


_DIGEST_BYTES = hashlib.sha256().digest_size


@functools.lru_cache(maxsize=None)
def code_digest():
    """The version and a SHA-256 of the compiler's code, every Python file of the package
    ``computations`` (once per process, a few ms), and SymPy's version: a plan is the
    choice of the code that made it, and a development install keeps its version across
    changes -- a plan chosen by older code (another cost model, an operation whose
    arguments changed meaning) was loaded as if it were the running code's; the plan is
    made of SymPy objects, chosen through SymPy's canonical forms.

    >>> code_digest() == code_digest() and len(code_digest().split()[-1])
    64
    """
    from .. import __version__
    return (f'{__version__} sympy-{sympy.__version__} '
            f'{source_digest(pathlib.Path(__file__).resolve().parent.parent)}')


def source_digest(root):
    """The hex SHA-256 of the Python files under ``root``, their paths and contents."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob('*.py')):
        relative = path.relative_to(root).as_posix().encode()
        digest.update(len(relative).to_bytes(4, 'little') + relative)
        content = path.read_bytes()
        digest.update(len(content).to_bytes(8, 'little') + content)
    return digest.hexdigest()


def _digest(key, payload):
    """What a plan's file starts with: a SHA-256 of its key and its pickled plan."""
    return hashlib.sha256(key.encode() + b'\0' + payload).digest()


def _miss(key, reason):
    """Log why the plan under ``key`` is compiled again; None."""
    _log.debug('plan %s unusable (%s): compiling again', key[:12],
               f'{type(reason).__name__}: {reason}' if isinstance(reason, Exception) else reason)
    return None
