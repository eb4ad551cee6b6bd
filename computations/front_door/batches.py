"""Batches of independent problems: inputs with leading batch dimensions.

A matrix input given with more than its two dimensions, ``(..., rows,
columns)``, is a stack of problems; the leading dimensions of all the inputs
broadcast as NumPy's do (a plain ``(rows, columns)`` input, or a Python
float for a scalar input, is shared by every problem; in a batch, a scalar
input may also be given one value per problem, an array that broadcasts to
the batch's shape).  As in
NumPy 2's ``linalg``, a stack of column vectors is ``(..., n, 1)``: a 2-D
array is always one matrix, and a 1-D array one shared column vector (whose
results come back ``(..., k)``, 1-D per problem, as in a single call).  A
batch runs on NumPy arrays: a dask array in one is refused by name
(:class:`~computations.schedulers.dask_arrays.DaskArgumentError`).  Every
problem runs the function's ordinary program (compiled once per shape, as
for single calls), and the results come back stacked: ``(..., rows,
columns)`` per matrix output, an array of the batch's shape per scalar
output, in the structure the outputs were given in.  The inputs are never modified (each problem reads a read-only
view, which a program never overwrites).

An error in one problem -- a matrix that is not positive definite, say --
is raised as itself (the same class, so ``except NotPositiveDefiniteError``
still catches it), its message starting with the problem's index, which
its ``batch_index`` attribute also holds.

>>> import numpy as np
>>> from sympy import MatrixSymbol, Q, Symbol
>>> from computations import function
>>> n = Symbol('n')
>>> S, b = MatrixSymbol('S', n, n), MatrixSymbol('b', n, 1)
>>> f = function([S, b], S.I*b, [Q.positive_definite(S)])
>>> stack = np.stack([np.eye(2), 2 * np.eye(2), 4 * np.eye(2)])     # 3 problems
>>> f(stack, np.ones((2, 1)))[:, :, 0]                              # b shared
array([[1.  , 1.  ],
       [0.5 , 0.5 ],
       [0.25, 0.25]])
>>> stack[1, 0, 0] = -1.0
>>> f(stack, np.ones((2, 1)))
Traceback (most recent call last):
    ...
computations.matrices.errors.NotPositiveDefiniteError: problem (1,) of the batch: POSV: S is not positive definite (its leading minor of order 1 is not positive)
"""
import math

import numpy as np
from sympy import MatrixExpr

from computations.schedulers.dask_arrays import SCALAR, DaskArgumentError, is_dask_collection
from computations.schedulers.execute import MASKED, bind_dimensions, column_vector, scalar_value

from ..graph import ComputationsError
from ..matrices import dtypes
from ..matrices.dtypes import program_dtype
from ..sizes import Binding

__all__ = ['BatchShapeError', 'batch_shape', 'batch_threads', 'empty_batch', 'run_batch',
           'run_stacked_batch', 'STACKED_MAX', 'THREADED_MIN_ORDER', 'MAX_BATCH_THREADS']

#: Problems whose matrices all have at most this many rows and columns run stacked (one
#: NumPy/SciPy call per operation for the whole batch, :mod:`computations.schedulers.stacked`);
#: larger ones problem by problem, where the routines' own time dominates.
STACKED_MAX = 64


class BatchShapeError(ComputationsError, ValueError):
    """The leading (batch) dimensions of the inputs do not broadcast together."""


def batch_shape(inputs, values):
    """The broadcast batch shape of ``values`` (given for ``inputs``), or None when no input
    has batch dimensions (a single problem).

    >>> from sympy import MatrixSymbol, Symbol
    >>> A, s = MatrixSymbol('A', 2, 2), Symbol('s')
    >>> batch_shape((A, s), (np.ones((5, 1, 2, 2)), np.ones(3))), batch_shape((A,), (np.eye(2),))
    ((5, 3), None)
    """
    leading, lazy, ragged = {}, [], []
    for var, value in zip(inputs, values):
        if is_dask_collection(value):
            if not isinstance(var, MatrixExpr):
                raise DaskArgumentError(f'input {var}', SCALAR)
            lazy.append(var)
            shape = getattr(value, 'shape', None)      # a dask array's (not a Delayed's)
            if isinstance(shape, tuple) and len(shape) > 2:
                raise _in_a_batch(var, f'its shape {shape}')
            continue
        if isinstance(value, np.ma.MaskedArray):    # stacks would drop the mask
            raise ValueError(f'input {var} {MASKED}')
        try:
            shape = np.shape(value)
        except ValueError:             # a ragged list: named below in a batch, else later
            ragged.append((var, value))
            continue
        lead = shape[:-2] if isinstance(var, MatrixExpr) else shape
        if lead:
            leading[var] = lead
    # a batch is made by its matrices: a scalar input given an array in a call of single
    # matrices is a mistake, named when the call converts it
    if not any(isinstance(var, MatrixExpr) for var in leading):
        return None
    try:
        batch = np.broadcast_shapes(*leading.values())
    except ValueError:
        given = ', '.join(f'{var}: {shape}' for var, shape in leading.items())
        raise BatchShapeError(f'the batch dimensions of the inputs do not broadcast together '
                              f'({given})') from None
    if lazy:
        raise _in_a_batch(lazy[0], f'batch shape {batch}, from '
                                   f'{", ".join(map(str, leading))}')
    from computations.schedulers.execute import _array
    for var, value in ragged:          # named as a single call's conversion names it
        (_array if isinstance(var, MatrixExpr) else scalar_value)(var, value)
    for var, value in zip(inputs, values):
        if isinstance(var, MatrixExpr):
            continue
        if var in leading:
            _check_scalars(var, value)
        else:                          # shared by every problem: checked as a single call's
            scalar_value(var, value)
    return batch


