"""Programs as Dask graphs: one task per operation (per block operation when blocked).

:func:`to_dask` turns a pure mathematical program and its input values into
a Dask graph -- a dict from string keys to :class:`dask._task_spec.Task`
objects -- and :func:`run` computes its outputs with a Dask scheduler:
``'sync'`` (one thread, for debugging), ``'threads'`` (Dask's local thread
pool) or a :class:`distributed.Client`.

How the graph is made:

* Keys are strings (Dask's distributed scheduler rejects SymPy objects):
  each variable's readable token and the run's token, in Dask's
  ``name-token`` form (``H_Sigma-5f0c...``, ``t3_1_0_u1-5f0c...``), so the
  dashboard groups a value's tasks by its name.  The token is a fresh
  ``uuid4`` per run: runs that overlap on one Client never share a key, so
  never a task or a result, whatever their programs and inputs.  (A token
  of the inputs would also have to cover the program, since two programs
  called on the same arrays must not share keys, and would hash every
  input on every call, to share work between identical concurrent calls
  only.)
* Input values are in the graph, as :class:`dask._task_spec.DataNode`
  tasks (the way ``dask.array.from_array`` embeds a NumPy array); an input
  that is only cut into blocks is embedded block by block instead, so no
  task holds a whole input.  The scheduler keeps each DataNode as its
  task's definition, so when a worker dies it re-creates the inputs that
  worker held, as it recomputes any other task.  (Scattered data has no
  definition: it is lost with the last worker holding it, and distributed's
  Active Memory Manager removes the extra copies ``broadcast=True``
  makes.)  A graph holds its inputs' bytes, so distributed warns "Sending
  large graph" above ``distributed.admin.large-graph-warning-threshold``
  (10 MB): the price of inputs that no dying worker can lose.
* A task carries its operation object, which names its routine; the worker
  looks the routine up by that name in ``scipy.linalg.blas``/``lapack``
  (scipy's function objects do not pickle).
* Tasks never modify their inputs: each runs its operation's kernel with no
  overwrite allowed, so a routine that overwrites works on a private copy
  inside the task.  Dask may then run a task twice, or on another worker
  after one dies, and get the same result.
* An operation with several outputs is one task returning a tuple, and one
  ``getitem`` task per output; a :class:`Split` of a value computed in
  the graph is one task per block.
* An accumulation is one task (:func:`runs`): a block of a product is a
  chain of GEMMs, each adding one term onto the partial sum the one before
  made (``C[i,j] += A[i,p] B[p,j]``); as tasks, every partial sum was a
  copy, a result in a worker's memory and, when the next term's blocks were
  on the other worker, a transfer (the Kalman update at n = 4000 on two
  workers: partial sums were most transfers, 50-150 ms each).  One task
  runs the chain on a private copy of its first partial sum, adding each
  term in place, and only the last sum is a result.
* A failing routine raises the error its operation declares, exactly as in
  process (e.g. :class:`~computations.matrices.NotPositiveDefiniteError`
  naming the block).

Dask is an optional dependency: ``pip install 'computations[dask]'``.

>>> import numpy as np, sympy
>>> from computations.matrices import GEMM
>>> A = sympy.MatrixSymbol('A', 2, 2)
>>> graph, keys = to_dask(GEMM(1, A, A), {A: np.eye(2, order='F')}, token='1')
>>> sorted(graph), keys
(['A-1', 'pow_A-1'], ['pow_A-1'])
>>> run(GEMM(1, A, A), {A: np.eye(2, order='F')}, scheduler='sync')[0]
array([[1., 0.],
       [0., 1.]])
"""
import contextlib
import operator
import uuid

import numpy as np

from computations import Computation, CompositeComputation, Identity
from computations.matrices.transforms.blocking import Split
from computations.inplace import TokenNamer, is_constant

from .blocked import block_copy
from .execute import constant_values
from .kernels import run as run_kernel
from .blas_threads import divided_among

__all__ = ['to_dask', 'run', 'get_function', 'op_tasks', 'runs', 'run_tasks', 'INSTALL']

INSTALL = ("the Dask runner needs dask and distributed: pip install 'computations[dask]' "
           "(or pip install 'dask[distributed]')")


def _task_spec():
    try:
        from dask._task_spec import DataNode, Task, TaskRef
    except ImportError as error:
        raise ImportError(INSTALL) from error
    return DataNode, Task, TaskRef


