"""Running blocked programs: kernels and emitters for Split, Assemble and BlockOp.

A :class:`~computations.matrices.transforms.blocking.BlockOp` runs (and is written in
generated source) exactly as the operation it wraps; :class:`Split` copies
each block of a matrix into its own Fortran-ordered array (a copy, not a
view, so a routine that overwrites a block can never reach the caller's
array); :class:`Assemble` writes blocks into one new array.

>>> import numpy as np, sympy
>>> from computations.matrices import GEMM
>>> from computations.matrices.transforms.blocking import block
>>> from computations.schedulers import execute
>>> A = sympy.MatrixSymbol('A', 5, 5)
>>> a = np.arange(25.).reshape(5, 5)
>>> out = execute(block(GEMM(1, A, A), blocksize=2), {A: a})
>>> np.allclose(out[A * A], a @ a)
True
"""
import numpy as np
import sympy

from computations.matrices import RoutineError
from computations.matrices.transforms.blocking import Assemble, BlockOp, Split

from .calls import failure
from .emitters import emit
from .kernels import kernel, run

__all__ = ['block_copy']


@kernel.register(Split)
def _split(op, values, overwrite):
    (x,) = values
    return tuple(block_copy(x, *bounds) for _, bounds in op.pieces)


def block_copy(x, r0, r1, c0, c1):
    """Block ``x[r0:r1, c0:c1]`` as a Fortran-ordered copy (never a view of ``x``)."""
    return np.array(x[r0:r1, c0:c1], order='F', copy=True)


@kernel.register(Assemble)
def _assemble(op, values, overwrite):
    if len(op.grid) == 1 and len(op.grid[0]) == 1 and op.grid[0][0] in op.inputs:
        # One block: a copy, as it is (LU pivots are a 1-D integer array).
        return (np.array(values[0], order='F', copy=True),)
    given = dict(zip(op.inputs, values))
    dtype = values[0].dtype if values else np.float64
    out = np.empty((op.rows[-1], op.cols[-1]), dtype=dtype, order='F')
    for i, (r0, r1) in enumerate(zip(op.rows[:-1], op.rows[1:])):
        for j, (c0, c1) in enumerate(zip(op.cols[:-1], op.cols[1:])):
            block = op.grid[i][j]
            if block in given:
                out[r0:r1, c0:c1] = given[block]
            elif isinstance(block, sympy.Identity):
                out[r0:r1, c0:c1] = np.eye(r1 - r0, dtype=dtype)
            else:
                out[r0:r1, c0:c1] = 1 if isinstance(block, sympy.OneMatrix) else 0
    return (out,)


@kernel.register(BlockOp)
def _block_op(node, values, overwrite):
    try:
        return run(node.op, values, overwrite)
    except RoutineError as error:
        declared = getattr(node.op, 'failure', None)
        if declared is None or type(error) is not declared[0]:
            raise
        # the program's matrix and the block named, as the generated code's check does
        raise failure(node, error.info) from None


@emit.register(BlockOp)
def _emit_block_op(node, call):
    return emit(node.op, call)
