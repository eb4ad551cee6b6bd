"""The state of a blocking: the blocks of every value, and blocks built term by term.

:class:`Blocking` holds what :func:`~.driver.block` has made so far -- the
nodes, the grid of block symbols of each value, the names -- and makes new
block symbols and nodes; :class:`BlockSum` builds one block as a sum of terms
in as few calls as the terms need.  The per-operation blockers
(:mod:`.blockers`) are written with these, and build their operations with
:func:`operation`, which spares SymPy's simplification of thousands of
block expressions.
"""
import sympy
from sympy import MatrixExpr, MatrixSymbol, ZeroMatrix

from computations.matrices.expressions import LofCholesky
from computations.matrices.ops.auxiliary import SHIFT, TRANSPOSE
from computations.matrices.ops.blas import AXPY, GEMM, SCAL
from computations.matrices.transforms.blocking.nodes import (Assemble, BlockOp, Blocks, Split,
                                                              is_constant, partition)
from computations.sizes import Binding

__all__ = ['Blocking', 'BlockSum', 'sums', 'transposed_block', 'term', 'check_inner',
           'constant_blocks', 'is_zero_block', 'is_identity_block', 'operation']


# Operations of few forms ----------------------------------------------------------

#: The forms of operations built so far (:func:`operation`): key -> ``(stand-ins, template,
#: positions)``, or None for a form whose template cannot be reused.  Emptied when full.
_FORMS = {}
FORMS_LIMIT = 4096


def operation(cls, *args, **kwargs):
    """``cls(*args, **kwargs)``: an equal operation, built without simplifying its outputs.

    A blocked program has thousands of operations of a few forms, and an
    operation's constructor simplifies its output expressions with SymPy
    (``alpha*A*B + beta*C`` canonicalized: most of the time of blocking).  The
    first operation of each form -- its class, the shapes and the pattern of
    equalities of its matrix-symbol arguments, its other arguments as they
    are -- is built by the constructor on stand-in symbols (which checks and
    normalizes the arguments); the others take that operation's props with
    their own blocks in the stand-ins' places, and its outputs with the blocks
    substituted (``xreplace``, which does not canonicalize again: the outputs
    are mathematically the constructor's, their terms perhaps in another
    order; a :class:`BlockOp` renames them anyway).  Equality, hash, flags,
    FLOPs and calls depend on the props only, so the operation is the
    constructor's in every respect a program sees.

    >>> A, B, C = (MatrixSymbol(f'{s}[0,0]', 2, 2) for s in 'ABC')
    >>> op = operation(GEMM, -1, A, B, 1, C, trans_b=True)
    >>> op == GEMM(-1, A, B, 1, C, trans_b=True), op.outputs
    (True, (-A[0,0]*B[0,0].T + C[0,0],))
    """
    blocks = {}

    def form(value):
        if type(value) is MatrixSymbol:
            return ('block', blocks.setdefault(value, len(blocks)), value.shape)
        return (type(value), value)
    try:
        key = (cls, tuple(map(form, args)),
               tuple((name, form(value)) for name, value in sorted(kwargs.items())))
        found = _FORMS.get(key, False)
    except TypeError:                              # an unhashable argument
        return cls(*args, **kwargs)
    if found is False:
        found = _template(cls, args, kwargs, blocks)
        if len(_FORMS) >= FORMS_LIMIT:
            _FORMS.clear()
        _FORMS[key] = found
    if found is None:
        return cls(*args, **kwargs)
    standins, template, positions = found
    real = tuple(blocks)                           # in the order of the stand-ins
    op = object.__new__(cls)
    op._set(*(prop if i is None else real[i] for prop, i in zip(template.props, positions)),
            outputs=[out.xreplace(dict(zip(standins, real))) for out in template.outputs])
    return op


