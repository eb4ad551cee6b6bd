"""Blocked programs: every operation of a program as operations on blocks.

:func:`block` turns a mathematical program of BLAS/LAPACK operations into
one that computes the same outputs from blocks of its matrices.  Each axis
of length ``d`` is cut into blocks of ``blocksize`` (the last block ragged
when ``blocksize`` does not divide ``d``); axes of one row or column are
never cut.  The blocked program is itself a
:class:`~computations.CompositeComputation` with the same inputs and
outputs: :class:`Split` cuts each input matrix into blocks, the operations
work on blocks, and :class:`Assemble` puts each output back together.  So it
runs, draws and checks like any program, and its outputs can be compared
with the unblocked one's.

How each operation is blocked (a registry by class, :data:`BLOCKERS`):

* GEMM, SYMM, GEMV: block products, accumulated block by block
  (``C[i,j] = A[i,0]*B[0,j] + A[i,1]*B[1,j] + ...``, one GEMM per term);
  SYMM's diagonal blocks stay SYMM.
* SYRK: the lower blocks as SYRK (diagonal) and GEMM (below), the upper ones
  as TRANSPOSE of the lower.
* POTRF: the right-looking blocked Cholesky (POTRF of a diagonal block, TRSM
  of the panel below it, SYRK/GEMM updates of the trailing blocks); POSV is
  POTRF then POTRS, and POTRS is a blocked forward then back substitution.
* TRSM and TRMM: blocked substitution and blocked triangular products.
* AXPY, SCAL, TRANSPOSE, COPY: block by block.
* Everything else (GETRF, GETRS, GESV, TRTRS, scalar computations) falls
  back to the unblocked operation on assembled arguments, its outputs split
  again: correct, but one task holds the whole matrices.

Each new block is a :class:`~sympy.MatrixSymbol` named after the value it is
a block of (``t2[0,1]``; a partial sum ``t2[0,1].1``), made by a
:class:`BlockOp`: an operation of the vocabulary on block symbols whose
outputs are renamed to those symbols, so expressions stay flat however many
blocks there are.

>>> from sympy import MatrixSymbol
>>> from computations.matrices import GEMM
>>> A, B = MatrixSymbol('A', 4, 3), MatrixSymbol('B', 3, 2)
>>> blocked = block(GEMM(1, A, B), blocksize=2)
>>> print(blocked)                      # doctest: +NORMALIZE_WHITESPACE
A[0,0], A[0,1], A[1,0], A[1,1] = Split(A)
B[0,0], B[1,0] = Split(B)
t1[0,0].1 = GEMM(1, A[0,0], B[0,0])
t1[0,0] = GEMM(1, A[0,1], B[1,0], 1, t1[0,0].1)
t1[1,0].1 = GEMM(1, A[1,0], B[0,0])
t1[1,0] = GEMM(1, A[1,1], B[1,0], 1, t1[1,0].1)
A*B = Assemble(t1[0,0], t1[1,0])
A*B = Identity(A*B)
>>> blocked.inputs == (A, B) and blocked.outputs == (A*B,)
True
"""
import sympy
from sympy import MatrixExpr, MatrixSymbol, ZeroMatrix

from ..core import Computation, CompositeComputation, Identity, Immutable
from ..pictures import operation_label
from .auxiliary import TRANSPOSE
from .expressions import LofCholesky
from .blas import AXPY, COPY, GEMM, GEMV, SCAL, SYMM, SYRK, TRMM, TRSM
from .lapack import POSV, POTRF, POTRS

__all__ = ['block', 'Blocks', 'Split', 'Assemble', 'BlockOp', 'BLOCKERS', 'partition']


def partition(length, blocksize):
    """Block boundaries of an axis: ``(0, b, 2b, ..., length)``; one block if ``length <= 1``.

    >>> partition(10, 4), partition(8, 4), partition(1, 4)
    ((0, 4, 8, 10), (0, 4, 8), (0, 1))
    """
    if length <= 1 or blocksize >= length:
        return (0, length)
    return tuple(range(0, length, blocksize)) + (length,)


