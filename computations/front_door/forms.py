"""The forms of arguments a program takes without a copy, and the call that adapts them.

The generated program of a :class:`~computations.front_door.Function` takes
Fortran-ordered 2-D arrays and floats.  These other forms go to it without
a copy, by a function generated for the layout (:func:`adapted`), which the
function's dispatch then serves on the hot path:

- a C-ordered 2-D array, as its transpose ``a.T`` (Fortran-ordered), to a
  variant of the program that reads that input transposed
  (:mod:`.layouts`);
- a contiguous 1-D array given for a column vector, as its ``n x 1`` view
  ``a[:, None]``; an output computed from it comes back 1-D, a view of the
  program's column (:mod:`.outputs`);
- a scalar given as an ``int`` or a NumPy number
  (:data:`~computations.schedulers.execute.NUMBERS`), as ``float(value)``;
- a ``np.memmap``, as a plain ndarray view of it (:func:`plain`).

Each used to take the full path on every call (checks, conversion,
binding: 0.1-0.35 ms), and a C-ordered array was copied.

>>> a = np.ones((2, 3))
>>> views((a, np.ones(3), 2), (True, True, False), (False, True, False))
((0,), (1,), (2,))
>>> call = adapted(lambda A, x, k: (A, x * k), 3, 2, flipped=(0,), columns=(1,),
...                numbers=(2,), flat=(1,))
>>> [np.shape(r) for r in call(a, np.ones(3), 2)]
[(3, 2), (3,)]
"""
import numpy as np

from computations.schedulers.execute import NUMBERS, scalar_value

from ..matrices import RoutineError

__all__ = ['views', 'adapted', 'plain']


def views(args, matrices, columns=None):
    """``(flipped, columns, numbers)``: the positions of the C-ordered (and not
    Fortran-ordered) 2-D arrays among ``args``, of the contiguous 1-D arrays given for
    column vectors (``columns`` marks those inputs; default none), which go to the
    program as ``n x 1`` views, and of the scalars given as numbers of another type than
    ``float`` (:data:`~computations.schedulers.execute.NUMBERS`), which go as floats -- or
    None when a matrix argument is neither a 2-D array in either order nor such a vector,
    or a scalar neither a float nor such a number (the full path converts it, or says
    what is wrong with it).

    >>> a = np.ones((2, 3))
    >>> views((a, np.asfortranarray(a), 2.0), (True, True, False))
    ((0,), (), ())
    >>> views((a[:, ::2],), (True,)), views((a, np.array(2.0)), (True, False))
    (None, None)
    """
    flipped, reshaped, numbers = [], [], []
    for i, (value, matrix) in enumerate(zip(args, matrices)):
        if not matrix:
            if type(value) is not float:
                if type(value) not in NUMBERS:
                    return None
                numbers.append(i)
            continue
        if type(value) is not np.ndarray:
            return None
        if value.ndim == 1 and columns is not None and columns[i] \
                and value.flags.c_contiguous:
            reshaped.append(i)
            continue
        if value.ndim != 2:
            return None
        if not value.flags.f_contiguous:
            if not value.flags.c_contiguous:
                return None
            flipped.append(i)
    return tuple(flipped), tuple(reshaped), tuple(numbers)


def adapted(run, count, outputs, *, flipped=(), columns=(), numbers=(), ints=None,
            results=(), flat=(), failed=None):
    """``run`` (a generated program, of ``count`` arguments and ``outputs`` results) as a
    function of the caller's arguments: those at ``flipped`` passed transposed, the 1-D
    ones at ``columns`` as ``n x 1`` views, the scalars at ``numbers`` as floats (those
    ``ints`` maps to their inputs' names are Python ints, which may overflow: by
    :func:`~computations.schedulers.execute.scalar_value`), the results at ``results`` given
    back transposed and those at ``flat`` 1-D (views).  When the program fails with a
    :class:`~computations.matrices.RoutineError`, the call is ``failed(*arguments)``
    instead (if given): the function's own program on the caller's arrays, so that an
    error is the same whatever the layout.  Generated, one frame: it is on the hot path.

    >>> call = adapted(lambda a, b: (a, b), 2, 2, flipped=(1,), results=(0,))
    >>> [r.shape for r in call(np.ones((1, 2)), np.ones((1, 2)))]
    [(2, 1), (2, 1)]
    >>> adapted(lambda k, x: (k, x), 2, 2, numbers=(0, 1), ints={0: 'k'})(2, np.int8(3))
    (2.0, 3.0)
    """
    params, ints = [f'a{i}' for i in range(count)], ints or {}

    def passed(i, p):
        if i in flipped:
            return f'{p}.T'
        if i in columns:
            return f'{p}[:, None]'
        if i in numbers:
            return f'scalar_value(ints[{i}], {p})' if i in ints else f'float({p})'
        return p
    args = ', '.join(passed(i, p) for i, p in enumerate(params))
    if results or flat:
        given = ', '.join(f'r[{i}].T' if i in results else f'r[{i}][:, 0]' if i in flat
                          else f'r[{i}]' for i in range(outputs))
        body, after = f'r = run({args})', f'return ({given},)'
    else:
        body, after = f'return run({args})', ''
    source = f'def call({", ".join(params)}):\n'
    if failed is not None:
        source += (f'    try:\n'
                   f'        {body}\n'
                   f'    except RoutineError:\n'
                   f'        return failed({", ".join(params)})\n')
    else:
        source += f'    {body}\n'
    source += f'    {after}\n' if after else ''
    namespace = {'run': run, 'RoutineError': RoutineError, 'failed': failed,
                 'scalar_value': scalar_value, 'ints': ints}
    exec(compile(source, '<computations layout>', 'exec'), namespace)
    return namespace['call']


def plain(args):
    """``args`` with each ``np.memmap`` as a plain ndarray view of it (no copy): the
    forms above then apply to it (the full path would copy a C-ordered one, memmap's
    default order, which may not fit in memory).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'a.dat')
    >>> (view,) = plain((np.memmap(path, dtype=float, mode='w+', shape=(2, 2)),))
    >>> type(view).__name__, view.flags.c_contiguous
    ('ndarray', True)
    """
    if np.memmap not in map(type, args):
        return args
    return tuple(np.asarray(a) if type(a) is np.memmap else a for a in args)
