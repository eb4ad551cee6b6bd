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

The package: :mod:`.nodes` (the node types), :mod:`.state` (the blocks of every
value, and :class:`~.state.BlockSum`), :mod:`.blockers` (how each operation is
blocked, a registry by class, :data:`BLOCKERS`) and :mod:`.driver` (:func:`block`).

How each operation is blocked:

* GEMM, SYMM, GEMV: block products, accumulated block by block
  (``C[i,j] = A[i,0]*B[0,j] + A[i,1]*B[1,j] + ...``, one GEMM per term);
  SYMM's diagonal blocks stay SYMM.
* SYRK: the lower blocks as SYRK (diagonal) and GEMM (below), the upper ones
  as TRANSPOSE of the lower.
* POTRF: the right-looking blocked Cholesky (POTRF of a diagonal block, TRSM
  of the panel below it, SYRK/GEMM updates of the trailing blocks); POSV is
  POTRF then POTRS, and POTRS is a blocked forward then back substitution.
* TRSM and TRMM: blocked substitution and blocked triangular products.
* AXPY, SCAL, SHIFT, DIAGAXPY, TRANSPOSE, COPY, and the products with a diagonal
  matrix (DIAGMM, DIAGMM_ROOT): block by block.
* Everything else (the LU and LDL^T routines GETRF, GETRS, GESV, SYTRF, SYTRS, SYSV;
  the explicit inverses POTRI and TRTRI; TRTRS; CHOLESKY_ADJOINT; SYMMETRIZE; the
  scalar computations: traces, inner products, determinants) falls back to the
  unblocked operation on assembled arguments, its outputs split again: correct, but
  one task holds the whole matrices.

Constants are blocked too: an identity has identity blocks on its diagonal
and zero blocks elsewhere, a Cholesky factor zero blocks above its diagonal.
Each blocked operation builds a block as a sum of terms (:class:`~.state.BlockSum`): a
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
from computations.matrices.transforms.blocking.nodes import (Assemble, BlockOp, Blocks, Split,
                                                              partition)
from computations.matrices.transforms.blocking.blockers import BLOCKERS, blocker
from computations.matrices.transforms.blocking.driver import block

__all__ = ['block', 'Blocks', 'Split', 'Assemble', 'BlockOp', 'BLOCKERS', 'blocker', 'partition']
