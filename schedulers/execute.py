"""The interpretive executor: run a composite, operation by operation, on scipy.linalg.

:func:`execute` checks and converts the caller's values, compiles the
composite with the inplace pass, and interprets the token program
(:mod:`computations.schedulers.interpret`), calling each operation's registered kernel
(:mod:`computations.schedulers.kernels`).  Every matrix lives in a 2-D,
Fortran-ordered array of one float dtype (float32 if every matrix input is
float32, else float64).  The caller's arrays are never modified.

>>> import numpy as np, sympy
>>> from computations.matrices import GEMM, POSV
>>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 1)
>>> out = execute(POSV(A, B), {A: [[4., 1.], [1., 3.]], B: [1., 2.]})
>>> out[A.I * B]
array([[0.09090909],
       [0.63636364]])
"""
import decimal
import functools
import math
import numbers

import numpy as np
import sympy
from sympy import MatrixExpr

from computations import Computation
from computations.inplace import is_constant
from computations.sizes import Binding, is_integer
from computations.matrices import dtypes
from computations.matrices.ops.core import matrix_value

from .interpret import interpret
from .pipeline import lower

__all__ = ['execute', 'compile_program', 'run_program', 'prepare_inputs', 'constant_values',
           'bind_dimensions', 'guard_donations', 'scalar_value', 'column_vector', 'NUMBERS']


def execute(comp, inputs, *, donate=(), inplace=True, poison=False, stats=None):
    """Run ``comp`` on ``inputs`` (``{variable: array or float}``); return ``{output: array}``.

    A mathematical composite is first compiled by the inplace pass
    (:func:`computations.inplace.inplace_compile`) and the token program runs: one buffer
    per token, overwritten by the routines where the pass proved it safe.
    ``inplace=False`` runs the pure program instead (no overwrites); a token
    program given directly is checked (:func:`computations.inplace.check`) and run as it
    is.  The caller's arrays are never modified, except those listed in
    ``donate``, which the program may overwrite to save memory.
    ``poison=True`` fills each buffer with NaN when its value dies (a
    debugging mode: a program that reads a dead value then gives NaN).  A
    dict passed as ``stats`` receives figures of the run (see
    :func:`~computations.schedulers.interpret.interpret`).

    Every input variable needs a value; matrix values may be any array-like
    of real numbers (a 1-D array for a column vector too), scalar values
    numbers.  Errors name the variable: a missing or unknown one (KeyError),
    a wrong shape, a complex or non-numeric value, an empty matrix (ValueError: the routines
    cannot run on one; :func:`computations.function` can).  A routine's failure raises the
    error its operation declares (e.g.
    :class:`~computations.matrices.NotPositiveDefiniteError` naming the
    expression).
    """
    lowered = _lowered(comp, donate, inplace)
    values = prepare_inputs([v.expr for v in lowered.program.inputs], inputs)
    for variable, value in values.items():
        check_not_empty(variable, value)
    return run_program(lowered.program, lowered.order, values, donate=lowered.donate,
                       poison=poison, stats=stats, given=inputs)


def check_not_empty(variable, value):
    """Refuse an empty matrix (a zero-size dimension) for ``variable``: scipy's wrappers
    reject empty arrays or print LAPACK's complaints, so the routines cannot run on one;
    :func:`computations.function` gives such calls their values (see
    :mod:`computations.empty`).

    >>> check_not_empty(sympy.MatrixSymbol('X', 0, 3), np.zeros((0, 3)))
    Traceback (most recent call last):
        ...
    ValueError: X is empty (0 x 3): the routines cannot run on empty matrices; computations.function computes with them
    """
    if isinstance(value, np.ndarray) and value.size == 0:
        raise ValueError(f'{variable} is empty ({value.shape[0]} x {value.shape[1]}): the '
                         'routines cannot run on empty matrices; computations.function '
                         'computes with them')


