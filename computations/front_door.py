"""The front door: compile SymPy matrix expressions into a Python callable.

This is the one module that reaches across the three layers: the compiler
of :mod:`computations.matrices` chooses the operations, :mod:`inplace`
pairs every value with a buffer and proves the overwrites safe, and
:mod:`schedulers` runs the program on scipy's BLAS/LAPACK wrappers.  It is
loaded lazily (``computations.function``), so ``import computations``
never imports the other layers.

>>> import numpy as np
>>> from sympy import MatrixSymbol, Q, Symbol
>>> n = Symbol('n')
>>> S, b = MatrixSymbol('S', n, n), MatrixSymbol('b', n, 1)
>>> f = function([S, b], [S.I*b], [Q.positive_definite(S)])
>>> f(np.array([[4., 1.], [1., 3.]]), np.array([1., 2.]))
(array([[0.09090909],
       [0.63636364]]),)
>>> print(f.specialize(np.eye(2), np.ones(2)).pseudocode())
out0, chol(S) := inv(S)*b, chol(S)    [POSV]

The program runs as generated Python source, one routine call per line:

>>> print(f.source)
def program(S, b):
    S_2, b_2, info = dposv(S, b, lower=1)
    if info: fail(POSV, info)
    del S_2
    return (b_2,)
"""
import math
import threading

import numpy as np
import sympy
from sympy import MatrixExpr, MatrixSymbol

from computations.inplace import is_constant
from computations.schedulers.codegen import generate
from computations.schedulers.execute import (bind_dimensions, compile_program, constant_values, prepare_inputs,
                                run_program)
from computations.schedulers.memory import Sizes, available_bytes, timeline
from computations.schedulers.order import schedule
from computations.schedulers.profile import Profile, Row, dgemm_rate

from .core import CompositeComputation
from .empty import EmptyProgram, is_empty
from .matrices.compiler.assumptions import check_values, normalize
from .matrices.transforms.blocking import block
from .matrices.ops.core import dimensions
from .matrices.compiler.driver import compile_expressions
from .matrices.printing import pseudocode
from .matrices.compiler.properties import Properties
from .matrices.transforms.streaming import stream_congruences

__all__ = ['function', 'Function', 'Specialization', 'EmptySpecialization', 'DEFAULT_SIZE',
           'RUNNERS']

#: The size assumed for a symbolic dimension the caller gave no size for,
#: when a program is shown before any call (``f.computation``).
DEFAULT_SIZE = 1000

#: How a Function runs its program: ``'source'`` (generated Python source,
#: the default and the fast path) or ``'interpret'`` (the interpretive
#: executor, for debugging; it computes the same values).
RUNNERS = ('source', 'interpret')


def function(inputs, outputs, assumptions=(), **options):
    """Compile ``outputs`` (SymPy matrix expressions of ``inputs``) into a :class:`Function`.

    Outputs may also be scalars of matrices -- traces, (log-)determinants,
    1x1 matrices and arithmetic on these, as :func:`computations.grad`
    differentiates -- which a call returns as floats.

    ``inputs`` are ``MatrixSymbol``\\ s (numeric or symbolic shapes) and
    scalar ``Symbol``\\ s; ``assumptions`` SymPy predicates such as
    ``Q.positive_definite(S)``, which choose the routines (POSV for a
    positive definite system, TRSM for a triangular one, ...).  Options:
    ``sizes`` (``{dimension: size}``, for the program shown before any
    call), ``names`` (names of the outputs, for printing), ``runner``
    (``'source'``, the default, or ``'interpret'``; see :data:`RUNNERS`),
    ``blocksize`` (an int, or ``{dimension: int}``: run the program on
    blocks of that size, see :mod:`computations.matrices.transforms.blocking`),
    ``low_memory`` (False by default; True also compiles the program that
    recomputes products in row panels instead of holding them, see
    :mod:`computations.matrices.transforms.streaming`, and runs whichever of the two
    has the smaller predicted peak: less memory for more FLOPs),
    ``check_assumptions`` (False by default: assumptions are promises, as in
    LAPACK, and a broken one gives whatever the chosen routines compute;
    True checks each call's arrays against the properties declared for
    them, see :func:`computations.matrices.compiler.assumptions.check_values`; a call
    may also say ``f(..., check_assumptions=True)``).

    Assumptions are checked when the function is made: only SymPy
    predicates the compiler uses (``Q.hermitian`` and ``Q.unitary`` are
    read as ``Q.symmetric`` and ``Q.orthogonal``), about inputs, that do
    not contradict each other or the declared shapes.

    A call ``f(*arrays, scheduler=...)`` runs in process (``scheduler=None``,
    the default) or on Dask: ``'sync'``, ``'threads'`` or a
    ``distributed.Client`` (see :mod:`computations.schedulers.dask_graph`).
    """
    return Function(inputs, outputs, assumptions, **options)


