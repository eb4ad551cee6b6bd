"""The program of a compiled function for one binding of its dimensions, and how it is chosen.

The specialization policy decides once, each step once: compile the
outputs (:func:`~computations.matrices.compiler.driver.compile_expressions`);
with ``low_memory``, stream the congruences in row panels
(:func:`~computations.matrices.transforms.streaming.stream_congruences`)
if that lowers the predicted peak (the two programs are lowered to compare
them, and the winner's lowering is the one that runs); with ``blocksize``,
block the chosen program (:func:`~computations.matrices.transforms.blocking.block`);
then lower it (:func:`computations.schedulers.pipeline.lower`).  Only with
both ``low_memory`` and ``blocksize`` is a compared lowering not the one
that runs: streaming is decided on the unblocked programs.  Here too: the
memory arithmetic of a call (its peak, the check against the memory
available) and profiling.

>>> import numpy as np
>>> from sympy import MatrixSymbol, Symbol
>>> from computations.front_door import function
>>> n = Symbol('n')
>>> A = MatrixSymbol('A', n, n)
>>> spec = function([A], [A*A*A]).specialize((100, 100))
>>> spec.dims, spec.flops, spec.peak_bytes()
({n: 100}, 4000000.0, 160000)
"""
import math
import numbers
import threading

import numpy as np
import sympy

from computations.schedulers.codegen import generate
from computations.schedulers.dask_arrays import scalar_chunk, to_arrays
from computations.schedulers.dask_graph import run as dask_run
from computations.schedulers.execute import constant_values, run_program
from computations.schedulers.memory import Sizes, available_bytes, timeline
from computations.schedulers.pipeline import lower
from computations.schedulers.profile import Profile, dgemm_rate, rows

from ..core import CompositeComputation
from ..empty import EmptyProgram
from ..matrices import scalar_type
from ..matrices.compiler.driver import compile_expressions
from ..matrices.ops.memo import sharing
from ..matrices.printing import pseudocode
from ..matrices.transforms.blocking import block
from ..matrices.transforms.streaming import stream_congruences
from ..sizes import Binding

__all__ = ['Specialization', 'EmptySpecialization', 'MEMORY_CHECK_BYTES', 'conversion_bytes',
           'prepared_dtype', 'distinct']

#: Calls predicted to need fewer bytes than this skip :meth:`Specialization.check_memory`
#: (reading the system's available memory costs more than such a call).
MEMORY_CHECK_BYTES = 64 * 2 ** 20


def _compiled(function, dims):
    """``(computation, results, flops)`` of ``function``'s outputs at ``dims``: from its
    :attr:`plan_cache` when it has the plan, else compiled (and stored there)."""
    cache = function.plan_cache
    key = cache and cache.key(function._canonical, function.inputs, function.assumptions, dims)
    plan = cache.get(key) if cache else None
    if not _is_plan(plan):                                     # none stored, or not a plan
        plan = None
    if plan is None:
        plan = compile_expressions(function._canonical, function.inputs, function.assumptions,
                                   dims)
        if cache:
            cache.put(key, plan)
    return plan


def _is_plan(plan):
    """Whether ``plan`` is what :func:`compile_expressions` returns: a composite of
    operations, the variables holding the outputs, and its FLOPs (a stored file that
    unpickles into anything else is not used)."""
    return (isinstance(plan, tuple) and len(plan) == 3
            and isinstance(plan[0], CompositeComputation) and isinstance(plan[1], tuple)
            and isinstance(plan[2], numbers.Real))


