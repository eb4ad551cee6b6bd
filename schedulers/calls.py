"""Routine calls from their specs: the kernel and the emitted source of every BLAS/LAPACK call.

Each routine operation declares how its scipy wrapper is called, as data
(:class:`computations.matrices.ops.core.Call`: argument order, flags,
``overwrite_*`` flags, return tuple, fix-ups).  :func:`lower` reads that
spec once and walks the call's structure -- check a triangular diagonal,
pick the arrays the routine writes into, drop an absent ``C``, pass
vectors as 1-D views, call, check ``info``, restore 2-D shapes, complete
symmetric outputs, clear stale triangles -- through one of two backends:

:class:`Arrays`
    runs the call on arrays: the interpretive kernel (:func:`call_kernel`,
    registered for every routine by :mod:`computations.schedulers.kernels`);
:class:`Source`
    writes it as lines of Python: the emitter (:func:`call_lines`,
    registered by :mod:`computations.schedulers.emitters`), with the buffer
    handling of :class:`computations.schedulers.codegen._Call`.

So a routine's kernel and its generated line cannot disagree: they are one
walk.  The array fix-ups (:func:`symmetrize`, :func:`zero_upper`, ...) and
the error checks (:func:`check_info`, :func:`check_diagonal`) live here too,
and the generated source binds them.

>>> import numpy as np, sympy
>>> from computations.matrices import POSV
>>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 1)
>>> x, chol = call_kernel(POSV(A, B), {'A': np.diag([4., 1.]), 'B': np.ones((2, 1))}, set())
>>> x.ravel(), np.diagonal(chol)
(array([0.25, 1.  ]), array([2., 1.]))
"""
import functools
import re
from typing import NamedTuple

import numpy as np
from scipy.linalg import blas, lapack

from computations.inplace import Copy
from computations.matrices import RoutineError
from computations.matrices.transforms.blocking import BlockOp
from computations.schedulers.released import released

__all__ = ['lower', 'call_kernel', 'call_lines', 'Arrays', 'Source', 'reads_whole',
           'takes_c_order', 'stored_whole', 'routine',
           'diagonal_scale', 'diagonal_root_scale', 'add_to_diagonal', 'KERNELS',
           'check_info', 'failure', 'check_diagonal', 'symmetrize', 'zero_upper', 'zero_lower',
           'optimal_workspace']


def routine(op, *arrays):
    """The scipy wrapper for ``op``'s routine, typed for ``arrays`` (``dgemm``, ``sgemm``, ...);
    for an op of ``library = 'numpy'`` with a call spec, the kernel of this module it names
    (:data:`KERNELS`), which takes every dtype.

    >>> import sympy
    >>> from computations.matrices import POTRF
    >>> routine(POTRF(sympy.MatrixSymbol('A', 2, 2)), np.eye(2, dtype='float32')).typecode
    's'
    """
    if op.library == 'numpy':
        return KERNELS[op.routine]
    get = blas.get_blas_funcs if op.library == 'blas' else lapack.get_lapack_funcs
    return get(op.routine, arrays)


@functools.lru_cache(maxsize=1024)
def optimal_workspace(query, n):
    """The work-array size LAPACK's typed workspace ``query`` (``dsytrf_lwork``) gives as
    optimal at order ``n`` (at least 1).

    >>> from scipy.linalg import lapack
    >>> optimal_workspace(lapack.dsytrf_lwork, 1000) >= 1000
    True
    """
    work, info = query(n)
    return max(1, int(work)) if info == 0 else max(1, n)


def check_info(op, info):
    """Raise the error ``op`` declares for a positive LAPACK ``info`` (:func:`failure`); a
    negative one is a bug."""
    if info == 0:
        return
    error = failure(op, info)
    if error is not None:
        raise error


def failure(op, info):
    """The error ``op`` declares for a nonzero LAPACK ``info``, or None when a positive one
    is no failure (GETRF leaves a singular factor to its readers).  A block of a blocked
    program (a :class:`BlockOp` with an ``origin``) names the program's matrix and the
    block."""
    name = type(op.op if isinstance(op, BlockOp) else op).__name__
    if info < 0:
        return RoutineError(name, op.outputs[0], info,
                            f'{name}: argument {-info} of {op.routine} had an illegal value '
                            f'(computing {op.outputs[0]}); this is a bug in computations')
    if op.failure is None:
        return None
    error, argument = op.failure
    origin = op.origin if isinstance(op, BlockOp) else None
    if origin is None or getattr(origin, 'failure', None) is None:
        return error(name, getattr(op, argument), info)
    matrix, block = getattr(origin, origin.failure[1]), getattr(op, argument)
    return error(name, matrix, info, block=None if block == matrix else block)


