"""Zero-size dimensions: the values of matrix expressions when something is empty.

BLAS and LAPACK define quick returns for zero sizes, but scipy's f2py
wrappers reject empty arrays (``2*X`` with ``X`` 0 x 3 raises
``_fblas.error``, a solve with n = 0 ``unexpected array size``).  Zero sizes
are rare, so they take their own path instead of a guard in every kernel and
emitter: when a binding of the dimensions makes some matrix empty
(:func:`is_empty`), the front door builds an :class:`EmptyProgram` instead of
compiling.

An empty matrix has no entries, so its value is fully determined; every
expression of it is too.  :func:`reduce_empty` rewrites each output
accordingly -- an empty subexpression is a ``ZeroMatrix``, the trace of an
empty matrix is 0, its determinant 1, and products with a zero matrix vanish
-- and what remains only involves non-empty inputs.  :class:`EmptyProgram`
makes the constant outputs directly (zeros, identities, floats, copies of
inputs) and compiles the rest with :func:`computations.function` over the
inputs they still use, at numeric shapes.

>>> from sympy import MatrixSymbol, Symbol
>>> m, k = Symbol('m'), Symbol('k')
>>> A, B, C = MatrixSymbol('A', m, k), MatrixSymbol('B', k, m), MatrixSymbol('C', m, m)
>>> reduce_empty(A*B + C, {m: 3, k: 0})
C
>>> is_empty([A, B, C], [A*B + C], {m: 3, k: 0}), is_empty([A, B, C], [A*B + C], {m: 3, k: 2})
(True, False)
"""
import numpy as np
import sympy
from numpy.linalg import LinAlgError
from sympy import (Determinant, Identity, MatAdd, MatMul, MatPow, MatrixExpr, MatrixSymbol,
                   OneMatrix, Trace, Transpose, ZeroMatrix)
from sympy.matrices.expressions.factorizations import Factorization
from sympy.matrices.expressions.matexpr import MatrixElement

import computations

from .graph import ComputationsError
from .matrices.compiler.driver import bind_defined
from .matrices.expressions import SymmetricLower
from .matrices.ops.scalars import scalar_type
from .sizes import Binding, check_position

__all__ = ['reduce_empty', 'is_empty', 'EmptyProgram', 'SingularZeroError']


class SingularZeroError(ComputationsError, LinAlgError):
    """An expression inverts, factors or takes the log-determinant of a matrix that a zero
    dimension makes the (non-empty) zero matrix: it is undefined for any input values."""

    def __init__(self, expression, sizes):
        self.expression, self.sizes = expression, sizes
        bound = ', '.join(f'{d} = {v}' for d, v in sorted(sizes.items(), key=str))
        super().__init__(f'{expression} is undefined when {bound}: a product over an empty '
                         'dimension makes a matrix in it zero, and the zero matrix is singular')


def reduce_empty(expr, sizes):
    """``expr`` with its values over empty matrices written out (see the module).

    ``sizes`` maps dimension Symbols to ints.  Top-down, a matrix
    subexpression with a zero dimension becomes the ``ZeroMatrix`` of its
    (symbolic) shape, the trace of an empty matrix 0 and its determinant 1;
    then the expression is rebuilt, so products with a zero matrix vanish and
    sums drop them.  Inverting, factoring or taking the log-determinant of a
    non-empty matrix that became zero (``(X.T*X).I`` with ``X`` 0 x p)
    raises :class:`SingularZeroError`, even inside an empty subexpression:
    the whole is undefined, as NumPy finds when it evaluates it.

    >>> from sympy import MatrixSymbol, Symbol, Trace, Determinant, log
    >>> n, m = Symbol('n'), Symbol('m')
    >>> B, S = MatrixSymbol('B', n, m), MatrixSymbol('S', n, n)
    >>> reduce_empty(B.T*S.I*B, {n: 0, m: 2})
    0
    >>> _.shape, reduce_empty(Trace(S) + log(Determinant(S)) + 2, {n: 0})
    ((m, m), 2)
    """
    return _reduce(expr, _binding(sizes), {})


def _has_zero_size(expr, sizes):
    """Whether a matrix expression has a zero dimension once ``sizes`` (a
    :class:`~computations.sizes.Binding`) are substituted."""
    return any(sizes.value(d) == 0 for d in expr.shape)


def _binding(dims):
    """A :class:`~computations.sizes.Binding` of the dimensions that have a size."""
    return Binding({d: v for d, v in dims.items() if v is not None})


def _reduce(expr, sizes, memo):
    found = memo.get(expr)
    if found is None:
        found = memo[expr] = _reduce_node(expr, sizes, memo)
    return found


