"""Run a mathematical program on a whole batch of problems at once: one stacked NumPy/SciPy
call per operation.

For many small problems the cost of a program is the Python overhead of its
calls, paid per problem; here it is paid once per operation for the whole
batch: each operation runs its stacked kernel
(:mod:`~computations.schedulers.stacked_kernels`, a registry as the kernels
of :mod:`~computations.schedulers.kernels` are: ``numpy.matmul`` on stacks,
NumPy's stacked Cholesky factorization and LU solve, a vectorized
substitution for triangular solves -- :mod:`~.stacked_linalg`).  A large
batch runs a chunk of problems at a time (:func:`run_in_chunks`).  Values
are arrays of shape ``batch + (rows, columns)`` (a value shared by every
problem may keep its two dimensions: it broadcasts), scalars arrays of
shape ``batch + (1, 1)``.

Failures (a factorization of a matrix that is not positive definite, a
singular triangle) raise ``numpy.linalg.LinAlgError`` without saying which
problem failed; the front door then runs the batch problem by problem,
which names it (:mod:`computations.front_door.batches`).

>>> import numpy as np, sympy
>>> from computations.matrices import POSV
>>> S, b = sympy.MatrixSymbol('S', 2, 2), sympy.MatrixSymbol('b', 2, 1)
>>> program = POSV(S, b)                     # two problems, b shared
>>> x, = run_stacked(program, {S: np.stack([np.eye(2), 4 * np.eye(2)]), b: np.ones((2, 1))},
...                  [S.I * b])
>>> x[:, :, 0]
array([[1.  , 1.  ],
       [0.25, 0.25]])
"""
import concurrent.futures
import contextvars
import functools
import math
import os
import threading

import numpy as np
from sympy import MatrixExpr

from computations.core import Identity
from computations.matrices import SCALAR, TRSM

from . import batch_last
from .blas_threads import divided_among
from .stacked_kernels import PACKED_FACTORS, STACKED, stacked

__all__ = ['STACKED', 'stacked', 'supports', 'run_stacked', 'run_in_chunks', 'CHUNK_BYTES',
           'Layout', 'BATCH_FIRST', 'BATCH_LAST', 'CORES']


class Layout:
    """How a stacked program holds its values: the kernels of its operations, how a
    batch-first stack (``(batch, rows, columns)``) enters and a result leaves, and the
    axis of a value's columns."""
    __slots__ = ('name', 'kernels', 'enter', 'leave', 'columns')

    def __init__(self, name, kernels, enter, leave, columns):
        self.name, self.kernels, self.enter, self.leave = name, kernels, enter, leave
        self.columns = columns

    def __repr__(self):
        return f'<{self.name} layout>'


def _as_is(value):
    return value


#: Stacks of shape ``(batch, rows, columns)``: :mod:`~.stacked_kernels`.
BATCH_FIRST = Layout('batch-first', STACKED, _as_is, _as_is, -1)

#: Stacks of shape ``(rows, columns, batch)``: :mod:`~.batch_last`.
BATCH_LAST = Layout('batch-last', batch_last.KERNELS, batch_last.to_batch_last,
                    batch_last.to_batch_first, 1)


def supports(computation, results=()):
    """Whether every operation of ``computation`` has a stacked kernel, and none of
    ``results`` is a value a stacked program holds in another form (packed LU factors).

    >>> import sympy
    >>> from computations.matrices import GESV, LU
    >>> A, B = sympy.MatrixSymbol('A', 3, 3), sympy.MatrixSymbol('B', 3, 1)
    >>> supports(GESV(A, B), [A.I * B]), supports(GESV(A, B), [LU(A)])
    (True, False)
    """
    operations = getattr(computation, 'computations', (computation,))     # or one op
    return all(type(op) in STACKED or isinstance(op, Identity) for op in operations) \
        and not any(isinstance(var, PACKED_FACTORS) for var in results)


