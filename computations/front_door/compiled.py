"""The compiled function and its call path: argument checks, the shape cache, dispatch.

:func:`function` checks what it is given once (inputs, outputs,
assumptions, options, ``donate``); a call checks and converts its arrays
(a fast path takes ready Fortran-ordered arrays as they are), finds the
:class:`~computations.front_door.specialization.Specialization` for their
shape signature (made once, cached) and runs it in process or on Dask.

>>> import numpy as np
>>> from sympy import MatrixSymbol, Symbol
>>> n = Symbol('n')
>>> A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, 1)
>>> f = function([A, B], [A*B], donate=['B'])
>>> f.donate
(B,)
>>> f(np.eye(2), np.ones(2))
(array([1., 1.]),)
>>> f.cache_info()
CacheInfo(hits=0, misses=1, maxsize=128, currsize=1)
"""
import math
import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import sympy
from sympy import MatrixExpr, MatrixSymbol

from computations.schedulers.dask_arrays import DaskArgumentError, is_dask_collection, prepare
from computations.schedulers.execute import bind_dimensions, guard_donations, prepare_inputs
from computations.inplace.donate import check_donate

from ..empty import is_empty
from ..matrices.compiler.assumptions import check_values, normalize
from ..matrices.compiler.properties import Properties
from ..matrices.dtypes import program_dtype
from ..matrices.ops.core import dimensions
from ..matrices.ops.memo import Memo
from ..pictures import mimebundle
from .arguments import (DEFAULT_SIZE, call_doc, call_signature, check_blocksize, check_flag,
                        check_inputs, check_output, check_shapes_at, check_sizes)
from .batches import batch_shape, empty_batch, run_batch, run_stacked_batch
from .cache import DEFAULT_CACHE_SIZE, CacheInfo, ShapeCache
from .dispatch import MISS, Dispatch, never
from .dtypes import check_dtypes
from .garbage import paused
from .forms import plain
from .layouts import Variants
from .outputs import OutputStructure
from .plan_cache import PlanCache
from .shapes import ShapeKeys
from .specialization import (MEMORY_CHECK_BYTES, EmptySpecialization, Specialization,
                             conversion_bytes, prepared_dtype)

__all__ = ['function', 'Function', 'DEFAULT_SIZE', 'RUNNERS']


#: How a Function runs its program: ``'source'`` (generated Python source,
#: the default and the fast path) or ``'interpret'`` (the interpretive
#: executor, for debugging; it computes the same values).
RUNNERS = ('source', 'interpret')

#: What ``outputs`` may be: one expression, a sequence of them, or ``{name: expression}``.
Outputs = sympy.Expr | Sequence[sympy.Expr] | Mapping[str, sympy.Expr]