def check_diagonal(op, a):
    """Raise ``op``'s SingularMatrixError if the triangular matrix ``a`` of a solve has a
    zero on its diagonal: TRSM, unlike TRTRS, does not check, and would divide by it."""
    zeros = np.flatnonzero(np.diagonal(a) == 0)
    if zeros.size:
        check_info(op, int(zeros[0]) + 1)


# Triangles ----------------------------------------------------------------------

def symmetrize(c, written='upper'):
    """Complete a square array from the triangle a routine wrote, in place; return it.

    >>> symmetrize(np.array([[1., 2.], [0., 3.]], order='F'))
    array([[1., 2.],
           [2., 3.]])
    """
    if c.shape[0] <= _BLOCK:                   # one block: no loop (small problems' overhead)
        _mirror(c, written)
        return c

    def copy(rows, cols):           # the other triangle's block, transposed
        if written == 'upper':
            c[cols, rows] = c[rows, cols].T
        else:
            c[rows, cols] = c[cols, rows].T
    _by_blocks(c.shape[0], copy, lambda block: _mirror(c[block, block], written))
    return c


def zero_upper(c):
    """Clear the strictly upper triangle (where POSV leaves A's old values), in place."""
    if c.shape[0] <= _BLOCK:
        _clear_upper(c)
        return c

    def clear(rows, cols):
        c[rows, cols] = 0
    _by_blocks(c.shape[0], clear, lambda block: _clear_upper(c[block, block]))
    return c


def zero_lower(c):
    """Clear the strictly lower triangle, in place; return the array.

    >>> zero_lower(np.ones((2, 2), order='F'))
    array([[1., 1.],
           [0., 1.]])
    """
    zero_upper(c.T)
    return c


#: The side of the square blocks the triangle loops copy: vectorized copies,
#: about (n/64)**2/2 Python steps instead of n, and temporaries of at most
#: 48 KB (numpy copies a source that overlaps its destination's bounds, and
#: triu_indices makes index arrays), which the memory model can ignore.  At
#: n = 2000 blocks of 64 were as fast as blocks of 256 (3.1 vs 3.6 ms).
_BLOCK = 64


def _by_blocks(n, off_diagonal, diagonal):
    """Visit the strict upper triangle of an n x n array by :data:`_BLOCK`-square blocks.

    ``off_diagonal(rows, cols)`` gets each block above the diagonal;
    ``diagonal(block)`` each diagonal block.
    """
    blocks = [slice(start, min(start + _BLOCK, n)) for start in range(0, n, _BLOCK)]
    for j, cols in enumerate(blocks):
        for rows in blocks[:j]:
            off_diagonal(rows, cols)
        diagonal(cols)


@functools.lru_cache(maxsize=_BLOCK + 1)
def _upper(n):
    """Masks of the strict upper and strict lower triangles of an n x n block (cached: n <=
    the block size; read-only, as every thread shares them).  ``np.copyto`` with a mask
    runs 3-4x faster than indexing with ``triu_indices`` (3.3 -> 0.8 us at n = 6, 11 ->
    3 us at n = 50: at small sizes the mirror cost more than the SYRK it completes)."""
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    lower = np.ascontiguousarray(upper.T)
    upper.flags.writeable = lower.flags.writeable = False
    return upper, lower


def _mirror(d, written):
    # NumPy's copyto sees that d.T overlaps d and reads from a copy of it.
    np.copyto(d, d.T, where=_upper(d.shape[0])[written == 'upper'])


def _clear_upper(d):
    np.copyto(d, 0, where=_upper(d.shape[0])[0])


_CLEAR = {'lower': zero_upper, 'upper': zero_lower}      # keep one triangle, clear the other