class Blocks(Immutable):
    """A matrix as a grid of blocks: boundaries of the rows and columns, and the block values.

    >>> b = Blocks((0, 2, 3), (0, 1), ((MatrixSymbol('X', 2, 1),), (MatrixSymbol('Y', 1, 1),)))
    >>> b.shape, b[1, 0], b.block_shape(1, 0)
    ((2, 1), Y, (1, 1))
    """
    __slots__ = ('rows', 'cols', 'grid')

    def __init__(self, rows, cols, grid):
        object.__setattr__(self, 'rows', tuple(rows))
        object.__setattr__(self, 'cols', tuple(cols))
        object.__setattr__(self, 'grid', tuple(map(tuple, grid)))

    def __reduce__(self):
        return (Blocks, (self.rows, self.cols, self.grid))

    def __eq__(self, other):
        return isinstance(other, Blocks) and (self.rows, self.cols, self.grid) == \
            (other.rows, other.cols, other.grid)

    def __hash__(self):
        return hash((Blocks, self.rows, self.cols, self.grid))

    def __getitem__(self, ij):
        i, j = ij
        return self.grid[i][j]

    @property
    def shape(self):
        """The number of blocks along each axis."""
        return (len(self.rows) - 1, len(self.cols) - 1)

    def block_shape(self, i, j):
        return (self.rows[i + 1] - self.rows[i], self.cols[j + 1] - self.cols[j])

    def values(self):
        """The blocks, row by row."""
        return [value for row in self.grid for value in row]

    def __repr__(self):
        return f'Blocks({self.rows}, {self.cols}, {self.grid})'


def _slices(bounds):
    return tuple(zip(bounds[:-1], bounds[1:]))


class Split(Computation):
    """Cut a matrix into blocks: ``X`` -> ``X[0,0], X[0,1], ...`` (row by row).

    ``keep`` (a set of ``(i, j)``) limits the outputs to the blocks read.

    >>> X = MatrixSymbol('X', 3, 2)
    >>> Split(X, (0, 2, 3), (0, 2)).outputs, Split(X, (0, 2, 3), (0, 2), keep={(1, 0)}).outputs
    ((X[0,0], X[1,0]), (X[1,0],))
    """
    __slots__ = ('_outputs', '_pieces')
    __props__ = ('X', 'rows', 'cols', 'name', 'keep')

    def __init__(self, X, rows, cols, name=None, keep=None):
        rows, cols = tuple(rows), tuple(cols)
        keep = None if keep is None else tuple(sorted(keep))
        self._freeze(X, rows, cols, name or str(X), keep)
        pieces = [(MatrixSymbol(f'{self.name}[{i},{j}]', r1 - r0, c1 - c0), (r0, r1, c0, c1))
                  for i, (r0, r1) in enumerate(_slices(rows))
                  for j, (c0, c1) in enumerate(_slices(cols))
                  if keep is None or (i, j) in keep]
        object.__setattr__(self, '_pieces', tuple(pieces))
        object.__setattr__(self, '_outputs', tuple(var for var, _ in pieces))

    @property
    def inputs(self):
        return (self.X,)

    @property
    def outputs(self):
        return self._outputs

    @property
    def pieces(self):
        """``(block symbol, (row start, row end, column start, column end))`` per output."""
        return self._pieces

    @property
    def blocks(self):
        """All the blocks as a :class:`Blocks` grid (the full grid: ``keep`` is ignored)."""
        whole = Split(self.X, self.rows, self.cols, self.name)
        width = len(self.cols) - 1
        outs = whole.outputs
        return Blocks(self.rows, self.cols, [outs[i:i + width]
                                             for i in range(0, len(outs), width)])

    def __str__(self):
        return f"{', '.join(map(str, self.outputs))} = Split({self.X})"


