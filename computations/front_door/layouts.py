"""C-ordered arrays go to the program as they are, read transposed: a function's variants.

NumPy makes C-ordered arrays; BLAS and LAPACK read Fortran-ordered ones.  A
C-ordered ``n x k`` array ``a`` is the Fortran-ordered ``k x n`` array
``a.T`` (a view), and the compiler reads a transposed matrix for free, by a
routine's ``trans`` flag.  So a call whose arrays are C-ordered runs the
function's *variant* for that layout: the same outputs with each such input
``X`` written ``X_T.T``, where ``X_T`` is an input of the transposed shape,
compiled once and given ``a.T``.  Without it each array
is copied to Fortran order first: a product of a C-ordered 2000 x 2000
matrix and a vector took 10.8 ms, 0.8 ms of it the product.  A symmetric
input needs no variant (it is its own transpose): its ``a.T`` goes to the
same program.

When every matrix argument that is not a vector is C-ordered, the variant
also computes each matrix output transposed, and the call gives back its
transpose, a C-ordered view (as NumPy's results on C-ordered arrays are):
the whole problem is then the transposed one, and no result is copied out
of a transpose (``A + B`` took 24.6 ms on C-ordered arrays at n = 2000, its
sum held transposed and copied out, against 5.9 now and 5.9 on Fortran
ones).  With some Fortran-ordered matrices among them, the results are
Fortran-ordered, and an output the variant holds transposed is copied.

The assumptions are rewritten with the inputs (``Q.upper_triangular(X)``
says ``X_T`` is lower triangular).  When a variant's program fails (a
matrix not positive definite, a singular one), the call runs the function's
own program on copies instead, so that the error is the one any layout
gives (``GESV: G is singular``, not ``GETRS: G.T is singular`` from the
variant's factorization of the transpose); :meth:`Function.profile`, which
times the variant, names its matrices in the caller's inputs
(:func:`renamed`).  A function's :class:`Variants` makes the variants, and
serves every argument form of :mod:`.forms` (1-D vectors, numbers, memmaps:
with the function's own program when no input is read transposed),
teaching each layout to the function's dispatch.

>>> import numpy as np, sympy, computations
>>> n = sympy.Symbol('n')
>>> A, x = sympy.MatrixSymbol('A', n, n), sympy.MatrixSymbol('x', n, 1)
>>> variant, back = transposed(computations.function([A, x], A*x), (0,))
>>> variant.outputs, back
((A_T.T*x,), {A_T: A.T})
>>> print(variant.specialize((3, 3), (3, 1)).pseudocode())
out0 := A_T'*x    [GEMV]
"""
import contextlib
import itertools
from typing import NamedTuple

import sympy
from sympy import Determinant, MatrixExpr, MatrixSymbol, Transpose

from computations.schedulers.execute import column_vector

from ..log import get_logger
from ..matrices import RoutineError
from .dtypes import check_dtypes
from .forms import adapted, plain, views

__all__ = ['Variants', 'Found', 'transposed', 'renamed']

_log = get_logger('front_door')

#: The predicates a transpose swaps (every other one a matrix and its transpose share).
SWAPPED = {'upper_triangular': sympy.Q.lower_triangular,
           'lower_triangular': sympy.Q.upper_triangular}


def transposed(function, flipped, results=()):
    """``(variant, back)``: ``function`` with the inputs at positions ``flipped`` taken
    transposed (each ``X`` as ``X_T``, a name no input has) and the outputs at positions
    ``results`` computed transposed, and ``{X_T: X.T}``, what to write for each new input
    to name a matrix in the caller's inputs again.  The variant has ``function``'s
    options, but returns a flat tuple, and none of its own check of assumptions or donated
    inputs (a function with those takes the full path)."""
    inputs, substitution, back = list(function.inputs), {}, {}
    taken = {str(x) for x in inputs}
    for i in flipped:
        X = inputs[i]
        name = next(f'{X.name}_T{j or ""}' for j in itertools.count()
                    if f'{X.name}_T{j or ""}' not in taken)
        taken.add(name)
        inputs[i] = Xt = MatrixSymbol(name, X.shape[1], X.shape[0])
        substitution[X], back[Xt] = Xt.T, X.T
    outputs = [_fold((output.T if i in results else output).xreplace(substitution))
               for i, output in enumerate(function.outputs)]
    assumptions = [_assumption(fact, substitution) for fact in function.assumptions]
    options = {**function._options, 'names': None, 'sizes': None, 'donate': (),
               'check_assumptions': False}
    return type(function)(inputs, outputs, assumptions, **options), back


def _fold(expr):
    """``expr`` with every transpose of a transpose written as the matrix itself, and the
    determinant of a transpose as the matrix's."""
    return expr.replace(lambda e: isinstance(e, (Transpose, Determinant))
                        and isinstance(e.arg, Transpose),
                        lambda e: e.arg.arg if isinstance(e, Transpose) else type(e)(e.arg.arg))


