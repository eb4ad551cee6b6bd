"""The node types of blocked programs: block grids, and the operations that cut, join and
rename blocks.

:class:`Blocks` is a matrix as a grid of blocks; :class:`Split` cuts a matrix
into its blocks, :class:`Assemble` puts them back together, and
:class:`BlockOp` is an operation of the vocabulary whose outputs (and perhaps
inputs) are renamed to block symbols.  See :mod:`computations.matrices.transforms.blocking`.
"""
import sympy
from sympy import MatrixSymbol, ZeroMatrix

from computations.core import Computation, Immutable
from computations.pictures import operation_label

__all__ = ['partition', 'Blocks', 'Split', 'Assemble', 'BlockOp', 'is_constant']


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
        return tuple(dict.fromkeys(v for row in self.grid for v in row if not is_constant(v)))

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

    >>> from computations.matrices import GEMM
    >>> A, C = MatrixSymbol('A', 2, 2), MatrixSymbol('C', 2, 2)
    >>> node = BlockOp(GEMM(1, A, A), [C])
    >>> node.inputs, node.outputs, node.routine, node.flops
    ((A, A), (C,), 'gemm', 16)
    >>> print(BlockOp(GEMM(1, A, A), [C], reads=[C.T, C.T]))
    C = GEMM(C.T, C.T)

    ``origin`` is the operation of the unblocked program it is a step of
    (:func:`~.driver.block` records it; None when not known): what a picture
    groups block operations by.  It is not a prop: it changes neither
    equality nor what runs.
    """
    __slots__ = ('origin',)
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
        object.__setattr__(self, 'origin', None)

    def from_operation(self, origin):
        """Record ``origin`` as the operation this is a step of, unless one is recorded."""
        if getattr(self, 'origin', None) is None:
            object.__setattr__(self, 'origin', origin)

    def __reduce__(self):       # the origin too: a worker's error names the program's matrix
        return type(self), self._props, self.origin

    def __setstate__(self, origin):
        object.__setattr__(self, 'origin', origin)

    @property
    def inputs(self):
        return self.op.inputs if self.reads is None else self.reads

    @property
    def outputs(self):
        return self.names

    # The facts every Computation declares (defaults on the base class, which
    # __getattr__ would not reach) are the wrapped operation's too.
    inplace = property(lambda self: self.op.inplace)
    buffered_outputs = property(lambda self: self.op.buffered_outputs)
    output_is_input = property(lambda self: self.op.output_is_input)
    flops = property(lambda self: self.op.flops)
    workspace = property(lambda self: self.op.workspace)

    def __getattr__(self, name):
        # Every other fact of the operation (routine, bind, ...) is the wrapped
        # operation's.
        if name.startswith('__') or name in ('op', 'names', 'reads', 'origin', '_props',
                                             '_hash'):
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


def is_constant(var):
    """Whether ``var`` is a constant matrix (zero, identity, ones), blocked without a Split."""
    return isinstance(var, (ZeroMatrix, sympy.Identity, sympy.OneMatrix))
