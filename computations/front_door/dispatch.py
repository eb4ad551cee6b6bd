"""The hot path of calls: arguments of a layout seen before go straight to the program.

A :class:`~computations.front_door.Function` call first asks its
:class:`Dispatch` for an *entry*: the generated program of the arguments'
*layout* -- per argument its type, and for an array its shape, strides
and dtype -- if a call with that layout ran the
program as it was before (:meth:`Dispatch.learn`).  The layout is read by a
function generated for the Function's inputs (one line, no loop), looked
up in a dict, and the program's results are packed as the outputs were
given, all in one Python frame: on a small problem a call costs the
program's routine calls and about half a microsecond more.  The strides
tell a C-ordered array (whose layout runs a variant of the program reading
it transposed: :mod:`.layouts`) from a Fortran-ordered one and from a view
that is neither, and a 1-D vector (passed as an ``n x 1`` view) from a column;
the type of a scalar tells a float from an int or a NumPy number (passed as
a float).
A call by keywords is put in the inputs' order first.  Any other call
(a new layout, lists, strided views, a scheduler,
checked assumptions, donated inputs) takes the full path, which checks,
converts, names what is wrong and, when the arrays can go as they are,
teaches the layout to the dispatch.

>>> import numpy as np
>>> d = Dispatch(['A', 'k'], [True, False], 'single')
>>> d(np.eye(2, order='F'), 2.0) is MISS
True
>>> key = d.learn((np.eye(2, order='F'), 2.0), lambda A, k: (k*A,), 'n=2')
>>> d(np.eye(2, order='F'), 2.0)
array([[2., 0.],
       [0., 2.]])
>>> d.forget('n=2'); d(np.eye(2, order='F'), 2.0) is MISS
True
"""
from typing import Any, NamedTuple

from .outputs import results_type

__all__ = ['Dispatch', 'Entry', 'MISS', 'MAX_LAYOUTS', 'never']

#: What :class:`Dispatch` returns for a call it does not know (results are never it).
MISS = object()

def never(args):
    """The hot path of a function that has none: every call takes the full path."""
    return MISS


#: Layouts remembered at most (a function called with ever new shapes forgets old ones).
MAX_LAYOUTS = 4096


class Entry(NamedTuple):
    """What serves one layout: the program ``run``, its cache ``key``, the cache's
    ``used`` (a dict) and ``tick`` (a counter) to count the use in, and the ``tag``
    :meth:`Dispatch.forget` knows it by (unpacked as a plain tuple on the hot path)."""
    run: Any
    key: Any
    used: Any
    tick: Any
    tag: Any


class Dispatch:
    """Entries by argument layout for a function of ``names`` (which are ``matrices``),
    returning results packed as ``kind`` says (see
    :class:`~computations.front_door.outputs.OutputStructure`; ``outputs``: the names of the
    outputs, for the kinds ``'named'`` and ``'dict'``); every call served is told to the
    ``cache`` (a :class:`~computations.front_door.cache.ShapeCache`) as a use of its key,
    or to the cache its :class:`Entry` was learned with.

    :attr:`call` is the hot path itself: ``call(args)`` (the tuple of a call's
    positional arguments) gives the packed results, or :data:`MISS`.
    """

    def __init__(self, names, matrices, kind, outputs=(), cache=None):
        self.entries = {}
        if not names:                                   # nothing to dispatch on
            self.call, self.source, self._layout = never, '', None
            return
        params = [f'a{i}' for i in range(len(names))]   # input names may be keywords
        layout = ', '.join(f'type({p}), {p}.shape, {p}.strides, {p}.dtype'
                           if matrix else f'type({p})' for p, matrix in zip(params, matrices))
        args = ', '.join(params) + (',' if len(params) == 1 else '')
        result = {'single': f'run({args})[0]', 'tuple': f'run({args})',
                  'named': f'new(named, run({args}))',
                  'dict': f'dict(zip(outputs, run({args})))'}[kind]
        self._cache = cache
        count = '\n    used[key] = tick()' if cache is not None else ''
        fields = ', '.join(f if f != 'tag' else '_' for f in Entry._fields)   # run, key...
        # a wrong count of arguments fails unpacking (ValueError); a non-array has no
        # .shape (AttributeError); an odd .shape may not hash (TypeError).  The program
        # runs outside the try: what it raises is the caller's.
        self.source = (f'def layout({args}):\n'
                       f'    return ({layout},)\n'
                       f'def call(args):\n'
                       f'    try:\n'
                       f'        {args} = args\n'
                       f'        {fields} = entries[({layout},)]\n'
                       f'    except (KeyError, AttributeError, ValueError, TypeError):\n'
                       f'        return MISS{count}\n'
                       f'    return {result}\n')
        namespace = {'entries': self.entries, 'MISS': MISS, 'outputs': tuple(outputs),
                     'new': tuple.__new__, 'named': results_type(tuple(outputs))}
        exec(compile(self.source, '<computations dispatch>', 'exec'), namespace)
        self._layout, self.call = namespace['layout'], namespace['call']

    def __call__(self, *args):
        """The packed results of the program for ``args`` if their layout is known, else
        :data:`MISS`."""
        return self.call(args)

    def learn(self, args, run, key, cache=None, tag=None):
        """Serve calls with ``args``' layout by ``run`` (the generated program, or a
        function of the arguments that calls one) as uses of key ``key`` of ``cache`` (by
        default the dispatch's own), until :meth:`forget` is told ``tag`` (by default
        ``key``).  A function of no inputs has nothing to learn."""
        if self._layout is None:
            return
        if len(self.entries) >= MAX_LAYOUTS:
            self.entries.clear()
        cache = self._cache if cache is None else cache
        self.entries[self._layout(*args)] = Entry(run, key, getattr(cache, 'used', None),
                                                  getattr(cache, 'tick', None),
                                                  key if tag is None else tag)

    def forget(self, tag=None):
        """Stop serving the layouts learned with ``tag`` (all of them by default)."""
        if tag is None:
            self.entries.clear()
            return
        for layout in [k for k, entry in list(self.entries.items()) if entry.tag == tag]:
            self.entries.pop(layout, None)