class Assemble(Computation):
    """Put blocks together into the matrix ``X`` they are blocks of.

    >>> X, Y = MatrixSymbol('X', 2, 2), MatrixSymbol('Y', 1, 2)
    >>> Assemble(MatrixSymbol('Z', 3, 2), Blocks((0, 2, 3), (0, 2), [[X], [Y]])).inputs
    (X, Y)
    """
    __slots__ = ()
    __props__ = ('X', 'rows', 'cols', 'grid')

    def __init__(self, X, blocks):
        self._freeze(X, blocks.rows, blocks.cols, blocks.grid)

    def __reduce__(self):
        return (type(self), (self.X, self.blocks))

    @property
    def blocks(self):
        """The blocks, as a :class:`Blocks` grid."""
        return Blocks(self.rows, self.cols, self.grid)

    @property
    def inputs(self):
        return tuple(dict.fromkeys(v for row in self.grid for v in row if not _constant(v)))

    @property
    def outputs(self):
        return (self.X,)

    def __str__(self):
        return f"{self.X} = Assemble({', '.join(map(str, self.inputs))})"


class BlockOp(Computation):
    """An operation whose outputs (and perhaps inputs) are renamed: to block symbols.

    It is ``op`` in every respect -- routine, flags, inplace map, FLOPs,
    kernel -- except that its outputs are ``names`` and, when given, its
    inputs are ``reads`` (position by position), not ``op``'s expressions.
    That keeps a blocked program's expressions flat however many blocks
    there are, and lets an operation that is not blocked run on stand-ins of
    whole values.

    >>> A, C = MatrixSymbol('A', 2, 2), MatrixSymbol('C', 2, 2)
    >>> node = BlockOp(GEMM(1, A, A), [C])
    >>> node.inputs, node.outputs, node.routine, node.flops
    ((A, A), (C,), 'gemm', 16)
    >>> print(BlockOp(GEMM(1, A, A), [C], reads=[C.T, C.T]))
    C = GEMM(C.T, C.T)
    """
    __slots__ = ()
    __props__ = ('op', 'names', 'reads')

    def __init__(self, op, names, reads=None):
        names = tuple(names)
        if len(names) != len(op.outputs):
            raise ValueError(f'BlockOp: {len(names)} names for the {len(op.outputs)} '
                             f'outputs of {op}')
        if reads is not None:
            reads = tuple(reads)
            if len(reads) != len(op.inputs):
                raise ValueError(f'BlockOp: {len(reads)} reads for the {len(op.inputs)} '
                                 f'inputs of {op}')
        self._freeze(op, names, reads)

    @property
    def inputs(self):
        return self.op.inputs if self.reads is None else self.reads

    @property
    def outputs(self):
        return self.names

    def __getattr__(self, name):
        # Every fact of the operation (routine, inplace, flops, bind, ...) is
        # the wrapped operation's.
        if name.startswith('__') or name in ('op', 'names', 'reads', '_props', '_hash'):
            raise AttributeError(name)
        return getattr(self.op, name)

    def __str__(self):
        outs = ', '.join(map(str, self.names))
        if self.reads is not None:
            return f"{outs} = {type(self.op).__name__}({', '.join(map(str, self.reads))})"
        return f"{outs} = {str(self.op).split(' = ', 1)[1]}"


@operation_label.register
def _routine_label(node: BlockOp):
    return operation_label(node.op)


# The transformation ------------------------------------------------------------