class Function:
    """A compiled function: call it with arrays, get a tuple of arrays (floats for scalar
    outputs such as traces and log-determinants).

    The program is chosen per *shape signature* (the sizes of the symbolic
    dimensions, since the cheapest order of a product depends on them),
    compiled on first use, and cached.  ``computation``, ``program``,
    ``flops`` and ``dot()`` describe the program for the sizes given as
    ``sizes`` (numeric shapes need none; other dimensions default to
    :data:`DEFAULT_SIZE`); :meth:`specialize` gives the program for real
    arrays or shapes.  Calls are thread-safe: each call has its own buffers.
    """

    def __init__(self, inputs, outputs, assumptions=(), *, sizes=None, names=None,
                 runner='source', blocksize=None, low_memory=False, check_assumptions=False):
        self._options = dict(sizes=sizes, names=names, runner=runner, blocksize=blocksize,
                             low_memory=low_memory, check_assumptions=check_assumptions)
        if runner not in RUNNERS:
            raise ValueError(f'runner must be one of {", ".join(map(repr, RUNNERS))}, '
                             f'got {runner!r}')
        self.runner = runner
        self.inputs = _check_inputs(inputs)
        self._names = tuple(str(var) for var in self.inputs)
        if isinstance(outputs, sympy.Basic):
            outputs = [outputs]
        self.outputs = tuple(outputs)
        self.assumptions = normalize(assumptions, self.inputs)
        properties = Properties(self.assumptions)
        self._symmetric = frozenset(var for var in self.inputs if isinstance(var, MatrixExpr)
                                    and properties.ask('symmetric', var))
        self._canonical = tuple(_check_output(i, out, self.inputs, properties)
                                for i, out in enumerate(self.outputs))
        self.names = tuple(names) if names is not None else tuple(
            f'out{i}' for i in range(len(self.outputs)))
        if len(self.names) != len(self.outputs):
            raise ValueError(f'names: {len(self.names)} names for {len(self.outputs)} outputs')
        self.dimensions = dimensions(self.inputs)
        self.sizes = _check_sizes(sizes or {}, self.dimensions)
        self.blocksize = _check_blocksize(blocksize, self.dimensions)
        self.low_memory = _flag(low_memory, 'low_memory')
        self.check_assumptions = _flag(check_assumptions, 'check_assumptions')
        # Per input, for the fast path of calls: None for a scalar, else per axis
        # (fixed size, None) or (None, index of its dimension); None if a dimension
        # is an expression (such inputs always take the full path).
        self._axes = tuple(_axes(var, self.dimensions) for var in self.inputs)
        if any(axes is False for axes in self._axes):
            self._ready = lambda args: None
        self._cache = {}
        self._lock = threading.Lock()

    def __reduce__(self):
        """Pickle the expressions and options; programs are compiled again where it is loaded."""
        return _rebuild, (self.inputs, self.outputs, self.assumptions, self._options)

    def __repr__(self):
        return (f"Function(({', '.join(map(str, self.inputs))}) -> "
                f"{', '.join(map(str, self.outputs))})")

    def __str__(self):
        """The signature, then one routine call per line (:meth:`pseudocode`, default sizes)."""
        return (f"function({', '.join(map(str, self.inputs))}) -> {', '.join(self.names)}\n"
                f"{self.pseudocode()}")

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter shows the program's picture (SVG), with ``str(self)`` as text."""
        from .pictures import mimebundle
        return mimebundle(self.program, include, exclude, text=str(self))

    # Calling ----------------------------------------------------------------

    def __call__(self, *args, scheduler=None, check_assumptions=None, **kwargs):
        """Run the program on arrays (floats for scalar inputs); return a tuple of arrays
        (floats for scalar outputs).

        ``scheduler``: None (in process), or ``'sync'``, ``'threads'`` or a
        ``distributed.Client`` to run the program as a Dask graph.
        ``check_assumptions`` (default: the function's) first checks that the
        arrays have the properties the assumptions declare for them (see
        :func:`~computations.matrices.compiler.assumptions.check_values`).

        Before anything is allocated, a call whose predicted working memory
        (:meth:`peak_bytes`) exceeds the memory available raises a
        ``MemoryError`` naming the largest values.
        """
        check = self.check_assumptions if check_assumptions is None \
            else _flag(check_assumptions, 'check_assumptions')
        if scheduler is None and not kwargs and not check and self.runner == 'source':
            ready = self._ready(args)
            if ready is not None:                    # the fast path: nothing to convert
                dtype, key = ready
                found = self._cache.get(key)
                if found is None:
                    found = self._specialization(dict(zip(self.dimensions, key)))
                found.check_memory(dtype, 0)
                return found.generated(dtype)(*args)
        given = self._arguments(args, kwargs)
        arrays = all(isinstance(value, np.ndarray) for var, value in zip(self.inputs, given)
                     if isinstance(var, MatrixExpr))
        if arrays:                                   # check memory before converting anything
            specialization, dtype, converted = self._predict(given)
            specialization.check_memory(dtype, converted)
        values, dims = self._prepare(given)
        specialization = self._specialization(dims)
        if not arrays:
            specialization.check_memory(_dtype(values))
        if check:                  # on the caller's arrays, as given (not transposed views)
            check_values(self.assumptions, dict(zip(self.inputs, given)))
        if scheduler is not None:
            return specialization.run_dask(values, dims, scheduler)
        return specialization.run(values, dims, self.runner)

    def _ready(self, args):
        """``(dtype, dimension sizes)`` if ``args`` can go to the program as they are
        (Fortran-ordered 2-D float arrays of one dtype with consistent shapes, floats for
        scalars), else None: :func:`prepare_inputs` then converts them or says what is
        wrong."""
        if len(args) != len(self.inputs):
            return None
        sizes, dtype = [None] * len(self.dimensions), None
        for value, axes in zip(args, self._axes):
            if axes is None:                         # a scalar
                if type(value) is not float:
                    return None
                continue
            if type(value) is not np.ndarray or value.ndim != 2 \
                    or not value.flags.f_contiguous:
                return None
            if dtype is None:
                dtype = value.dtype
                if dtype != np.float64 and dtype != np.float32:
                    return None
            elif value.dtype != dtype:
                return None
            for size, (fixed, index) in zip(value.shape, axes):
                if index is None:
                    if size != fixed:
                        return None
                elif sizes[index] is None:
                    sizes[index] = size
                elif sizes[index] != size:
                    return None
        return dtype or np.dtype(np.float64), tuple(sizes)

    def _prepare(self, given):
        dims = {}
        values = prepare_inputs(self.inputs, dict(zip(self.inputs, given)), dims=dims,
                                symmetric=self._symmetric)
        return values, dims

    def profile(self, *args, **kwargs):
        """Run once on these arrays, timing each routine call: a printable
        :class:`~computations.schedulers.profile.Profile` (seconds, FLOPs and GFLOP/s per call,
        and the total against this machine's DGEMM rate)."""
        values, dims = self._prepare(self._arguments(args, kwargs))
        return self._specialization(dims).profile(values)

    def peak_bytes(self, *args, **kwargs):
        """The working memory, in bytes, a call on these arrays (or shapes, as tuples) needs.

        The most bytes the call holds at once beyond the caller's arrays: the
        program's buffers in its memory-aware order (see
        :mod:`computations.schedulers.memory`), the results, and copies of arrays that are
        not Fortran-ordered float arrays of the program's dtype.

        >>> A = sympy.MatrixSymbol('A', sympy.Symbol('n'), 2)
        >>> f = function([A], [A.T*A])
        >>> f.peak_bytes((1000, 2)), f.peak_bytes(np.ones((1000, 2)))   # C order: copied
        (32, 16032)
        """
        specialization, dtype, converted = self._predict(self._arguments(args, kwargs))
        return specialization.peak_bytes(dtype) + converted

    def _predict(self, given):
        """``(specialization, dtype, bytes of converted copies)`` for arguments (arrays or
        shapes), from their shapes and dtypes alone: nothing is converted yet."""
        arrays = [(var, value) for var, value in zip(self.inputs, given)
                  if isinstance(var, MatrixExpr)]
        shapes = {var: value if isinstance(value, tuple) else np.shape(value)
                  for var, value in arrays}
        specialization = self._specialization(bind_dimensions(self.inputs, shapes))
        dtypes = [np.asarray(v).dtype for _, v in arrays if not isinstance(v, tuple)]
        dtype = np.dtype(np.float32) if dtypes and all(d == np.float32 for d in dtypes) \
            else np.dtype(np.float64)
        converted = sum(_conversion_bytes(var, value, dtype, specialization.sizes,
                                          var in self._symmetric) for var, value in arrays)
        return specialization, dtype, converted

    def _arguments(self, args, kwargs):
        if not kwargs and len(args) == len(self.inputs):
            return args
        names = self._names
        if len(args) > len(names):
            raise TypeError(f'{self!r} takes {len(names)} arguments ({", ".join(names)}), '
                            f'got {len(args) + len(kwargs)}')
        values = dict(zip(names, args))
        for name, value in kwargs.items():
            if name not in names:
                raise TypeError(f'{self!r} got an unexpected keyword argument {name!r}')
            if name in values:
                raise TypeError(f'{self!r} got multiple values for argument {name!r}')
            values[name] = value
        missing = [name for name in names if name not in values]
        if missing:
            raise TypeError(f'{self!r} takes {len(names)} arguments ({", ".join(names)}), '
                            f'got {len(values)}: missing {", ".join(missing)}')
        return [values[name] for name in names]

    # Programs -----------------------------------------------------------------

    def specialize(self, *args, **kwargs):
        """The :class:`Specialization` that runs for these arrays (or shapes, as tuples).

        >>> A = sympy.MatrixSymbol('A', sympy.Symbol('n'), 2)
        >>> f = function([A], [A.T*A])
        >>> f.specialize((5, 2)).dims
        {n: 5}
        """
        given = self._arguments(args, kwargs)
        shapes = {var: value if isinstance(value, tuple) else np.shape(value)
                  for var, value in zip(self.inputs, given) if isinstance(var, MatrixExpr)}
        return self._specialization(bind_dimensions(self.inputs, shapes))

    def _specialization(self, dims):
        key = tuple(dims.get(d) for d in self.dimensions)
        found = self._cache.get(key)
        if found is None:
            with self._lock:
                found = self._cache.get(key)
                if found is None:
                    dims = dict(zip(self.dimensions, key))
                    kind = EmptySpecialization if is_empty(self.inputs, self._canonical, dims) \
                        else Specialization
                    found = kind(self, dims)
                    self._cache[key] = found
        return found

    @property
    def default(self):
        """The :class:`Specialization` for the default sizes (see the class)."""
        return self._specialization(self.sizes)

    @property
    def computation(self):
        """The mathematical composite of BLAS/LAPACK operations (default sizes)."""
        return self.default.computation

    @property
    def program(self):
        """The inplace token program that runs (default sizes)."""
        return self.default.program

    @property
    def flops(self):
        """The program's FLOP count (default sizes)."""
        return self.default.flops

    def dot(self, **options):
        """The program as a ``graphviz.Digraph`` (default sizes)."""
        return self.program.dot(**options)

    def pseudocode(self):
        """The program, one routine call per line (default sizes)."""
        return self.default.pseudocode()

    @property
    def source(self):
        """The generated Python source that runs the program (default sizes, float64)."""
        return self.default.source


