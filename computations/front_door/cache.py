"""A bounded, thread-safe LRU cache of shape specializations, with ``functools``' statistics.

A :class:`~computations.front_door.Function` compiles one program per
shape signature; :class:`ShapeCache` keeps the ``maxsize`` most recently
used (all of them with ``maxsize=None``) and counts hits and misses as
``functools.lru_cache`` does (:class:`CacheInfo`).

>>> cache = ShapeCache(2)
>>> [cache.get(key, str) for key in (1, 2, 1, 3)]
['1', '2', '1', '3']
>>> cache.info(), list(cache)
(CacheInfo(hits=1, misses=3, maxsize=2, currsize=2), [1, 3])
"""
import itertools
import threading
from collections import OrderedDict, namedtuple

from ..sizes import is_integer

__all__ = ['ShapeCache', 'CacheInfo', 'DEFAULT_CACHE_SIZE', 'check_cache_size']

#: How many shape specializations a function keeps by default.
DEFAULT_CACHE_SIZE = 128

#: What ``f.cache_info()`` returns, as ``functools.lru_cache``'s ``cache_info()`` does.
CacheInfo = namedtuple('CacheInfo', ['hits', 'misses', 'maxsize', 'currsize'])


def check_cache_size(size):
    """``size`` if it is a positive int or None (unbounded), else a named error.

    >>> check_cache_size(0)
    Traceback (most recent call last):
        ...
    ValueError: cache_size must be a positive integer or None (unbounded), got 0
    """
    if size is None:
        return None
    if not is_integer(size):
        raise TypeError(f'cache_size must be a positive integer or None (unbounded), got '
                        f'{size!r} ({type(size).__name__})')
    if size < 1:
        raise ValueError(f'cache_size must be a positive integer or None (unbounded), got '
                         f'{size!r}')
    return int(size)


class ShapeCache:
    """``key -> value`` for the ``maxsize`` most recently used keys; ``on_evict(key)`` is
    called for each key dropped (outside the lock).

    Uses found by a faster route than :meth:`get` (a memo of the caller's) are
    told with :meth:`hit`, or on the hot path of calls as ``used[key] = tick()``
    (two C calls: :attr:`used` and :attr:`tick` are public for that); they are
    settled -- counted, and their keys made the most recent -- before the next
    eviction and whenever the cache is read.
    """

    def __init__(self, maxsize=DEFAULT_CACHE_SIZE, on_evict=None):
        self.maxsize = check_cache_size(maxsize)
        self._data = OrderedDict()
        self._lock = threading.RLock()
        self._on_evict = on_evict
        self.hits = self.misses = 0
        #: key -> the tick of its latest use by a faster route, until settled.
        self.used = {}
        #: The clock of those uses: one tick per use (so the ticks also count them).
        self.tick = itertools.count().__next__
        self._mark = self.tick()

    def __iter__(self):
        """The keys, least recently used first."""
        with self._lock:
            self._settle()
            return iter(list(self._data))

    def __len__(self):
        return len(self._data)

    def get(self, key, make):
        """The value of ``key``, made by ``make(key)`` (once, under the lock) if absent."""
        with self._lock:
            self._settle()
            found = self._data.get(key)
            if found is not None:
                self.hits += 1
                self._data.move_to_end(key)
                return found
            self.misses += 1
            found = self._data[key] = make(key)
            evicted = []
            while self.maxsize is not None and len(self._data) > self.maxsize:
                evicted.append(self._data.popitem(last=False)[0])
        for old in evicted:
            if self._on_evict is not None:
                self._on_evict(old)
        return found

    def if_present(self, key, action):
        """Run ``action()`` under the lock if ``key`` is cached (a memo of the caller's made
        for it is kept only then: stored after the key's eviction, it would outlive it --
        ``maxsize`` not kept, and the evicted program served).  Whether it ran.

        >>> cache = ShapeCache(maxsize=1)
        >>> _ = cache.get('a', str.upper)
        >>> memo = {}
        >>> cache.if_present('a', lambda: memo.update(a=1)), cache.if_present('b', memo.clear)
        (True, False)
        >>> memo
        {'a': 1}
        """
        with self._lock:
            if key not in self._data:
                return False
            action()
            return True

    def hit(self, key):
        """Count a use of ``key`` found by a faster route (a memo of the caller's).

        Lock-free, for the fast path of calls: under concurrent calls a use may
        be missed (the count is a statistic, as ``functools.lru_cache``'s).
        """
        self.used[key] = self.tick()

    def _settle(self):
        """Count the uses told by :meth:`hit` and make their keys the most recent, in the
        order of their latest use (under the lock)."""
        now = self.tick()
        self.hits += now - self._mark - 1
        self._mark = now
        if self.used:
            uses = dict(self.used)      # in place: the hot path holds this very dict
            self.used.clear()
            for key in sorted(uses, key=uses.get):
                if key in self._data:
                    self._data.move_to_end(key)

    def info(self):
        """The statistics: a :class:`CacheInfo`."""
        with self._lock:
            self._settle()
            return CacheInfo(self.hits, self.misses, self.maxsize, len(self._data))

    def clear(self):
        """Forget every value and the statistics."""
        with self._lock:
            keys = list(self._data)
            self._data.clear()
            self._settle()
            self.hits = self.misses = 0
        for key in keys:
            if self._on_evict is not None:
                self._on_evict(key)