def run_stacked(computation, values, results, layout=BATCH_FIRST, dtype=None):
    """The stacked values of ``results`` (variables of ``computation``), from the stacked
    values of its inputs (``{variable: array}``, batch-first); each operation runs once on
    the batch, on the values held in ``layout``.  A result every problem shares has two
    dimensions, or a batch of one (batch-last).

    ``dtype``, the program's: scalar inputs may be given in float64 whatever it is, for
    the scalar arithmetic (SCALAR) to run in float64 as a single call's does
    (``(t1 - t0)*K`` of two timestamps near 1.7e9 was 0 in float32); every other
    operation reads them, and the SCALARs' results, in ``dtype``."""
    entered = {var: layout.enter(value) for var, value in values.items()}
    found = _run(computation, entered, layout, dtype)
    index, _ = _numbering(computation)
    return tuple(layout.leave(_result(index, var, found, entered)) for var in results)


def _result(index, var, found, values):
    """The value of the result ``var`` among the ``found`` ones (numbered by ``index``),
    or among the input ``values`` when no operation reads or writes it (an input returned
    as it is)."""
    return found[index[var]] if var in index else values[var]


def _run(computation, values, layout, dtype=None):
    """Every value of ``computation``, by its :func:`_numbering`, from its inputs'; the
    scalars in ``dtype`` where an operation other than a SCALAR reads them
    (:func:`run_stacked`)."""
    size, steps = len(_numbering(computation)[0]), _plan(computation, layout)
    found = [None] * size
    for slot, value in zip(_slots(computation, tuple(values)), values.values()):
        if slot is not None:
            found[slot] = value
    for kernel, op, template, outputs, scalars, arithmetic in steps:
        arguments = {name: found[slot] if value else slot for name, value, slot in template}
        if dtype is not None:
            for name in scalars:
                if arguments[name].dtype != dtype:
                    arguments[name] = arguments[name].astype(dtype)
        results = kernel(op, arguments)
        if arithmetic and dtype is not None:
            results = [np.asarray(result, dtype=dtype) for result in results]
        for i, result in zip(outputs, results):
            found[i] = result
    return found


@functools.lru_cache(maxsize=64)
def _numbering(computation):
    """``(index, order)``: a number per variable the operations read or write, and the
    operations in the order they run (the same in every layout)."""
    order = [op for op in computation.toposort() if not isinstance(op, Identity)]
    index = {}
    for op in order:
        for var in (*op.inputs, *op.outputs):
            index.setdefault(var, len(index))
    return index, order


@functools.lru_cache(maxsize=64)
def _plan(computation, layout):
    """The steps of ``computation`` on ``layout``: per operation in order its kernel, the
    op, its arguments as ``(name, True, variable number)`` or ``(name, False, constant)``,
    its outputs' numbers (:func:`_numbering`), the names of the arguments that are scalar
    variables, and whether it is a SCALAR (:func:`_run`).  Bound once per program, as a
    batch runs a chunk at a time: binding converts SymPy constants, and looking values up
    by expression compares expressions."""
    index, order = _numbering(computation)
    steps = []
    for op in order:
        positions = range(len(op.inputs))      # input positions: ints; constants: floats
        bound = op.bind(positions) if hasattr(op, 'bind') else dict(enumerate(positions))
        template = tuple((name, True, index[op.inputs[slot]]) if type(slot) is int
                         else (name, False, slot) for name, slot in bound.items())
        arithmetic = isinstance(op, SCALAR)
        scalars = () if arithmetic else tuple(
            name for name, slot in bound.items()
            if type(slot) is int and not isinstance(op.inputs[slot], MatrixExpr))
        steps.append((layout.kernels[type(op)], op, template,
                      tuple(index[v] for v in op.outputs), scalars, arithmetic))
    return tuple(_solved_together(steps, order, index, layout))