class Specialization:
    """The program of a :class:`Function` for one binding of its dimensions.

    Attributes: ``dims``, ``computation`` (mathematical), ``results`` (the
    variable holding each output), ``flops``, ``program`` (token program)
    and ``order`` (its checked execution order).
    """

    def __init__(self, function, dims):
        self.function = function
        self.dims = dims
        compiled = compile_expressions(function._canonical, function.inputs,
                                       function.assumptions, dims)
        self.computation, self.results, self.flops = compiled
        self.sizes = Sizes(dims)
        scheduled = self._leanest() if function.low_memory else None
        #: The program before blocking (the same as ``computation`` when unblocked).
        self.unblocked = self.computation
        if function.blocksize is not None:
            self.computation = block(self.computation, function.blocksize, dims)
            scheduled = None
        self.program = _scheduled(self.computation, self.sizes) if scheduled is None \
            else scheduled
        self.order = self.program.toposort()
        self.constants = [v.expr for v in self.program.inputs if is_constant(v.expr)]
        self._generated = {}
        self._peaks = {}
        self._lock = threading.Lock()

    def _leanest(self):
        """Switch to the streamed program (:func:`stream_congruences`) when its predicted
        peak is lower (its FLOPs are then its own); return the chosen program scheduled,
        or None when there was nothing to compare."""
        streamed = stream_congruences(self.computation)
        if streamed is self.computation:
            return None
        fast, lean = (_scheduled(comp, self.sizes) for comp in (self.computation, streamed))
        if _peak(lean, self.results, self.sizes) >= _peak(fast, self.results, self.sizes):
            return fast
        self.computation = streamed
        self.flops = math.fsum(map(self._flops, streamed.computations))
        return lean

    def run(self, values, dims, runner='source'):
        """Run on prepared input values (:func:`computations.schedulers.prepare_inputs`); a tuple of arrays."""
        if runner == 'source':
            generated = self.generated(_dtype(values))
            return generated(*[values[var] for var in self.function.inputs])
        if self.constants:
            values = {**values, **constant_values(self.constants, dims, _dtype(values))}
        out = run_program(self.program, self.order, values)
        return _distinct([out[var] for var in self.results])

    def run_dask(self, values, dims, scheduler):
        """Run the pure program as a Dask graph (:mod:`computations.schedulers.dask_graph`); a tuple."""
        from computations.schedulers.dask_graph import run
        out = run(self.computation, values, self.results, scheduler, dims, _dtype(values))
        return _distinct(out)

    def generated(self, dtype=np.float64, profile=False):
        """The :class:`~computations.schedulers.codegen.Generated` source for ``dtype`` (made once)."""
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
        generated = self.generated(_dtype(values), profile=True)
        times = []
        generated(*[values[var] for var in self.function.inputs], times=times)
        rows = [Row(type(node.comp).__name__, _routine(node.comp),
                    ', '.join(map(str, node.comp.outputs)), seconds, self._flops(node.comp))
                for node, seconds in zip(generated.steps, times)]
        return Profile(rows, dgemm_rate())

    def _flops(self, op):
        flops = getattr(op, 'flops', 0)
        flops = sympy.sympify(flops).xreplace(self.sizes.dims)
        return float(flops) if flops.is_number else 0.0

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
                          order=[node.comp for node in self.program.toposort()])


