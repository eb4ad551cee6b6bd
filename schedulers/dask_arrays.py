"""dask.array in, dask.array out: a blocked program as the graph of its results.

A compiled function called with :class:`dask.array.Array` arguments returns
dask arrays, lazily: :func:`prepare` chooses the blocks from the inputs'
chunks, and :func:`to_arrays` makes the blocked program the results' graph.
Nothing runs until the caller asks (``.compute()``, ``.persist()``,
``dask.compute(...)``), on whatever scheduler the caller picks.

How the blocks are chosen (:func:`prepare`):

* Every dimension's block size comes from the chunks of the dask inputs
  along it.  Where they agree and are regular (equal chunks, the last one
  perhaps smaller: what ``partition`` makes, and what dask makes by
  default) they are the blocks.  Where two inputs disagree, or a chunking
  is irregular, the inputs are rechunked to blocks of the first such
  input's largest chunk, with a :class:`RechunkWarning` naming the
  dimension and the inputs rechunked.
* A dimension no dask input has takes the function's ``blocksize`` for it,
  if any, else stays whole (one block).
* NumPy inputs are checked and converted as in process
  (:func:`~computations.schedulers.execute.prepare_inputs`), then cut into
  those blocks with :func:`dask.array.from_array`.  Scalars stay floats.

How the graph is made (:func:`to_arrays`):

* One task per block operation, except that an operation overwriting the
  only output of the one before it, which nothing else reads, runs in that
  one's task: the terms of a block of a product are added up in one task,
  and a factor's updates join the task that made the block (as
  :mod:`.dask_graph` makes them, with :func:`~.dask_graph.runs`).  A
  :class:`Split` of an input makes no task: the tasks that need a block
  read the input's own chunk, by its key, converted inside the task to a
  Fortran-ordered array of the program's dtype (no copy when it already is
  one).  No task reads a whole input,
  except an operation that is not blocked (GETRF, GESV...), which reads an
  input put together from its chunks.
* The results are not assembled: each result is a dask array whose chunks
  are the blocked program's result blocks (a block that is a constant, or
  an input's chunk, is made by a small task of its own).  A scalar result
  (a trace, a log-determinant) is a 0-d dask array.
* Keys are readable names and a token of the call (:func:`dask.base.tokenize`
  of the function and of the inputs' names, chunks and dtypes, as dask.array
  names its results): a block's key is ``(name-token, i, j)``, named and
  grouped on the dashboard by the value it is a block of
  (``('t1-5f0c...', 0, 1)``); the partial sums of a block and a factor's
  updates run inside that block's one task and have no keys of their own.
  Equal calls make equal keys, so Dask shares their work; different calls
  never share a key.
* Tasks are pure (no task modifies its inputs), so a task lost with a dying
  worker is simply run again.

>>> import numpy as np, sympy, dask.array as da
>>> import computations
>>> A = sympy.MatrixSymbol('A', 6, 6)
>>> f = computations.function([A], [A * A])
>>> x = da.from_array(np.arange(36.0).reshape(6, 6), chunks=4)
>>> (y,) = f(x)
>>> y.chunks
((4, 2), (4, 2))
>>> bool(np.allclose(y.compute(), x.compute() @ x.compute()))
True
"""
import re
import warnings

import numpy as np
import sympy
from sympy import MatrixExpr

from computations import ComputationsError, Identity
from computations.inplace import is_constant
from computations.inplace.tokens import token_name
from computations.matrices import TRANSPOSE, dtypes
from computations.matrices.transforms.blocking import Assemble, BlockOp, Split, partition
from computations.sizes import Binding

from .calls import takes_c_order
from .dask_graph import INSTALL, _task_spec, run_arguments, run_tasks, runs
from .execute import MASKED, bind_dimensions, column_vector, constant_values, prepare_inputs

__all__ = ['prepare', 'to_arrays', 'scalar_chunk', 'is_dask_collection', 'Prepared',
           'RechunkWarning', 'DaskArgumentError']


class RechunkWarning(ComputationsError, UserWarning):
    """Dask inputs rechunked to one common, regular chunking of a dimension (a warning).

    ``dimension`` is the dimension, ``inputs`` the names of the inputs
    rechunked and ``blocksize`` the block size they were rechunked to.
    """

    def __init__(self, dimension, inputs, blocksize, why):
        self.dimension, self.inputs, self.blocksize = dimension, tuple(inputs), blocksize
        super().__init__(f'dimension {dimension}: {why}; rechunked '
                         f'{", ".join(self.inputs)} to blocks of {blocksize}')


