"""Assertions for your own computations: inplace safety, and agreement with NumPy.

- :func:`assert_inplace_safe` runs a token program with the scheduler's
  poisoning interpreter (:func:`computations.schedulers.interpret` with
  ``poison=True``: every buffer filled with NaN the moment its value dies)
  and compares its outputs with the pure program's (nothing overwritten);
- :func:`assert_allclose_to_numpy` compares a compiled function's results
  with a plain NumPy evaluation of its SymPy outputs
  (:func:`computations.testing.evaluate`), with tolerances that follow the
  dtype;
- :func:`pure_values` computes a program's outputs with no overwrites at
  all: each operation's kernel on private copies of its arguments.

Each raises ``AssertionError`` saying which output differs and how, so they
work in pytest, in hypothesis properties, and in a notebook.  None needs
hypothesis.

>>> import numpy as np, sympy
>>> import computations
>>> A = sympy.MatrixSymbol('A', 3, 3)
>>> f = computations.function([A], [A.T * A + A])
>>> assert_allclose_to_numpy(f, np.arange(9.0).reshape(3, 3))
>>> assert_inplace_safe(f.program, {A: np.arange(9.0).reshape(3, 3)}) is not None
True
"""
from collections.abc import Mapping

import numpy as np
import sympy
from sympy import MatrixExpr

from computations import Computation
from computations.inplace import (OverwriteCycleError, UnsafeInplaceError, check as check_program,
                                  donated, execution_order, inplace_compile, is_token_program,
                                  tokenize)
from computations.schedulers import interpret, prepare_inputs, run_program
from computations.schedulers.kernels import run as run_kernel

from .reference import evaluate, rounding

__all__ = ['assert_inplace_safe', 'assert_allclose_to_numpy', 'pure_values', 'default_rtol']

#: Default relative tolerance of :func:`assert_allclose_to_numpy` by the program's dtype
#: (float32 if every matrix argument is float32, else float64).
RTOL = {np.dtype(np.float64): 1e-8, np.dtype(np.float32): 1e-4}


def default_rtol(dtype):
    """The relative tolerance :func:`assert_allclose_to_numpy` uses for results of ``dtype``.

    Invariant 4 of the design (1e-8 on well-conditioned float64 data); float32
    has about 7 decimal digits, so 1e-4 leaves room for the conditioning.

    >>> default_rtol(np.float64), default_rtol('float32')
    (1e-08, 0.0001)
    """
    dtype = np.dtype(dtype)
    if dtype not in RTOL:
        raise ValueError(f'dtype: no default tolerance for {dtype}; give rtol')
    return RTOL[dtype]


def pure_values(comp, inputs):
    """The outputs of ``comp`` computed without overwriting anything: ``{output: value}``.

    ``comp`` is a mathematical composite or a token program (then its
    mathematics, copies dropped); ``inputs`` maps its input variables to
    values.  Every operation runs its registered kernel on private copies of
    its arguments, with permission to overwrite none of them: the reference
    that :func:`assert_inplace_safe` compares with.  ``inputs`` is not modified.

    >>> from computations.testing import Mix
    >>> out = pure_values(Mix(['x'], ['y'], [(0, 0)]), {'x': np.zeros(2)})
    >>> out['y']
    array([0., 0.])
    """
    if not isinstance(comp, Computation):
        raise TypeError(f'comp must be a Computation, got {type(comp).__name__}')
    program = tokenize(comp)
    return _pure(program, _values(program, inputs))


def _pure(program, values):
    """The outputs of the pure token ``program`` on prepared ``values`` (constants too)."""
    program = tokenize(program)
    results = interpret(program, {v.token: values[v.expr] for v in program.inputs},
                        run=_isolated)
    return {value.expr: result for value, result in results.items()}


def _isolated(op, args, overwrite):
    """Run ``op``'s kernel on private copies of its arguments, overwriting nothing."""
    return run_kernel(op, [np.array(a, order='K', copy=True) if isinstance(a, np.ndarray)
                           else a for a in args], frozenset())


def _values(program, inputs):
    """The values of the program's inputs: prepared as the executor prepares them (2-D
    Fortran arrays of one float dtype, constants made) when the variables are SymPy
    expressions, else as given."""
    if not isinstance(inputs, Mapping):
        raise TypeError(f'inputs must be a dict {{variable: value}}, got {type(inputs).__name__}')
    variables = [v.expr for v in program.inputs]
    if variables and all(isinstance(var, sympy.Basic) for var in variables):
        return prepare_inputs(variables, inputs)
    missing = [var for var in variables if var not in inputs]
    if missing:
        raise KeyError(f'inputs: no value given for {", ".join(map(str, missing))}')
    return {var: np.asarray(inputs[var], dtype=float) if isinstance(inputs[var], (list, tuple))
            else inputs[var] for var in variables}            # a list: an array, as NumPy's


def _copy(value):
    return np.array(value, order='K', copy=True) if isinstance(value, np.ndarray) else value