#: Calls predicted to need fewer bytes than this skip :meth:`Specialization.check_memory`
#: (reading the system's available memory costs more than such a call).
MEMORY_CHECK_BYTES = 64 * 2 ** 20


def _gigabytes(n):
    return f'{n / 1e9:.3g} GB' if n >= 1e8 else f'{n / 1e6:.3g} MB'


def _flag(value, name):
    if not isinstance(value, bool):
        raise TypeError(f'{name} must be True or False, got {value!r}')
    return value


def _rebuild(inputs, outputs, assumptions, options):
    """A pickled :class:`Function`, made again (see ``Function.__reduce__``)."""
    return Function(inputs, outputs, assumptions, **options)


class EmptySpecialization(Specialization):
    """The program of a :class:`Function` for a binding that makes some matrix empty.

    scipy's BLAS/LAPACK wrappers refuse empty arrays, so such calls never
    reach them: :class:`~computations.empty.EmptyProgram` makes the outputs
    that are constants (an empty matrix, the zero matrix of a product over
    an empty dimension, the trace 0 or determinant 1 of a 0x0 matrix) and
    compiles what is left.  ``computation``, ``program`` and the other
    descriptions are those of that remaining program (empty when there is
    none).
    """

    def __init__(self, function, dims):
        self.function, self.dims, self.sizes = function, dims, Sizes(dims)
        self.empty = EmptyProgram(function._canonical, function.inputs, function.assumptions,
                                  dims, runner=function.runner)
        inner = self.empty.function.default if self.empty.function is not None else None
        self.computation = self.unblocked = inner.computation if inner else \
            CompositeComputation()
        self.program = inner.program if inner else CompositeComputation()
        self.order = self.program.toposort()
        self.results = inner.results if inner else ()
        self.flops = inner.flops if inner else 0
        self.constants, self._generated, self._peaks = [], {}, {}
        self._lock = threading.Lock()

    def run(self, values, dims, runner='source'):
        return self.empty(values)

    def run_dask(self, values, dims, scheduler):
        return self.empty(values, scheduler)

    def generated(self, dtype=np.float64, profile=False):
        inputs = self.function.inputs
        return lambda *args: self.empty(dict(zip(inputs, args)))

    def peak_bytes(self, dtype=np.float64):
        return self.empty.peak_bytes(dtype)

    def profile(self, values):
        raise NotImplementedError('profile: a call with empty matrices runs no routine to time')


