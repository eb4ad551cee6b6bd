"""Generated source: a token program as a Python function of straight-line routine calls.

The fast runner.  Each operation becomes one or two lines that call its
scipy routine directly, with every flag resolved when the source is made
and the typed routine objects (``dgemm``, ``dposv``...) bound once in the
function's globals, so a call costs little more than the routine calls
themselves.  Tokens become local variables, under their own names unless
a name is not an identifier or is one the generated code uses itself
(:data:`RESERVED`: ``info``, ``fail``, ``np``, Python's builtins...): an
input named ``info`` is the local ``info_``, and the globals bound for the
routines avoid the locals' names (a matrix named ``dgemm`` leaves the
routine ``dgemm_2``).  A buffer is released (``del``) after its value's last reader, unless a
later operation writes into it (buffer reuse, :mod:`computations.schedulers.reuse`),
in which case that operation gets it as its output buffer.

What each operation emits is a registry by operation class
(:mod:`computations.schedulers.emitters`), as execution is (:mod:`computations.schedulers.kernels`);
an operation without an emitter runs through its kernel.  The interpretive
executor stays the reference: the tests run both on every example.

Solve ``(A*A + A)*X = B``: GEMM, then POSV, which factors the sum in place
and solves into a copy of ``B`` that the routine makes itself (the inplace
pass's copy of the caller's ``B`` is folded into the call):

>>> import numpy as np, sympy
>>> from computations.matrices import GEMM, POSV
>>> from computations.inplace import inplace_compile
>>> A, B = sympy.MatrixSymbol('A', 2, 2), sympy.MatrixSymbol('B', 2, 1)
>>> S = GEMM(1, A, A, 1, A).outputs[0]
>>> program = inplace_compile(GEMM(1, A, A, 1, A) + POSV(S, B))
>>> generated = generate(program, parameters=[A, B], results=[S.I * B])
>>> print(generated.source)
def program(A, B):
    A_2 = dgemm(1.0, A, A, 1.0, A)
    A_2, B_2, info = dposv(A_2, B, 1, 1)  # lower=1, overwrite_a=1
    if info: fail(POSV, info)
    del A_2
    return (B_2,)
>>> generated(np.array([[2., 0.], [0., 1.]], order='F'), np.ones((2, 1), order='F'))
(array([[0.16666667],
       [0.5       ]]),)
"""
import builtins
import dataclasses
import itertools
import keyword
import math
import re
import linecache
import time
import unicodedata
import weakref

import numpy as np
import sympy
from scipy.linalg import blas, lapack

from computations.inplace import Copy, buffer_states, execution_order, is_constant
from computations.matrices import scalar_type

from .emitters import emit
from .execute import check_not_empty, constant_values, input_kind
from .calls import check_info, reads_whole
from .pipeline import lower

__all__ = ['generate', 'Generated', 'compile_source', 'compile_function']

#: Names the generated source uses for its own purposes, which no token's local variable
#: takes: the routines' status and the failure check (``info``, ``fail``), NumPy and the
#: math module, the profiler's clock and lists (``clock``, ``start``, ``times``), the
#: discarded return value (``_``), and Python's builtins (``float`` in scalar arithmetic).
RESERVED = frozenset({'info', 'fail', 'np', 'math', 'clock', 'start', 'times', '_'}
                     | set(dir(builtins)))

#: Numbers the generated programs, so each has its own file name in :mod:`linecache`.
_serial = itertools.count(1)