def block(computation, blocksize, dims=None):
    """The blocked program of ``computation`` (see the module).

    ``blocksize`` is an int for every axis, or ``{dimension: int}`` for the
    named dimensions only (other axes stay whole); ``dims`` binds symbolic
    dimensions to sizes (``{n: 4000}``).  Inside, every value is a grid of
    block symbols of numeric sizes; the blocked program's inputs and outputs
    are ``computation``'s own (Split copies each input matrix into blocks,
    even into a single block, and Assemble copies the blocks of each output
    into a new array).
    """
    if not isinstance(computation, Computation):
        raise TypeError(f'block needs a Computation, got {type(computation).__name__}')
    if not isinstance(computation, CompositeComputation):
        computation = CompositeComputation(computation)
    env = _Blocking(computation, blocksize, dims or {})
    for op in computation.toposort():
        if isinstance(op, Identity):
            continue
        if all(v in env.blocks or v in env.wholes for v in op.outputs):
            continue                           # made already, as a step of another operation
        blocker = BLOCKERS.get(type(op))
        matrices = [v for v in op.inputs + op.outputs if isinstance(v, MatrixExpr)]
        if blocker is None or all(env.whole(v) for v in matrices):
            env.fallback(op)
        else:
            blocker(op, env)
    for var in computation.outputs:
        if isinstance(var, MatrixExpr):
            env.nodes.append(Assemble(var, env.blocks.get(var) or env.held_whole(var)))
    return CompositeComputation(*_read_blocks_only(env.nodes), Identity(*computation.outputs))


def _read_blocks_only(nodes):
    """The nodes, each Split limited to the blocks something reads (a Cholesky factor
    reads only the lower blocks of its matrix)."""
    read = {var for node in nodes for var in node.inputs}
    for node in nodes:
        if isinstance(node, Split) and not read.issuperset(node.outputs):
            width = len(node.cols) - 1
            keep = {divmod(k, width) for k, var in enumerate(node.outputs) if var in read}
            node = Split(node.X, node.rows, node.cols, node.name, keep)
        yield node