class DaskArgumentError(ComputationsError, ValueError):
    """An argument a call with dask arrays cannot take, named.

    >>> str(DaskArgumentError('X', 'has unknown chunk sizes'))
    'X has unknown chunk sizes'
    """

    def __init__(self, argument, why):
        self.argument = argument
        super().__init__(f'{argument} {why}')


def is_dask_collection(value):
    """Whether ``value`` is a dask collection (an array, a delayed value...), without
    importing dask.

    >>> is_dask_collection(np.ones(2))
    False
    """
    return hasattr(type(value), '__dask_graph__')


class Prepared:
    """The inputs of a call on dask arrays, ready for :func:`to_arrays`.

    ``values``: each input as a 2-D dask array chunked into its blocks (a
    float for a scalar); ``dims``: the sizes of the symbolic dimensions;
    ``blocksize``: ``{dimension: block size}`` for the dimensions cut into
    blocks (a dimension is a symbol or, for numeric shapes, an integer);
    ``dtype``: the dtype the program computes in; ``token``: a token of all
    of these.
    """

    def __init__(self, values, dims, blocksize, dtype):
        from dask.base import tokenize
        self.values, self.dims, self.blocksize, self.dtype = values, dims, blocksize, dtype
        self.token = tokenize(
            [(str(var), value.name, value.chunks) if hasattr(value, 'chunks')
             else (str(var), value) for var, value in values.items()],
            sorted((str(d), b) for d, b in blocksize.items()), str(dtype))


def prepare(variables, given, blocksize=None, stacklevel=2):
    """Check the arguments of a call with dask arrays and chunk them into common blocks
    (see the module): a :class:`Prepared`.

    ``given`` maps each of ``variables`` to its argument (dask arrays, NumPy
    arrays, floats); ``blocksize`` is the function's (None, an int or
    ``{dimension: int}``), for the dimensions no dask input has.
    """
    try:
        import dask.array as da
    except ImportError as error:
        raise ImportError(INSTALL) from error
    lazy = {var: _dask_input(var, value, da) for var, value in given.items()
            if is_dask_collection(value)}
    eager = prepare_inputs([v for v in variables if v not in lazy],
                           {v: value for v, value in given.items() if v not in lazy})
    eager = {var: value for var, value in eager.items() if var in given}   # not constants
    dims = bind_dimensions(variables, {var: np.shape(value) for var, value in
                                       {**eager, **lazy}.items()
                                       if isinstance(var, MatrixExpr)})
    matrices = [value for var, value in {**eager, **lazy}.items() if isinstance(var, MatrixExpr)]
    dtype = dtypes.program_dtype(m.dtype for m in matrices)
    blocks = _blocksizes(variables, lazy, blocksize, stacklevel + 1)
    values = {}
    for var in variables:
        if var in lazy:
            chunks = _chunks(var, blocks, lazy[var].shape)
            values[var] = lazy[var] if lazy[var].chunks == chunks else lazy[var].rechunk(chunks)
        elif isinstance(var, MatrixExpr) and var in eager:
            from dask.base import tokenize
            chunks = _chunks(var, blocks, eager[var].shape)
            values[var] = da.from_array(eager[var], chunks=chunks,
                                        name=f'{token_name(var)}-{tokenize(eager[var], chunks)}')
        elif var in eager:
            values[var] = eager[var]
    return Prepared(values, dims, blocks, dtype)


#: Why a dask array cannot be given for a scalar input: its value would be needed to
#: build the graph (a scalar is part of each task, not a block of its own).
SCALAR = ('is a scalar: give a float, not a dask array (a scalar result of another '
          'compiled function, too: compute it first)')


