"""The blocking driver: :func:`block` runs each operation's blocker over a program.

See :mod:`computations.matrices.transforms.blocking` for what a blocked
program is.
"""
from sympy import MatrixExpr, sympify

from computations.core import Computation, CompositeComputation, Identity
from computations.sizes import Binding
from computations.matrices.transforms.blocking.blockers import BLOCKERS
from computations.matrices.transforms.blocking.nodes import Assemble, BlockOp, Split
from computations.matrices.transforms.blocking.state import Blocking

__all__ = ['block']


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
    env = Blocking(computation, blocksize, dims or {})
    _check_size(computation, env)
    results = _results(computation)
    for op in computation.toposort():
        if isinstance(op, Identity):
            continue
        if all(v in env.blocks or v in env.wholes for v in op.outputs):
            continue                           # made already, as a step of another operation
        blocker = BLOCKERS.get(type(op))
        matrices = [v for v in op.inputs + op.outputs if isinstance(v, MatrixExpr)]
        start = len(env.nodes)
        if blocker is None or all(env.whole(v) for v in matrices):
            env.fallback(op)
        else:
            blocker(op, env)
        for node in env.nodes[start:]:
            if isinstance(node, BlockOp):
                node.from_operation(op)
    for var in results:
        if isinstance(var, MatrixExpr) and var not in env.inputs:   # (an input passes through)
            env.nodes.append(Assemble(var, env.blocks.get(var) or env.held_whole(var)))
    nodes = _needed(env.nodes, results)
    return CompositeComputation(*_read_blocks_only(nodes), Identity(*results))


#: Block operations a blocked program may be estimated to need, at most: building one
#: takes about half a millisecond (``./dev bench blocked_compile``), so this many take
#: over an hour; past it, :func:`block` refuses at once rather than seem to hang (blocks
#: of 2 at n = 10**6 asked for 10**17).
MAX_BLOCK_OPERATIONS = 10 ** 7


def _check_size(computation, env):
    """A ValueError naming the dimension with the most blocks when the blocked program
    would need more than :data:`MAX_BLOCK_OPERATIONS` block operations
    (:func:`_block_operations` per operation)."""
    estimate, most = 0, (1, None)
    for op in computation.computations:
        if isinstance(op, Identity):                # marks the results: nothing to block
            continue
        counts = [(len(env.bounds(dim)) - 1, dim) for var in op.inputs + op.outputs
                  if isinstance(var, MatrixExpr) for dim in var.shape]
        if counts:
            estimate += _block_operations(op, env, max(count for count, _ in counts))
            most = max(most, *counts, key=lambda count: count[0])
    if estimate > MAX_BLOCK_OPERATIONS:
        count, dim = most
        raise ValueError(f'blocking: {dim} = {env.size(dim)} in {count} blocks makes about '
                         f'{estimate:.2g} block operations (at most {MAX_BLOCK_OPERATIONS:.0e}; '
                         'each takes about half a millisecond to build): choose larger blocks')


def _block_operations(op, env, most):
    """About how many block operations blocking ``op`` makes: its FLOPs over those of the
    same operation on one block along each dimension (GEMM's ``2*m*n*k``: blocks(m) *
    blocks(n) * blocks(k); GEMV's ``2*m*n``: blocks(m) * blocks(n) -- the cube of the
    ``most`` blocks along an axis, used before, took a matrix times a vector in 223
    blocks for 223 times its 50,000).  A copy (no FLOPs): the square of the most blocks.
    An operation whose FLOPs are another number (numeric shapes) or unbound: the cube, an
    upper bound for the level-3 routines.

    >>> from sympy import MatrixSymbol, Symbol
    >>> from computations.matrices import GEMM
    >>> n = Symbol('n')
    >>> S, x = MatrixSymbol('S', n, n), MatrixSymbol('x', n, 1)
    >>> env = Blocking(CompositeComputation(GEMM(1, S, x)), 10, {n: 1000})
    >>> _block_operations(GEMM(1, S, x), env, 100), _block_operations(GEMM(1, S, S), env, 100)
    (10000.0, 1000000.0)
    """
    flops = sympify(op.flops)
    if flops == 0:
        return float(most) ** 2
    symbols = flops.free_symbols
    if symbols and symbols <= set(env.dims):
        one_block = Binding({s: env.bounds(s)[1] for s in symbols})
        whole, block = env.binding.value(flops), one_block.value(flops)
        if whole is not None and block:
            return max(1.0, float(whole) / float(block))
    return float(most) ** 3


def _results(computation):
    """What the blocked program returns: the values ``computation``'s Identity marks (the
    compiler's results), and the outputs of every operation none of whose outputs is marked
    or read (work a hand-built computation does for its own sake); with no mark, all its
    outputs.  A by-product nobody asked for (POSV's Cholesky factor, beside its marked
    solve) is not assembled: that would copy a whole matrix that is then dropped.

    >>> from sympy import MatrixSymbol
    >>> from computations.matrices import AXPY, GEMM, POSV
    >>> A, B = MatrixSymbol('A', 4, 4), MatrixSymbol('B', 4, 4)
    >>> _results(GEMM(1, A, A) + AXPY(1, A*A, B) + Identity(A*A))
    (A**2, A**2 + B)
    >>> _results(POSV(A, B) + Identity(A.I*B))
    (A**(-1)*B,)
    """
    ops = [op for op in computation.computations if not isinstance(op, Identity)]
    marked = [v for op in computation.computations if isinstance(op, Identity)
              for v in op.outputs]
    if not marked:
        return computation.outputs
    read = {v for op in ops for v in op.inputs} | set(marked)
    unread = {v for op in ops if read.isdisjoint(op.outputs) for v in op.outputs}
    return tuple(dict.fromkeys([*marked, *(v for v in computation.outputs if v in unread)]))


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