class _Blocking:
    """The state of :func:`block`: the nodes made so far, and the blocks of each value.

    Every matrix value of the program is a grid of block symbols with numeric
    shapes (:class:`Blocks`); scalars stay as they are.
    """

    def __init__(self, computation, blocksize, dims):
        self.blocksize = blocksize
        self.dims = {k: sympy.Integer(v) for k, v in dims.items()}
        self.inputs = set(computation.inputs)
        self.nodes = []
        self.blocks = {}                   # value -> Blocks
        self.wholes = {}                   # value -> a symbol of it whole
        self.names = {}
        self.taken = {str(v) for v in computation.variables}
        self.counter = 0
        self.made = set()

    # sizes
    def size(self, dim):
        value = sympy.sympify(dim).xreplace(self.dims)
        if not value.is_Integer:
            raise ValueError(f'block: the dimension {dim} has no size; bind it with dims=')
        return int(value)

    def bounds(self, dim):
        if isinstance(self.blocksize, dict):
            size = next((b for d, b in self.blocksize.items() if str(d) == str(dim)), None)
            return partition(self.size(dim), size) if size else (0, self.size(dim))
        return partition(self.size(dim), self.blocksize)

    def whole(self, var):
        rows, cols = map(self.bounds, var.shape)
        return len(rows) == 2 and len(cols) == 2

    # names
    def base(self, var):
        name = self.names.get(var)
        if name is None:
            if isinstance(var, MatrixSymbol):
                name = var.name
            elif isinstance(var, LofCholesky):
                name = f'chol({self.base(var.args[0])})'
            else:
                while True:
                    self.counter += 1
                    name = f't{self.counter}'
                    if name not in self.taken:
                        break
            self.names[var] = name
        return name

    def symbol(self, name, rows, cols):
        """A new symbol; each name is made once."""
        if name in self.made:
            raise AssertionError(f'block: {name} made twice')   # a bug in a blocker
        self.made.add(name)
        return MatrixSymbol(name, rows, cols)

    def new(self, var, i, j, step=None):
        """The symbol of block (i, j) of ``var`` (or of a partial value of it)."""
        rows, cols = map(self.bounds, var.shape)
        name = f'{self.base(var)}[{i},{j}]' + ('' if step is None else f'.{step}')
        return self.symbol(name, rows[i + 1] - rows[i], cols[j + 1] - cols[j])

    # nodes
    def add(self, op, names):
        self.nodes.append(BlockOp(op, names) if tuple(names) != op.outputs else op)
        return names[0] if len(names) == 1 else names

    def of(self, var):
        """The blocks of a matrix value (splitting it if it is held whole)."""
        found = self.blocks.get(var)
        if found is None:
            rows, cols = map(self.bounds, var.shape)
            if _constant(var):
                found = _constant_blocks(var, rows, cols)
            else:
                source = var if var in self.inputs else self.wholes[var]
                split = Split(source, rows, cols, self.base(var))
                self.nodes.append(split)
                found = split.blocks
            self.blocks[var] = found
        return found

    def full(self, var):
        """A symbol of the whole value (assembling it from its blocks if needed)."""
        if not isinstance(var, MatrixExpr):
            return var
        if _constant(var):
            return var.xreplace(self.dims)
        found = self.wholes.get(var)
        if found is None:
            if var in self.inputs and var.xreplace(self.dims) == var:
                found = var                    # an input with numeric sizes: as it is
            elif var in self.inputs:           # one block, of numeric sizes
                rows, cols = ((0, self.size(d)) for d in var.shape)
                split = Split(var, rows, cols, f'{self.base(var)}[:,:]')
                self.nodes.append(split)
                found = split.outputs[0]
            else:
                blocks = self.of(var)
                if blocks.shape == (1, 1):
                    found = blocks[0, 0]
                else:
                    found = self.symbol(self.base(var), *map(self.size, var.shape))
                    self.nodes.append(Assemble(found, blocks))
            self.wholes[var] = found
        return found

    def held_whole(self, var):
        """The value as one block: its whole symbol (an output of an unblocked operation)."""
        rows, cols = ((0, self.size(d)) for d in var.shape)
        return Blocks(rows, cols, [[self.full(var)]])

    def set(self, var, grid):
        rows, cols = map(self.bounds, var.shape)
        self.blocks[var] = Blocks(rows, cols, grid)

    def fallback(self, op):
        """The operation unblocked, on symbols of its whole arguments."""
        reads = [self.full(v) for v in op.inputs]
        names = []
        for var in op.outputs:
            if not isinstance(var, MatrixExpr):
                names.append(var)
            elif self.whole(var):
                names.append(self.new(var, 0, 0))
                self.set(var, [[names[-1]]])
            else:
                names.append(self.symbol(self.base(var), *map(self.size, var.shape)))
            if isinstance(var, MatrixExpr):
                self.wholes[var] = names[-1]
        self.nodes.append(BlockOp(op, names, reads))


def _constant(var):
    return isinstance(var, (ZeroMatrix, sympy.Identity, sympy.OneMatrix))


def _constant_blocks(var, rows, cols):
    def one(i, j):
        shape = (rows[i + 1] - rows[i], cols[j + 1] - cols[j])
        if isinstance(var, sympy.OneMatrix):
            return sympy.OneMatrix(*shape)
        if isinstance(var, sympy.Identity) and i == j:
            return sympy.Identity(shape[0])
        return ZeroMatrix(*shape)
    return Blocks(rows, cols, [[one(i, j) for j in range(len(cols) - 1)]
                               for i in range(len(rows) - 1)])


def _is_zero(var):
    return isinstance(var, ZeroMatrix)


class _Accumulator:
    """A block built up by a chain of calls: each call reads the previous partial value."""

    def __init__(self, env, var, i, j, steps):
        self.env, self.var, self.i, self.j = env, var, i, j
        self.steps, self.done = steps, 0
        self.value = None

    def add(self, make):
        """``make(previous or None)`` builds the next call; its output is the next value."""
        op = make(self.value)
        self.done += 1
        step = None if self.done == self.steps else self.done
        self.value = self.env.add(op, [self.env.new(self.var, self.i, self.j, step)])
        return self.value