def _check_scalars(var, value):
    """A scalar input's values, one per problem, under the dtype rule of every argument
    (:mod:`computations.matrices.dtypes`): not strings, booleans, objects (a None would be
    a NaN), durations, complex numbers, or floats wider than float64."""
    dtypes.check(var, np.asarray(value).dtype)


def _in_a_batch(var, why):
    """The error for a dask input in a batch: computing it whole would break "dask.array
    in, dask.array out", and a batch of dask arrays has no blocked program."""
    return DaskArgumentError(f'input {var}', f'is a dask array in a batch of problems ({why}): '
                             'batches run on NumPy arrays; compute the dask inputs first, or '
                             'give single matrices')


def run_batch(call, inputs, values, batch):
    """The results of ``call`` (one problem's flat tuple of results from its values) on every
    problem of the ``batch``, stacked: a tuple with one array per output."""
    matrices = [isinstance(var, MatrixExpr) for var in inputs]
    views = [_per_problem(var, value, batch) for var, value in zip(inputs, values)]
    shared = [_shared(value) if matrix and view is None else value
              for value, view, matrix in zip(values, views, matrices)]
    # every problem has the same shapes: a shape that does not fit is the call's error,
    # named once, not the first problem's
    _problem_dimensions(inputs, values)
    results = []
    for index in np.ndindex(*batch):
        problem = [value if view is None else view[index] if matrix else float(view[index])
                   for value, view, matrix in zip(shared, views, matrices)]
        try:
            results.append(call(problem))
        except (ComputationsError, ValueError, TypeError, ArithmeticError) as error:
            _name_the_problem(error, index)
            raise
    return tuple(_stack([result[i] for result in results], batch)
                 for i in range(len(results[0])))


def empty_batch(function, values, batch):
    """The results of a ``batch`` that holds no problem (a 0 among its dimensions): empty
    stacks of the shapes and dtype one problem's results would have, as NumPy's stacked
    routines give; the problems' shapes are still checked.

    >>> from computations import function
    >>> from sympy import MatrixSymbol, Symbol, Trace
    >>> n = Symbol('n')
    >>> A, x = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
    >>> [r.shape for r in empty_batch(function([A, x], [A * x, x.T * x, Trace(A)]),
    ...                               [np.ones((0, 3, 3)), np.ones((3, 1))], (0,))]
    [(0, 3, 1), (0, 1, 1), (0,)]
    """
    dtype = program_dtype(np.asarray(value).dtype for var, value in zip(function.inputs, values)
                          if isinstance(var, MatrixExpr))
    binding = Binding(_problem_dimensions(function.inputs, values))
    return tuple(np.empty(tuple(batch) + (binding.shape(out) or ()), dtype)
                 for out in function._canonical)


def _problem_dimensions(inputs, values):
    """``{dimension: size}`` of every problem of a batch (they all have the same shapes:
    each matrix's last two dimensions, or a shared 1-D vector's), checked as a single
    call's are."""
    return bind_dimensions(inputs, {var: np.shape(value)[-2:]
                                    for var, value in zip(inputs, values)
                                    if isinstance(var, MatrixExpr)})