def _solved_together(steps, order, index, layout):
    """``steps`` with the left triangular solves that share their triangle, flags and
    alpha, and whose right-hand sides are all made before the first of them runs, as one
    step at the first's place: one solve of their right-hand sides side by side.  A
    stacked solve is a substitution of a few NumPy calls per row whatever the number of
    right-hand sides, so the Kalman update's two solves with its innovation factor
    (``L.I*(H*mu - data)``, ``L.I*H*Sigma``) cost one.  A batch of 1,000, paired in one
    process: on one thread the same time (0.99-1.01x at n = 20 to 50: the joined copy and
    the split results' strides cost what a substitution saves), on two 0.93x at n = 50,
    0.96x at 32, 0.97x at 20 (the substitution's short NumPy calls hold the GIL; fewer of
    them let the threads overlap more)."""
    made = {index[var]: position for position, op in enumerate(order) for var in op.outputs}
    groups = {}
    for position, op in enumerate(order):
        if type(op) is TRSM and op.side == 'L':
            key = (op.A, op.alpha, op.lower, op.trans_a, op.unit_diagonal)
            groups.setdefault(key, []).append(position)
    together = {}
    for members in groups.values():
        ready = [p for p in members if made.get(index[order[p].B], -1) < members[0]]
        if len(ready) > 1:
            together[ready[0]] = ready
    joined = {p for members in together.values() for p in members}
    for position, step in enumerate(steps):
        if position in together:
            members = [steps[p] for p in together[position]]
            kernel, op, template, _, scalars, arithmetic = step
            extra = tuple((f'B{i}', True, slot) for i, member in enumerate(members[1:], 1)
                          for name, _, slot in member[2] if name == 'B')
            yield (functools.partial(_solve_together, kernel, len(members), layout.columns),
                   op, template + extra, sum((member[3] for member in members), ()),
                   scalars, arithmetic)
        elif position not in joined:
            yield step


def _solve_together(kernel, count, axis, op, arguments):
    """The solves of :func:`_solved_together`: ``kernel`` once on the right-hand sides
    ``B``, ``B1``... joined along the columns' ``axis``, its result split back; one by one
    when they cannot be joined (a shared right-hand side beside stacked ones, two dtypes)."""
    sides = [arguments.pop('B')] + [arguments.pop(f'B{i}') for i in range(1, count)]
    first = sides[0]
    if all(b.dtype == first.dtype and b.ndim == first.ndim and
           all(x == y for i, (x, y) in enumerate(zip(b.shape, first.shape))
               if i != axis % first.ndim) for b in sides):
        solved, = kernel(op, {**arguments, 'B': np.concatenate(sides, axis=axis)})
        return np.split(solved, np.cumsum([b.shape[axis] for b in sides])[:-1], axis=axis)
    return [kernel(op, {**arguments, 'B': b})[0] for b in sides]


@functools.lru_cache(maxsize=256)
def _slots(computation, variables):
    """The :func:`_numbering` of each of ``variables`` (None: not one of the program's).
    A caller passes the same variables call after call, so the key compares them by
    identity; looking each up in the index compared it with SymPy's ``==`` to the
    program's own (equal, other) instance: 20 us a call of a 10-problem Kalman batch."""
    index, _ = _numbering(computation)
    return tuple(index.get(var) for var in variables)


#: A batch runs in chunks of problems whose values (inputs, intermediates, results) take
#: about this many bytes together, at least :data:`MIN_CHUNK` problems.  Chunks bound the
#: memory a batch's intermediates take (and the batch-last layout's kept
#: :class:`~computations.schedulers.batch_last.ChunkBuffers` hold about one chunk) whatever
#: the batch's size, and keep the values of an operation in the last-level cache (32 MiB
#: here); each chunk costs every kernel's NumPy calls once again (about 1 ms a chunk for
#: the Kalman update at n = 6: 1,000 problems in one chunk took 1.3-1.5 ms, 8,000 in one
#: 4.3).  The Kalman update at n = 6 on the batch-last layout with kept buffers, one
#: thread, 5-call samples alternating, medians: 10,000 problems 10.1 ms in chunks of
#: 2 MiB, 5.9-7.4 of 4 MiB, 6.0-6.5 of 8 MiB, 5.5-5.6 of 16 MiB (one chunk); 100,000
#: problems 70.1, 52.1 (8 MiB), 52.6 (16), 51.5 (32), 62.6 (64 MiB).  Batch-first at
#: n = 50, 1,000 problems: 43.9 ms (2 MiB), 47.5 (4), 41.2 (8), 53.9 (16).
CHUNK_BYTES = 2 ** 23
MIN_CHUNK = 64