def _term(blocks, i, j, trans):
    """Block (i, j) of ``op(X)``: ``(block of X, whether to transpose it)``."""
    return (blocks[j, i], True) if trans else (blocks[i, j], False)


def _check_inner(op, left, right):
    if left != right:
        raise ValueError(f'block: the blocks of the arguments of {op} do not line up '
                         f'({left} against {right})')


# Products ----------------------------------------------------------------------

def _products(op, env, var, terms, beta, C):
    """Accumulate ``sum(terms(i, j)) + beta*C`` into each block of ``var``.

    ``terms(i, j)`` lists callables ``(scale, previous) -> op`` building one
    call that adds a term to ``previous`` (scaled by ``scale``).
    """
    rows, cols = map(env.bounds, var.shape)
    grid = [[None] * (len(cols) - 1) for _ in range(len(rows) - 1)]
    Cb = env.of(C) if C is not None else None
    for i in range(len(rows) - 1):
        for j in range(len(cols) - 1):
            calls = terms(i, j)
            acc = _Accumulator(env, var, i, j, len(calls))
            for k, call in enumerate(calls):
                if k == 0:
                    acc.add(lambda _, call=call: call(beta, Cb[i, j] if Cb else None))
                else:
                    acc.add(lambda prev, call=call: call(1, prev))
            grid[i][j] = acc.value
    env.set(var, grid)


def _gemm(op, env):
    A, B = env.of(op.A), env.of(op.B)
    inner = A.rows if op.trans_a else A.cols
    _check_inner(op, inner, B.cols if op.trans_b else B.rows)

    def terms(i, j):
        def call(p):
            a, ta = _term(A, i, p, op.trans_a)
            b, tb = _term(B, p, j, op.trans_b)
            return lambda beta, c: GEMM(op.alpha, a, b, beta if c is not None else 0, c,
                                        trans_a=ta, trans_b=tb)
        return [call(p) for p in range(len(inner) - 1)]
    _products(op, env, op.outputs[0], terms, op.beta, op.C)


def _symm(op, env):
    A, B = env.of(op.A), env.of(op.B)
    left = op.side == 'L'
    _check_inner(op, A.rows, B.rows if left else B.cols)

    def terms(i, j):
        def call(p):
            if left:                           # sum_p A[i,p] B[p,j]
                a, b, diagonal = A[i, p], B[p, j], i == p
            else:                              # sum_p B[i,p] A[p,j]
                a, b, diagonal = A[p, j], B[i, p], p == j
            if diagonal:
                return lambda beta, c: SYMM(op.alpha, a, b, beta if c is not None else 0, c,
                                            side=op.side)
            first, second = (a, b) if left else (b, a)
            return lambda beta, c: GEMM(op.alpha, first, second,
                                        beta if c is not None else 0, c)
        return [call(p) for p in range(len(A.rows) - 1)]
    _products(op, env, op.outputs[0], terms, op.beta, op.C)


def _gemv(op, env):
    A, x = env.of(op.A), env.of(op.x)
    inner = A.rows if op.trans else A.cols
    _check_inner(op, inner, x.rows)

    def terms(i, j):
        def call(p):
            a, ta = _term(A, i, p, op.trans)
            return lambda beta, c: GEMV(op.alpha, a, x[p, 0], beta if c is not None else 0, c,
                                        trans=ta)
        return [call(p) for p in range(len(inner) - 1)]
    _products(op, env, op.outputs[0], terms, op.beta, op.y)