def assert_inplace_safe(program, inputs, *, order=None, donate=(), check=True, rtol=0.0,
                        atol=0.0):
    """Assert that ``program``'s overwrites change none of its results; return them.

    ``program`` is a token program (a mathematical composite is compiled
    first with :func:`computations.inplace.inplace_compile`); ``inputs`` maps
    its input variables to values.  With ``check`` (the default) the program
    must first pass :func:`computations.inplace.check` in ``order``; then it
    runs in ``order`` (default: the safe order) with the scheduler's poisoning
    interpreter, every buffer filled with NaN the moment its value dies, and
    each output must equal the pure program's (:func:`pure_values`) within
    ``rtol`` and ``atol`` (exactly, by default: the same kernels run on the
    same values).  Inputs listed in ``donate`` may be overwritten, no other.
    ``inputs`` is never modified (the runs use copies).

    Raises ``AssertionError`` naming what went wrong: the checker's
    objection, an input overwritten that was not donated, or the output that
    differs, with its token.  Returns ``{output: value}`` of the poisoned run.

    A program that overwrites ``A`` (``SCAL``) before ``GEMM`` has read it::

        A@A --> [SCAL] => 2*A@A        (written over A's buffer first)
         \\---> [GEMM] --> A*A@P         (then reads 2*A: wrong)

    >>> import sympy
    >>> from computations.inplace import TokenComputation as T
    >>> from computations.matrices import GEMM, SCAL
    >>> A = sympy.MatrixSymbol('A', 2, 2)
    >>> scal, gemm = T(SCAL(2, A), ['A'], ['A']), T(GEMM(1, A, A), ['A', 'A'], ['P'])
    >>> a = {A: np.eye(2)}
    >>> assert_inplace_safe(scal + gemm, a, donate=[A])[A * A]       # GEMM first: safe
    array([[1., 0.],
           [0., 1.]])
    >>> assert_inplace_safe(scal + gemm, a, order=[scal, gemm], donate=[A], check=False)
    Traceback (most recent call last):
        ...
    AssertionError: output A**2 (token 'P') of the inplace program differs from the pure ...
    """
    if not isinstance(program, Computation):
        raise TypeError(f'program must be a Computation, got {type(program).__name__}')
    if not is_token_program(program):
        program = inplace_compile(program, donate=donate)
    # names mean the inputs they name, as everywhere (computations.inplace.donate)
    donate = donated(donate, [value.expr for value in program.inputs])
    if check:
        try:
            order = check_program(program, order, donate=donate)
        except UnsafeInplaceError as error:
            raise AssertionError(f'the program is not inplace safe: {error}') from error
    elif order is None:
        try:
            order = execution_order(program)
        except OverwriteCycleError as error:
            raise AssertionError(f'the program is not inplace safe: {error}') from error
    values = _values(program, inputs)
    expected = _pure(program, values)
    given = {var: _copy(value) for var, value in values.items()}
    got = run_program(program, order, given, donate=donate, poison=True)
    for var, value in given.items():
        if var not in donate and isinstance(value, np.ndarray) and not np.array_equal(
                value, values[var], equal_nan=True):
            raise AssertionError(f'the program overwrote input {var}, which was not donated')
    tokens = {value.expr: value.token for value in program.outputs}
    for expr, want in expected.items():
        if expr not in got:
            raise AssertionError(f'the inplace program does not compute output {expr}')
        if not np.all(np.isfinite(want)):
            raise AssertionError(f'the pure program gives a non-finite value for {expr}: '
                                 'poisoned buffers cannot be told apart; choose other inputs')
        try:
            np.testing.assert_allclose(got[expr], want, rtol=rtol, atol=atol)
        except AssertionError as error:
            raise AssertionError(
                f'output {expr} (token {tokens[expr]!r}) of the inplace program differs from '
                "the pure program's value (NaN: it read a buffer after its value died; another "
                f'value: a buffer was overwritten while its value was still needed){error}'
            ) from None
    return got


def _flatten(results):
    """A call's results as a list: a dict's values, a tuple's items, or one result."""
    if isinstance(results, Mapping):
        return list(results.values())
    if isinstance(results, (tuple, list)):
        return list(results)
    return [results]