class Specialization:
    """The program of a :class:`~computations.front_door.Function` for one binding of its
    dimensions.

    Attributes: ``dims``, ``computation`` (mathematical, blocked if the
    function blocks), ``unblocked`` (the same before blocking), ``results``
    (the variable holding each output), ``flops``, ``lowered`` (the
    :class:`~computations.schedulers.pipeline.Lowered` program), ``program``
    (its token program), ``order`` (its checked execution order) and
    ``donate`` (the inputs it may overwrite).
    """

    def __init__(self, function, dims):
        self.function, self.dims = function, dims
        self.sizes = Sizes(dims)
        self._generated, self._peaks, self._blocked = {}, {}, {}
        self._lock = threading.Lock()
        with sharing(function.memo):          # what every shape shares, computed once
            computation, self.results, flops = _compiled(function, dims)
            # an input donated that the program does not read (its output does not need it)
            # is not the program's to overwrite
            self._donated = tuple(v for v in function.donate if v in computation.inputs)
            self.unblocked, self.flops, lowered, peak = self._stream(computation, flops)
        if function.blocksize is not None:
            lowered = lower(block(self.unblocked, function.blocksize, dims),
                            donate=self._donated, dims=dims)
        elif lowered is None:
            lowered = lower(self.unblocked, donate=self._donated, dims=dims)
        else:
            self._peaks[self.sizes.dtype] = peak
        self.lowered, self.computation = lowered, lowered.computation
        self.program, self.order = lowered.program, lowered.order
        self.donate, self.constants = lowered.donate, lowered.constants

    def _stream(self, computation, flops):
        """``(computation, flops, lowered, peak)``: with ``low_memory``, of the program and
        its streamed variant, the one of smaller predicted peak (the first on a tie), as
        lowered to compare them; else ``computation`` as it is, not yet lowered (``lowered``
        and ``peak`` None).  Streaming is decided on the unblocked programs: a blocked
        program runs the streamed operations whole."""
        streamed = stream_congruences(computation) if self.function.low_memory \
            else computation
        if streamed is computation:
            return computation, flops, None, None
        candidates = [lower(comp, donate=self._donated, dims=self.dims)
                      for comp in (computation, streamed)]
        fast, lean = (_peak(c.program, self.results, self.sizes, c.order) for c in candidates)
        if lean >= fast:
            return computation, flops, candidates[0], fast
        binding = Binding(self.dims)
        return streamed, math.fsum(map(binding.flops, streamed.computations)), candidates[1], lean

    def run(self, values, runner='source'):
        """Run on prepared input values (:func:`computations.schedulers.prepare_inputs`); a
        tuple of arrays."""
        dtype = prepared_dtype(values)
        if runner == 'source':
            return self.generated(dtype).function(*[values[var] for var in self.function.inputs])
        if self.constants:
            values = {**values, **constant_values(self.constants, self.dims, dtype)}
        out = run_program(self.program, self.order, values, donate=self.donate)
        # a result in a donated array is a copy, as the generated source returns it: results
        # never share memory with the caller's arrays
        return distinct([out[var] for var in self.results], dtype,
                        protected=[values[var] for var in self.donate if var in values])

    def run_dask(self, values, scheduler):
        """Run the pure program as a Dask graph (:mod:`computations.schedulers.dask_graph`); a
        tuple."""
        dtype = prepared_dtype(values)
        return distinct(dask_run(self.computation, values, self.results, scheduler, self.dims,
                                 dtype), dtype, protected=values.values())

    def run_lazy(self, prepared):
        """The results as dask arrays, lazily, on inputs
        :func:`~computations.schedulers.dask_arrays.prepare` chunked into blocks; a tuple."""
        return to_arrays(self.blocked(prepared.blocksize), self.results, prepared,
                         self.function.names, _identity(self.function))

    def blocked(self, blocksize):
        """The program blocked with ``blocksize`` (``{dimension: int}``), made once."""
        key = tuple(sorted((str(d), b) for d, b in blocksize.items()))
        found = self._blocked.get(key)
        if found is None:
            with self._lock:
                found = self._blocked.get(key)
                if found is None:
                    found = self._blocked[key] = block(self.unblocked, blocksize, self.dims)
        return found

    def generated(self, dtype=np.float64, profile=False):
        """The :class:`~computations.schedulers.codegen.Generated` source for ``dtype`` (made
        once)."""
        key = (np.dtype(dtype), profile)
        found = self._generated.get(key)
        if found is None:
            with self._lock:
                found = self._generated.get(key)
                if found is None:
                    found = generate(self.program, self.order, parameters=self.function.inputs,
                                     results=self.results, dtype=dtype, profile=profile,
                                     constants=constant_values(self.constants, self.dims,
                                                               dtype))
                    self._generated[key] = found
        return found

    @property
    def source(self):
        """The generated Python source (float64)."""
        return self.generated().source

    def profile(self, values):
        """Run once on prepared values, timing each routine call: a :class:`Profile`."""
        generated = self.generated(prepared_dtype(values), profile=True)
        times = []
        generated.function(*[values[var] for var in self.function.inputs], times=times)
        return Profile(rows(generated.steps, times, Binding(self.dims)), dgemm_rate())

    def peak_bytes(self, dtype=np.float64):
        """The most bytes the program holds at once (its buffers and results) for ``dtype``."""
        dtype = np.dtype(dtype)
        peak = self._peaks.get(dtype)
        if peak is None:
            peak = self._peaks[dtype] = _peak(self.program, self.results,
                                              Sizes(self.dims, dtype), self.order)
        return peak

    def check_memory(self, dtype, converted=0):
        """Raise a ``MemoryError`` naming the largest values if a call in ``dtype``, which
        also copies ``converted`` bytes of inputs, needs more memory than is available.

        Calls predicted to need less than :data:`MEMORY_CHECK_BYTES` are not checked.
        """
        needed = self.peak_bytes(dtype) + converted
        if needed < MEMORY_CHECK_BYTES:
            return
        available = available_bytes()
        if available is None or needed <= available:
            return
        sizes = Sizes(self.dims, dtype)
        values = {v.expr for node in self.program for v in node.outputs}
        largest = sorted(((sizes.nbytes(v), str(v)) for v in values), reverse=True)[:3]
        raise MemoryError(
            f'{self.function!r}: this call needs about {_gigabytes(needed)} of working memory '
            f'at its peak ({", ".join(f"{name}: {_gigabytes(n)}" for n, name in largest)}'
            f'{f", input copies: {_gigabytes(converted)}" if converted else ""}), but only '
            f'{_gigabytes(available)} is available')

    def pseudocode(self):
        """One line per routine call, in execution order: ``X := expression    [ROUTINE]``."""
        return pseudocode(self.computation, dict(zip(self.results, self.function.names)),
                          order=[node.comp for node in self.order])