def _assumption(fact, substitution):
    """``fact`` about the variant's inputs: ``Q.upper_triangular(X)`` becomes
    ``Q.lower_triangular(X_T)``, a fact about a compound expression the same fact of the
    expression rewritten."""
    arg, *rest = fact.arguments
    arg = _fold(arg.xreplace(substitution)) if isinstance(arg, sympy.Basic) else arg
    if isinstance(arg, Transpose) and isinstance(arg.arg, MatrixSymbol):
        name = str(fact.function.name)
        return SWAPPED[name](arg.arg) if name in SWAPPED else fact.function(arg.arg, *rest)
    return fact.function(arg, *rest)


def renamed(error, back):
    """``error`` (a :class:`~computations.matrices.RoutineError` of a variant's program)
    about the matrix it names written in the caller's inputs (``back``: see
    :func:`transposed`), or its transpose if that has fewer transposes and the error says
    the same of it (``transposable``: a Cholesky factorization's or a triangular matrix's,
    not an LU factor's, whose zero moves with the pivoting): the variant's routine often
    works on the transpose of the caller's matrix.

    >>> A, A_T = MatrixSymbol('A', 2, 3), MatrixSymbol('A_T', 3, 2)
    >>> from computations.matrices import SingularMatrixError
    >>> print(renamed(SingularMatrixError('GETRF', A_T*A_T.T, 2), {A_T: A.T}))
    GETRF: A.T*A is singular (its factor has a zero at diagonal position 2)
    >>> T, T_T = MatrixSymbol('T', 3, 3), MatrixSymbol('T_T', 3, 3)
    >>> print(renamed(SingularMatrixError('TRSM', T_T, 2), {T_T: T.T}))
    TRSM: T is singular (it has a zero at diagonal position 2)
    """
    written = _fold(error.expression.xreplace(back))
    if error.transposable and isinstance(written, MatrixExpr):
        written = min((written, _fold(written.T)), key=lambda e: e.count(Transpose))
    return error.about(written)


class Found(NamedTuple):
    """What a call's arguments need (:meth:`Variants._find`): the ``variant`` that runs
    (the function itself when no input is read transposed), ``back`` (to name its
    matrices in the caller's inputs: :func:`renamed`), the positions of the outputs it computes transposed
    (``results``), of the C-ordered arguments (``flipped``) and of those read transposed
    (``changed``: not symmetric), the arguments the variant takes (``given``), the
    positions of the 1-D vectors (``columns``), of the outputs that come back 1-D
    (``flat``), of the scalars given as other numbers than floats (``numbers``), and the
    names of those that are Python ints (``ints``, by position)."""
    variant: object
    back: dict
    results: tuple
    flipped: tuple
    changed: tuple
    given: tuple
    columns: tuple
    flat: tuple
    numbers: tuple
    ints: dict