def run_stacked_batch(function, values, batch):
    """The stacked results of ``function`` on the ``batch`` (as :func:`run_batch`'s), each
    operation of its program run once on the whole batch
    (:mod:`computations.schedulers.stacked`); None when the batch must run problem by
    problem: a blocked or low-memory function, a matrix larger than :data:`STACKED_MAX`, an
    operation without a stacked kernel, or a failure (a matrix that is not positive
    definite, say), which the problem-by-problem run then names."""
    from computations.schedulers.batch_last import BATCH_LAST_MIN_PROBLEMS, ChunkBuffers
    from computations.schedulers.stacked import BATCH_FIRST, run_in_chunks
    if function.blocksize is not None or function.low_memory or not math.prod(batch):
        return None
    matrices = {var: _column(var, np.asarray(value))
                for var, value in zip(function.inputs, values) if isinstance(var, MatrixExpr)}
    if any(array.ndim < 2 for array in matrices.values()):
        return None                                    # 1-D vectors: the loop's path names them
    dtype = program_dtype(array.dtype for array in matrices.values())
    key = (tuple(array.shape[-2:] for array in matrices.values()), dtype)
    found = function._batches.get(key)
    if found is None:
        found = _stacked_program(function, matrices, dtype)
        if len(function._batches) >= _MAX_BATCH_LAYOUTS:
            function._batches.clear()
        function._batches[key] = found
    sizes, constants, layout = found
    if constants is None:
        return None
    if math.prod(batch) < BATCH_LAST_MIN_PROBLEMS:
        layout = BATCH_FIRST
    spec = function._specialization(dict(zip(function.dimensions, sizes)))
    stacks = {var: array.astype(dtype, copy=False) for var, array in matrices.items()}
    for var, value in zip(function.inputs, values):
        if not isinstance(var, MatrixExpr):            # per problem: batch + (1, 1)
            # float64, as a single call's scalar arithmetic (the runner gives the other
            # operations them in dtype)
            scalar = np.asarray(value, dtype=np.float64)
            stacks[var] = scalar.reshape(scalar.shape + (1, 1))
    stacks.update(constants)
    # the chunks' buffers of the last run (in batch-first, they only remember the chunk
    # size it measured), unless another thread holds them
    held = function._chunk_buffers
    try:
        buffers = held.pop()
    except IndexError:                     # none kept, or another thread took them first
        buffers = ChunkBuffers()
    try:
        with np.errstate(divide='raise', over='raise', invalid='raise'):
            results = run_in_chunks(spec.unblocked, stacks, spec.results, batch, layout,
                                    dtype, buffers, threads=batch_threads(layout, key[0]))
    except (np.linalg.LinAlgError, FloatingPointError, ValueError):
        return None
    finally:
        if not held:
            held.append(buffers)
    return tuple(result if isinstance(var, MatrixExpr) else result[..., 0, 0]
                 for var, result in zip(spec.results, results))


def batch_threads(layout, shapes):
    """How many threads the chunks of a stacked batch of matrices of these ``shapes`` (each
    ``(rows, columns)``) run on, in ``layout``: for batch-first stacks of matrices of order
    :data:`THREADED_MIN_ORDER` or more, as many as BLAS may use (the cores, unless a
    ``threadpoolctl`` limit says fewer), at most the cores this process may run on and
    :data:`MAX_BATCH_THREADS`; else one.
    Threads pay only where a chunk's time is in large NumPy calls, which release the GIL:
    a substitution step or an elementwise operation on a chunk of small matrices takes a
    few microseconds, and two threads' such calls ran no faster than one's (on two
    cores, NumPy calls of 1-15 us ran 0.7-1.2x as fast on two threads as on one).

    >>> from computations.schedulers.stacked import BATCH_FIRST, BATCH_LAST
    >>> from threadpoolctl import threadpool_limits
    >>> with threadpool_limits(1, user_api='blas'):
    ...     batch_threads(BATCH_FIRST, [(50, 50)])
    1
    >>> batch_threads(BATCH_FIRST, [(6, 6)]), batch_threads(BATCH_LAST, [(50, 50)])
    (1, 1)
    """
    from computations.schedulers.blas_threads import blas_threads
    from computations.schedulers.stacked import BATCH_FIRST, CORES
    if layout is not BATCH_FIRST or max(map(max, shapes), default=0) < THREADED_MIN_ORDER:
        return 1
    return min(blas_threads(), CORES, MAX_BATCH_THREADS)


#: The smallest matrix order whose batch-first batches run on threads
#: (:func:`batch_threads`).  The Kalman update (k = n/2) on two cores, BLAS allowed
#: two threads against one, speedup of the batch: n = 6 (batch-last) 0.88-0.99, n = 12
#: 1.02, n = 20 0.91, n = 32 1.14, n = 50 1.11 (300 problems) and 1.35 (3,000), n = 64 1.35.
THREADED_MIN_ORDER = 32

#: The most threads a batch's chunks run on.  On two cores the Kalman batch at n = 50 ran
#: 1.11-1.35x as fast on two threads as on one: about half its time holds the GIL, so
#: more threads could at best double its speed, and each one more contends for the lock
#: (measured on two cores only).
MAX_BATCH_THREADS = 4