def _template(cls, args, kwargs, blocks):
    """``(stand-ins, template, positions)`` for :func:`operation`: the operation built on
    stand-ins of ``blocks``, and for each of its props the stand-in it is (an index) or
    None; None when a prop is made from a stand-in but is not one (nothing to substitute)."""
    standins = tuple(MatrixSymbol(f'_block{i}', *block.shape) for i, block in enumerate(blocks))
    index = dict(zip(blocks, range(len(blocks))))

    def standin(value):
        return standins[index[value]] if type(value) is MatrixSymbol else value
    try:
        template = cls(*map(standin, args), **{k: standin(v) for k, v in kwargs.items()})
    except Exception:                              # the constructor's error, on the real blocks
        return None
    position = dict(zip(standins, range(len(standins))))
    positions = tuple(position.get(prop) if type(prop) is MatrixSymbol else None
                      for prop in template.props)
    for prop, i in zip(template.props, positions):
        if i is None and isinstance(prop, sympy.Basic) and prop.has(*standins):
            return None
    return standins, template, positions


class Blocking:
    """The state of :func:`block`: the nodes made so far, and the blocks of each value.

    Every matrix value of the program is a grid of block symbols with numeric
    shapes (:class:`Blocks`); scalars stay as they are.
    """

    def __init__(self, computation, blocksize, dims):
        self.blocksize = blocksize
        self.binding = Binding(dims)
        self.dims = self.binding.dims
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
        """A dimension's size (:class:`~computations.sizes.UnboundSizeError` if unbound)."""
        return self.binding.size(dim, f'the dimension {dim} of a blocked program '
                                      '(bind it with dims=)')

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
        if is_constant(block):
            return block.T
        found = self.transposes.get(block)
        if found is None:
            found = self.add(operation(TRANSPOSE, block), [self.symbol(f'{block.name}.T',
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
            if is_constant(var):
                found = constant_blocks(var, rows, cols)
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
        if is_constant(var):
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


def constant_blocks(var, rows, cols):
    def one(i, j):
        shape = (rows[i + 1] - rows[i], cols[j + 1] - cols[j])
        if isinstance(var, sympy.OneMatrix):
            # a 1 x 1 block of ones is the identity (SymPy's products say so, and one made
            # an operation computing nothing: GEMM(1, 1, B[0,0]) at blocks of 1)
            return sympy.Identity(1) if shape == (1, 1) else sympy.OneMatrix(*shape)
        if isinstance(var, sympy.Identity) and i == j:
            return sympy.Identity(shape[0])
        return ZeroMatrix(*shape)
    return Blocks(rows, cols, [[one(i, j) for j in range(len(cols) - 1)]
                               for i in range(len(rows) - 1)])


def is_zero_block(block):
    return isinstance(block, ZeroMatrix)


def is_identity_block(block):
    return isinstance(block, sympy.Identity)


def term(blocks, i, j, trans):
    """Block (i, j) of ``op(X)``: ``(block of X, whether to transpose it)``."""
    return (blocks[j, i], True) if trans else (blocks[i, j], False)


def check_inner(op, left, right):
    if left != right:
        raise ValueError(f'block: the blocks of the arguments of {op} do not line up '
                         f'({left} against {right})')


# Sums of blocks -------------------------------------------------------------------

#: In a :class:`BlockSum`'s value: the output of its last call.
_PREVIOUS = 'previous'


class BlockSum:
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
    >>> s = BlockSum(None, 1, A)
    >>> s.product(3, sympy.Identity(2), B)          # A + 3*I*B = A + 3*B
    >>> s.product(2, ZeroMatrix(2, 2), B)           # + 0
    >>> s.value, [str(make(None)) for make in s.calls]
    ((1, 'previous'), ['A + 3*B = AXPY(3, B, A)'])
    """

    def __init__(self, env, coef=1, block=None):
        self.env = env
        self.calls = []                        # make(previous output) -> operation
        self.value = None
        # A multiple of the identity added and not yet applied: a SHIFT of the diagonal at
        # the end (it commutes with every term added), never an identity block formed.
        self.shift, self._identity = 0, None
        if block is not None and not is_zero_block(block) and coef != 0:
            self.add(coef, block)

    def _then(self, make):
        self.calls.append(make)
        self.value = (1, _PREVIOUS)

    def _scaled(self):
        """Make the value's coefficient 1 (SCAL)."""
        if self.value is not None and self.value[0] != 1:
            coef, block = self.value               # a block, not _PREVIOUS: calls leave 1
            self._then(lambda previous: operation(SCAL, coef, block))

    def _read(self):
        """``(coef, make_block)``: the value, its block read at emission."""
        coef, block = self.value
        return coef, (lambda previous: previous if block == _PREVIOUS else block)

    def add(self, alpha, X):
        """Add ``alpha*X``, ``X`` a block (AXPY, or nothing while the sum is zero; an
        identity block is a pending diagonal shift)."""
        if is_zero_block(X) or alpha == 0:
            return
        if is_identity_block(X):
            self.shift, self._identity = self.shift + alpha, X
            return
        if self.value is None:
            self.value = (alpha, X)
            return
        if self.value[0] != 1 and alpha == 1:      # coef*Y + X: one AXPY
            coef, Y = self.value
            self._then(lambda previous: operation(AXPY, coef, Y, X))
            return
        self._scaled()
        _, value = self._read()
        self._then(lambda previous: operation(AXPY, alpha, X, value(previous)))

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
        if is_zero_block(a) or is_zero_block(b):
            return
        if is_identity_block(a) and whole[1]:
            self.add(alpha, self.env.transposed(b) if tb else b)
        elif is_identity_block(b) and whole[0]:
            self.add(alpha, self.env.transposed(a) if ta else a)
        else:
            self.call(make or (lambda beta, c: operation(GEMM, alpha, a, b, beta, c,
                                                         trans_a=ta, trans_b=tb)))

    def _shifted(self):
        """Apply the pending shift: SHIFT of the value's diagonal, or the identity block
        itself (scaled) when the rest of the sum is zero."""
        if self.shift == 0:
            return
        shift, self.shift = self.shift, 0
        if self.value is None:
            self.value = (shift, self._identity)
            return
        self._scaled()
        _, value = self._read()
        self._then(lambda previous: operation(SHIFT, shift, value(previous)))

    def apply(self, make, scales=True):
        """Replace the value ``coef*X`` by the output of ``make(coef, X)`` (a solve, a
        factorization; unless ``scales``, ``coef`` is 1, by a SCAL first).  Zero stays zero."""
        self._shifted()
        if self.value is None:
            return
        if not scales:
            self._scaled()
        coef, value = self._read()
        self._then(lambda previous: make(coef, value(previous)))

    def is_identity(self):
        if self.value is None:
            return self.shift == 1
        return self.shift == 0 and self.value[0] == 1 and is_identity_block(self.value[1])

    def is_zero(self):
        return self.value is None and self.shift == 0

    def emit(self, var, i, j, step=''):
        """Block (i, j) of ``var``: the calls made, named ``var[i,j].{step}1``, ... and
        ``var[i,j]`` for the last; or the block the value is, when it needs no call."""
        self._shifted()
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


def sums(env, var, beta, C, terms):
    """Each block (i, j) of ``var`` as ``beta*C[i,j]`` plus what ``terms(sum, i, j)`` adds."""
    rows, cols = map(env.bounds, var.shape)
    Cb = env.of(C) if C is not None else None
    grid = [[None] * (len(cols) - 1) for _ in range(len(rows) - 1)]
    for i in range(len(rows) - 1):
        for j in range(len(cols) - 1):
            total = BlockSum(env, beta, Cb[i, j] if Cb else None)
            terms(total, i, j)
            grid[i][j] = total.emit(var, i, j)
    env.set(var, grid)


def transposed_block(env, var, i, j, block):
    """Block (i, j) of ``var``, the transpose of ``block``: a constant's transpose, or a
    TRANSPOSE named ``var[i,j]``."""
    if is_constant(block):
        return block.T
    return env.add(operation(TRANSPOSE, block), [env.new(var, i, j)])
