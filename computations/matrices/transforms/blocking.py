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

Constants are blocked too: an identity has identity blocks on its diagonal
and zero blocks elsewhere, a Cholesky factor zero blocks above its diagonal.
Each blocked operation builds a block as a sum of terms (:class:`_Sum`): a
term with a zero block adds nothing, a product with an identity block is the
other factor, and an identity block added to a value is a diagonal shift
(AXPY of the identity).  So a block may need no call at all: it is then a
constant or a block of another value (``S + I`` keeps ``S``'s blocks off the
diagonal).

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

from computations.core import Computation, CompositeComputation, Identity, Immutable
from computations.pictures import operation_label
from computations.matrices.ops.auxiliary import TRANSPOSE
from computations.matrices.expressions import LofCholesky
from computations.matrices.ops.blas import AXPY, COPY, GEMM, GEMV, SCAL, SYMM, SYRK, TRMM, TRSM
from computations.matrices.ops.lapack import POSV, POTRF, POTRS

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
        if isinstance(var, MatrixExpr) and var not in env.inputs:   # (an input passes through)
            env.nodes.append(Assemble(var, env.blocks.get(var) or env.held_whole(var)))
    nodes = _needed(env.nodes, computation.outputs)
    return CompositeComputation(*_read_blocks_only(nodes), Identity(*computation.outputs))


def _needed(nodes, outputs):
    """The nodes (in the order made, which is topological) that the outputs depend on:
    not, say, the upper blocks of a symmetric product that only a Cholesky factor reads."""
    wanted, kept = set(outputs), []
    for node in reversed(nodes):
        if wanted.intersection(node.outputs):
            kept.append(node)
            wanted.update(node.inputs)
    return kept[::-1]


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
        self.transposes = {}               # block -> a symbol of its transpose

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

    def block_shape(self, var, i, j):
        rows, cols = map(self.bounds, var.shape)
        return rows[i + 1] - rows[i], cols[j + 1] - cols[j]

    def new(self, var, i, j, step=None):
        """The symbol of block (i, j) of ``var`` (or of a partial value of it)."""
        name = f'{self.base(var)}[{i},{j}]' + ('' if step is None else f'.{step}')
        return self.symbol(name, *self.block_shape(var, i, j))

    def transposed(self, block):
        """The transpose of a block: a constant's, or a TRANSPOSE of it (made once)."""
        if _constant(block):
            return block.T
        found = self.transposes.get(block)
        if found is None:
            found = self.add(TRANSPOSE(block), [self.symbol(f'{block.name}.T',
                                                            *block.shape[::-1])])
            self.transposes[block] = found
        return found

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


def _is_zero(block):
    return isinstance(block, ZeroMatrix)


def _is_identity(block):
    return isinstance(block, sympy.Identity)


def _term(blocks, i, j, trans):
    """Block (i, j) of ``op(X)``: ``(block of X, whether to transpose it)``."""
    return (blocks[j, i], True) if trans else (blocks[i, j], False)


def _check_inner(op, left, right):
    if left != right:
        raise ValueError(f'block: the blocks of the arguments of {op} do not line up '
                         f'({left} against {right})')


# Sums of blocks -------------------------------------------------------------------

#: In a :class:`_Sum`'s value: the output of its last call.
_PREVIOUS = 'previous'