#: Layouts (trailing shapes, dtype) a function's stacked batches remember, at most.
_MAX_BATCH_LAYOUTS = 256


def _stacked_program(function, matrices, dtype):
    """``(sizes, constants, layout)`` of the batches of ``function`` whose ``matrices``
    have these trailing shapes: the dimension sizes they bind (in ``function.dimensions``'
    order), the constants' arrays (read-only) of the program that runs them stacked, or
    None when it cannot (a matrix larger than :data:`STACKED_MAX`, shapes that do not
    bind, which the problem-by-problem run names, an operation without a stacked kernel),
    and the layout of the stacks for a large batch (batch-last up to order
    :data:`~computations.schedulers.batch_last.BATCH_LAST_MAX`).  Kept per
    function (``function._batches``): binding the sizes compares SymPy expressions, 30 us
    of a batch of 10 small problems."""
    from computations.schedulers.execute import bind_dimensions, constant_values
    from computations.front_door.specialization import EmptySpecialization
    from computations.schedulers.batch_last import BATCH_LAST_MAX
    from computations.schedulers.stacked import BATCH_FIRST, BATCH_LAST, supports
    order = max((max(array.shape[-2:]) for array in matrices.values()), default=0)
    if order > STACKED_MAX:
        return None, None, None
    try:
        dims = bind_dimensions(function.inputs,
                               {var: array.shape[-2:] for var, array in matrices.items()})
    except ValueError:
        return None, None, None
    sizes = tuple(dims.get(d) for d in function.dimensions)
    spec = function._specialization(dims)
    if isinstance(spec, EmptySpecialization) or not hasattr(spec, 'unblocked') \
            or not supports(spec.unblocked, spec.results):
        return sizes, None, None           # an empty matrix: a program of its own inputs
    constants = {var: np.asarray(value, dtype=dtype).reshape(np.shape(value) or (1, 1))
                 for var, value in constant_values(spec.constants, spec.dims, dtype).items()}
    for value in constants.values():                  # numbers as shared 1 x 1 scalars
        value.flags.writeable = False                  # shared by every call
    return sizes, constants, BATCH_LAST if order <= BATCH_LAST_MAX else BATCH_FIRST


def _column(var, array):
    """A shared 1-D array given for a column vector, as the column (its results come back
    1-D, :meth:`~.outputs.OutputStructure.flat`)."""
    return array[:, None] if array.ndim == 1 and column_vector(var) else array


def _per_problem(var, value, batch):
    """``value`` broadcast to ``batch`` + its own trailing dimensions, indexed by problem,
    read-only; each problem's matrix Fortran-ordered (as the generated programs take them
    without a copy: one copy of the stack instead of one per problem); None for a value
    every problem shares as it is."""
    shape = np.shape(value)
    trailing = shape[-2:] if isinstance(var, MatrixExpr) else ()
    if len(shape) == len(trailing):
        return None
    array = np.asarray(value)
    if trailing and not array[(0,) * (array.ndim - 2)].flags.f_contiguous:
        # before broadcasting: converting the broadcast stack copied every problem's matrix
        array = np.swapaxes(np.ascontiguousarray(np.swapaxes(array, -1, -2)), -1, -2)
    return _read_only(np.broadcast_to(array, tuple(batch) + tuple(trailing)))


def _shared(value):
    """A matrix every problem reads: converted once (Fortran-ordered), read-only."""
    array = np.asarray(value)
    if array.dtype.kind == 'f' and array.ndim == 2:
        array = np.asfortranarray(array)
    return _read_only(array)


def _read_only(array):
    """A read-only view: a program given it copies what it would overwrite, even when the
    caller's function donates that input (every problem reads the same value)."""
    view = array.view()
    view.flags.writeable = False
    return view


def _name_the_problem(error, index):
    """Say in ``error``'s message (and its ``batch_index``) which problem raised it."""
    error.batch_index = index
    if error.args and isinstance(error.args[0], str):
        error.args = (f'problem {index} of the batch: {error.args[0]}', *error.args[1:])
    elif type(error).__str__ is BaseException.__str__:   # OverflowError(34, 'Numerical ...')
        error.args = (f'problem {index} of the batch: {error}',)


def _stack(items, batch):
    """One output over the batch: arrays stacked, scalars as an array of the batch's shape."""
    if isinstance(items[0], np.ndarray):
        return np.stack(items).reshape(tuple(batch) + items[0].shape)
    return np.array(items, dtype=type(items[0]) if isinstance(items[0], np.floating)
                    else np.float64).reshape(batch)