def _scheduled(computation, sizes):
    """The token program of ``computation`` in its memory-aware order, buffers reused."""
    program, _ = compile_program(computation)
    return schedule(program, sizes)


def _peak(program, results, sizes, order=None):
    """The most bytes ``program`` holds at once, returning ``results``."""
    order = program.toposort() if order is None else order
    returned = set(results)                      # unreturned factors die early, as in the source
    times = timeline(program, order, sizes, [v for v in program.outputs if v.expr in returned])
    copied = _returned_copies(program, results, sizes)
    return max(times.peak, (times.after[-1] if times.after else 0) + copied)


def _axes(var, dimensions):
    """How the fast path reads ``var``'s shape (see ``Function.__init__``); False when it
    cannot."""
    if not isinstance(var, MatrixExpr):
        return None
    axes = []
    for dim in map(sympy.sympify, var.shape):
        if dim.is_Integer:
            axes.append((int(dim), None))
        elif dim in dimensions:
            axes.append((None, dimensions.index(dim)))
        else:
            return False
    return tuple(axes)


def _dtype(values):
    """The dtype prepared values run in (float32 only if every matrix is)."""
    return next((v.dtype for v in values.values() if isinstance(v, np.ndarray)
                 and v.dtype.kind == 'f'), np.dtype(np.float64))