def function(inputs: Sequence[sympy.Symbol | MatrixSymbol] | sympy.Symbol | MatrixSymbol,
             outputs: Outputs, assumptions: Iterable[sympy.Basic] = (), *,
             names: Sequence[str] | None = None,
             sizes: Mapping[sympy.Symbol | str, int] | None = None,
             runner: str = 'source',
             blocksize: int | Mapping[sympy.Symbol | str, int] | None = None,
             low_memory: bool = False, check_assumptions: bool = False,
             donate: Iterable[MatrixSymbol | str] = (),
             cache_size: int | None = DEFAULT_CACHE_SIZE,
             plan_cache: str | os.PathLike | None = None) -> 'Function':
    """Compile SymPy matrix expressions of ``inputs`` into a :class:`Function` that runs them
    on arrays as BLAS/LAPACK calls.

    Parameters
    ----------
    inputs : sequence of MatrixSymbol or Symbol
        The arguments of the function, in the order a call takes them:
        ``MatrixSymbol``\\ s (numeric or symbolic shapes: symbolic dimensions
        are bound by the arrays of each call) and scalar ``Symbol``\\ s.  Their
        names are the names of the call's parameters (``f(S=..., b=...)``).
    outputs : expression, sequence of expressions, or dict of name to expression
        What to compute: matrix expressions of the inputs, or scalars of
        matrices (traces, (log-)determinants, 1x1 matrices and arithmetic on
        these, as :func:`computations.grad` differentiates).  A call returns
        results in the structure given here: a single expression gives a
        single result, a list or tuple a tuple, a dict ``{name: expression}``
        a dict with the same names.
    assumptions : iterable of SymPy predicates, optional
        Facts about the inputs, such as ``Q.positive_definite(S)``, which
        choose the routines (POSV for a positive definite system, TRSM for a
        triangular one...).  They are promises, as in LAPACK: a broken one
        gives whatever the chosen routines compute (see ``check_assumptions``).
        ``Q.hermitian`` and ``Q.unitary`` are read as ``Q.symmetric`` and
        ``Q.orthogonal``.
    names : sequence of str, optional
        Names of the outputs (a list or tuple of them; a dict's keys are its
        names): the call returns a :class:`~computations.front_door.outputs.Results`,
        a tuple whose items can also be read by name (``r.beta``,
        ``r['beta']``), and printouts and pictures use them.  Default
        ``out0``, ``out1``...
    sizes : dict of dimension (or its name) to int, optional
        Sizes of the symbolic dimensions for the program shown before any
        call (``f.computation``, ``f.pseudocode()``...); others default to
        :data:`DEFAULT_SIZE`, or to two blocks for a dimension ``blocksize``
        blocks (a readable blocked program, built in milliseconds).
    runner : {'source', 'interpret'}, default 'source'
        How the program runs: generated Python source (the fast path) or the
        interpretive executor (for debugging; same values).  See :data:`RUNNERS`.
    blocksize : int or dict of dimension (or its name) to int, optional
        Run the program on blocks of this size (see
        :mod:`computations.matrices.transforms.blocking`).
    low_memory : bool, default False
        Also compile the program that recomputes products in row panels
        instead of holding them (:mod:`computations.matrices.transforms.streaming`)
        and run whichever has the smaller predicted peak: less memory for
        more FLOPs.
    check_assumptions : bool, default False
        Check each call's arrays against the properties the assumptions
        declare for them (:func:`computations.matrices.compiler.assumptions.check_values`);
        one call may also say ``f(..., check_assumptions=True)``.
    donate : iterable of MatrixSymbol or str, optional
        Matrix inputs (or their names) whose arrays the caller gives up: the
        program may overwrite them instead of copying, for less memory.  An
        array that is read-only or shares memory with another argument is
        copied anyway, and the Dask runner never overwrites.
    cache_size : int or None, default 128
        How many shape specializations (compiled programs, one per binding of
        the symbolic dimensions) the function keeps, least recently used
        dropped first; None keeps them all.  ``f.cache_info()`` counts hits
        and misses.
    plan_cache : str or os.PathLike, optional
        A directory where compiled plans are kept across processes, one file
        per shape signature (:mod:`~computations.front_door.plan_cache`): a
        new process loads the plan instead of searching again.  Plans are
        pickles: use a directory you trust.

    Returns
    -------
    Function
        A callable ``f(*arrays, scheduler=None, check_assumptions=None)``:
        arrays (or lists, views, read-only arrays; numbers for scalar inputs)
        in the order of ``inputs``, or by name.  It never modifies its
        arguments (except donated ones), and returns NumPy arrays, and
        scalars for scalar outputs (``np.float32`` when computed from float32
        arrays, else Python floats), in the structure of ``outputs``.

        *1-D in, 1-D out*: an output declared ``k x 1`` (``k`` not the number
        1) that reads a ``n x 1`` input the call gave as a 1-D array comes
        back 1-D, of shape ``(k,)``; every other output keeps its declared
        two dimensions.

        *Nothing copied*: Fortran- or C-ordered arrays (a C-ordered one is
        read transposed), contiguous 1-D vectors, ``np.memmap``\\ s, and
        numbers of any real type go to the program as they are, by position
        or by keyword; from the second call with a layout, straight from a
        dispatch on it (:mod:`computations.front_door.forms`).  Strided
        views, lists and other dtypes are converted first.

        *Dtypes*: float64 and float32 arrays are used as they are (all-float32
        calls run the single-precision routines and return float32, any other
        mix runs in float64); integer and float16 arrays are converted to
        float64; complex, bool, object, string and long-double arrays, and
        complex scalars, are refused (:mod:`computations.front_door.dtypes`).

        With ``dask.array`` arguments the call returns dask arrays, lazily;
        ``scheduler='sync'``, ``'threads'`` or a ``distributed.Client`` runs
        the program as a Dask graph (:mod:`computations.schedulers.dask_graph`).

    Raises
    ------
    TypeError
        ``inputs`` that are not ``MatrixSymbol``\\ s or ``Symbol``\\ s, outputs
        that are not SymPy expressions, or options of the wrong type.
    ValueError
        An input given twice, an output using symbols that are neither
        inputs nor their dimensions, assumptions that are not about inputs,
        that the compiler does not use, or that contradict each other or the
        shapes; ``names`` of the wrong count; ``sizes``, ``blocksize``,
        ``donate``, ``runner`` or ``cache_size`` out of range.

    A call raises a ``TypeError`` for a wrong number or name of arguments, a
    :class:`~computations.matrices.dtypes.DtypeError` (a ``TypeError`` and
    a ``ValueError``) for a refused dtype, a ``ValueError`` naming the input
    and the dimension for a wrong shape, a ``MemoryError`` (before anything
    is allocated) when the call needs more memory than is available, and a
    ``numpy.linalg.LinAlgError`` subclass naming the expression when a
    factorization fails.

    Examples
    --------
    >>> import numpy as np
    >>> from sympy import MatrixSymbol, Q, Symbol
    >>> n = Symbol('n')
    >>> S, b = MatrixSymbol('S', n, n), MatrixSymbol('b', n, 1)
    >>> solve = function([S, b], S.I*b, [Q.positive_definite(S)])
    >>> solve
    Function((S, b) -> S**(-1)*b)
    >>> solve(np.array([[4., 1.], [1., 3.]]), b=np.array([1., 2.]))
    array([0.09090909, 0.63636364])
    >>> both = function([S, b], {'x': S.I*b, 'y': S*b}, [Q.positive_definite(S)])
    >>> both(np.eye(2), np.ones((2, 1)))
    {'x': array([[1.],
           [1.]]), 'y': array([[1.],
           [1.]])}
    """
    return Function(inputs, outputs, assumptions, names=names, sizes=sizes, runner=runner,
                    blocksize=blocksize, low_memory=low_memory,
                    check_assumptions=check_assumptions, donate=donate, cache_size=cache_size,
                    plan_cache=plan_cache)