def _call(op, *values):
    """Run one operation on a worker, overwriting nothing; its output or tuple of outputs."""
    outputs = run_kernel(op, values)
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def to_dask(computation, values, outputs=None, dims=None, dtype=None, token=None):
    """The Dask graph of ``computation`` on ``values``: ``(graph, output keys)``.

    ``values`` maps every input variable to its value (Fortran-ordered
    arrays, floats for scalars); constants (identity, zero matrices) are
    made from ``dims`` and ``dtype``.  ``outputs`` (default: the
    computation's) are the variables whose keys are returned, in order.
    Every key ends in ``-token`` (default: a fresh ``uuid4`` hex, unique to
    this graph).
    """
    DataNode, _, TaskRef = _task_spec()
    if not isinstance(computation, Computation):
        raise TypeError(f'to_dask needs a Computation, got {type(computation).__name__}')
    if not isinstance(computation, CompositeComputation):
        computation = CompositeComputation(computation)
    token = uuid.uuid4().hex if token is None else token
    namer, names, graph = TokenNamer(), {}, {}

    def name(var):
        if var not in names:
            names[var] = namer(var)
        return names[var]

    def key(var):
        return f'{name(var)}-{token}'

    constants = [v for v in computation.inputs if is_constant(v)]
    if constants:
        first = next((v for v in values.values() if hasattr(v, 'dtype')), None)
        made = constant_values(constants, dims or {},
                               dtype or (first.dtype if first is not None else 'float64'))
        values = {**values, **made}
    for var in computation.inputs:
        if var not in values:
            raise KeyError(f'to_dask: no value for the input {var}')
        name(var)                       # inputs get the plain names first
    wanted = computation.outputs if outputs is None else outputs

    def joint(op):
        return f"{namer('call_' + '_'.join(map(name, op.outputs[:2])))}-{token}"

    ops = [op for op in computation.toposort() if not isinstance(op, Identity)]
    # An input's blocks are cut here and embedded, each its own DataNode; the whole
    # input is embedded only if something else reads it.
    cut = {op for op in ops if isinstance(op, Split) and op.X in values}
    read = {var for op in ops if op not in cut for var in op.inputs} | set(wanted)
    for var in computation.inputs:
        if var in read:
            graph[key(var)] = DataNode(key(var), values[var])
    for op in ops:
        if op in cut:
            for var, bounds in op.pieces:
                graph[key(var)] = DataNode(key(var), block_copy(values[op.X], *bounds))
    for run in runs([op for op in ops if op not in cut], wanted):
        graph.update(run_tasks(run, run_arguments(run, lambda v, op, i: TaskRef(key(v))), key,
                               joint))
    return graph, [key(var) for var in wanted]


def runs(ops, kept=()):
    """``ops`` (in topological order) grouped into the runs one task computes each, in
    order: an operation joins the run of the one before it when it overwrites that one's
    only output and nothing else reads it (nor is it one of ``kept``, the values asked
    for): the partial sums of an accumulation.  Other operations are runs of one.

    >>> import sympy
    >>> from computations.matrices import GEMM
    >>> A, B, C = (sympy.MatrixSymbol(x, 2, 2) for x in 'ABC')
    >>> first = GEMM(1, A, B)
    >>> second = GEMM(1, C, C, 1, first.outputs[0])
    >>> [len(run) for run in runs([first, second])]
    [2]
    >>> [len(run) for run in runs([first, second], kept=first.outputs)]
    [1, 1]
    """
    readers = {}
    for op in ops:
        for var in op.inputs:
            readers[var] = readers.get(var, 0) + 1
    kept = set(kept)
    made_by = {op.outputs[0]: op for op in ops
               if len(op.outputs) == 1 and not isinstance(op, Split) and not op.output_is_input}
    run_of = {}
    for op in ops:
        run = None
        for position in op.inplace.values():
            var = op.inputs[position]
            before = made_by.get(var)
            if before is not None and readers[var] == 1 and var not in kept:
                run = run_of.pop(before) + ((op, position),)
                break
        run_of[op] = run or ((op, None),)
    return list(run_of.values())


def run_tasks(run, args, key, joint):
    """The tasks of one run (:func:`runs`) as :func:`op_tasks` makes them: ``args`` are the
    task arguments of each operation of the run, the one a run passes on left out."""
    if len(run) == 1:
        return op_tasks(run[0][0], args[0], key, joint)
    links = tuple((op, len(a), position) for (op, position), a in zip(run, args))
    flat = [a for each in args for a in each]
    return _output_tasks(run[-1][0], key, joint, _chained, links, *flat)