def diagonal_scale(alpha, d, b, left, inverse, overwrite):
    """``(alpha*op(D)*B or alpha*B*op(D), info)``: B's rows (``left``) or columns scaled by
    D's diagonal (divided, with ``inverse``), in B itself when ``overwrite``, else in a
    copy; ``info`` is the position (1-based) of the first zero divided by, else 0.

    >>> diagonal_scale(2.0, np.diag([1., 4.]), np.ones((2, 2), order='F'), 1, 1, 0)[0]
    array([[2. , 2. ],
           [0.5, 0.5]])
    """
    diagonal = np.diagonal(d)
    if inverse:
        zeros = np.flatnonzero(diagonal == 0)
        if zeros.size:
            return b, int(zeros[0]) + 1
        scale = alpha / diagonal
    else:
        scale = alpha * diagonal
    out = b if overwrite else np.array(b, order='F', copy=True)
    out *= scale[:, None] if left else scale[None, :]
    return out, 0


def diagonal_root_scale(alpha, d, b, side=0, inverse=0, overwrite_b=0):
    """``(alpha*sqrt(D)*B, info)``, or ``B*sqrt(D)`` (``side``), or with ``inverse`` divided
    by the square roots: B's rows (columns) scaled by the square roots of D's diagonal, in B
    itself when ``overwrite_b``, else in a copy.  ``info`` is the position (1-based) of the
    first nonpositive entry of the diagonal (which has no Cholesky factor), else 0.

    >>> diagonal_root_scale(2.0, np.diag([4., 1.]), np.ones((2, 2), order='F'))[0]
    array([[4., 4.],
           [2., 2.]])
    >>> diagonal_root_scale(1.0, np.diag([4., 0.]), np.ones((2, 1), order='F'))[1]
    2
    """
    w = np.diagonal(d)
    bad = np.flatnonzero(~(w > 0))
    if bad.size:
        return b, int(bad[0]) + 1
    root = np.sqrt(w)
    scale = alpha / root if inverse else alpha * root
    out = b if overwrite_b else np.array(b, order='F', copy=True)
    out *= scale[None, :] if side else scale[:, None]
    return out, 0


def add_to_diagonal(alpha, c, d=None, overwrite_c=0):
    """``C + alpha*I``, or ``C + alpha*D`` for a diagonal ``d`` (only its diagonal is read):
    added to the diagonal of the square ``c``, in ``c`` itself when ``overwrite_c``, else in
    a copy (O(n) work besides the copy).

    >>> add_to_diagonal(2.0, np.ones((2, 2), order='F'))
    array([[3., 1.],
           [1., 3.]])
    >>> add_to_diagonal(2.0, np.ones((2, 2), order='F'), np.diag([1.0, 3.0]))
    array([[3., 1.],
           [1., 7.]])
    """
    out = c if overwrite_c else np.array(c, order='F', copy=True)
    diagonal = np.einsum('ii->i', out)           # a writable view of the diagonal
    diagonal += alpha if d is None else alpha * np.diagonal(d)
    return out


#: The kernels of this module that operations name as their routine (``library = 'numpy'``
#: and a :class:`~computations.matrices.ops.core.Call`), called like a scipy wrapper.
KERNELS = {'diagonal_root_scale': diagonal_root_scale, 'add_to_diagonal': add_to_diagonal}


def reads_whole(program, value, triangle, wanted=()):
    """Whether ``value`` (an ExprToken of ``program``) is in ``wanted`` or has a reader that
    may read more than its ``triangle`` (an op's ``triangles`` says what each argument
    reads, a triangle or only the diagonal; an argument its call reads ``elementwise`` is
    read as its output is).

    >>> import sympy
    >>> from computations.inplace import inplace_compile
    >>> from computations.matrices import POSV, POTRS, SCAL, LofCholesky
    >>> A, B, C = (sympy.MatrixSymbol(s, 2, 2) for s in 'ABC')
    >>> program = inplace_compile(POSV(A, B) + POTRS(A, C))
    >>> [factor] = [v for v in program.variables if v.expr == LofCholesky(A)]
    >>> reads_whole(program, factor, 'lower'), reads_whole(program, factor, 'upper')
    (False, True)
    >>> scaled = inplace_compile(SCAL(2, A) + POSV(2*A, B))
    >>> [scal] = [node for node in scaled if isinstance(node.comp, SCAL)]
    >>> reads_whole(scaled, scal.inputs[0], 'lower'), reads_whole(scaled, scal.inputs[0],
    ...                                                           'lower', scal.outputs)
    (False, True)
    """
    if value in wanted:
        return True
    for reader in program.consumers(value):
        op = reader.comp
        names = getattr(op, 'input_arguments', ())
        triangles = getattr(op, 'triangles', {})
        spec = getattr(op, 'call', None)
        for i, read in enumerate(reader.inputs):
            if read != value:
                continue
            name = names[i] if i < len(names) else None
            if name is not None and triangles.get(name) in (triangle, 'diagonal'):
                continue
            if name is not None and spec is not None and name in spec.elementwise and not any(
                    reads_whole(program, out, triangle, wanted) for out in reader.outputs):
                continue
            return True
    return False