class EmptySpecialization(Specialization):
    """The program of a :class:`~computations.front_door.Function` for a binding that makes
    some matrix empty.

    scipy's BLAS/LAPACK wrappers refuse empty arrays, so such calls never
    reach them: :class:`~computations.empty.EmptyProgram` makes the outputs
    that are constants (an empty matrix, the zero matrix of a product over
    an empty dimension, the trace 0 or determinant 1 of a 0x0 matrix) and
    compiles what is left.  ``computation``, ``program`` and the other
    descriptions are those of that remaining program (empty when there is
    none).  Nothing is donated: the remaining program has inputs of its own.
    """

    def __init__(self, function, dims):
        self.function, self.dims, self.sizes = function, dims, Sizes(dims)
        self.empty = EmptyProgram(function._canonical, function.inputs, function.assumptions,
                                  dims, compile=type(function), runner=function.runner)
        inner = self.empty.function.default if self.empty.function is not None else None
        self.computation = self.unblocked = inner.computation if inner else \
            CompositeComputation()
        self.lowered = inner.lowered if inner else None
        self.program = inner.program if inner else CompositeComputation()
        self.order = inner.order if inner else ()
        self.results = inner.results if inner else ()
        self.flops = inner.flops if inner else 0
        self.constants, self.donate, self._generated, self._peaks = (), (), {}, {}
        self._blocked, self._lock = {}, threading.Lock()

    def run(self, values, runner='source'):
        return self.empty(values)

    def run_dask(self, values, scheduler):
        return self.empty(values, scheduler)

    def run_lazy(self, prepared):
        """The results as dask arrays, nothing computed: the outputs that need a program are
        the remaining program's, called on the dask inputs (blocked as any call's, its
        blocks from their chunks); an output that is an input is that input's array; a
        constant or a scalar of scalars is one small task.  (One task for the whole call
        gathered every input, the non-empty ones too, into it.)"""
        import dask
        import dask.array as da
        empty, dtype = self.empty, prepared.dtype
        computed = iter(()) if empty.function is None else iter(empty.function(
            *[prepared.values[var] for var in empty._arguments]))
        binding = Binding(self.dims)
        scalar = dask.delayed(scalar_chunk(dtype), pure=True)
        results = []
        for out, maker, passed in zip(self.function._canonical, empty._makers, empty.passed):
            if maker is None:
                results.append(next(computed))
                continue
            given = prepared.values.get(passed)
            if hasattr(given, 'dask'):               # an input, returned: its own array
                results.append(given.astype(dtype))
                continue
            made = dask.delayed(maker, pure=True)(
                {var: value for var, value in prepared.values.items()
                 if not hasattr(value, 'dask')}, dtype)   # constants read only the scalars
            results.append(da.from_delayed(made, binding.shape(out), dtype=dtype)
                           if hasattr(out, 'shape') else
                           da.from_delayed(scalar(made), (), dtype=dtype))
        return tuple(results)

    def generated(self, dtype=np.float64, profile=False):
        inputs = self.function.inputs
        return lambda *args: self.empty(dict(zip(inputs, args)))

    @property
    def source(self):
        """What runs instead of generated source: each output at these sizes (an empty
        matrix, a constant, an input, or a result of the remaining program), then that
        program's generated source, if any (BLAS never sees an empty array).

        >>> import sympy
        >>> from computations import function
        >>> A, B = sympy.MatrixSymbol('A', 0, 3), sympy.MatrixSymbol('B', 3, 3)
        >>> print(function([A, B], [A*B, B*B]).default.source.splitlines()[:3])
        ['# at these sizes some matrices are empty: no routine reads them', '#   out0 = 0 (0 x 3)', '#   out1: the program below']
        """
        lines = ['# at these sizes some matrices are empty: no routine reads them']
        for name, expr, maker in zip(self.function.names, self.empty.reduced,
                                     self.empty._makers):
            shape = f' ({expr.shape[0]} x {expr.shape[1]})' if hasattr(expr, 'shape') else ''
            lines.append(f'#   {name}: the program below' if maker is None else
                         f'#   {name} = {expr}{shape}')
        inner = self.empty.function
        return '\n'.join(lines) + ('\n' + inner.default.source if inner is not None else '\n')

    def peak_bytes(self, dtype=np.float64):
        return self.empty.peak_bytes(dtype)

    def profile(self, values):
        raise NotImplementedError('profile: a call with empty matrices runs no routine to time')