def compile_program(comp, *, donate=(), inplace=True):
    """The token program that runs ``comp``, and its order: ``(program, order)``.

    What the interpreter runs, as :func:`~computations.schedulers.pipeline.lower`
    makes it: a mathematical composite is compiled by the inplace pass (or only
    tokenized, with ``inplace=False``) in the default order, without buffer
    reuse, so no sizes are needed; a token program is checked and kept.

    >>> from computations.matrices import GEMM
    >>> A = sympy.MatrixSymbol('A', 2, 2)
    >>> program, order = compile_program(GEMM(1, A, A, 1, A))
    >>> print(program)
    A_2 = Copy(A)  # A
    A_2 = GEMM(A, A, A_2)  # A**2 + A
    """
    lowered = _lowered(comp, donate, inplace)
    return lowered.program, lowered.order


def _lowered(comp, donate, inplace):
    if not isinstance(comp, Computation):
        raise TypeError(f'execute needs a Computation, got {type(comp).__name__}')
    return lower(comp, donate=donate, order='default', reuse=False, inplace=inplace)


def run_program(program, order, values, *, donate=(), poison=False, stats=None, given=None):
    """Run a token program from :func:`compile_program`; return ``{output: array}``.

    ``values`` maps every input variable of the program (constants
    included) to its value, as :func:`prepare_inputs` makes them from the
    caller's ``given`` arguments (if passed, for :func:`guard_donations`);
    the caller's arrays are never modified except those in ``donate``.
    """
    donated = set(donate)
    values = guard_donations(values, donated, given=given)
    buffers = {v.token: values[v.expr] for v in program.inputs}
    keep = [v.token for v in program.inputs if v.expr not in donated]
    results = interpret(program, buffers, order=order, poison=poison, keep=keep, stats=stats)
    # A returned array is never one of the caller's own (not donated) arrays:
    # an input passed through (Identity) comes back as a copy.
    protected = [values[var] for var in values if var not in donated
                 and isinstance(values[var], np.ndarray)]          # (floats are immutable)
    return {value.expr: np.array(result, copy=True)
            if any(result is array for array in protected) else result
            for value, result in results.items()}


def guard_donations(values, donate, given=None):
    """``values`` with a copy in place of each donated array the program must not really
    overwrite (the same dict when there is none).

    A donated array that is read-only (scipy would write into it anyway),
    unaligned (f2py would write into a copy, and the routine's result be lost)
    or that shares memory with another input is copied first, so that donation
    never changes another input's value or writes where it must not.
    ``given``, the caller's arguments before :func:`prepare_inputs` converted
    them (same keys), counts too: a C-ordered view of a donated array is
    converted to a copy, but the caller's view is still its memory.

    >>> a = np.eye(2, order='F')
    >>> guarded = guard_donations({'x': a, 'y': a}, ['x'])
    >>> guarded['x'] is a, guarded['y'] is a
    (False, True)
    >>> values = {'x': a, 'y': np.ascontiguousarray(a.T)}     # y converted from a.T
    >>> guard_donations(values, ['x'], given={'x': a, 'y': a.T})['x'] is a
    False
    """
    copied = None
    others = [(key, other) for mapping in (values, given or {})
              for key, other in mapping.items() if isinstance(other, np.ndarray)]
    for var in donate:
        value = values.get(var)
        if not isinstance(value, np.ndarray):
            continue
        # f2py writes into an array in place only when it is writeable and aligned (an
        # unaligned one it copies, silently: SCAL's result would be lost)
        if not value.flags.behaved or any(
                np.may_share_memory(value, other) for key, other in others if key != var):
            copied = dict(values) if copied is None else copied
            copied[var] = np.array(value, order='F', copy=True)
    return values if copied is None else copied