def stored_whole(program, value):
    """Whether ``value``'s buffer holds the whole matrix: ``value`` is an input of
    ``program`` (a caller's array or a constant), a copy of one, or an output of a routine
    that writes it whole from whole values (an output of a :class:`Call`'s ``inherits``
    keeps the other triangle of its argument: TRTRI's inverse of a triangular matrix stored
    whole; an ``elementwise`` one keeps its arguments').  Not so for an output that may
    hold one triangle and stale values in the other (POSV's factor, a SYRK).

    >>> import sympy
    >>> from computations.inplace import inplace_compile
    >>> from computations.matrices import POSV, TRTRI, LofCholesky
    >>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 1)
    >>> program = inplace_compile(POSV(A, B) + TRTRI(LofCholesky(A)) + TRTRI(A))
    >>> whole = {str(v.expr): stored_whole(program, v) for v in program.variables}
    >>> whole['A'], whole['A**(-1)'], whole['LofCholesky(A)'], whole['LofCholesky(A)**(-1)']
    (True, True, False, False)
    """
    node = program.producer(value)
    if node is None:
        return True
    op = node.comp
    if isinstance(op, Copy):
        return stored_whole(program, node.inputs[0])
    spec = getattr(op, 'call', None)
    o = node.outputs.index(value)
    if spec is None or o in op.symmetric_outputs or o in spec.clears and o not in spec.inherits:
        return False
    kept = set(spec.elementwise) | ({op.overwrites[o]} if o in spec.inherits else set())
    return all(stored_whole(program, read) for read, name in zip(node.inputs, op.input_arguments)
               if name in kept)


# Calling f2py wrappers by position ---------------------------------------------------

@functools.lru_cache(maxsize=None)
def wrapper_parameters(wrapper):
    """The parameters of a scipy f2py ``wrapper`` in positional order (required, then
    optional), read from the signature line f2py puts first in its docstring.

    >>> wrapper_parameters(blas.dgemv)
    ('alpha', 'a', 'x', 'beta', 'y', 'offx', 'incx', 'offy', 'incy', 'trans', 'overwrite_y')
    """
    line = (wrapper.__doc__ or '').lstrip().partition('\n')[0]
    if '(' not in line or not line.endswith(')'):   # not f2py's: every argument by keyword
        return ()
    inside = line[line.index('(') + 1:-1]
    return tuple(p.strip() for p in inside.replace('[', '').replace(']', '').split(',')
                 if p.strip())


@functools.lru_cache(maxsize=None)
def wrapper_defaults(wrapper):
    """``{parameter: default}`` of a scipy f2py ``wrapper``'s optional parameters whose
    documented default is a number (``Default: 0``); others (arrays, defaults that are
    expressions such as ``lwork``'s) are not in it.

    >>> wrapper_defaults(lapack.dposv)
    {'overwrite_a': '0', 'overwrite_b': '0', 'lower': '0'}
    """
    found = re.findall(r'^(\w+) : input [^\n]*optional\n\s+Default: ([^\n]+)$',
                       wrapper.__doc__, flags=re.MULTILINE)
    return {name: value.strip() for name, value in found
            if re.fullmatch(r'-?\d+(\.\d*)?', value.strip())}