@dataclasses.dataclass(frozen=True)
class Generated:
    """The source of a program's function, the function, and what it takes and returns.

    Call it with the values of ``parameters``; it returns a tuple, one array per entry of
    ``results``.  A matrix that is not a 2-D Fortran-ordered array of ``dtype`` (as
    :func:`computations.schedulers.prepare_inputs` makes them) is converted first: the
    routines that write in place (AXPY, SCAL) would write into f2py's converted copy, and
    the result would be lost.  An empty matrix is refused
    (:func:`~computations.schedulers.execute.check_not_empty`).  ``function`` itself
    takes prepared values only, unchecked (the front door's calls, whose values are
    prepared).  With ``profile``, it also takes a list
    ``times`` (a keyword) and appends each step's wall time to it (one per entry of
    ``steps``: the nodes that run, in order).  ``folded``: the Copy nodes of the program
    that no statement makes, the routine that reads the copy copying its argument itself
    (pictures draw them as such: :func:`computations.pictures.dot`'s ``folded``).
    """
    source: str
    function: object
    parameters: tuple
    results: tuple
    steps: tuple
    folded: tuple = ()
    dtype: np.dtype = np.dtype(np.float64)

    def __call__(self, *values, **kwargs):
        if len(values) != len(self.parameters):
            raise TypeError(f'the program takes {len(self.parameters)} values '
                            f'({", ".join(map(str, self.parameters))}), got {len(values)}')
        return self.function(*map(self._conform, self.parameters, values), **kwargs)

    def _conform(self, parameter, value):
        """``value`` as the routines take it: a matrix a 2-D Fortran-ordered array of the
        program's dtype (the same array when it is one already)."""
        if input_kind(parameter) != 'matrix':             # scalars, pivots
            return value
        if not (isinstance(value, np.ndarray) and value.dtype == self.dtype
                and value.flags.f_contiguous and value.flags.aligned):
            value = np.asfortranarray(value, dtype=self.dtype)
        if value.ndim != 2:
            raise ValueError(f'{parameter} must be a 2-D array, got shape {value.shape}')
        check_not_empty(parameter, value)
        return value


def generate(program, order=None, *, parameters=None, results=None, dtype=np.float64,
             constants=None, name='program', profile=False):
    """Generate and compile the Python function that runs ``program`` in ``order``.

    ``parameters`` lists the input variables (expressions) the function
    takes, in order (default: the program's non-constant inputs); any that
    the program does not read are accepted and ignored.  ``results`` lists
    the expressions it returns (default: the program's outputs); a value
    returned twice, or an input returned as it is, comes back as a copy, so
    a result never aliases another or the caller's array.  ``constants``
    maps the program's constant inputs (identity matrices...) to their
    values, bound once in the function's globals and never written.
    ``dtype`` types the routines (float64: ``dgemm``; float32: ``sgemm``).
    """
    order = tuple(order) if order is not None else tuple(execution_order(program))
    writer = _Writer(program, order, np.dtype(dtype), constants or {})
    return writer.function(parameters, results, name, profile)