def _dask_input(var, value, da):
    """A dask argument as a 2-D dask array (a column vector's may be 1-D), checked."""
    if not isinstance(value, da.Array):
        raise DaskArgumentError(f'input {var}', f'is a {type(value).__name__}: a call with '
                                'dask collections takes dask.array.Array arguments')
    if not isinstance(var, MatrixExpr):
        raise DaskArgumentError(f'input {var}', SCALAR)
    dtypes.check(var, value.dtype)
    meta = getattr(value, '_meta', None)
    if isinstance(meta, np.ma.MaskedArray):
        raise DaskArgumentError(f'input {var}', MASKED)
    if meta is not None and not isinstance(meta, np.ndarray):    # cupy, sparse: not NumPy
        raise DaskArgumentError(f'input {var}', f'has chunks of type '
                                f'{type(meta).__name__}: the routines take NumPy arrays')
    if value.ndim == 1 and column_vector(var):
        value = value[:, None]
    if value.ndim != 2:
        raise DaskArgumentError(f'input {var}', f'must be a {var.shape[0]}x{var.shape[1]} '
                                f'matrix, got a dask array of shape {value.shape}')
    if any(np.isnan(size) for axis in value.chunks for size in axis):
        raise DaskArgumentError(f'input {var}', 'has unknown chunk sizes: call '
                                'compute_chunk_sizes() on it first')
    return value


def _blocksizes(variables, lazy, blocksize, stacklevel):
    """``{dimension: block size}`` from the chunks of the dask inputs (see the module),
    warning where inputs are rechunked."""
    seen = {}                  # dimension -> [(input, 'rows' or 'columns', its chunks)]
    for var, value in lazy.items():
        for dim, axis, chunks in zip(var.shape, ('rows', 'columns'), value.chunks):
            seen.setdefault(sympy.sympify(dim), []).append((var, axis, chunks))
    blocks = {}
    for dim, axes in seen.items():
        first = axes[0][2]
        size = blocks[dim] = first[0] if _regular(first) else max(first)
        target = _regular_chunks(sum(first), size)
        moved = dict.fromkeys(str(var) for var, _, chunks in axes if chunks != target)
        if moved:
            why = 'chunks irregular or not alike (' + ', '.join(
                f'{var} {axis}: {_show(chunks)}' for var, axis, chunks in axes) + ')'
            warnings.warn(RechunkWarning(dim, moved, size, why), stacklevel=stacklevel)
    for var in variables:                      # the rest: the function's blocksize, if any
        for dim in (var.shape if isinstance(var, MatrixExpr) else ()):
            dim = sympy.sympify(dim)
            if dim in blocks or blocksize is None:
                continue
            size = blocksize if not isinstance(blocksize, dict) else next(
                (b for d, b in blocksize.items() if str(d) == str(dim)), None)
            if size is not None:
                blocks[dim] = size
    return blocks


def _regular(chunks):
    """Whether an axis's chunks are the blocks :func:`partition` makes of it."""
    return chunks == _regular_chunks(sum(chunks), chunks[0]) if chunks else True


def _regular_chunks(length, size):
    bounds = partition(length, size) if size else (0, length)
    return tuple(int(b - a) for a, b in zip(bounds[:-1], bounds[1:]))


def _chunks(var, blocks, shape):
    return tuple(_regular_chunks(length, blocks.get(sympy.sympify(dim)))
                 for dim, length in zip(var.shape, shape))


def _show(chunks):
    return str(chunks) if len(chunks) <= 6 else f'({", ".join(map(str, chunks[:4]))}, ...)'


# The graph ----------------------------------------------------------------------------

#: A block's name, as :mod:`computations.matrices.transforms.blocking` makes it:
#: ``value[i,j]``, or ``value[i,j].step`` for a partial value.
_BLOCK = re.compile(r'^(?P<value>.+)\[(?P<i>\d+),(?P<j>\d+)\](?:\.(?P<step>.+))?$')


class _Keys:
    """The keys of a call's graph: ``(name-token, i, j)`` for a block, ``name-token`` else.

    A name belongs to one value (all the blocks of a value, or of one partial sum of
    it, share theirs); another value that would get it gets ``name_2``, and so on.
    """

    def __init__(self, token):
        self.token, self.keys, self.owners = token, {}, {}

    def __call__(self, var):
        found = self.keys.get(var)
        if found is None:
            match = _BLOCK.match(str(var))
            if match is None:
                found = self.fresh(token_name(str(var)), var)
            else:
                parts = (match['value'], match['step'])
                name = self.fresh('_'.join(token_name(p) for p in parts if p), parts)
                found = (name, int(match['i']), int(match['j']))
            self.keys[var] = found
        return found

    def fresh(self, base, owner):
        """The name ``base-token`` (or ``base_2-token``...) for ``owner``."""
        name, count = f'{base}-{self.token}', 1
        while self.owners.setdefault(name, owner) != owner:
            count += 1
            name = f'{base}_{count}-{self.token}'
        return name