def by_position(wrapper, positional, named):
    """``(arguments, comment)``: the source of a call of f2py ``wrapper`` with every
    argument by position, and a comment naming the flags so passed.

    An f2py wrapper parses keywords through ``PyArg_ParseTupleAndKeywords`` on every call:
    about 0.1 us per keyword, 0.2-0.4 us per call -- a third of a small DGEMV.  Passed by
    position instead, an optional argument left out is its documented default when that
    is a number (the ``overwrite_*`` flags take nothing else), else ``None`` (f2py's own
    "not given": the default expression, or no array), and the program's calls cost
    what a bare call costs.  Names the wrapper does not have stay keywords.

    >>> by_position(blas.dgemv, ['1.0', 'A', 'x'], {'trans': 1})
    (['1.0', 'A', 'x', '0.0', 'None', '0', '1', '0', '1', '1'], '  # trans=1')
    """
    parameters = wrapper_parameters(wrapper)
    if len(parameters) < len(positional):            # an unknown format: by keyword
        parameters = ()
    slots = dict.fromkeys(parameters[len(positional):])
    unknown = {}
    for keyword, value in named.items():
        if keyword in slots:
            slots[keyword] = value
        else:
            unknown[keyword] = value
    last = max((i for i, value in enumerate(slots.values()) if value is not None), default=-1)
    defaults = wrapper_defaults(wrapper)
    given = list(positional) + [str(value) if value is not None else defaults.get(name, 'None')
                                for name, value in list(slots.items())[:last + 1]]
    comment = ', '.join(f'{k}={v}' for k, v in named.items() if k in slots and
                        not isinstance(v, str))
    return given + [f'{k}={v}' for k, v in unknown.items()], comment and f'  # {comment}'


# One walk, two backends -------------------------------------------------------------

class _Fixed(NamedTuple):
    """The parts of a call that depend on the op alone (worked out once per op)."""
    diagonal: object            # the argument whose diagonal to check, or None
    owned: frozenset            # outputs the routine always writes into its argument
    overwrites: tuple           # (output, argument) pairs, by output
    flags: dict                 # the op's flag values
    triangle: str               # the triangle the routine works on
    explicit: frozenset         # flags passed even when 0 (a constant in the spec)


@functools.lru_cache(maxsize=4096)
def _fixed(op):
    spec = op.call
    flags = spec.flag_values(op)
    return _Fixed(spec.diagonal if spec.diagonal is not None and op.checks_diagonal else None,
                  frozenset(o for o, name in op.overwrites.items()
                            if spec.overwrite[name] is None),
                  tuple(sorted(op.overwrites.items())), flags,
                  'lower' if flags.get('lower') else 'upper',
                  frozenset(k for k, source in spec.flags.items() if isinstance(source, int)))


def lower(op, backend):
    """Walk ``op``'s call spec through ``backend`` (:class:`Arrays` or :class:`Source`);
    return what the backend made of it."""
    spec, fixed = op.call, _fixed(op)
    if fixed.diagonal is not None:
        backend.check_diagonal(fixed.diagonal)
    owned = fixed.owned
    targets, overwrite = {}, {}
    for o, name in fixed.overwrites:                   # where each output is written
        keyword = spec.overwrite[name]
        targets[name], flag = backend.target(o, name, keyword is None)
        if keyword is not None and targets[name] is not None:
            overwrite[keyword] = flag
    def source(name):
        return targets[name] if name in targets else backend.arg(name)

    dropped = {n for name, scale in spec.optional.items() if source(name) is None
               for n in (name, scale)}

    def value(name):
        return backend.vector(name, source(name)) if name in spec.vectors else source(name)

    positional = [value(name) for name in spec.arguments if name not in dropped]
    keywords = {keyword: value(name) for keyword, name in spec.keywords.items()}
    for keyword, query in spec.workspace.items():
        keywords[keyword] = backend.workspace(query, spec.arguments[0])
    overwrite = {keyword: overwrite[keyword] for keyword in spec.overwrite.values()
                 if keyword in overwrite}                # in the spec's order
    backend.call(positional, keywords, {**fixed.flags, **overwrite}, spec.returns, owned)
    if 'info' in spec.returns:
        backend.check_info()
    for o, name in fixed.overwrites:
        if name in spec.vectors:
            backend.unvector(o, name, o in owned)
    triangle = fixed.triangle
    for o in op.symmetric_outputs:
        backend.symmetrize(o, triangle)
    for o in spec.clears:
        backend.clear(o, triangle)
    return backend.result()