class _Writer:
    """Walks the order, tracking which tokens are bound, and writes the lines."""

    def __init__(self, program, order, dtype, constants):
        self.program, self.order, self.dtype = program, order, dtype
        self.namespace = {'np': np, 'fail': check_info, 'clock': time.perf_counter}
        self.names = {}
        self.locals = _local_names(program)
        self.taken = set(self.locals.values())    # globals bound later avoid these
        self.constants = constants
        self.prefix = {np.dtype(np.float64): 'd', np.dtype(np.float32): 's'}[dtype]

    def bind(self, obj, hint):
        """The global name under which ``obj`` is bound (bound once per object)."""
        key = id(obj)
        if key not in self.names:
            name, i = hint, 1
            while name in self.namespace or name in self.taken:
                i += 1
                name = f'{hint}_{i}'
            self.namespace[name] = obj
            self.names[key] = (name, obj)          # keeps obj alive, so ids stay unique
        return self.names[key][0]

    def local(self, token):
        """The local variable (or constant's global) holding ``token``."""
        return self.locals[token]

    def wrapper(self, op):
        """``op``'s scipy wrapper, typed for this program's dtype (``blas.dgemm``)."""
        module = blas if op.library == 'blas' else lapack
        return getattr(module, self.prefix + op.routine)

    def routine(self, op):
        """The global name of ``op``'s routine, typed for this program's dtype."""
        return self.bind(self.wrapper(op), self.prefix + op.routine)

    def function(self, parameters, results, name, profile):
        program, order = self.program, self.order
        inputs = {value.expr: value for value in program.inputs}
        if parameters is None:
            parameters = [v.expr for v in program.inputs if not is_constant(v.expr)]
        params = [self.local(inputs[p].token) if p in inputs else f'_unused_{i}'
                  for i, p in enumerate(parameters)]
        lines = self._constants(inputs, parameters)
        # The buffers made outside the call: the caller's arrays and the constants.
        callers = {value.token for value in program.inputs}
        results = list(program.outputs) if results is None else \
            [_output(program, r) for r in results]
        wanted = self.wanted = set(results)
        states = buffer_states(program, order, wanted)     # the one liveness model
        bound = set(callers)                   # tokens holding an array at this step
        fused, folded = _fused_copies(program, order, callers)
        steps, pending = [], []
        for step, node in enumerate(order):
            if node.produced and node not in fused:        # (Identity only marks outputs)
                source = {c.outputs[0].token: c.inputs[0].token for c in folded.get(node, ())}
                call = _Call(self, node, bound, source)
                body = emit(node.comp, call)
                if profile:
                    body = ['start = clock()', *body, 'times.append(clock() - start)']
                lines += body
                steps.append(node)
            bound.update(value.token for value in states.allocated[step])
            bound.difference_update(states.freed[step])
            pending += states.freed[step]
            if pending and node not in fused:
                lines.append(f"del {', '.join(dict.fromkeys(map(self.local, pending)))}")
                pending = []
        returned, seen = [], set()
        typed = scalar_type(self.dtype)
        for value in results:
            local = self.local(value.token)
            if not isinstance(value.expr, sympy.MatrixExpr):       # floats are immutable
                returned.append(local if typed is float else
                                f'{self.bind(typed, typed.__name__)}({local})')
                continue
            fresh = value.token not in callers and value.token not in seen
            returned.append(local if fresh else f'{local}.copy(order="K")')
            seen.add(value.token)
        lines.append(f"return ({', '.join(returned)}{',' if len(returned) == 1 else ''})")
        signature = ', '.join(params + (['*', 'times'] if profile else []))
        source = '\n'.join([f'def {name}({signature}):', *('    ' + line for line in lines)])
        function = compile_function(source, name, self.namespace)
        return Generated(source, function, tuple(parameters),
                         tuple(v.expr for v in results), tuple(steps), tuple(fused),
                         self.dtype)

    def _constants(self, inputs, parameters):
        """Bind the program's constant inputs as globals; ``[]`` lines (they are made once)."""
        for expr, value in inputs.items():
            if expr in parameters:
                continue
            if not is_constant(expr):
                raise ValueError(f'generate: input {expr} of the program is not among the '
                                 'parameters')
            if isinstance(expr, sympy.MatrixExpr):
                if expr not in self.constants:
                    raise ValueError(f'generate: no value given for the constant {expr}')
                array = np.array(self.constants[expr], dtype=self.dtype, order='F')
                array.flags.writeable = False          # shared by every call: never written
                self.namespace[self.local(value.token)] = array
            else:
                self.namespace[self.local(value.token)] = float(expr)
        return []


def compile_function(source, name, namespace):
    r"""Compile ``source``, which defines the function ``name``, into ``namespace``; return
    the function.

    The source is registered with :mod:`linecache` under a file name of its
    own, ``<computations: NAME #N>``, so that a traceback through the
    function shows its lines; the entry is removed when the function is
    garbage collected.

    >>> import traceback
    >>> f = compile_function('def twice(x):\n    return 2 / x', 'twice', {})
    >>> f(4.0)
    0.5
    >>> try:
    ...     f(0.0)
    ... except ZeroDivisionError:
    ...     print(*traceback.format_exc().splitlines()[3:5], sep='\n')
      File "<computations: twice #...>", line 2, in twice
        return 2 / x
    """
    filename = f'<computations: {name} #{next(_serial)}>'
    lines = [line if line.endswith('\n') else line + '\n'
             for line in source.splitlines(keepends=True)]
    # An mtime of None: linecache.checkcache leaves the entry alone (there is no file).
    linecache.cache[filename] = (len(source), None, lines, filename)
    exec(compile(source, filename, 'exec'), namespace)
    function = namespace[name]
    weakref.finalize(function, linecache.cache.pop, filename, None)
    return function