def run_arguments(run, argument):
    """Each operation's task arguments in a run, ``argument(var, op, i)`` of each input
    ``var`` (``op``'s ``i``-th) but the one the run passes on."""
    return [[argument(v, op, i) for i, v in enumerate(op.inputs) if i != position]
            for op, position in run]


def _chained(links, *values):
    """Run a chain of operations on a worker (:func:`run_tasks`): the first overwrites
    nothing, each next one overwrites the output of the one before (its input at
    ``position``), a value private to this task."""
    start = 0
    for op, count, position in links:
        args = list(values[start:start + count])
        start += count
        if position is None:
            outputs = run_kernel(op, args)
        else:
            args.insert(position, _private(outputs[0], values))
            outputs = run_kernel(op, args, overwrite=frozenset([position]))
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _private(value, arguments):
    """``value``, or a copy of it when it shares memory with one of the task's arguments
    (a kernel that returned a view of an input): what the next operation overwrites must
    be the task's own."""
    if isinstance(value, np.ndarray) and any(
            isinstance(a, np.ndarray) and np.may_share_memory(value, a) for a in arguments):
        return np.array(value, order='F', copy=True)
    return value


def op_tasks(op, args, key, joint):
    """The tasks of one operation, ``{key: task}``: one task per output, calling the
    operation's kernel on ``args`` (task arguments: references, inline tasks, numbers); a
    Split is one :func:`block_copy` per block, and an operation of several outputs one
    task (its key ``joint(op)``) returning a tuple, with a ``getitem`` task per output.
    ``key(var)`` is the key of a variable."""
    _, Task, _ = _task_spec()
    if isinstance(op, Split):
        return {key(var): Task(key(var), block_copy, *args, *bounds) for var, bounds in op.pieces}
    return _output_tasks(op, key, joint, _call, op, *args)


def _output_tasks(op, key, joint, function, *args):
    """The tasks making ``op``'s outputs by ``function(*args)``: one task for one output,
    else one (keyed ``joint(op)``) returning a tuple and a ``getitem`` task per output."""
    _, Task, TaskRef = _task_spec()
    if len(op.outputs) == 1:
        return {key(op.outputs[0]): Task(key(op.outputs[0]), function, *args)}
    together = joint(op)
    tasks = {together: Task(together, function, *args)}
    for i, var in enumerate(op.outputs):
        tasks[key(var)] = Task(key(var), operator.getitem, TaskRef(together), i)
    return tasks


def get_function(scheduler):
    """The ``get(graph, keys)`` of a scheduler: ``'sync'``, ``'threads'`` or a Client."""
    _task_spec()
    if scheduler == 'sync':
        from dask.local import get_sync
        return get_sync
    if scheduler == 'threads':
        from dask.threaded import get
        return get
    if _is_client(scheduler):                                # a distributed.Client
        return lambda graph, keys: scheduler.get(graph, keys, sync=True)
    raise ValueError(f"scheduler must be None, 'sync', 'threads' or a distributed.Client, "
                     f'got {scheduler!r}')


def run(computation, values, outputs=None, scheduler='threads', dims=None, dtype=None):
    """Compute the outputs of ``computation`` on ``values`` with Dask; a tuple of arrays.

    Each call is its own graph with its own keys (see the module), so calls may
    overlap, from any number of threads, on one scheduler or Client.
    """
    get = get_function(scheduler)
    graph, keys = to_dask(computation, values, outputs, dims, dtype)
    with _blas_shared(scheduler):
        return tuple(get(graph, keys))


def _blas_shared(scheduler):
    """For Dask's thread pool, a context that divides the BLAS threads among the pool's
    threads while it runs (:func:`~.blas_threads.divided_among`: the kernels release the GIL,
    so block operations run at once); for the other schedulers, nothing (a worker process
    of ``distributed`` runs BLAS on one thread already)."""
    if scheduler != 'threads':
        return contextlib.nullcontext()
    import dask
    from dask.threaded import default_pool, CPU_COUNT
    return divided_among(dask.config.get('num_workers', None)
                         or getattr(default_pool, '_max_workers', None) or CPU_COUNT)


def _is_client(scheduler):
    return hasattr(scheduler, 'get') and hasattr(scheduler, 'scatter')