class Arrays:
    """The backend that runs a call: arguments are arrays, the result the output arrays.

    ``args`` is ``op.bind(values)``; ``overwrite`` the argument names whose
    storage may be destroyed; ``one_triangle`` the outputs whose readers all
    read only the triangle the routine wrote (their other one is not
    cleared; without that knowledge every stale triangle is).  An argument the
    routine writes while it runs (``scratch``) is passed as a copy, so a
    runner may run readers of one value at once (Dask's threads).  A C-ordered
    array given for a ``transposable`` argument is passed as its transpose, with
    the spec's flags flipped: the same entries, no copy.
    """

    def __init__(self, op, args, overwrite, one_triangle=frozenset()):
        self.op, self.args, self.overwrite, self.one_triangle = op, args, overwrite, one_triangle
        self.outputs, self.info, self.transposed = {}, 0, set()

    def arg(self, name):
        value = self.args[name]
        if name in self.op.call.scratch and value is not None:
            return value.copy()     # the routine writes it while it runs: others may read it
        if name in self.op.call.transposable and _c_ordered(value):
            self.transposed.add(name)
            return value.T
        return value

    def target(self, o, name, always):
        value = self.args[name]
        if value is None:
            return None, 0
        if always and name not in self.overwrite:          # the routine always writes it
            return np.array(value, order='F', copy=True), None
        return value, int(name in self.overwrite)

    def vector(self, name, value):
        return value.reshape(-1, order='F')

    def check_diagonal(self, name):
        check_diagonal(self.op, self.args[name])

    def workspace(self, query, name):
        a = self.args[name]
        return optimal_workspace(lapack.get_lapack_funcs(query, (a,)), a.shape[0])

    def call(self, positional, keywords, flags, returns, owned):
        arrays = [a for a in [*positional, *keywords.values()]
                  if isinstance(a, np.ndarray) and a.dtype.kind == 'f']
        if self.transposed:
            flags = dict(flags)
            for name in self.transposed:
                for flag in self.op.call.transposable[name]:
                    flags[flag] = flags.get(flag, 0) ^ 1
        # without the GIL where the routine is long: others may run meanwhile (Dask)
        result = released(routine(self.op, *arrays))(*positional, **keywords, **flags)
        result = result if len(returns) > 1 else (result,)
        for what, value in zip(returns, result):
            if what == 'info':
                self.info = value
            elif what is not None:
                self.outputs[what] = value

    def check_info(self):
        check_info(self.op, self.info)

    def unvector(self, o, name, owned):
        given = self.args[name]
        shape = given.shape if owned and given is not None else (-1, 1)
        self.outputs[o] = self.outputs[o].reshape(shape, order='F')

    def symmetrize(self, o, triangle):
        if o not in self.one_triangle:
            symmetrize(self.outputs[o], triangle)

    def clear(self, o, triangle):
        if o not in self.one_triangle:
            _CLEAR[triangle](self.outputs[o])

    def result(self):
        return tuple(self.outputs[o] for o in range(len(self.op.outputs)))


def takes_c_order(op, position):
    """Whether ``op``'s kernel takes a C-ordered array for its input at ``position`` without
    copying it (a ``transposable`` argument of its call spec).

    >>> import sympy
    >>> from computations.matrices import GEMM, POTRF
    >>> A, C = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('C', 2, 2)
    >>> takes_c_order(GEMM(1, A, A, 1, C), 0), takes_c_order(GEMM(1, A, A, 1, C), 2)
    (True, False)
    >>> takes_c_order(POTRF(A), 0)
    False
    """
    spec = getattr(op, 'call', None)
    return spec is not None and op.input_arguments[position] in spec.transposable


def _c_ordered(value):
    """Whether ``value`` is a C-ordered matrix that is not also Fortran-ordered (a row or a
    column is both)."""
    return isinstance(value, np.ndarray) and value.ndim == 2 and \
        value.flags.c_contiguous and not value.flags.f_contiguous