def _fused_copies(program, order, callers):
    """Copies to fold into the next operation: ``({copy: reader}, {reader: [copies]})``.

    A Copy whose one reader runs right after it and overwrites it is the
    same as that reader leaving its argument alone (the routine then copies
    it itself, in C): one statement fewer per call.  Copies into a reused
    buffer stay (the buffer is there to be written into).  Only copies of the
    caller's arrays and of values still read later are folded, so the
    original is live during the reader either way and the memory model
    (:mod:`computations.schedulers.memory`) stays exact.
    """
    fused, folded = {}, {}
    position = {node: step for step, node in enumerate(order)}
    first_write = {}
    for step, node in enumerate(order):
        for value in node.produced:
            first_write.setdefault(value.token, step)
    for step, reader in enumerate(order):
        destroyed = {reader.inputs[i] for i in reader.destroyed}
        for copy in reversed(order[:step]):        # the copies right before the reader
            if not isinstance(copy.comp, Copy) or not isinstance(copy.comp.variable,
                                                                  sympy.MatrixExpr):
                break
            (value,), (original,) = copy.outputs, copy.inputs
            if program.consumers(value) != (reader,) or value not in destroyed \
                    or first_write[value.token] < position[copy]:    # into a reused buffer
                break
            read_later = any(position[r] > step for r in program.consumers(original))
            if not (original.token in callers or read_later or original in program.outputs):
                break
            fused[copy] = reader
            folded.setdefault(reader, []).append(copy)
    return fused, folded


def _local_names(program):
    """``{token: identifier}`` for every token of ``program``: the token itself when it is
    an identifier that is no keyword and not :data:`RESERVED`, else a fresh one made from
    it (``info`` -> ``info_``) that no other token is.

    >>> from computations.inplace import inplace_compile
    >>> from computations.matrices import GEMM
    >>> info = sympy.MatrixSymbol('info', 2, 2)
    >>> sorted(_local_names(inplace_compile(GEMM(1, info, info))).values())
    ['info_', 'pow_info']
    >>> sorted(_local_names(inplace_compile(GEMM(1, sympy.MatrixSymbol('ℓ', 2, 2),
    ...                                          sympy.MatrixSymbol('l', 2, 2)))).values())
    ['l', 'l_', 'l_l_']
    """
    tokens = dict.fromkeys(value.token for node in program.computations
                           for value in (*node.inputs, *node.outputs))
    tokens.update(dict.fromkeys(value.token for value in program.inputs))
    # Only ASCII names are kept as they are: Python folds other identifiers (NFKC) when it
    # reads the source, so 'ｐｏｗ_A' would be the local 'pow_A' and 'ℓ' the local 'l'.
    kept = {t for t in tokens if t.isascii() and t.isidentifier() and not keyword.iskeyword(t)
            and t not in RESERVED}
    names, taken = {t: t for t in kept}, set(kept)
    for token in tokens:
        if token in names:
            continue
        base = re.sub(r'[^0-9A-Za-z_]+', '_', unicodedata.normalize('NFKC', token)) or 'v'
        base = base if base.isidentifier() else f'v_{base}'
        name, count = f'{base}_', 1                   # as token_name does a keyword
        while name in taken or name in RESERVED:
            count += 1
            name = f'{base}_{count}'
        names[token] = name
        taken.add(name)
    return names


def _output(program, expr):
    for value in program.outputs:
        if value.expr == expr:
            return value
    raise ValueError(f'generate: {expr} is not an output of the program')