def _routine(op):
    routine = getattr(op, 'routine', None)
    return routine or type(op).__name__.lower()


def _returned_copies(program, results, sizes):
    """Bytes of the results returned as copies: inputs passed through, values returned twice."""
    inputs = {value.expr for value in program.inputs}
    seen, copied = set(), 0
    for expr in results:
        if expr in inputs or expr in seen:
            copied += sizes.nbytes(expr)
        seen.add(expr)
    return copied


def _conversion_bytes(var, value, dtype, sizes, symmetric):
    """Bytes of the copy :func:`prepare_inputs` makes of ``value`` (0 if it takes it as is:
    a Fortran-ordered array of the dtype, or a C-ordered one of a symmetric input)."""
    if isinstance(value, tuple):
        return 0                                 # a shape: assume a ready array
    array = np.asarray(value)
    ready = array is value and array.dtype == dtype and (
        array.flags.f_contiguous or (array.ndim == 1 or symmetric) and array.flags.c_contiguous)
    return 0 if ready else sizes.nbytes(var) * np.dtype(dtype).itemsize // sizes.dtype.itemsize


def _check_inputs(inputs):
    if isinstance(inputs, sympy.Basic):
        inputs = [inputs]
    inputs = tuple(inputs)
    for var in inputs:
        if not isinstance(var, (MatrixSymbol, sympy.Symbol)):
            raise TypeError(f'inputs must be MatrixSymbols or scalar Symbols, got {var!r} '
                            f'({type(var).__name__})')
    names = [str(var) for var in inputs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f'inputs: {", ".join(repeated)} given more than once')
    return inputs