def prepare_inputs(variables, inputs, dims=None, symmetric=()):
    """Check the caller's values against ``variables`` and convert them for the kernels.

    Returns ``{variable: value}``: matrices as 2-D Fortran-ordered arrays of
    a common float dtype (possibly the caller's own array when it already is
    one, so callers must not write into the result), scalars as floats.
    Symbolic dimensions are bound from the arrays and must agree; a dict
    passed as ``dims`` receives the bindings ``{symbol: size}``.  A variable
    in ``symmetric`` (one the caller declared symmetric) given as a C-ordered
    array is taken as its transpose, a Fortran-ordered view of the same
    matrix, instead of being copied.

    >>> n = sympy.Symbol('n')
    >>> x, y = sympy.MatrixSymbol('x', n, 1), sympy.MatrixSymbol('y', n, 1)
    >>> prepare_inputs([x, y], {x: [1, 2], y: [1, 2, 3]})
    Traceback (most recent call last):
        ...
    ValueError: input y has 3 rows, but n = 2 (bound by x)
    """
    if not isinstance(inputs, dict):
        raise TypeError(f'inputs must be a dict {{variable: value}}, got {type(inputs).__name__}')
    wanted = set(variables)
    constants = [var for var in variables if input_kind(var) == 'constant']
    variables = [var for var in variables if input_kind(var) != 'constant']
    missing = [var for var in variables if var not in inputs]
    if missing:
        raise KeyError(f"no value given for input{'s' if len(missing) > 1 else ''} "
                       + ', '.join(map(str, missing)))
    unknown = [var for var in inputs if var not in wanted or var in constants]
    if unknown:
        raise KeyError('values given for variables that are not inputs of the computation: '
                       + ', '.join(map(str, unknown)))
    arrays = {var: _array(var, inputs[var]) for var in variables if input_kind(var) == 'matrix'}
    dtype = dtypes.program_dtype(a.dtype for a in arrays.values()).type
    bound = _bind({var: array.shape for var, array in arrays.items()})
    values = {}
    for var in variables:
        kind = input_kind(var)
        if kind == 'integer':                # integer data, such as LU pivots
            values[var] = np.ascontiguousarray(np.asarray(inputs[var]).reshape(-1),
                                               dtype=var.element_type)
        elif kind == 'matrix':
            array = arrays[var]
            if var in symmetric and array.dtype == dtype and array.ndim == 2 \
                    and array.shape[0] == array.shape[1] \
                    and array.flags.c_contiguous and not array.flags.f_contiguous:
                array = array.T                # the same symmetric matrix, no copy (a
                # rectangular one is no such matrix: the compiler refuses it by name)
            values[var] = np.asfortranarray(array, dtype=dtype)
        else:
            values[var] = scalar_value(var, inputs[var])
    values.update(constant_values(constants, bound, dtype))
    if dims is not None:
        dims.update(bound)
    return values


def constant_values(variables, dims, dtype=np.float64):
    """``{variable: value}`` for constants: identity, zero and ones matrices, numbers.

    >>> constant_values([sympy.Identity(sympy.Symbol('n'))], {sympy.Symbol('n'): 2})
    {I: array([[1., 0.],
           [0., 1.]])}
    """
    binding = dims if isinstance(dims, Binding) else Binding(dims)
    return {var: _constant(var, binding, dtype) for var in variables}


def _constant(var, binding, dtype):
    """The array of a constant input (an identity, zero or ones matrix, or a number)."""
    if not isinstance(var, MatrixExpr):
        return float(var)
    shape = binding.shape(var)
    make = {sympy.Identity: lambda: np.eye(shape[0], dtype=dtype, order='F'),
            sympy.ZeroMatrix: lambda: np.zeros(shape, dtype=dtype, order='F'),
            sympy.OneMatrix: lambda: np.ones(shape, dtype=dtype, order='F')}
    return make[type(var)]()


#: Why a masked array is refused (NumPy's, or a dask array of masked chunks).
MASKED = ('is a masked array; the routines would read the masked entries: pass '
          'value.filled(...) or a plain array')


def _array(var, value):
    """``value`` as an array of real numbers (not yet converted), or a ValueError naming ``var``.

    The dtype rule is :mod:`computations.matrices.dtypes`' (a refused dtype raises its
    DtypeError, a ValueError); masked arrays are refused too (the routines would read the
    masked values).
    """
    if isinstance(value, np.ma.MaskedArray):
        raise ValueError(f'input {var} {MASKED}')
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and the like
        raise ValueError(f'input {var}: cannot make an array of {type(value).__name__}: '
                        f'{error}') from None
    dtypes.check(var, array.dtype)
    array = matrix_value(var, array)
    if array.ndim != 2:
        raise ValueError(f'input {var} must be a {var.shape[0]}x{var.shape[1]} matrix, '
                         f'got an array of shape {array.shape}')
    return array