class _Sum:
    """One block built up term by term, in as few calls as its terms need.

    Blocks of constants make terms vanish: a term with a zero factor adds
    nothing, and an identity factor leaves the other factor (added with AXPY,
    so an identity block added to a value is a diagonal shift).  The sum so
    far, ``value``, is None (zero) or ``(coef, block)``: ``coef`` times
    ``block``, an existing block (an input's, a constant, another value's)
    not yet scaled, or :data:`_PREVIOUS`, the output of the last call (with
    ``coef`` 1).  So a block can end as the output of a chain of calls, each
    reading the previous partial value, or as an existing block, as it is.

    >>> A, B = MatrixSymbol('A', 2, 2), MatrixSymbol('B', 2, 2)
    >>> s = _Sum(None, 1, A)
    >>> s.product(3, sympy.Identity(2), B)          # A + 3*I*B = A + 3*B
    >>> s.product(2, ZeroMatrix(2, 2), B)           # + 0
    >>> s.value, [str(make(None)) for make in s.calls]
    ((1, 'previous'), ['A + 3*B = AXPY(3, B, A)'])
    """

    def __init__(self, env, coef=1, block=None):
        self.env = env
        self.calls = []                        # make(previous output) -> operation
        self.value = None if block is None or _is_zero(block) or coef == 0 else (coef, block)

    def _then(self, make):
        self.calls.append(make)
        self.value = (1, _PREVIOUS)

    def _scaled(self):
        """Make the value's coefficient 1 (SCAL)."""
        if self.value is not None and self.value[0] != 1:
            coef, block = self.value               # a block, not _PREVIOUS: calls leave 1
            self._then(lambda previous: SCAL(coef, block))

    def _read(self):
        """``(coef, make_block)``: the value, its block read at emission."""
        coef, block = self.value
        return coef, (lambda previous: previous if block == _PREVIOUS else block)

    def add(self, alpha, X):
        """Add ``alpha*X``, ``X`` a block (AXPY, or nothing while the sum is zero)."""
        if _is_zero(X) or alpha == 0:
            return
        if self.value is None:
            self.value = (alpha, X)
            return
        if self.value[0] != 1 and alpha == 1:      # coef*Y + X: one AXPY
            coef, Y = self.value
            self._then(lambda previous: AXPY(coef, Y, X))
            return
        self._scaled()
        _, value = self._read()
        self._then(lambda previous: AXPY(alpha, X, value(previous)))

    def call(self, make):
        """Add a term one call computes: ``make(beta, c)`` is an operation computing the
        term plus ``beta*c`` (the term alone when ``c`` is None)."""
        if self.value is None:
            self._then(lambda previous: make(0, None))
        else:
            coef, value = self._read()
            self._then(lambda previous: make(coef, value(previous)))

    def product(self, alpha, a, b, ta=False, tb=False, make=None, whole=(True, True)):
        """Add ``alpha*op(a)*op(b)``: nothing if a factor is zero; ``alpha*op(b)`` if ``a``
        is the identity (``op(a)`` if ``b`` is), when that factor is read whole (not one
        triangle); else the call ``make(beta, c)`` (default: GEMM)."""
        if _is_zero(a) or _is_zero(b):
            return
        if _is_identity(a) and whole[1]:
            self.add(alpha, self.env.transposed(b) if tb else b)
        elif _is_identity(b) and whole[0]:
            self.add(alpha, self.env.transposed(a) if ta else a)
        else:
            self.call(make or (lambda beta, c: GEMM(alpha, a, b, beta, c,
                                                    trans_a=ta, trans_b=tb)))

    def apply(self, make, scales=True):
        """Replace the value ``coef*X`` by the output of ``make(coef, X)`` (a solve, a
        factorization; unless ``scales``, ``coef`` is 1, by a SCAL first).  Zero stays zero."""
        if self.value is None:
            return
        if not scales:
            self._scaled()
        coef, value = self._read()
        self._then(lambda previous: make(coef, value(previous)))

    def is_identity(self):
        return self.value is not None and self.value[0] == 1 and _is_identity(self.value[1])

    def emit(self, var, i, j, step=''):
        """Block (i, j) of ``var``: the calls made, named ``var[i,j].{step}1``, ... and
        ``var[i,j]`` for the last; or the block the value is, when it needs no call."""
        if self.value is None:
            return ZeroMatrix(*self.env.block_shape(var, i, j))
        self._scaled()
        if not self.calls:
            return self.value[1]
        previous = None
        for k, make in enumerate(self.calls, 1):
            name = self.env.new(var, i, j, None if k == len(self.calls) else f'{step}{k}')
            previous = self.env.add(make(previous), [name])
        return previous


def _sums(env, var, beta, C, terms):
    """Each block (i, j) of ``var`` as ``beta*C[i,j]`` plus what ``terms(sum, i, j)`` adds."""
    rows, cols = map(env.bounds, var.shape)
    Cb = env.of(C) if C is not None else None
    grid = [[None] * (len(cols) - 1) for _ in range(len(rows) - 1)]
    for i in range(len(rows) - 1):
        for j in range(len(cols) - 1):
            total = _Sum(env, beta, Cb[i, j] if Cb else None)
            terms(total, i, j)
            grid[i][j] = total.emit(var, i, j)
    env.set(var, grid)


def _transposed_block(env, var, i, j, block):
    """Block (i, j) of ``var``, the transpose of ``block``: a constant's transpose, or a
    TRANSPOSE named ``var[i,j]``."""
    if _constant(block):
        return block.T
    return env.add(TRANSPOSE(block), [env.new(var, i, j)])