class _Call:
    """What an emitter needs to write one node: argument sources, flags and buffers.

    ``args``
        argument name -> its source: a token (a local variable), a float
        literal (a constant), or None (absent);
    ``values``
        the inputs' sources, in order (the tokens);
    ``positions``, ``destroyed``
        the input positions, and argument names, the node overwrites;
    ``outs``
        the output tokens.
    """

    def __init__(self, writer, node, bound, source=None):
        self.writer, self.node, self.op = writer, node, node.comp
        source = source or {}                  # folded copies: read the original instead
        names = [writer.local(source.get(t, t)) for t in node.input_tokens]
        bind = getattr(self.op, 'bind', None)
        self.args = {k: _literal(v) for k, v in bind(names).items()} if bind else names
        arguments = getattr(self.op, 'input_arguments', range(len(names)))
        self.values = names
        self.positions = {i for i in node.destroyed if node.input_tokens[i] not in source}
        self.destroyed = {arguments[i] for i in self.positions}
        self.outs = tuple(map(writer.local, node.output_tokens))
        self._bound = bound

    def routine(self):
        """The typed routine's global name (``dgemm``)."""
        return self.writer.routine(self.op)

    def bind(self, obj, hint):
        """A global name for ``obj`` (the op itself, for error messages)."""
        return self.writer.bind(obj, hint)

    def buffer(self, o):
        """Output ``o``'s local if its token is a free buffer to write a fresh result into,
        else None."""
        token = self.node.output_tokens[o]
        fresh = token not in self.node.input_tokens
        return self.outs[o] if fresh and token in self._bound else None

    def full_matrix_needed(self, o, triangle='lower'):
        """Whether output ``o`` is returned or read later other than as its ``triangle``
        (the readers' ``triangles``): whether its other triangle must be cleaned."""
        return reads_whole(self.writer.program, self.node.outputs[o], triangle,
                           self.writer.wanted)

    def into(self, o, name):
        """``(lines, source, overwrite)`` to write output ``o`` through argument ``name``.

        The argument itself when the node destroys it; else a copy of it
        made in the free buffer of ``o`` (then overwritten); else the
        argument, not to be overwritten (the routine copies it).
        """
        if name in self.destroyed:
            return [], self.args[name], 1
        buffer = self.buffer(o)
        if buffer is not None:
            return [f'{buffer}[...] = {self.args[name]}'], buffer, 1
        return [], self.args[name], 0

    def owned(self, o, name):
        """``(lines, source)``: argument ``name`` in ``o``'s own buffer, for routines that
        always write into it (AXPY, SCAL)."""
        lines, source, overwrite = self.into(o, name)
        if overwrite:
            return lines, source
        return [f"{self.outs[o]} = {source}.copy(order='F')"], self.outs[o]


def _literal(value):
    """A float as source (``float('inf')`` for an infinity or NaN, which have no literal;
    ``float`` is reserved, so no local shadows it)."""
    if not isinstance(value, float):
        return value
    return repr(value) if math.isfinite(value) else f"float('{value}')"



def compile_source(comp, *, parameters=None, results=None, dims=None, dtype=np.float64,
                   donate=()):
    """Compile a composite (or a token program) into :class:`Generated` source.

    :func:`~computations.schedulers.pipeline.lower` (the inplace pass, the
    memory-aware order with dead buffers reused, sizes from the shapes with
    ``dims`` bound; ``donate`` lists inputs the program may overwrite), then
    :func:`generate`.  The function takes the values of ``parameters``
    (default: the inputs, in the program's order) prepared as
    :func:`computations.schedulers.prepare_inputs` makes them.

    >>> import numpy as np, sympy
    >>> from computations.matrices import GEMM
    >>> A = sympy.MatrixSymbol('A', 2, 2)
    >>> program = compile_source(GEMM(1, A, A) + GEMM(1, A*A, A))
    >>> program(np.asfortranarray([[1., 1.], [0., 1.]]))
    (array([[1., 3.],
           [0., 1.]]),)
    """
    lowered = lower(comp, donate=donate, dims=dims, dtype=dtype)
    return generate(lowered.program, lowered.order, parameters=parameters, results=results,
                    dtype=dtype, constants=constant_values(lowered.constants, dims or {}, dtype))