class Source:
    """The backend that writes a call as lines of Python, for an emitter's ``call``
    (:class:`computations.schedulers.codegen._Call`): argument sources, output tokens,
    and the buffers (``into``, ``owned``, ``buffer``, ``full_matrix_needed``)."""

    def __init__(self, op, call):
        self.op, self.c, self.lines = op, call, []

    def arg(self, name):      # a program runs one call at a time: scratch is restored
        return self.c.args[name]

    def target(self, o, name, always):
        if self.c.args[name] is None:          # absent (C with beta = 0): a free buffer, if any
            buffer = self.c.buffer(o)
            return (buffer, 1) if buffer is not None else (None, 0)
        if always:
            lines, source = self.c.owned(o, name)
            self.lines += lines
            return source, None
        lines, source, overwrite = self.c.into(o, name)
        self.lines += lines
        return source, overwrite

    def vector(self, name, source):
        expr = getattr(self.op, name)
        if expr is None:                       # a buffer standing in for an absent column
            expr = self.op.outputs[{n: o for o, n in self.op.overwrites.items()}[name]]
        if expr.shape[1] != 1:
            return f"{source}.reshape(-1, order='F')"
        if self.op.library != 'numpy' and name not in self.op.overwrites.values():
            return source       # f2py reads an n x 1 column as a vector (0.15 us less a view)
        return f'{source}[:, 0]'

    def check_diagonal(self, name):
        op = self.c.bind(self.op, type(self.op).__name__)
        self.lines.append(f"{self.c.bind(check_diagonal, 'check_diagonal')}({op}, "
                          f'{self.c.args[name]})')

    def workspace(self, query, name):
        typed = self.c.writer.prefix + query
        return (f"{self.c.bind(optimal_workspace, 'optimal_workspace')}("
                f"{self.c.bind(getattr(lapack, typed), typed)}, {self.c.args[name]}.shape[0])")

    def call(self, positional, keywords, flags, returns, owned):
        explicit = _fixed(self.op).explicit                    # other false flags: defaults
        named = {**keywords, **{k: v for k, v in flags.items() if v or k in explicit}}
        if self.op.library == 'numpy':
            name = self.c.bind(KERNELS[self.op.routine], self.op.routine)
            given, comment = positional + [f'{k}={v}' for k, v in named.items()], ''
        else:
            name = self.c.routine()
            given, comment = by_position(self.c.writer.wrapper(self.op), positional, named)
        line = f"{name}({', '.join(given)})"
        assigned = [r for r in returns if r is not None and r != 'info']
        if 'info' in returns or not set(assigned) <= owned:    # owned outputs: written in place
            names = [self.c.outs[r] if isinstance(r, int) else r or '_' for r in returns]
            line = f"{', '.join(names)} = {line}"
        self.lines.append(line + comment)

    def check_info(self):
        self.lines.append(f'if info: fail({self.c.bind(self.c.op, type(self.c.op).__name__)}, '
                          'info)')

    def unvector(self, o, name, owned):
        if not owned:
            out = self.c.outs[o]
            self.lines.append(f"{out} = {out}.reshape(-1, 1)")

    def symmetrize(self, o, triangle):
        if self.c.full_matrix_needed(o, triangle):          # a reader of the whole, or returned
            name = self.c.bind(symmetrize, 'symmetrize')
            written = '' if triangle == 'upper' else f", '{triangle}'"
            self.lines.append(f'{name}({self.c.outs[o]}{written})')

    def clear(self, o, triangle):
        if self.c.full_matrix_needed(o, triangle) and not self._inherits_whole(o):
            clear = _CLEAR[triangle]
            self.lines.append(f'{self.c.bind(clear, clear.__name__)}({self.c.outs[o]})')

    def _inherits_whole(self, o):
        """Whether output ``o`` keeps the other triangle of an argument stored whole."""
        if o not in self.op.call.inherits:
            return False
        node = self.c.node
        argument = node.inputs[self.op.input_arguments.index(self.op.overwrites[o])]
        return stored_whole(self.c.writer.program, argument)

    def result(self):
        return self.lines


def call_kernel(op, args, overwrite, one_triangle=frozenset()):
    """Run routine ``op`` on bound arguments (the kernel of every routine; see
    :class:`Arrays`); return its output arrays."""
    return lower(op, Arrays(op, args, overwrite, one_triangle))


def call_lines(op, call):
    """The source lines of routine ``op``'s call (the emitter of every routine; see
    :class:`Source`)."""
    return lower(op, Source(op, call))