def to_arrays(computation, results, prepared, names=None, identity=None):
    """The ``results`` of a blocked program on prepared dask inputs: a tuple of dask arrays.

    ``computation`` is the blocked program (:func:`~computations.matrices.transforms.blocking.block`
    with ``prepared.blocksize``), ``results`` the variables to return, in order,
    ``prepared`` a :class:`Prepared`, ``names`` the results' names (for their keys),
    ``identity`` what the program is made from (any tokenizable value: it goes into the
    keys' token, with ``prepared.token``).
    """
    _, Task, TaskRef = _task_spec()
    from dask._task_spec import Alias
    from dask.highlevelgraph import HighLevelGraph
    import dask.array as da
    from dask.base import tokenize
    from sympy import srepr
    dtype, values = prepared.dtype, prepared.values
    names = names or [f'out{i}' for i in range(len(results))]
    # everything the graph is made of: the names too, which rename the values they take
    # (an output named t1 pushes the program's t1 to t1_2), so two functions that differ
    # in their names alone made one layer name hold two graphs
    token = tokenize(identity, srepr(computation.outputs), prepared.token,  # str drops shapes
                     tuple(names))
    keys = _Keys(token)
    program = keys.fresh('computations', 'program')      # no output may take its name
    outputs = [keys.fresh(token_name(name), ('result', i)) for i, name in enumerate(names)]
    ops = [op for op in computation.toposort() if not isinstance(op, Identity)]
    assembled = {op.X: op for op in ops if isinstance(op, Assemble) and op.X in results}
    chunk = {}                                 # an input's block -> the key of its chunk
    graph = {}

    def argument(var, reader, position):
        if var in chunk:                       # an input's chunk, as the program's dtype
            return Task(None, _block, TaskRef(chunk[var]), dtype,
                        takes_c_order(reader, position))
        if var in values and isinstance(values[var], float):
            return values[var]
        if var not in keys.keys:               # not made by an operation: read whole
            if var in values:
                graph[keys(var)] = _whole(Task, TaskRef, keys(var), values[var], dtype)
            elif is_constant(var) and not isinstance(var, MatrixExpr):
                return constant_values([var], prepared.dims, dtype)[var]      # a number
            elif is_constant(var):             # made by a task: not on the client, nor
                graph[keys(var)] = Task(keys(var), _constant, type(var).__name__,  # in the
                                        Binding(prepared.dims).shape(var), dtype)  # graph
        return TaskRef(keys(var))

    run_ops = []                               # those whose tasks are made below
    for op in ops:
        if op in assembled.values():
            continue
        if isinstance(op, Split) and op.X in values:
            x = values[op.X]
            for var, bounds in op.pieces:
                found = _chunk_key(x, bounds)
                if found is not None:
                    chunk[var] = found
                else:                          # (a whole input for an unblocked operation)
                    graph[keys(var)] = _whole(Task, TaskRef, keys(var), x, dtype, bounds)
            continue
        run_ops.append(op)
    result_blocks = {block for op in assembled.values() for block in op.inputs}
    viewed = _viewed_transposes(run_ops, result_blocks)
    run_ops = [op for op in run_ops if op.outputs[0] not in viewed]
    kept = [*results, *result_blocks, *(op.inputs[0] for op in viewed.values())]
    for run in runs(run_ops, kept):
        graph.update(run_tasks(run, run_arguments(run, argument), keys, _joint(keys)))
    inputs = [value for value in values.values() if hasattr(value, 'dask')]
    base = HighLevelGraph.from_collections(program, graph, dependencies=inputs)
    made, arrays = {}, []
    for var, name in zip(results, outputs):
        if var in made:                        # an output again: its own array, as in process
            arrays.append(made[var].map_blocks(np.copy, dtype=dtype, name=name))
            continue
        if var in values and not isinstance(values[var], float):   # an input, as it is
            made[var] = values[var].astype(dtype)
            arrays.append(made[var])
            continue
        if var in values:                      # a scalar input, of the program's dtype
            layer, chunks = {(name,): Task((name,), scalar_chunk(dtype), values[var])}, ()
        elif is_constant(var):                 # made by no operation: made here
            layer, chunks = _constant_result(name, var, prepared, Task)
        elif var in assembled:
            blocks = assembled[var].blocks
            wanted = _wanted_bounds(var, prepared)
            if blocks.shape == (1, 1) and blocks[0, 0] in keys.keys and \
                    (blocks.rows, blocks.cols) != wanted:
                # made whole (an operation without a blocked form, GESV): cut into the
                # blocks the inputs' chunks give, as every other result is
                layer = {(name, i, j): Task((name, i, j), _piece, TaskRef(keys(blocks[0, 0])),
                                            r0, r1, c0, c1)
                         for i, (r0, r1) in enumerate(zip(wanted[0], wanted[0][1:]))
                         for j, (c0, c1) in enumerate(zip(wanted[1], wanted[1][1:]))}
                bounds = wanted
            else:
                layer = {}
                for i, j in np.ndindex(blocks.shape):
                    block, key = blocks[i, j], (name, i, j)
                    transposed = viewed.get(block)
                    layer[key] = _result_block(key, block, chunk, keys, dtype, Task, TaskRef,
                                               Alias) if transposed is None else \
                        Task(key, np.transpose, argument(transposed.inputs[0], transposed, 0))
                bounds = (blocks.rows, blocks.cols)
            chunks = tuple(tuple(np.diff(b).tolist()) for b in bounds)
        else:                                  # a scalar, of the program's dtype
            layer = {(name,): Task((name,), scalar_chunk(dtype), TaskRef(keys(var)))}
            chunks = ()
        hlg = HighLevelGraph({**base.layers, name: layer},
                             {**base.dependencies, name: {program}})
        made[var] = da.Array(hlg, name, chunks, dtype=dtype)
        arrays.append(made[var])
    return tuple(arrays)