class Variants:
    """The variants of a :class:`~computations.front_door.Function` that read C-ordered
    arrays transposed, by the positions of the inputs they transpose, and the calls with
    the other argument forms of :mod:`.forms` (run by the function's own program when no
    input is read transposed): a variant made on the first call with its layout, each
    layout taught to the function's dispatch on the second call (as its fast path does),
    so that the next calls go straight to the program.

    A variant that fails to compile where the function's own program compiles is a bug
    of the compiler's: it is logged, and such calls copy their arrays (the full path).
    A variant's program that fails on the arrays (a routine's error) gives way to the
    function's own, on copies, whose error the call raises.
    """

    def __init__(self, function):
        self.function = function
        #: Per input, whether it is a column vector (a 1-D array may be given for it).
        self._columns = tuple(map(column_vector, function.inputs))
        #: ``(changed, results)`` (positions of the inputs read and of the outputs computed
        #: transposed) -> ``(variant, back, results)``, or False for a variant that failed.
        self._found = {}

    def call(self, args):
        """The flat results of a call on arrays that are ready but for being C-ordered (or
        1-D, or numbers), or None when ``args`` need the full path (which converts them, or
        names what is wrong)."""
        found = self._find(args)
        if found is None:
            return None
        variant = found.variant
        ready = variant._ready(found.given)
        if ready is None:
            return None
        run = variant._runners.get(ready)
        found_run = run is not None
        if run is None:
            try:
                run = variant._runner(*ready)
            except MemoryError:             # the full path says so, in the caller's terms
                return None
            except Exception:               # the full path says what is wrong, unless
                if self._compiles(args):    # only the variant fails: a bug of the compiler's
                    if found.changed:       # (the function itself: the full path says it)
                        self._found[found.changed, found.results] = \
                            self._abandoned(found.changed)
                return None
        call = adapted(run, len(args), len(variant.outputs), flipped=found.flipped,
                       columns=found.columns, numbers=found.numbers, ints=found.ints,
                       results=found.results, flat=found.flat,
                       failed=self.function._full if found.changed else None)
        if found_run:
            self._learn(args, variant, ready[1], call, (found.changed, found.results))
        return call(*args)

    def _learn(self, args, variant, key, call, layout):
        """Teach the function's dispatch ``args``' layout: served by ``call`` (running the
        program of the ``variant``'s cache key ``key``), its uses counted in the variant's
        cache, forgotten when that cache drops ``key``."""
        variant._cache.hit(key)
        tag = key if variant is self.function else (layout, key)
        dispatch = self.function._dispatch
        variant._cache.if_present(key, lambda: dispatch.learn(args, call, key, variant._cache,
                                                              tag))

    def laid_out(self, given):
        """``(function, arguments, renaming)``: the variant that runs for these arguments,
        what it takes, and a context that renames its errors into the caller's symbols --
        or ``(the function, given, a context that does nothing)``, also when the function's
        own program does not compile for these arrays: a mistake (a shape, a dtype, an
        assumption the shapes break) is named in the caller's inputs."""
        given = plain(given)
        found = self._find(given) if self.function._dispatch is not None else None
        if found is not None:
            check_dtypes(self.function.inputs, given)
        if found is None or not self._compiles(given):     # its own path names the mistake
            return self.function, given, contextlib.nullcontext()
        return found.variant, found.given, _renaming(found.back)

    def _find(self, args):
        """The :class:`Found` layout of a call with C-ordered arrays, 1-D vectors or
        scalars given as other numbers than floats, or None (for arguments that go as
        they are, or that the full path must convert or name).  When every matrix
        argument that is not a vector is C-ordered, the variant computes the matrix outputs
        that are not vectors (at ``results``) transposed, and the call returns their
        transposes, C-ordered views (a vector is both): the whole problem is then the
        transposed one, with no transpose left to copy (``A + B`` would add ``A_T + B_T``
        and copy its transpose out, 4x the time of NumPy's ``a + b`` at n = 2000)."""
        function = self.function
        found = views(args, function._matrices, self._columns)
        if found is None or found == ((), (), ()):
            return None
        flipped, columns, numbers = found
        changed = tuple(i for i in flipped if function.inputs[i] not in function._symmetric)
        results = ()
        if changed and not any(matrix and value.flags.f_contiguous
                               and not value.flags.c_contiguous
                               for value, matrix in zip(args, function._matrices)):
            results = tuple(i for i, output in enumerate(function.outputs)   # not vectors:
                            if isinstance(output, MatrixExpr) and 1 not in output.shape)
        variant = self._found.get((changed, results))
        if variant is None:            # two threads may both make it: one is kept
            variant = self._found.setdefault((changed, results),
                                             self._variant(changed, results))
        if not variant:
            return None
        flat = ()
        if columns and function.structure.vectors:
            flat = tuple(i for i, f in enumerate(function.structure.flat(function.inputs, args))
                         if f)
        ints = {i: function._names[i] for i in numbers if type(args[i]) is int}
        try:
            given = tuple(a.T if i in flipped else a[:, None] if i in columns else
                          float(a) if i in numbers else a for i, a in enumerate(args))
        except OverflowError:          # an int too large: the full path names it
            return None
        return Found(*variant, flipped, changed, given, columns, flat, numbers, ints)

    def _variant(self, changed, results):
        """``(variant, back, results)`` reading the inputs at ``changed`` transposed and
        computing the outputs at ``results`` transposed (see :func:`transposed`), the
        function itself when there are neither, False if it fails."""
        function = self.function
        if not changed:
            return function, {}, ()
        try:
            variant, back = transposed(function, changed, results)
        except Exception:              # a compiler bug: the full path copies the arrays
            return self._abandoned(changed)
        dispatch = function._dispatch
        variant._also_forget = lambda key: dispatch.forget(((changed, results), key))
        return variant, back, results

    def _compiles(self, args):
        """Whether the function's own program for the shapes of ``args`` compiles."""
        try:
            self.function._specialization(self.function._bound_by(args))
        except Exception:
            return False
        return True

    def _abandoned(self, changed):
        """False, for the variant of ``changed`` that failed (logged)."""
        _log.warning('the variant of %r reading inputs %s transposed failed; C-ordered '
                     'arrays will be copied', self.function, changed, exc_info=True)
        return False

    def cache_infos(self):
        """The :class:`~computations.front_door.CacheInfo` of each variant's cache."""
        return [found[0]._cache.info() for found in list(self._found.values())
                if found and found[0] is not self.function]

    def clear(self):
        """Forget every variant (and the programs each compiled)."""
        for found in list(self._found.values()):
            if found and found[0] is not self.function:
                found[0].cache_clear()
        self._found.clear()


@contextlib.contextmanager
def _renaming(back):
    """Within it, a :class:`~computations.matrices.RoutineError` is raised renamed by
    ``back`` (see :func:`renamed`)."""
    try:
        yield
    except RoutineError as error:
        raise renamed(error, back) from None