def _identity(function):
    """What makes a function's programs: its inputs, outputs and assumptions, and options,
    written out whole (``srepr``: ``str`` drops shapes, so ``OneMatrix(n, n)*A`` and
    ``OneMatrix(k, n)*A`` both printed ``1*A``, and two such functions called on one
    dask array got the same keys, the second the first's values).

    >>> import sympy, computations
    >>> n, k = sympy.symbols('n k')
    >>> A = sympy.MatrixSymbol('A', n, k)
    >>> f, g = (computations.function([A], [sympy.OneMatrix(m, n) * A]) for m in (n, k))
    >>> str(f._canonical) == str(g._canonical), _identity(f) == _identity(g)
    (True, False)
    """
    return (sympy.srepr(function.inputs), sympy.srepr(function._canonical),
            sympy.srepr(function.assumptions), function.low_memory)


def _gigabytes(n):
    return f'{n / 1e9:.3g} GB' if n >= 1e8 else f'{n / 1e6:.3g} MB'


def _peak(program, results, sizes, order):
    """The most bytes ``program`` holds at once in ``order``, returning ``results``."""
    returned = set(results)                      # unreturned factors die early, as in the source
    times = timeline(program, order, sizes, [v for v in program.outputs if v.expr in returned])
    copied = _returned_copies(program, results, sizes)
    return max(times.peak, (times.after[-1] if times.after else 0) + copied)


def _returned_copies(program, results, sizes):
    """Bytes of the results returned as copies: inputs passed through, values returned twice."""
    inputs = {value.expr for value in program.inputs}
    seen, copied = set(), 0
    for expr in results:
        if expr in inputs or expr in seen:
            copied += sizes.nbytes(expr)
        seen.add(expr)
    return copied


def conversion_bytes(var, value, dtype, sizes, symmetric):
    """Bytes of the copy :func:`~computations.schedulers.prepare_inputs` makes of ``value``
    (0 if it takes it as is: a Fortran-ordered array of the dtype, or a C-ordered one of a
    symmetric input -- an ndarray subclass such as ``np.memmap`` too).

    >>> import sympy
    >>> A = sympy.MatrixSymbol('A', 2, 2)
    >>> conversion_bytes(A, np.ones((2, 2)), np.dtype(float), Sizes({}), False)
    32
    """
    if isinstance(value, tuple):
        return 0                                 # a shape: assume a ready array
    array = np.asarray(value)        # of an ndarray subclass (a memmap), a view: no copy
    ready = isinstance(value, np.ndarray) and array.dtype == dtype and (
        array.flags.f_contiguous or (array.ndim == 1 or symmetric) and array.flags.c_contiguous)
    return 0 if ready else sizes.nbytes(var) * np.dtype(dtype).itemsize // sizes.dtype.itemsize


def prepared_dtype(values):
    """The dtype prepared values run in (float32 only if every matrix is).

    >>> prepared_dtype({'x': np.ones(2, dtype=np.float32), 'a': 1.0})
    dtype('float32')
    """
    return next((v.dtype for v in values.values() if isinstance(v, np.ndarray)
                 and v.dtype.kind == 'f'), np.dtype(np.float64))


def distinct(arrays, dtype=np.float64, protected=()):
    """The results as a tuple, a copy in place of each repeat and of each array sharing
    memory with one of ``protected`` (the caller's inputs: results never share memory with
    each other or with them), scalars of the program's ``dtype``
    (:func:`~computations.matrices.scalar_type`).

    >>> a, b = np.ones(2), np.zeros(2)
    >>> x, y, z, s = distinct([a, a, b, 2.0], np.float32, protected=[b])
    >>> x is a, y is a, z is b, s
    (True, False, False, np.float32(2.0))
    """
    results, seen, typed = [], set(), scalar_type(dtype)
    protected = [p for p in protected if isinstance(p, np.ndarray)]
    for array in arrays:
        if not isinstance(array, np.ndarray):
            results.append(typed(array))
            continue
        copy = id(array) in seen or any(np.may_share_memory(array, p) for p in protected)
        results.append(np.array(array, copy=True) if copy else array)
        seen.add(id(array))
    return tuple(results)