# Products ----------------------------------------------------------------------

def _gemm(op, env):
    A, B = env.of(op.A), env.of(op.B)
    inner = A.rows if op.trans_a else A.cols
    _check_inner(op, inner, B.cols if op.trans_b else B.rows)

    def terms(total, i, j):
        for p in range(len(inner) - 1):
            a, ta = _term(A, i, p, op.trans_a)
            b, tb = _term(B, p, j, op.trans_b)
            total.product(op.alpha, a, b, ta, tb)
    _sums(env, op.outputs[0], op.beta, op.C, terms)


def _symm(op, env):
    A, B = env.of(op.A), env.of(op.B)
    left = op.side == 'L'
    _check_inner(op, A.rows, B.rows if left else B.cols)

    def terms(total, i, j):
        for p in range(len(A.rows) - 1):
            if left:                           # sum_p A[i,p] B[p,j]
                a, b, diagonal = A[i, p], B[p, j], i == p
            else:                              # sum_p B[i,p] A[p,j]
                a, b, diagonal = A[p, j], B[i, p], p == j
            first, second = (a, b) if left else (b, a)
            if diagonal:                       # SYMM reads one triangle of a
                total.product(op.alpha, first, second, whole=(not left, left),
                              make=lambda beta, c, a=a, b=b: SYMM(op.alpha, a, b, beta, c,
                                                                  side=op.side))
            else:
                total.product(op.alpha, first, second)
    _sums(env, op.outputs[0], op.beta, op.C, terms)


def _gemv(op, env):
    A, x = env.of(op.A), env.of(op.x)
    inner = A.rows if op.trans else A.cols
    _check_inner(op, inner, x.rows)

    def terms(total, i, j):
        for p in range(len(inner) - 1):
            a, ta = _term(A, i, p, op.trans)
            total.product(op.alpha, a, x[p, 0], ta,
                          make=lambda beta, c, a=a, ta=ta, p=p: GEMV(op.alpha, a, x[p, 0],
                                                                     beta, c, trans=ta))
    _sums(env, op.outputs[0], op.beta, op.y, terms)


def _syrk(op, env):
    A = env.of(op.A)
    var = op.outputs[0]
    inner = A.rows if op.trans else A.cols
    n = len(A.cols if op.trans else A.rows) - 1
    C = env.of(op.C) if op.C is not None else None
    grid = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            total = _Sum(env, op.beta, C[i, j] if C else None)
            for p in range(len(inner) - 1):
                if op.trans:                   # sum_p A[p,i]' A[p,j]
                    a, b = A[p, i], A[p, j]
                else:                          # sum_p A[i,p] A[j,p]'
                    a, b = A[i, p], A[j, p]
                make = None if i != j else \
                    lambda beta, c, a=a: SYRK(op.alpha, a, beta, c, trans=op.trans)
                total.product(op.alpha, a, b, op.trans, not op.trans, make=make)
            grid[i][j] = total.emit(var, i, j)
    for i in range(n):
        for j in range(i + 1, n):
            grid[i][j] = _transposed_block(env, var, i, j, grid[j][i])
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

    def diagonal(k):
        """A[k,k], the identity when it is one (a unit diagonal's block of zeros is)."""
        block = A[k, k]
        if op.unit_diagonal and _constant(block) and not isinstance(block, sympy.OneMatrix):
            return sympy.Identity(block.shape[0])
        return block

    def on_diagonal(alpha, b, k):
        return type(op)(alpha, diagonal(k), b, side=op.side, lower=op.lower,
                        trans_a=op.trans_a, unit_diagonal=op.unit_diagonal)

    # The blocks of op(A) that are not zero in row (left) or column (right) k.
    def band(k):
        return range(k + 1) if lower == left else range(k, nA)

    for outer in range(len(B.cols) - 1 if left else len(B.rows) - 1):
        # Solves go in substitution order; products in any order.
        ks = range(nA) if (lower == left) else range(nA - 1, -1, -1)
        for k in ks:
            i, j = (k, outer) if left else (outer, k)
            others = [p for p in band(k) if p != k]
            if solve:
                # X[k] = op(A)[k,k]^-1 (alpha B[k] - sum_p op(A)[k,p] X[p])
                total = _Sum(env, op.alpha, B[i, j])
                for p in others:
                    if left:
                        a, ta = opA(k, p)
                        total.product(-1, a, grid[p][j], ta=ta)
                    else:
                        a, ta = opA(p, k)
                        total.product(-1, grid[i][p], a, tb=ta)
                if _is_zero(diagonal(k)):
                    raise ValueError(f'block: {op.A} has a diagonal block of zeros ({k}, {k}): '
                                     'it is singular')
                if not _is_identity(diagonal(k)):
                    total.apply(lambda alpha, b, k=k: on_diagonal(alpha, b, k))
            else:
                # Y[k] = alpha (op(A)[k,k] B[k] + sum_p op(A)[k,p] B[p]); the first
                # term starts the sum (TRMM adds no C).
                total = _Sum(env)
                a, b = (diagonal(k), B[i, j]) if left else (B[i, j], diagonal(k))
                total.product(op.alpha, a, b, whole=(not left, left),
                              make=lambda beta, c, k=k, b=B[i, j]: on_diagonal(op.alpha, b, k))
                for p in others:
                    if left:
                        a, ta = opA(k, p)
                        total.product(op.alpha, a, B[p, j], ta=ta)
                    else:
                        a, ta = opA(p, k)
                        total.product(op.alpha, B[i, p], a, tb=ta)
            grid[i][j] = total.emit(var, i, j)
    env.set(var, grid)