def _syrk(op, env):
    A = env.of(op.A)
    var = op.outputs[0]
    inner = A.rows if op.trans else A.cols
    n = len(A.cols if op.trans else A.rows) - 1
    C = env.of(op.C) if op.C is not None else None
    grid = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            acc = _Accumulator(env, var, i, j, len(inner) - 1)
            for p in range(len(inner) - 1):
                beta, c = (op.beta if C is not None else 0, C[i, j] if C else None) \
                    if p == 0 else (1, acc.value)
                if op.trans:                   # sum_p A[p,i]' A[p,j]
                    a, b = A[p, i], A[p, j]
                else:                          # sum_p A[i,p] A[j,p]'
                    a, b = A[i, p], A[j, p]
                if i == j:
                    acc.add(lambda _, a=a, beta=beta, c=c: SYRK(op.alpha, a, beta, c,
                                                                 trans=op.trans))
                else:
                    acc.add(lambda _, a=a, b=b, beta=beta, c=c: GEMM(
                        op.alpha, a, b, beta, c, trans_a=op.trans, trans_b=not op.trans))
            grid[i][j] = acc.value
    for i in range(n):
        for j in range(i + 1, n):
            grid[i][j] = env.add(TRANSPOSE(grid[j][i]), [env.new(var, i, j)])
    env.set(var, grid)


# Triangular solves and products --------------------------------------------------

def _triangular(op, env, var=None):
    """TRSM and TRMM, blocked along A's diagonal; ``var`` names the result (default: op's)."""
    var = op.outputs[0] if var is None else var
    if var in env.blocks:                      # the program computes it already
        return
    A, B = env.of(op.A), env.of(op.B)
    left, solve = op.side == 'L', isinstance(op, TRSM)
    lower = op.lower != op.trans_a               # is op(A) lower triangular?
    nA = len(A.rows) - 1
    _check_inner(op, A.rows, B.rows if left else B.cols)
    grid = [[None] * (len(B.cols) - 1) for _ in range(len(B.rows) - 1)]

    def opA(i, p):
        return _term(A, i, p, op.trans_a)

    def diagonal(alpha, b, k):
        return type(op)(alpha, A[k, k], b, side=op.side, lower=op.lower, trans_a=op.trans_a,
                        unit_diagonal=op.unit_diagonal)

    # The blocks of op(A) that are not zero in row (left) or column (right) k.
    def band(k):
        return range(k + 1) if lower == left else range(k, nA)

    for outer in range(len(B.cols) - 1 if left else len(B.rows) - 1):
        # Solves go in substitution order; products in any order.
        ks = range(nA) if (lower == left) else range(nA - 1, -1, -1)
        for k in ks:
            i, j = (k, outer) if left else (outer, k)
            others = [p for p in band(k) if p != k]
            acc = _Accumulator(env, var, i, j, len(others) + 1)
            if solve:
                # X[k] = op(A)[k,k]^-1 (alpha B[k] - sum_p op(A)[k,p] X[p])
                for n, p in enumerate(others):
                    beta, c = (op.alpha, B[i, j]) if n == 0 else (1, acc.value)
                    if left:
                        a, ta = opA(k, p)
                        acc.add(lambda _, a=a, ta=ta, p=p, beta=beta, c=c: GEMM(
                            -1, a, grid[p][j], beta, c, trans_a=ta))
                    else:
                        a, ta = opA(p, k)
                        acc.add(lambda _, a=a, ta=ta, p=p, beta=beta, c=c: GEMM(
                            -1, grid[i][p], a, beta, c, trans_b=ta))
                alpha, b = (1, acc.value) if others else (op.alpha, B[i, j])
                acc.add(lambda _, alpha=alpha, b=b: diagonal(alpha, b, k))
            else:
                # Y[k] = alpha (op(A)[k,k] B[k] + sum_p op(A)[k,p] B[p])
                acc.add(lambda _: diagonal(op.alpha, B[i, j], k))
                for p in others:
                    if left:
                        a, ta = opA(k, p)
                        acc.add(lambda prev, a=a, ta=ta, p=p: GEMM(
                            op.alpha, a, B[p, j], 1, prev, trans_a=ta))
                    else:
                        a, ta = opA(p, k)
                        acc.add(lambda prev, a=a, ta=ta, p=p: GEMM(
                            op.alpha, B[i, p], a, 1, prev, trans_b=ta))
            grid[i][j] = acc.value
    env.set(var, grid)