def _viewed_transposes(ops, result_blocks):
    """``{block: op}``: the blocks of results that an operation of ``ops`` makes by
    transposing another block and that no operation reads (the blocks above the diagonal
    of a symmetric result, which a SYRK computes below it).  Such a block is the other's
    transpose, a view: no task copies it, and no worker holds it twice -- the Kalman
    update's covariance at n = 8000 on 1000 x 1000 blocks had 28 of its 64 blocks so,
    224 MB.

    >>> import sympy
    >>> from computations.matrices import TRANSPOSE
    >>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 2)
    >>> op = TRANSPOSE(A)
    >>> _viewed_transposes([op], {A.T}) == {A.T: op}, _viewed_transposes([op], {B})
    (True, {})
    """
    read = {var for op in ops for var in op.inputs}
    return {op.outputs[0]: op for op in ops
            if isinstance(op.op if isinstance(op, BlockOp) else op, TRANSPOSE)
            and op.outputs[0] in result_blocks and op.outputs[0] not in read}


def _joint(keys):
    def joint(op):
        return keys.fresh('call_' + '_'.join(token_name(str(v)) for v in op.outputs[:2]), op)
    return joint


def _chunk_key(x, bounds):
    """The key of the chunk of dask array ``x`` that is exactly ``bounds``, or None."""
    r0, r1, c0, c1 = bounds
    index = []
    for start, stop, chunks in ((r0, r1, x.chunks[0]), (c0, c1, x.chunks[1])):
        edges = np.concatenate([[0], np.cumsum(chunks)]).tolist()
        if start not in edges or edges.index(start) + 1 >= len(edges) \
                or edges[edges.index(start) + 1] != stop:
            return None
        index.append(edges.index(start))
    return (x.name, *index)


def _whole(Task, TaskRef, key, x, dtype, bounds=None):
    """A task putting ``x[r0:r1, c0:c1]`` (all of ``x`` by default) together from its chunks."""
    r0, r1, c0, c1 = bounds or (0, x.shape[0], 0, x.shape[1])
    rows, cols = (np.concatenate([[0], np.cumsum(c)]).tolist() for c in x.chunks)
    wanted = [[i for i in range(len(edges) - 1) if edges[i] < stop and edges[i + 1] > start]
              for edges, start, stop in ((rows, r0, r1), (cols, c0, c1))]
    if not wanted[0] or not wanted[1]:         # an empty window
        return Task(key, np.zeros, (r1 - r0, c1 - c0), dtype, order='F')
    first = (rows[wanted[0][0]], cols[wanted[1][0]])
    refs = [TaskRef((x.name, i, j)) for i in wanted[0] for j in wanted[1]]
    return Task(key, _window, dtype, (r0 - first[0], r1 - first[0], c0 - first[1],
                                      c1 - first[1]), len(wanted[1]), *refs)