def run_in_chunks(computation, values, results, batch, layout=BATCH_FIRST, dtype=None,
                  buffers=None, threads=1):
    """:func:`run_stacked` over the ``batch`` (a shape) in chunks of problems, in
    ``layout`` (and ``dtype``, as there); the results have the batch's shape as their
    leading dimensions.  The batch-last kernels write into arrays taken from ``buffers``
    (a :class:`~computations.schedulers.batch_last.ChunkBuffers`, rewound before each
    chunk, when given): each chunk's results are copied out before the next chunk takes
    the same memory again, so in a caller that keeps ``buffers`` for its next run the
    products, solves and Cholesky factors allocate nothing (the other kernels, and the
    temporaries inside some, still do).  The chunk size measured by a first chunk is
    remembered in ``buffers`` (in either layout), and the memory a first chunk's guess took
    beyond it let go; a run that finds its size there cuts the batch into equal chunks
    from the start.

    With ``threads`` > 1, the chunks (after the first, when it measures the size) run on
    that many threads at once (:func:`_on_threads`: NumPy's calls release the GIL), the
    BLAS threads divided among them; the calling thread takes its arrays from ``buffers``,
    each other thread from buffers of its own for this run.  The values of a chunk per
    thread are alive at once: ``threads`` times the memory of one.

    ``values`` are stacks whose leading dimensions broadcast to ``batch``, or matrices
    every problem shares (two dimensions).

    >>> import numpy as np, sympy
    >>> from computations.matrices import GEMM
    >>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 2)
    >>> op = GEMM(1.0, A, B)
    >>> out, = run_in_chunks(op, {A: np.ones((3, 1, 2, 2)), B: np.eye(2)}, op.outputs, (3, 5))
    >>> out.shape
    (3, 5, 2, 2)
    >>> bool(np.array_equal(run_in_chunks(op, {A: np.ones((3, 1, 2, 2)), B: np.eye(2)},
    ...                                   op.outputs, (3, 5), BATCH_LAST)[0], out))
    True
    """
    batch = tuple(batch)
    count = math.prod(batch)
    if not count:                 # no result shape to allocate (the front door's is empty)
        raise ValueError(f'run_in_chunks: the batch {batch} has no problem')
    flat, broadcast = {}, {}
    for var, value in values.items():
        if value.ndim > 2 and value.shape[:-2] == batch:   # the batch flattened
            flat[var] = value.reshape((count,) + value.shape[-2:])
        elif value.ndim > 2:                  # broadcast: gathered a chunk at a time
            broadcast[var] = value.reshape((1,) * (len(batch) + 2 - value.ndim) + value.shape)
        else:
            flat[var] = value
    # The first chunk guesses a problem's bytes from its inputs' (intermediates and results
    # about twice as many again), then measures them.
    given = sum(value.itemsize * math.prod(value.shape[-2:])
                for value in (*flat.values(), *broadcast.values()) if value.ndim > 2)
    key = (computation, layout.name, given, CHUNK_BYTES, MIN_CHUNK)  # what the size depends on
    measured = None if buffers is None else buffers.chunks.get(key)
    chunk = measured or max(MIN_CHUNK, CHUNK_BYTES // max(3 * given, 1))
    index, _ = _numbering(computation)
    outputs, allocating = [None] * len(results), threading.Lock()

    def run_chunk(start, stop, chunk_buffers):
        """Problems ``start`` to ``stop``: their values, their results copied out."""
        if chunk_buffers is not None:
            chunk_buffers.rewind()  # the last chunk's values are dead: its results copied out
        part = {var: layout.enter(value[start:stop] if value.ndim > 2 else value)
                for var, value in flat.items()}
        part.update((var, layout.enter(_gathered(value, batch, start, stop)))
                    for var, value in broadcast.items())
        found = _run(computation, part, layout, dtype)
        for i, var in enumerate(results):
            result = layout.leave(_result(index, var, found, part))
            if outputs[i] is None:
                with allocating:                # chunks on threads: one allocates
                    if outputs[i] is None:
                        outputs[i] = np.empty((count,) + result.shape[-2:], dtype=result.dtype)
            outputs[i][start:stop] = result     # a shared result broadcasts
        return found

    with batch_last.taking_from(buffers):
        first = 0
        if not measured:
            first = min(chunk, count)
            found = run_chunk(0, first, buffers)
            per_problem = sum(v.nbytes for v in found if v is not None and v.ndim > 2) / first
            chunk = max(MIN_CHUNK, int(CHUNK_BYTES // max(per_problem, 1)))
            if buffers is not None:
                buffers.remember(key, chunk)
                if chunk < first:               # the guess took more than a chunk needs
                    buffers.release()
            del found
        spans = _spans(first, count, chunk)
        if threads > 1 and len(spans) > 1:
            _on_threads(run_chunk, spans, min(threads, len(spans)), buffers)
        else:
            for start, stop in spans:
                run_chunk(start, stop, buffers)
    return tuple(out.reshape(batch + out.shape[1:]) for out in outputs)


def _spans(start, stop, chunk):
    """``[start, stop)`` cut into as few spans of at most ``chunk`` problems as it takes,
    their sizes differing by one at most: threads that run them in turn finish together,
    where a short last chunk left one idle.

    >>> _spans(0, 1000, 131)
    [(0, 125), (125, 250), (250, 375), (375, 500), (500, 625), (625, 750), (750, 875), (875, 1000)]
    >>> _spans(10, 10, 4), _spans(0, 5, 2)
    ([], [(0, 1), (1, 3), (3, 5)])
    """
    pieces = -(-(stop - start) // chunk)
    return [(start + (stop - start) * i // pieces, start + (stop - start) * (i + 1) // pieces)
            for i in range(pieces)]


def _on_threads(run_chunk, spans, threads, buffers):
    """``run_chunk(start, stop, buffers)`` for every span, on ``threads`` threads at once
    (this one among them), each thread a share of the spans in turn with buffers of its
    own (this one ``buffers``; none when that is None), in the caller's context and NumPy
    error state (which decides whether a zero pivot raises: a context variable from NumPy
    2, per thread before), the BLAS threads divided among them while they run.  The first
    error raised, once every thread is done; after an error (or an interruption) no
    thread starts another span."""
    mine = [buffers] + [None if buffers is None else batch_last.ChunkBuffers()
                        for _ in range(threads - 1)]
    context, failed, errors = contextvars.copy_context(), threading.Event(), np.geterr()

    def share(i):
        def run():
            with batch_last.taking_from(mine[i]), np.errstate(**errors):
                for start, stop in spans[i::threads]:
                    if failed.is_set():
                        return
                    run_chunk(start, stop, mine[i])
        try:
            return context.copy().run(run)
        except BaseException:
            failed.set()
            raise
    with divided_among(threads):
        futures = []
        try:
            for i in range(1, threads):      # in the try: an interruption stops those started
                futures.append(_pool().submit(share, i))
            share(0)
        except BaseException:
            failed.set()
            raise
        finally:
            if failed.is_set():
                for future in futures:
                    future.cancel()                   # those not started
            try:
                concurrent.futures.wait(futures)      # none still writes when this returns
            except BaseException:                     # interrupted while waiting
                failed.set()
                raise
    for future in futures:
        if not future.cancelled():                    # cancelled: after another's error
            future.result()                           # raises a thread's error


@functools.lru_cache(maxsize=None)
def _pool():
    """The threads chunks run on beside the caller's (one fewer than the cores); a child
    process forked after they started makes its own (a fork copies the executor but not
    its threads, and the child's chunks waited for them for ever)."""
    return concurrent.futures.ThreadPoolExecutor(max(1, CORES - 1),
                                                 thread_name_prefix='computations-chunks')


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_pool.cache_clear)


#: The cores this process may run on: at most as many threads run a batch's chunks.
CORES = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1


def _gathered(value, batch, start, stop):
    """Problems ``start`` to ``stop`` of the flattened ``batch`` from ``value``, a stack
    whose leading dimensions (as many as the batch's) broadcast to it: only these
    problems' matrices are copied -- broadcasting the whole stack first copied every
    problem's (a stack of 50 matrices against 1,000 right-hand sides took 34 times the
    memory of the result).

    >>> value = np.arange(3.0).reshape(3, 1, 1, 1)          # 3 x 1, broadcast to 3 x 2
    >>> _gathered(value, (3, 2), 1, 4)[:, 0, 0]
    array([0., 1., 1.])
    """
    where = np.unravel_index(np.arange(start, min(stop, math.prod(batch))), batch)
    return value[tuple(i if size != 1 else np.zeros_like(i)
                       for i, size in zip(where, value.shape[:-2]))]