def assert_allclose_to_numpy(f, *args, rtol=None, atol=0.0, inputs=None, outputs=None):
    """Assert that ``f(*args)`` equals a NumPy evaluation of ``f``'s SymPy outputs.

    ``f`` is a compiled function (:func:`computations.function`): its
    ``inputs`` and ``outputs`` say what it computes; for any other callable
    give ``inputs=`` and ``outputs=``.  The reference is
    :func:`computations.testing.evaluate` in float64 on the same arguments
    (symbolic dimensions bound by their shapes).  Each result must be within
    ``atol + rtol * ||expected|| + rounding`` of the reference in the Frobenius
    norm, where ``rounding`` (:func:`computations.testing.rounding`) is the
    error rounding may leave at the size of the terms summed: ``A*x + A*x*G``
    with ``G = [[-1]]`` is exactly zero in NumPy and 1e-16 from a GEMV;
    ``rtol`` defaulting by the program's dtype (:func:`default_rtol`: float32
    when every matrix argument is float32), and have that dtype; its shape
    must match (a 1-D result may stand for a column vector).

    >>> import sympy, computations
    >>> n = sympy.Symbol('n')
    >>> S, x = sympy.MatrixSymbol('S', n, n), sympy.MatrixSymbol('x', n, 1)
    >>> f = computations.function([S, x], [S.I * x], [sympy.Q.positive_definite(S)])
    >>> s = np.array([[4., 1.], [1., 3.]])
    >>> assert_allclose_to_numpy(f, s, np.ones(2))
    >>> assert_allclose_to_numpy(f, s.astype(np.float32), np.ones(2, dtype=np.float32))
    >>> assert_allclose_to_numpy(lambda S, x: (S @ x,), s, np.ones((2, 1)),
    ...                          inputs=[S, x], outputs=[S.I * x])
    Traceback (most recent call last):
        ...
    AssertionError: output 0, S**(-1)*x: relative error 19 > rtol 1e-08 (float64 arguments)...
    """
    if not callable(f):
        raise TypeError(f'f must be callable, got {type(f).__name__}')
    inputs = tuple(getattr(f, 'inputs', ()) if inputs is None else inputs)
    outputs = getattr(f, 'outputs', None) if outputs is None else outputs
    if outputs is None or not inputs:
        raise TypeError('f has no inputs and outputs attributes (it is not a compiled '
                        'function): give inputs= and outputs=')
    outputs = _flatten(outputs)
    if len(args) != len(inputs):
        raise TypeError(f'args: f takes {len(inputs)} arguments '
                        f'({", ".join(map(str, inputs))}), got {len(args)}')
    if not outputs:
        raise TypeError('outputs: none given, so nothing would be checked')
    dims = {}
    values = prepare_inputs(list(inputs), dict(zip(inputs, args)), dims=dims)
    # the reference reads copies taken before the call: f may overwrite what it is given
    values = {var: np.array(value, copy=True) if isinstance(value, np.ndarray) else value
              for var, value in values.items()}
    matrices = [values[var] for var in inputs if isinstance(var, MatrixExpr)]
    dtype = np.dtype(np.float32 if matrices and all(m.dtype == np.float32 for m in matrices)
                     else np.float64)
    rtol = default_rtol(dtype) if rtol is None else rtol
    before = [np.array(arg, copy=True) if isinstance(arg, np.ndarray) else None for arg in args]
    results = _flatten(f(*args))
    donated = set(getattr(f, 'donate', ()))
    for var, arg, copy in zip(inputs, args, before):
        if copy is not None and var not in donated and not np.array_equal(arg, copy,
                                                                          equal_nan=True):
            raise AssertionError(f'f modified its argument {var}, which it was not given to '
                                 'overwrite (a compiled function overwrites only what it '
                                 'donates)')
    if len(results) != len(outputs):
        raise AssertionError(f'f returned {len(results)} results for {len(outputs)} outputs')
    subs = {d: sympy.Integer(v) for d, v in dims.items()}
    known = {var.xreplace(subs): values[var] for var in inputs}
    for i, (expr, got) in enumerate(zip(outputs, results)):
        label = f'output {i}, {expr}'
        want = evaluate(sympy.sympify(expr).xreplace(subs), known)
        if not np.all(np.isfinite(want)):
            raise AssertionError(f'{label}: the NumPy reference is not finite; choose '
                                 'well-conditioned arguments')
        got_dtype = np.asarray(got).dtype
        if np.iscomplexobj(got):
            raise AssertionError(f'{label}: the result is complex ({got_dtype}); the '
                                 'outputs are real')
        if got_dtype != dtype and (isinstance(got, (np.ndarray, np.generic))
                                   or isinstance(expr, MatrixExpr)):
            raise AssertionError(f'{label}: the result has dtype {got_dtype}, but '
                                 f'{dtype} arguments give {dtype} results')
        got = np.asarray(got, dtype=np.float64)
        if got.shape != np.shape(want):
            if got.ndim == 1 and np.shape(want) == got.shape + (1,):
                want = np.reshape(want, got.shape)              # 1-D in, 1-D out
            else:
                raise AssertionError(f'{label}: the result has shape {got.shape}, '
                                     f'expected {np.shape(want)}')
        # rounding errors scale with the terms summed, not with a sum that cancels to ~0
        allowed = rounding(sympy.sympify(expr).xreplace(subs), known, dtype)
        error, scale = np.linalg.norm(got - want), np.linalg.norm(want)
        if not error <= atol + rtol * scale + allowed:
            relative = error / scale if scale else error
            raise AssertionError(
                f'{label}: relative error {relative:.2g} > rtol {rtol:g} ({dtype} arguments)'
                + (f', atol {atol:g}' if atol else '')
                + f'\n got:\n{got}\n NumPy:\n{np.asarray(want)}')