# Cholesky --------------------------------------------------------------------------

def _cholesky(env, A, L):
    """The right-looking blocked Cholesky factor of ``A``, as the blocks of ``L``.

    The trailing blocks of ``A`` after ``u`` updates are called ``L[i,j].u1``, ...
    """
    if L in env.blocks:                        # factored already
        return
    S = env.of(A)
    n = len(S.rows) - 1
    current = {(i, j): S[i, j] for i in range(n) for j in range(i + 1)}
    updates = {key: 0 for key in current}
    grid = [[None] * n for _ in range(n)]

    def updated(i, j, op):                     # S[i,j] after its next trailing update
        updates[i, j] += 1
        current[i, j] = env.add(op, [env.new(L, i, j, f'u{updates[i, j]}')])

    for j in range(n):
        grid[j][j] = env.add(POTRF(current[j, j]), [env.new(L, j, j)])
        for i in range(j + 1, n):              # the panel: S[i,j] L[j,j]^-T
            grid[i][j] = env.add(TRSM(1, grid[j][j], current[i, j], side='R', lower=True,
                                      trans_a=True), [env.new(L, i, j)])
        for i in range(j + 1, n):              # the trailing update
            for k in range(j + 1, i + 1):
                if i == k:
                    updated(i, i, SYRK(-1, grid[i][j], 1, current[i, i]))
                else:
                    updated(i, k, GEMM(-1, grid[i][j], grid[k][j], 1, current[i, k],
                                       trans_b=True))
    for i in range(n):
        for j in range(i + 1, n):
            grid[i][j] = ZeroMatrix(*env.new(L, i, j).shape)
    env.set(L, grid)


def _potrf(op, env):
    _cholesky(env, op.A, op.outputs[0])


def _potrs_from(env, L, B, X):
    """Blocks of ``X = (L L')^-1 B``: a forward then a backward blocked substitution."""
    forward = TRSM(1, L, B)
    _triangular(forward, env)
    _triangular(TRSM(1, L, forward.outputs[0], trans_a=True), env, var=X)


def _potrs(op, env):
    _potrs_from(env, op.inputs[0], op.B, op.outputs[0])


def _posv(op, env):
    solution, factor = op.outputs
    _cholesky(env, op.A, factor)
    _potrs_from(env, factor, op.B, solution)


# Element-wise -------------------------------------------------------------------------

def _elementwise(make):
    def blocker(op, env):
        var = op.outputs[0]
        rows, cols = map(env.bounds, var.shape)
        grid = [[env.add(make(op, env, i, j), [env.new(var, i, j)])
                 for j in range(len(cols) - 1)] for i in range(len(rows) - 1)]
        env.set(var, grid)
    return blocker


def _copy(op, env):
    env.blocks[op.outputs[0]] = env.of(op.X)


#: How each operation class is blocked: ``blocker(op, env)`` adds the block
#: operations and records the blocks of ``op``'s outputs.  Classes not here
#: run whole (see the module).
BLOCKERS = {
    GEMM: _gemm, SYMM: _symm, GEMV: _gemv, SYRK: _syrk,
    TRSM: _triangular, TRMM: _triangular,
    POTRF: _potrf, POTRS: _potrs, POSV: _posv,
    AXPY: _elementwise(lambda op, env, i, j: AXPY(op.alpha, env.of(op.X)[i, j],
                                                  env.of(op.Y)[i, j])),
    SCAL: _elementwise(lambda op, env, i, j: SCAL(op.alpha, env.of(op.X)[i, j])),
    TRANSPOSE: _elementwise(lambda op, env, i, j: TRANSPOSE(env.of(op.X)[j, i])),
    COPY: _copy,
}