def _reduce_node(expr, sizes, memo):
    if isinstance(expr, MatrixElement):       # an entry of an empty matrix does not exist
        check_position(expr, sizes.value)
    if isinstance(expr, MatrixExpr) and _has_zero_size(expr, sizes):
        # Nothing to compute.  The arguments are still reduced, for their errors only: an
        # inverse of a zero matrix inside makes the whole undefined, as NumPy finds.
        for arg in expr.args:
            if isinstance(arg, sympy.Basic):
                _reduce(arg, sizes, memo)
        return ZeroMatrix(*expr.shape)
    if isinstance(expr, (Trace, Determinant)) and _has_zero_size(expr.arg, sizes):
        _reduce(expr.arg, sizes, memo)        # for its errors (see above)
        return sympy.S.Zero if isinstance(expr, Trace) else sympy.S.One
    if isinstance(expr, MatrixSymbol) or not expr.args:
        return expr
    args = [_reduce(arg, sizes, memo) if isinstance(arg, sympy.Basic) else arg
            for arg in expr.args]
    if all(new is old for new, old in zip(args, expr.args)):
        return expr
    return _rebuild(expr, args, sizes)


def _rebuild(expr, args, sizes):
    """``expr`` with new arguments, zero matrices collapsed (never an inverse of zero)."""
    if isinstance(args[0], ZeroMatrix):       # a non-empty zero: empty ones were replaced
        if isinstance(expr, (Trace, Determinant, MatrixElement)):
            return sympy.S.Zero
        if isinstance(expr, SymmetricLower):
            return args[0]
        if isinstance(expr, Factorization) or (isinstance(expr, MatPow)
                                               and not args[1].is_positive):
            raise SingularZeroError(expr, sizes.dims)   # and SymPy refuses Inverse(ZeroMatrix)
    rebuilt = expr.func(*args)
    if isinstance(rebuilt, MatrixExpr):
        return rebuilt.doit(deep=False)       # 2*0, A*0, 0 + C, 0.T: zeros and C
    if rebuilt.has(sympy.zoo, sympy.nan):     # log(0), 1/0: of a zero determinant
        raise SingularZeroError(expr, sizes.dims)
    return rebuilt


def is_empty(inputs, outputs, dims):
    """Whether some matrix is empty once ``dims`` (``{dimension: int}``) are bound: an input,
    an output or any subexpression, declared sizes such as ``n - 1`` and numeric zeros
    included.

    >>> from sympy import MatrixSymbol, Symbol
    >>> n = Symbol('n')
    >>> X = MatrixSymbol('X', n - 1, 3)
    >>> is_empty([X], [2*X], {n: 1}), is_empty([X], [2*X], {n: 2})
    (True, False)
    """
    sizes = _binding(dims)
    return any(isinstance(node, MatrixExpr) and _has_zero_size(node, sizes)
               for expr in (*inputs, *outputs) for node in sympy.preorder_traversal(expr))