def _result_block(key, block, chunk, keys, dtype, Task, TaskRef, Alias):
    """The task of one block of a result: the block's own task's value, an input's chunk,
    or a constant."""
    if is_constant(block):
        return Task(key, _constant, type(block).__name__, tuple(map(int, block.shape)), dtype)
    if block in chunk:
        return Task(key, _block, TaskRef(chunk[block]), dtype)
    return Alias(key, keys(block))


def scalar_chunk(dtype):
    """The type of a scalar result's one chunk: NumPy's scalar of ``dtype``, which dask.array
    code takes as a 0-d array (``da.stack``, ``reshape``, ``astype``; a Python float, what
    a call in process returns for float64, broke them).

    >>> scalar_chunk(np.float64)(1.5).reshape(1)
    array([1.5])
    """
    return np.dtype(dtype).type


def _constant_result(name, var, prepared, Task):
    """The layer and chunks of a result that is a constant: a number (``n``, ``Trace(I)``
    once bound) or a zero, identity or ones matrix, cut into the call's blocks."""
    dtype = prepared.dtype
    if not isinstance(var, MatrixExpr):
        value = constant_values([var], prepared.dims, dtype)[var]
        return {(name,): Task((name,), scalar_chunk(dtype), value)}, ()
    bounds = _wanted_bounds(var, prepared)
    kind = type(var).__name__
    layer = {(name, i, j): Task((name, i, j), _constant,
                                kind if kind != 'Identity' or i == j else 'ZeroMatrix',
                                (r1 - r0, c1 - c0), dtype)
             for i, (r0, r1) in enumerate(zip(bounds[0], bounds[0][1:]))
             for j, (c0, c1) in enumerate(zip(bounds[1], bounds[1][1:]))}
    return layer, tuple(tuple(np.diff(b).tolist()) for b in bounds)


def _wanted_bounds(var, prepared):
    """The block boundaries of each axis of ``var`` that the call's blocks give."""
    binding = Binding(prepared.dims)
    bounds = []
    for dim in var.shape:
        length = int(binding.value(dim))
        size = prepared.blocksize.get(dim)
        bounds.append(tuple(partition(length, size)) if size else (0, length))
    return tuple(bounds)


def _piece(x, r0, r1, c0, c1):
    """``x[r0:r1, c0:c1]`` in an array of its own (a chunk that does not keep all of ``x``
    alive on its worker)."""
    return np.array(x[r0:r1, c0:c1], order='F')


def _block(x, dtype, c_order=False):
    """An input's chunk as the kernels take it: a 2-D Fortran-ordered array of ``dtype``,
    or a C-ordered one when ``c_order`` (for a kernel that reads it as its transpose,
    :func:`~.calls.takes_c_order`); the chunk itself when it already is one.

    A chunk of a dask array is usually C-ordered: a copy for every read cost the Kalman
    update at n = 6000 on two workers 324 transposing copies of 2.7 ms each, 8% of its
    compute time.

    >>> c = np.ones((3, 2))
    >>> _block(c, np.float64).flags.f_contiguous, _block(c, np.float64, True) is c
    (True, True)
    """
    x = np.asarray(x)
    x = x.reshape(-1, 1) if x.ndim == 1 else x
    if c_order and x.dtype == dtype and x.flags.c_contiguous:
        return x
    return np.asarray(x, dtype=dtype, order='F')


def _window(dtype, bounds, width, *chunks):
    """``[r0:r1, c0:c1]`` of the matrix of ``chunks`` (row by row, ``width`` a row)."""
    grid = [[_block(c, dtype) for c in chunks[i:i + width]]
            for i in range(0, len(chunks), width)]
    r0, r1, c0, c1 = bounds
    return np.array(np.block(grid)[r0:r1, c0:c1], dtype=dtype, order='F')


def _constant(kind, shape, dtype):
    """A constant block: ``'Identity'``, ``'ZeroMatrix'`` or ``'OneMatrix'``."""
    if kind == 'Identity':
        return np.eye(shape[0], dtype=dtype, order='F')
    return (np.ones if kind == 'OneMatrix' else np.zeros)(shape, dtype=dtype, order='F')