# Cholesky --------------------------------------------------------------------------

def _cholesky(env, A, L):
    """The blocked Cholesky factor of ``A``, as the blocks of ``L``.

    Block (i, j) of the lower triangle is ``A[i,j]`` less the updates from the
    columns left of ``j`` (the partial values ``L[i,j].u1``, ...), then
    factored (diagonal) or solved against ``L[j,j]'`` (below it): the
    right-looking algorithm's operations, each block's chain made at once.
    """
    if L in env.blocks:                        # factored already
        return
    S = env.of(A)
    n = len(S.rows) - 1
    grid = [[None] * n for _ in range(n)]
    for j in range(n):
        for i in range(j, n):
            total = _Sum(env, 1, S[i, j])
            for p in range(j):                 # S[i,j] - sum_p L[i,p] L[j,p]'
                make = None if i != j else \
                    lambda beta, c, a=grid[i][p]: SYRK(-1, a, beta, c)
                total.product(-1, grid[i][p], grid[j][p], tb=True, make=make)
            if i == j and total.value is None:
                raise ValueError(f'block: the diagonal block ({j}, {j}) of {A} is zero: '
                                 f'{A} is not positive definite')
            if i == j and not total.is_identity():
                total.apply(lambda alpha, X: POTRF(X), scales=False)
            elif i != j and not _is_identity(grid[j][j]):
                total.apply(lambda alpha, X, d=grid[j][j]: TRSM(
                    alpha, d, X, side='R', lower=True, trans_a=True))
            grid[i][j] = total.emit(L, i, j, step='u')
    for i in range(n):
        for j in range(i + 1, n):
            grid[i][j] = ZeroMatrix(*env.block_shape(L, i, j))
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

def _blockwise(make):
    """A blocker making each block of the output alone: ``make(op, env, var, i, j)``."""
    def blocker(op, env):
        var = op.outputs[0]
        rows, cols = map(env.bounds, var.shape)
        env.set(var, [[make(op, env, var, i, j) for j in range(len(cols) - 1)]
                      for i in range(len(rows) - 1)])
    return blocker


def _axpy(op, env, var, i, j):
    total = _Sum(env, 1, env.of(op.Y)[i, j])
    total.add(op.alpha, env.of(op.X)[i, j])
    return total.emit(var, i, j)


def _scal(op, env, var, i, j):
    return _Sum(env, op.alpha, env.of(op.X)[i, j]).emit(var, i, j)


def _transpose(op, env, var, i, j):
    return _transposed_block(env, var, i, j, env.of(op.X)[j, i])


def _copy(op, env):
    env.blocks[op.outputs[0]] = env.of(op.X)


#: How each operation class is blocked: ``blocker(op, env)`` adds the block
#: operations and records the blocks of ``op``'s outputs.  Classes not here
#: run whole (see the module).
BLOCKERS = {
    GEMM: _gemm, SYMM: _symm, GEMV: _gemv, SYRK: _syrk,
    TRSM: _triangular, TRMM: _triangular,
    POTRF: _potrf, POTRS: _potrs, POSV: _posv,
    AXPY: _blockwise(_axpy), SCAL: _blockwise(_scal), TRANSPOSE: _blockwise(_transpose),
    COPY: _copy,
}