class EmptyProgram:
    """The outputs of a compiled function for a binding of its dimensions that makes some
    matrix empty (see :func:`is_empty`), computed without giving BLAS an empty array.

    ``outputs`` are the function's canonical outputs over ``inputs`` (matrix
    and scalar Symbols), ``assumptions`` its assumptions and ``dims`` the
    binding ``{dimension: int}``; ``compile`` (default
    :func:`computations.function`) compiles the outputs that still need a
    program, with the other ``options`` (``runner``, ``low_memory``...).  Attributes: ``reduced`` (each output after
    :func:`reduce_empty`, at numeric shapes) and ``function`` (the compiled
    :class:`~computations.front_door.Function` of the outputs that are not
    constants or copies of inputs, over the inputs they use; None when there
    are none).

    A call takes ``{input: prepared value}`` (2-D Fortran-ordered float
    arrays of one dtype, floats for scalars, as
    :func:`computations.schedulers.execute.prepare_inputs` makes them) and returns a tuple:
    arrays of that dtype, never one of the caller's (scalars of it for scalar outputs:
    :func:`~computations.matrices.scalar_type`).

    >>> from sympy import MatrixSymbol, Symbol, Q
    >>> n = Symbol('n')
    >>> A, b = MatrixSymbol('A', n, n), MatrixSymbol('b', n, 1)
    >>> program = EmptyProgram([A.I*b], [A, b], [Q.positive_definite(A)], {n: 0})
    >>> program({A: np.zeros((0, 0)), b: np.zeros((0, 1))})
    (array([], shape=(0, 1), dtype=float64),)
    """

    def __init__(self, outputs, inputs, assumptions=(), dims=None, *, compile=None, **options):
        self.dims = dict(dims or {})
        self._sizes = _binding(self.dims)
        sizes = self._sizes.dims
        self.inputs = tuple(inputs)
        numeric = {var: var.xreplace(sizes) for var in self.inputs}
        # the sizes bound into the coefficients first, as a compilation does: Trace(A)/n
        # at n = 0 is undefined (0/0), and reduced first it was the 0 that Trace(A) is
        self.reduced = tuple(reduce_empty(bind_defined(out, sizes), sizes).xreplace(sizes)
                             for out in outputs)
        originals = {value: var for var, value in numeric.items()}
        #: per output, the input it is (None: it is not one)
        self.passed = tuple(originals.get(expr) for expr in self.reduced)
        self._makers = tuple(_maker(expr, originals) for expr in self.reduced)
        rest = [expr for expr, maker in zip(self.reduced, self._makers) if maker is None]
        self.function, self._arguments = None, ()
        if rest:
            used = set().union(*(expr.free_symbols for expr in rest))
            arguments = [numeric[var] for var in self.inputs if numeric[var] in used]
            # Assumptions about inputs that became empty (or are unused) have nothing to say.
            kept = [fact for fact in (sympy.sympify(a).xreplace(sizes) for a in assumptions)
                    if fact.free_symbols <= set(arguments)]
            compile = computations.function if compile is None else compile
            self.function = compile(arguments, rest, kept, **options)
            self._arguments = tuple(originals[var] for var in arguments)

    def __repr__(self):
        bound = ', '.join(f'{d}={v}' for d, v in self.dims.items())
        return f'EmptyProgram({", ".join(map(str, self.reduced))}; {bound})'

    def peak_bytes(self, dtype=np.float64):
        """The most bytes a call holds at once: the outputs made directly, and the peak of
        the program of the others."""
        itemsize = np.dtype(dtype).itemsize
        made = sum(self._sizes.nelements(expr) * itemsize
                   for expr, maker in zip(self.reduced, self._makers)
                   if maker is not None and isinstance(expr, MatrixExpr))
        return made + (0 if self.function is None else self.function.default.peak_bytes(dtype))

    def __call__(self, values, scheduler=None):
        """The outputs for ``{input: prepared value}``; ``scheduler`` as for a Function call."""
        dtype = next((v.dtype for v in values.values() if isinstance(v, np.ndarray)
                      and v.dtype.kind == 'f'), np.dtype(np.float64))
        computed = iter(()) if self.function is None else iter(
            self.function(*[values[var] for var in self._arguments], scheduler=scheduler))
        return tuple(next(computed) if maker is None else maker(values, dtype)
                     for maker in self._makers)


def _maker(expr, inputs):
    """``(values, dtype) -> value`` for an output that needs no program: a constant, a
    scalar of scalar inputs, or an input (copied); None for the others."""
    if expr in inputs:
        var = inputs[expr]
        if isinstance(var, MatrixExpr):
            return lambda values, dtype: np.array(values[var], dtype=dtype, order='F')
        return lambda values, dtype: scalar_type(dtype)(values[var])
    if expr.atoms(MatrixSymbol):
        return None
    if isinstance(expr, MatrixExpr):
        if not all(isinstance(node, _CONSTANT_FORMS) for node in sympy.preorder_traversal(expr)
                   if isinstance(node, MatrixExpr)):
            return None                       # something rarer (a factor of I...): compile it
        return lambda values, dtype: _constant(expr, values, dtype)
    return lambda values, dtype: scalar_type(dtype)(_scalar(expr, values))


#: The matrix expressions :func:`_constant` evaluates (canonical powers have integer exponents).
_CONSTANT_FORMS = (ZeroMatrix, Identity, OneMatrix, MatAdd, MatMul, Transpose, MatPow)


def _scalar(expr, values):
    """A scalar expression of scalar inputs, as a float."""
    known = {s: sympy.Float(values[s]) for s in expr.free_symbols}
    return float(expr.xreplace(known).doit())


def _constant(expr, values, dtype):
    """The array of a matrix expression of constants (zeros, identities, ones) and scalars."""
    if isinstance(expr, (ZeroMatrix, Identity, OneMatrix)):
        rows, cols = map(int, expr.shape)
        make = {ZeroMatrix: np.zeros, OneMatrix: np.ones,
                Identity: lambda shape, **kw: np.eye(rows, **kw)}[type(expr)]
        return make((rows, cols), dtype=dtype, order='F')
    if isinstance(expr, MatAdd):
        return np.asfortranarray(sum(_constant(term, values, dtype) for term in expr.args))
    if isinstance(expr, MatMul):
        coefficient, factors = expr.as_coeff_matrices()
        product = _constant(factors[0], values, dtype)
        for factor in factors[1:]:
            product = product @ _constant(factor, values, dtype)
        return np.asfortranarray(product * dtype.type(_scalar(coefficient, values)))
    if isinstance(expr, Transpose):
        return np.asfortranarray(_constant(expr.arg, values, dtype).T)
    power = np.linalg.matrix_power(_constant(expr.base, values, dtype), int(expr.exp))
    return np.asfortranarray(power, dtype=dtype)       # a MatPow (see _CONSTANT_FORMS)