class _CallDoc:
    """``__doc__``: the class's docstring on the class, and on a Function what ``help(f)``
    shows (:func:`~.arguments.call_doc`), made when first read: printing the outputs
    took 15 ms of the Kalman filter's 83 ms ``function()`` and 0.35 s for four gradients."""

    def __init__(self, doc):
        self.doc = doc

    def __get__(self, function, owner=None):
        if function is None:
            return self.doc
        doc = function.__dict__['__doc__'] = call_doc(function)    # read once
        return doc


class Function:
    """A compiled function: call it with arrays, get arrays (floats for scalar outputs such
    as traces and log-determinants) in the structure its outputs were given in.

    Made by :func:`function` (see it for the parameters and the conventions of
    a call).  The program is chosen per *shape signature* (the sizes of the
    symbolic dimensions, since the cheapest order of a product depends on
    them), compiled on first use, and kept in a bounded LRU cache
    (``cache_size``; :meth:`cache_info`).  ``computation``, ``program``,
    ``flops`` and ``dot()`` describe the program for the sizes given as
    ``sizes`` (numeric shapes need none; other dimensions default to
    :data:`DEFAULT_SIZE`); :meth:`specialize` gives the program for real
    arrays or shapes.  Calls are thread-safe: each call has its own buffers.
    ``inspect.signature(f)`` shows the inputs' names; a Function pickles
    (its expressions and options; programs are compiled again where it is
    loaded).

    >>> import inspect
    >>> from sympy import MatrixSymbol, Symbol
    >>> A, x = MatrixSymbol('A', Symbol('n'), Symbol('n')), MatrixSymbol('x', Symbol('n'), 1)
    >>> f = Function([A, x], A*x)
    >>> inspect.signature(f)
    <Signature (A, x, *, scheduler=None, check_assumptions=None)>
    """
    __doc__ = _CallDoc(__doc__)     # a function's own: how to call it, made when read

    def __init__(self, inputs, outputs, assumptions=(), *, names=None, sizes=None,
                 runner='source', blocksize=None, low_memory=False, check_assumptions=False,
                 donate=(), cache_size=DEFAULT_CACHE_SIZE, plan_cache=None):
        if runner not in RUNNERS:
            raise ValueError(f'runner must be one of {", ".join(map(repr, RUNNERS))}, '
                             f'got {runner!r}')
        self.runner = runner
        self.inputs = check_inputs(inputs)
        self._names = tuple(str(var) for var in self.inputs)
        #: The inputs by keyword: Python folds keywords as it folds identifiers (NFKC),
        #: so f(ℓ=x) passes 'l' (and **{'ℓ': x} gives 'ℓ': folded at the call).
        self._keywords = {}
        for name in self._names:
            self._keywords.setdefault(unicodedata.normalize('NFKC', name), []).append(name)
        self.donate = check_donate(() if donate is None else donate, self.inputs)
        #: How results are given back (:class:`~computations.front_door.outputs.OutputStructure`).
        self.structure = OutputStructure(outputs, names, self.inputs)
        self.outputs, self.names = self.structure.outputs, self.structure.names
        self.assumptions = normalize(() if assumptions is None else assumptions, self.inputs)
        properties = Properties(self.assumptions)
        self._symmetric = frozenset(var for var in self.inputs if isinstance(var, MatrixExpr)
                                    and properties.ask('symmetric', var))
        self._canonical = tuple(check_output(i, out, self.inputs, properties)
                                for i, out in enumerate(self.outputs))
        self.dimensions = dimensions(self.inputs)
        self.blocksize = check_blocksize(blocksize, self.dimensions)
        self.sizes = check_sizes(sizes or {}, self.dimensions, self.blocksize)
        check_shapes_at(self.inputs, self.sizes, sizes, defaults=False)
        self.low_memory = check_flag(low_memory, 'low_memory')
        self.check_assumptions = check_flag(check_assumptions, 'check_assumptions')
        #: Where compiled plans are kept across processes (None: nowhere).
        self.plan_cache = None if plan_cache is None else PlanCache(plan_cache)
        # What a pickle rebuilds the function with: the options as checked (an iterator
        # given as donate= or names= is used up by now).
        self._options = dict(sizes=None if sizes is None else dict(sizes),
                             names=None if names is None else self.names,
                             runner=runner, blocksize=self.blocksize,
                             low_memory=self.low_memory,
                             check_assumptions=self.check_assumptions, donate=self.donate,
                             cache_size=cache_size, plan_cache=plan_cache)
        #: What the arguments' shapes bind, on the fast path (module shapes).
        self._shapes = ShapeKeys(self.inputs, self.dimensions)
        self._matrices, self._ready = self._shapes.matrices, self._shapes.ready
        #: The programs by shape signature (dimension sizes), least recently used dropped.
        self._cache = ShapeCache(cache_size, on_evict=self._evicted)
        #: The fast path's memo: ``(dtype, sizes)`` -> the generated function, for calls
        #: too small to check the memory.
        self._runners = {}
        #: The stacked batches' memo (:func:`~.batches.run_stacked_batch`): the matrices'
        #: trailing shapes and the dtype -> the dimension sizes, the constants' arrays of the
        #: program that runs them stacked (None: it does not), and the stacks' layout.
        self._batches = {}
        #: The buffers a batch-last run's chunks take their arrays from, kept for the next
        #: batch (:class:`~computations.schedulers.batch_last.ChunkBuffers`): one (two at
        #: worst, when threads without a GIL return theirs at once), out of this list while
        #: a call holds it; :meth:`cache_clear` lets them go.
        self._chunk_buffers = []
        #: The variants that read C-ordered arrays transposed (module layouts).
        self._variants = Variants(self)
        #: Called with each key the cache drops (a variant's: its caller forgets it too).
        self._also_forget = None
        #: The hot path: calls with arrays of a layout seen before (module dispatch).
        self._dispatch = Dispatch(self._names, self._matrices, self.structure.kind,
                                  outputs=self.names, cache=self._cache) \
            if runner == 'source' and not self.donate and not self.check_assumptions else None
        self._hot = self._dispatch.call if self._dispatch is not None else never
        #: What the compilations at every shape share
        #: (:class:`~computations.matrices.ops.memo.Memo`).
        self.memo = Memo()
        self.__signature__ = call_signature(self._names)

    def __reduce__(self):
        """Pickle the expressions and options; programs are compiled again where it is loaded."""
        return _rebuild, (self.inputs, self.structure.given, self.assumptions, self._options)

    def __repr__(self):
        return (f"Function(({', '.join(map(str, self.inputs))}) -> "
                f"{', '.join(map(str, self.outputs))})")

    def __str__(self):
        """The signature, then one routine call per line (:meth:`pseudocode`, default sizes)."""
        return (f"function({', '.join(map(str, self.inputs))}) -> {', '.join(self.names)}\n"
                f"{self.pseudocode()}")

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter shows the program's picture (SVG), with ``str(self)`` as text."""
        return mimebundle(self.program, include, exclude, text=str(self),
                          **self._picture_options())

    def _picture_options(self):
        """What pictures of the program show as the generated source does: outputs by their
        given names (``names=`` or a dict of outputs), and the copies a routine makes of its
        argument itself as such, not as Copy operations."""
        default = self.default
        if isinstance(default, EmptySpecialization):        # empty matrices: its own program
            return {}
        names = dict(zip(default.results, self.names)) \
            if self.structure.kind in ('named', 'dict') else None
        # a blocked program is drawn summarized, one box per whole operation: its copies
        # stay drawn as Copy operations
        folded = default.generated().folded if self.blocksize is None else ()
        return dict(names=names, folded=folded)

    def cache_info(self):
        """Hits, misses, maximum and current size of the cache of shape specializations, as
        ``functools.lru_cache``'s ``cache_info()`` (a
        :class:`~computations.front_door.cache.CacheInfo`).

        A hit is a call (or :meth:`specialize`, or a description such as
        ``f.program``) whose shape signature had its program compiled already;
        a miss compiles one.  The programs that read C-ordered arrays transposed
        (:mod:`.layouts`) count too: ``maxsize`` holds for each layout.
        """
        infos = [self._cache.info()] + self._variants.cache_infos()
        return CacheInfo(sum(i.hits for i in infos), sum(i.misses for i in infos),
                         self._cache.maxsize, sum(i.currsize for i in infos))

    def cache_clear(self):
        """Forget every compiled program and the cache statistics, and let the buffers kept
        for batches go."""
        self._cache.clear()
        self._shapes.clear()
        self._chunk_buffers.clear()
        if self._dispatch is not None:
            self._dispatch.forget()
        self._variants.clear()

    def _evicted(self, key):
        """Drop the fast path's memos of a specialization the cache dropped."""
        for memo in [k for k in list(self._runners) if k[1] == key]:
            self._runners.pop(memo, None)
        for memo in [k for k, v in list(self._batches.items()) if v[0] == key]:
            self._batches.pop(memo, None)
        if self._dispatch is not None:
            self._dispatch.forget(key)
        if self._also_forget is not None:
            self._also_forget(key)

    # Calling ----------------------------------------------------------------

    def __call__(self, /, *args, scheduler=None, check_assumptions=None, **kwargs):
        """Run the program on arrays (floats for scalar inputs); return the results in the
        structure the outputs were given in (see :func:`function`): arrays, and scalars
        for scalar outputs (``np.float32`` when computed from float32 arrays, else Python
        floats).

        ``scheduler``: None (in process), or ``'sync'``, ``'threads'`` or a
        ``distributed.Client`` to run the program as a Dask graph.

        With ``dask.array.Array`` arguments (NumPy arrays may be mixed in) the
        call computes nothing: it returns dask arrays (0-d for scalar outputs)
        whose graph is the program blocked by the inputs' chunks, one task per
        block operation, each reading only the chunks it needs; compute them with
        ``.compute()``, ``.persist()`` or ``dask.compute(...)`` on any scheduler,
        or pass them on to dask.array code or to another compiled function.
        Inputs whose chunks disagree along a dimension (or are irregular) are
        rechunked, with a :class:`~computations.schedulers.dask_arrays.RechunkWarning`;
        see :mod:`computations.schedulers.dask_arrays`.

        >>> import dask.array as da
        >>> X = MatrixSymbol('X', sympy.Symbol('n'), 2)
        >>> G = function([X], X.T*X)(da.ones((6, 2), chunks=(3, 2)))
        >>> G
        dask.array<out0, shape=(2, 2), dtype=float64, chunksize=(2, 2), chunktype=numpy.ndarray>
        >>> G.compute()
        array([[6., 6.],
               [6., 6.]])

        ``check_assumptions`` (default: the function's) first checks that the
        arrays have the properties the assumptions declare for them (see
        :func:`~computations.matrices.compiler.assumptions.check_values`).

        Before anything is allocated, a call whose predicted working memory
        (:meth:`peak_bytes`) exceeds the memory available raises a
        ``MemoryError`` naming the largest values.
        """
        if kwargs:                                   # every path takes them by position
            args = tuple(self._arguments(args, kwargs))
        if scheduler is None and check_assumptions is None:
            results = self._hot(args)                # a layout seen before (module dispatch)
            if results is not MISS:
                return results
        check = self.check_assumptions if check_assumptions is None \
            else check_flag(check_assumptions, 'check_assumptions')
        fast = scheduler is None and not check and self.runner == 'source'
        if fast:
            args = plain(args)                       # a memmap as a view (module forms)
            results = self._fast(args)
            if results is None and self._dispatch is not None:
                results = self._variants.call(args)  # other forms (modules forms, layouts)
            if results is not None:
                return self.structure.pack(results)
        given = self._arguments(args, {})
        check_dtypes(self.inputs, given)
        batch = batch_shape(self.inputs, given)
        if batch is not None:                        # a stack of problems (module batches)
            flat = self.structure.flat(self.inputs, given) if self.structure.vectors else None
            if not math.prod(batch):
                return self.structure.pack(empty_batch(self, given, batch), flat)
            results = run_stacked_batch(self, given, batch) if fast else None
            return self.structure.pack(results or run_batch(
                lambda problem: (fast and self._fast(problem)) or
                self._one(problem, scheduler, check)[0], self.inputs, given, batch), flat)
        return self.structure.pack(*self._one(given, scheduler, check))

    def _fast(self, args):
        """The flat results of the fast path -- arrays that go to the generated function as
        they are, its shape signature seen before -- or None when ``args`` need the full
        path (converting, binding, checking)."""
        ready = self._ready(args)
        if ready is None:
            return None
        run = self._runners.get(ready)
        if run is None:
            run = self._runner(*ready)
        else:
            self._cache.hit(ready[1])
            if self._dispatch is not None:           # the next such call goes straight in
                # if its program is still cached (another thread may have evicted it)
                self._cache.if_present(ready[1], lambda: self._dispatch.learn(
                    args, run, ready[1]))
        if self.donate:
            args = self._guarded(args)
        return run(*args)

    def _one(self, given, scheduler, check):
        """``(results, flat)``: one problem's flat tuple of results, and which of them
        come back 1-D (see :class:`~computations.front_door.outputs.OutputStructure`)."""
        flat = self.structure.flat(self.inputs, given) if self.structure.vectors else None
        if any(is_dask_collection(value) for value in given):
            return self._lazy(given, scheduler, check), flat
        arrays = all(isinstance(value, np.ndarray) for var, value in zip(self.inputs, given)
                     if isinstance(var, MatrixExpr))
        if arrays:                                   # check memory before converting anything
            specialization, dtype, converted = self._predict(given)
            specialization.check_memory(dtype, converted)
        values, dims = self._prepare(given)
        if not arrays:                               # else the same shapes found it above
            specialization = self._specialization(dims)
            specialization.check_memory(prepared_dtype(values))
        if check:                  # on the caller's arrays, as given (not transposed views)
            check_values(self.assumptions, dict(zip(self.inputs, given)), dims)
        if scheduler is not None:
            return specialization.run_dask(values, scheduler), flat
        return specialization.run(values, self.runner), flat

    def _full(self, *args):
        """The flat results (1-D where a call gives them so) of the full path on the
        positional ``args``: the function's own program, on Fortran-ordered copies where
        the arrays are not; what a variant runs when its program fails, so that an error
        is the same whatever the arrays' layout (:mod:`.layouts`)."""
        return self.structure.flattened(*self._one(args, None, False))

    def _lazy(self, given, scheduler, check):
        """A call with dask arrays: the results as dask arrays, nothing computed (see
        :mod:`computations.schedulers.dask_arrays`)."""
        if scheduler is not None:
            raise DaskArgumentError(f'scheduler={scheduler!r}', 'with dask arrays: the call '
                                    'computes nothing; give the scheduler to .compute() or '
                                    'dask.compute() instead')
        if check:
            raise DaskArgumentError('check_assumptions=True', 'with dask arrays: checking '
                                    'needs whole arrays; check them before the call')
        prepared = prepare(self.inputs, dict(zip(self.inputs, given)), self.blocksize,
                           stacklevel=5)   # the caller of __call__ (-> _one -> _lazy -> prepare)
        return self._specialization(prepared.dims).run_lazy(prepared)

    def _runner(self, dtype, key):
        """The generated function for arrays of ``dtype`` binding the dimensions to ``key``,
        after the memory check; kept for the next calls when the check is skipped anyway
        (a peak under :data:`~computations.front_door.specialization.MEMORY_CHECK_BYTES`)."""
        found = self._specialization(dict(zip(self.dimensions, key)))
        found.check_memory(dtype, 0)
        run = found.generated(dtype)
        run = getattr(run, 'function', run)     # the bare function: the values are prepared
        # (an empty-matrix program is a plain function)
        if found.peak_bytes(dtype) < MEMORY_CHECK_BYTES:      # if not evicted meanwhile
            self._cache.if_present(key, lambda: self._runners.__setitem__((dtype, key), run))
        return run

    def _guarded(self, args):
        """``args`` with the donated arrays that must not be overwritten copied (see
        :func:`~computations.schedulers.execute.guard_donations`)."""
        guarded = guard_donations(dict(zip(self.inputs, args)), self.donate)
        return [guarded[var] for var in self.inputs]

    def _prepare(self, given):
        dims = {}
        arguments = dict(zip(self.inputs, given))
        values = prepare_inputs(self.inputs, arguments, dims=dims, symmetric=self._symmetric)
        return guard_donations(values, self.donate, given=arguments), dims

    def profile(self, /, *args, **kwargs):
        """Run once on these arrays, timing each routine call: a printable
        :class:`~computations.schedulers.profile.Profile` (seconds, FLOPs and GFLOP/s per call,
        and the total against this machine's DGEMM rate), of the program a call on these
        arrays runs (for C-ordered arrays, the variant reading them transposed)."""
        function, given, renaming = self._variants.laid_out(
            self._one_problem('profile', args, kwargs))
        if function is not self:              # its table computes the variant's values
            with renaming:
                return function.profile(*given)
        values, dims = self._prepare(given)
        return self._specialization(dims).profile(values)

    def peak_bytes(self, /, *args, **kwargs):
        """The working memory, in bytes, a call on these arrays (or shapes, as tuples) needs.

        The most bytes the call holds at once beyond the caller's arrays: the
        program's buffers in its memory-aware order (see
        :mod:`computations.schedulers.memory`), the results, and copies of arrays that are
        not contiguous float arrays of the program's dtype (a C-ordered array is read
        transposed, see :mod:`.layouts`).

        >>> A = sympy.MatrixSymbol('A', sympy.Symbol('n'), 2)
        >>> f = function([A], [A.T*A])
        >>> a = np.ones((2000, 2))
        >>> f.peak_bytes((1000, 2)), f.peak_bytes(a[::2]), f.peak_bytes(a[:1000])
        (32, 16032, 32)
        """
        function, given, _ = self._variants.laid_out(self._one_problem('peak_bytes', args,
                                                                        kwargs))
        if function is not self:
            return function.peak_bytes(*given)
        specialization, dtype, converted = self._predict(given)
        return specialization.peak_bytes(dtype) + converted

    def _predict(self, given):
        """``(specialization, dtype, bytes of converted copies)`` for arguments (arrays or
        shapes), from their shapes and dtypes alone: nothing is converted yet."""
        arrays = [(var, value) for var, value in zip(self.inputs, given)
                  if isinstance(var, MatrixExpr)]
        specialization = self._specialization(self._bound_by(given))
        dtypes = [np.asarray(v).dtype for _, v in arrays if not isinstance(v, tuple)]
        dtype = program_dtype(dtypes)
        converted = sum(conversion_bytes(var, value, dtype, specialization.sizes,
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
        folded = self._keywords
        for name, value in kwargs.items():
            matches = folded.get(name) or folded.get(unicodedata.normalize('NFKC', name), ())
            if len(matches) > 1:
                raise TypeError(f'{self!r}: keyword argument {name!r} may be any of the '
                                f'inputs {", ".join(matches)} (Python reads them alike); '
                                'give them by position')
            if not matches:
                raise TypeError(f'{self!r} got an unexpected keyword argument {name!r}')
            name = matches[0]
            if name in values:
                raise TypeError(f'{self!r} got multiple values for argument {name!r}')
            values[name] = value
        missing = [name for name in names if name not in values]
        if missing:
            raise TypeError(f'{self!r} takes {len(names)} arguments ({", ".join(names)}), '
                            f'got {len(values)}: missing {", ".join(missing)}')
        return [values[name] for name in names]

    # Programs -----------------------------------------------------------------

    def specialize(self, /, *args, **kwargs):
        """The :class:`Specialization` for the shapes of these arrays (or shapes, as
        tuples): the program that runs for Fortran-ordered arrays, in this function's
        inputs.  (C-ordered ones run a variant that reads them transposed: see
        :mod:`.layouts`; :meth:`profile` and :meth:`peak_bytes` follow the call.)

        >>> A = sympy.MatrixSymbol('A', sympy.Symbol('n'), 2)
        >>> f = function([A], [A.T*A])
        >>> f.specialize((5, 2)).dims
        {n: 5}
        """
        return self._specialization(self._bound_by(self._one_problem('specialize', args,
                                                                     kwargs)))

    def _bound_by(self, given):
        """``{dimension: size}`` the shapes of ``given`` bind (arrays, or shapes as tuples),
        or the error naming the input whose shape does not fit."""
        return bind_dimensions(self.inputs, {
            var: value if isinstance(value, tuple) else np.shape(value)
            for var, value in zip(self.inputs, given) if isinstance(var, MatrixExpr)})

    def _one_problem(self, method, args, kwargs):
        """The arguments of ``method``, which takes one problem: a batch (a stack, or shapes
        with batch dimensions) is refused by name, not as a matrix of the wrong shape."""
        given = self._arguments(args, kwargs)
        for var, value in zip(self.inputs, given):
            if not isinstance(var, MatrixExpr) and (isinstance(value, tuple)
                                                    or np.ndim(value) > 0):
                raise TypeError(f'{method}: input {var} is a scalar: give a number, not '
                                f'{"a shape" if isinstance(value, tuple) else "an array"} '
                                f'({value!r})' + ('' if isinstance(value, tuple) else
                                                  '; a batch of problems runs by calling '
                                                  'the function'))
        batch = None
        try:                        # a shape given as a tuple stands for an array of no memory
            arrays = [np.broadcast_to(False, value) if isinstance(value, tuple) else value
                      for value in given]
            batch = batch_shape(self.inputs, arrays)
        except (ValueError, TypeError):
            pass                    # not a batch that broadcasts: the checks that follow name it
        if batch is not None:
            stacked = next(var for var, value in zip(self.inputs, arrays)
                           if isinstance(var, MatrixExpr) and np.ndim(value) > 2)
            raise ValueError(f'{method} takes one problem, but input {stacked} is a stack of '
                             f'them (batch {batch}): give one problem\'s arrays, e.g. '
                             f'{stacked}[0], or their shapes')
        return given

    def _specialization(self, dims):
        """The :class:`Specialization` for ``{dimension: size}``, from the cache (made on a
        miss)."""
        return self._cache.get(tuple(dims.get(d) for d in self.dimensions), self._compile)

    def _compile(self, key):
        dims = dict(zip(self.dimensions, key))
        kind = EmptySpecialization if is_empty(self.inputs, self._canonical, dims) \
            else Specialization
        with paused():                 # the collector's pauses (see .garbage)
            return kind(self, dims)

    @property
    def default(self):
        """The :class:`Specialization` for the default sizes (see the class)."""
        check_shapes_at(self.inputs, self.sizes, self._options['sizes'])
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
        """The program as a ``graphviz.Digraph`` (default sizes); a blocked program as its
        summary, one box per operation (``blocks='clusters'`` or ``'all'`` for every block
        operation: see :func:`computations.pictures.dot`)."""
        return self.program.dot(**{**self._picture_options(), **options})

    def pseudocode(self):
        """The program, one routine call per line (default sizes)."""
        return self.default.pseudocode()

    @property
    def source(self):
        """The generated Python source that runs the program (default sizes, float64)."""
        return self.default.source





def _rebuild(inputs, outputs, assumptions, options):
    """A pickled :class:`Function`, made again (see ``Function.__reduce__``)."""
    return Function(inputs, outputs, assumptions, **options)