def bind_dimensions(variables, shapes):
    """``{symbol: size}`` for the symbolic dimensions of ``variables``, from array shapes.

    ``shapes`` maps each matrix variable to a shape (a column vector's may
    be 1-D).  A dimension declared as an expression (``n + 1``, ``2*n``) is
    solved for its symbol when no plain dimension binds it, and checked in
    every case; a size that contradicts the declaration raises a ValueError
    naming the input, the dimension and the expression.

    >>> n = sympy.Symbol('n')
    >>> A, x = sympy.MatrixSymbol('A', n, n), sympy.MatrixSymbol('x', n, 1)
    >>> bind_dimensions([A, x], {A: (3, 3), x: (3,)})
    {n: 3}
    >>> B = sympy.MatrixSymbol('B', n + 1, n)
    >>> bind_dimensions([B], {B: (7, 3)})
    Traceback (most recent call last):
        ...
    ValueError: input B has 7 rows, but it is declared (n + 1) x n: n + 1 = 4 with n = 3 (bound by B)
    """
    checked = {}
    for var in variables:
        if isinstance(var, MatrixExpr) and not is_constant(var) \
                and not hasattr(var, 'element_type'):
            shape = tuple(shapes[var])
            if not all(is_integer(size) and size >= 0 for size in shape):
                raise ValueError(f'input {var}: a shape is non-negative integers, got {shape}')
            if len(shape) == 1 and column_vector(var):
                shape = (shape[0], 1)
            if len(shape) != 2:
                raise ValueError(f'input {var} must be a {var.shape[0]}x{var.shape[1]} matrix, '
                                 f'got shape {shape}')
            checked[var] = shape
    return _bind(checked)


@functools.lru_cache(maxsize=4096)
def input_kind(var):
    """``'constant'``, ``'integer'`` (LU pivots), ``'matrix'`` or ``'scalar'`` (cached: a
    call of a compiled function asks for every input)."""
    if is_constant(var):
        return 'constant'
    if hasattr(var, 'element_type'):
        return 'integer'
    return 'matrix' if isinstance(var, MatrixExpr) else 'scalar'


@functools.lru_cache(maxsize=4096)
def _declared(var):
    """A matrix variable's dimensions: ``(dim, int or None)`` per axis (cached)."""
    return tuple((dim, int(dim) if dim.is_Integer else None)
                 for dim in map(sympy.sympify, var.shape))


def _bind(shapes):
    """``{symbol: size}`` from ``{matrix variable: 2-D shape}``, every declared dimension checked.

    Plain symbols are bound by the first input that has them; a dimension
    that is an expression of one unbound symbol (``n + 1``, ``2*n``) is then
    solved for it; finally every expression is checked against its size.
    """
    bound, deferred = {}, []
    for var, shape in shapes.items():
        for axis, ((dim, number), size) in enumerate(zip(_declared(var), shape)):
            if number is not None:
                if number != size:
                    raise ValueError(f'input {var} has {size} {_AXES[axis]}, but it is declared '
                                     f'{_declaration(var)}')
            elif dim.is_Symbol:
                if dim in bound and bound[dim][0] != size:
                    raise ValueError(f'input {var} has {size} {_AXES[axis]}, but {dim} = '
                                     f'{bound[dim][0]} (bound by {bound[dim][1]})')
                bound.setdefault(dim, (size, var))
            else:
                deferred.append((var, axis, dim, size))
    unsolved = deferred
    while unsolved:
        left = []
        for var, axis, dim, size in unsolved:
            free = [s for s in dim.free_symbols if s not in bound]
            if len(free) == 1:
                bound[free[0]] = (_solve(var, axis, dim, size, free[0], bound), var)
            elif free:
                left.append((var, axis, dim, size))
        if len(left) == len(unsolved):
            var, axis, dim, _ = left[0]
            names = ', '.join(sorted(str(s) for s in dim.free_symbols if s not in bound))
            raise ValueError(f'input {var}: cannot bind {names} from its {_AXES[axis]}, '
                             f'declared {dim}; declare one of them as a whole dimension of '
                             'an input')
        unsolved = left
    known = Binding({symbol: size for symbol, (size, _) in bound.items()})
    for var, axis, dim, size in deferred:
        value = known.size(dim, f'the {_AXES[axis]} of {var}')
        if value != size:
            binding = ', '.join(f'{s} = {bound[s][0]} (bound by {bound[s][1]})'
                                for s in sorted(dim.free_symbols, key=str))
            raise ValueError(f'input {var} has {size} {_AXES[axis]}, but it is declared '
                             f'{_declaration(var)}: {dim} = {value} with {binding}')
    return {symbol: size for symbol, (size, _) in bound.items()}