def _check_output(i, output, inputs, properties):
    """The canonical form of an output, after checking it only uses the inputs."""
    if not isinstance(output, sympy.Expr):
        raise TypeError(f'output {i} must be a SymPy matrix expression or a scalar expression '
                        f'of matrices (a trace, a log-determinant...), got {output!r} '
                        f'({type(output).__name__})')
    known = set(inputs) | set(dimensions(inputs))
    unknown = [s for s in output.free_symbols if s not in known]
    if unknown:
        raise ValueError(f'output {i} ({output}) uses {", ".join(sorted(map(str, unknown)))}, '
                         'which are not inputs')
    return properties.canonical(output)


def _distinct(arrays):
    """The arrays as a tuple, a copy in place of each repeat (results never share memory)."""
    results, seen = [], set()
    for array in arrays:
        results.append(np.array(array, copy=True) if id(array) in seen else array)
        seen.add(id(array))
    return tuple(results)


def _check_blocksize(blocksize, dimensions):
    """None, a positive int, or ``{dimension: positive int}`` keyed by the dimensions."""
    if blocksize is None or not isinstance(blocksize, dict):
        return None if blocksize is None else _positive(blocksize, 'blocksize')
    return _per_dimension('blocksize', blocksize, dimensions, lambda key: f'blocksize[{key}]')


def _check_sizes(sizes, dimensions):
    bound = _per_dimension('sizes', sizes, dimensions, lambda key: f'sizes: {key}')
    return {d: bound.get(d, DEFAULT_SIZE) for d in dimensions}


def _per_dimension(option, mapping, dimensions, label):
    """``{dimension: positive int}`` from a mapping keyed by dimensions or their names."""
    by_name = {str(d): d for d in dimensions}
    checked = {}
    for key, value in mapping.items():
        dim = by_name.get(str(key))
        if dim is None:
            raise ValueError(f'{option}: {key} is not a dimension of the inputs '
                             f'(dimensions: {", ".join(by_name) or "none"})')
        checked[dim] = _positive(value, label(key))
    return checked


def _positive(value, label):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f'{label} must be a positive integer, got {value!r}')
    return int(value)