_AXES = ('rows', 'columns')


def _declaration(var):
    """``var``'s declared shape as text: ``3x4``, ``nxk``, ``(n + 1) x n``."""
    rows, cols = (str(d) if d.is_Atom else f'({d})' for d in map(sympy.sympify, var.shape))
    return f'{rows}x{cols}' if '(' not in rows + cols else f'{rows} x {cols}'


def _solve(var, axis, dim, size, symbol, bound):
    """The size of ``symbol`` that gives ``dim`` the value ``size``: a whole number >= 0."""
    known = dim.xreplace({s: sympy.Integer(v) for s, (v, _) in bound.items()})
    solutions = [x for x in sympy.solve(sympy.Eq(known, size), symbol)
                 if x.is_integer and x >= 0]
    if len(solutions) != 1:
        raise ValueError(f'input {var} has {size} {_AXES[axis]}, but it is declared '
                         f'{_declaration(var)}: no whole {symbol} >= 0 gives {dim} = {size}')
    return int(solutions[0])


def column_vector(var):
    """Whether ``var`` is a column vector (``n x 1``), which a 1-D array may be given for.

    >>> n = sympy.Symbol('n')
    >>> column_vector(sympy.MatrixSymbol('x', n, 1)), column_vector(sympy.MatrixSymbol('A', n, n))
    (True, False)
    """
    return isinstance(var, MatrixExpr) and var.shape[1] == 1


#: The exact types of scalar values :func:`scalar_value` takes as ``float(value)`` (no
#: other check: a hot path of calls converts them so; a Python ``int`` may still overflow
#: a float, which :func:`scalar_value` names).  Not a 0-d array: its type is any array's.
NUMBERS = frozenset({float, int, *(getattr(np, name) for name in (
    'float64', 'float32', 'float16', 'int64', 'int32', 'int16', 'int8',
    'uint64', 'uint32', 'uint16', 'uint8'))})


def scalar_value(var, value):
    """A scalar input as a float: real numbers only (Python, NumPy, or a 0-d array; a
    ``Fraction``, ``Decimal`` or real SymPy number too).

    >>> scalar_value('alpha', sympy.Rational(1, 4)), scalar_value('alpha', decimal.Decimal('0.5'))
    (0.25, 0.5)
    """
    numpy = isinstance(value, (np.ndarray, np.generic))
    kind = np.asarray(value).dtype.kind if numpy else None
    if isinstance(value, (bool, np.bool_)) or not (
            kind in ('i', 'u', 'f') and np.ndim(value) == 0
            and np.asarray(value).dtype.itemsize <= 8
            or not numpy and isinstance(value, (numbers.Real, decimal.Decimal))):
        if np.iscomplexobj(value) or isinstance(value, sympy.Basic) and value.is_number \
                and value.is_extended_real is False:
            raise ValueError(f'input {var} is complex; only real scalars are supported')
        raise ValueError(f'input {var} is a scalar; give it a number, not {value!r} '
                         f'({type(value).__name__})')
    try:
        return float(value)
    except OverflowError:               # a Python int beyond float64's range
        raise ValueError(f'input {var} is an int too large for a float64 (it has '
                         f'{_digits(value)} digits; the largest float64 is 1.8e308)') from None


def _digits(value):
    """The number of decimal digits of the int ``value`` (about, past the 4300 digits
    ``str`` writes an int in: Python refuses more).

    >>> _digits(10**400), _digits(-10**5000)
    ('401', 'about 5001')
    """
    try:
        return str(len(str(abs(value))))
    except ValueError:
        return f'about {int(abs(value).bit_length() * math.log10(2)) + 1}'
