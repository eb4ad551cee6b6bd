"""How each operation is blocked: a registry by operation class (:data:`BLOCKERS`).

A blocker ``blocker(op, blocking)`` adds the block operations that compute
``op``'s outputs to a :class:`~.state.Blocking` and records the blocks of
those outputs.  Classes without a blocker run whole (see
:mod:`computations.matrices.transforms.blocking`).

>>> from computations.matrices import GEMM, GETRF
>>> GEMM in BLOCKERS, GETRF in BLOCKERS
(True, False)
"""
import sympy
from sympy import ZeroMatrix

from computations.matrices.ops.auxiliary import DIAGAXPY, DIAGMM, DIAGMM_ROOT, SHIFT, TRANSPOSE
from computations.matrices.ops.blas import AXPY, COPY, GEMM, GEMV, SCAL, SYMM, SYRK, TRMM, TRSM
from computations.matrices.ops.lapack import POSV, POTRF, POTRS
from computations.matrices.transforms.blocking.nodes import is_constant
from computations.matrices.transforms.blocking.state import (BlockSum, check_inner,
                                                              is_identity_block, is_zero_block,
                                                              operation, sums, term,
                                                              transposed_block)

__all__ = ['BLOCKERS', 'blocker']

#: How each operation class is blocked: ``blocker(op, blocking)`` adds the block
#: operations and records the blocks of ``op``'s outputs.
BLOCKERS = {}


def blocker(*classes):
    """Register a function as the blocker of operations of ``classes``."""
    def register(function):
        for cls in classes:
            BLOCKERS[cls] = function
        return function
    return register


# Products ----------------------------------------------------------------------

@blocker(GEMM)
def _gemm(op, env):
    A, B = env.of(op.A), env.of(op.B)
    inner = A.rows if op.trans_a else A.cols
    check_inner(op, inner, B.cols if op.trans_b else B.rows)

    def terms(total, i, j):
        for p in range(len(inner) - 1):
            a, ta = term(A, i, p, op.trans_a)
            b, tb = term(B, p, j, op.trans_b)
            total.product(op.alpha, a, b, ta, tb)
    sums(env, op.outputs[0], op.beta, op.C, terms)


@blocker(SYMM)
def _symm(op, env):
    A, B = env.of(op.A), env.of(op.B)
    left = op.side == 'L'
    check_inner(op, A.rows, B.rows if left else B.cols)

    def terms(total, i, j):
        for p in range(len(A.rows) - 1):
            if left:                           # sum_p A[i,p] B[p,j]
                a, b, diagonal = A[i, p], B[p, j], i == p
            else:                              # sum_p B[i,p] A[p,j]
                a, b, diagonal = A[p, j], B[i, p], p == j
            first, second = (a, b) if left else (b, a)
            if diagonal:                       # SYMM reads one triangle of a
                total.product(op.alpha, first, second, whole=(not left, left),
                              make=lambda beta, c, a=a, b=b: operation(
                                  SYMM, op.alpha, a, b, beta, c, side=op.side))
            else:
                total.product(op.alpha, first, second)
    sums(env, op.outputs[0], op.beta, op.C, terms)


@blocker(GEMV)
def _gemv(op, env):
    A, x = env.of(op.A), env.of(op.x)
    inner = A.rows if op.trans else A.cols
    check_inner(op, inner, x.rows)

    def terms(total, i, j):
        for p in range(len(inner) - 1):
            a, ta = term(A, i, p, op.trans)
            total.product(op.alpha, a, x[p, 0], ta,
                          make=lambda beta, c, a=a, ta=ta, p=p: operation(
                              GEMV, op.alpha, a, x[p, 0], beta, c, trans=ta))
    sums(env, op.outputs[0], op.beta, op.y, terms)


@blocker(SYRK)
def _syrk(op, env):
    A = env.of(op.A)
    var = op.outputs[0]
    inner = A.rows if op.trans else A.cols
    n = len(A.cols if op.trans else A.rows) - 1
    C = env.of(op.C) if op.C is not None else None
    grid = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            total = BlockSum(env, op.beta, C[i, j] if C else None)
            for p in range(len(inner) - 1):
                if op.trans:                   # sum_p A[p,i]' A[p,j]
                    a, b = A[p, i], A[p, j]
                else:                          # sum_p A[i,p] A[j,p]'
                    a, b = A[i, p], A[j, p]
                make = None if i != j else \
                    lambda beta, c, a=a: operation(SYRK, op.alpha, a, beta, c, trans=op.trans)
                total.product(op.alpha, a, b, op.trans, not op.trans, make=make)
            grid[i][j] = total.emit(var, i, j)
    for i in range(n):
        for j in range(i + 1, n):
            grid[i][j] = transposed_block(env, var, i, j, grid[j][i])
    env.set(var, grid)


# Triangular solves and products --------------------------------------------------

@blocker(TRSM, TRMM)
def _triangular(op, env, var=None):
    """TRSM and TRMM, blocked along A's diagonal; ``var`` names the result (default: op's)."""
    var = op.outputs[0] if var is None else var
    if var in env.blocks:                      # the program computes it already
        return
    A, B = env.of(op.A), env.of(op.B)
    left, solve = op.side == 'L', isinstance(op, TRSM)
    lower = op.lower != op.trans_a               # is op(A) lower triangular?
    nA = len(A.rows) - 1
    check_inner(op, A.rows, B.rows if left else B.cols)
    grid = [[None] * (len(B.cols) - 1) for _ in range(len(B.rows) - 1)]

    def opA(i, p):
        return term(A, i, p, op.trans_a)

    def diagonal(k):
        """A[k,k], the identity when it is one (a unit diagonal's block of zeros is)."""
        block = A[k, k]
        if op.unit_diagonal and is_constant(block) and not isinstance(block, sympy.OneMatrix):
            return sympy.Identity(block.shape[0])
        return block

    def on_diagonal(alpha, b, k):
        return operation(type(op), alpha, diagonal(k), b, side=op.side, lower=op.lower,
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
                total = BlockSum(env, op.alpha, B[i, j])
                for p in others:
                    if left:
                        a, ta = opA(k, p)
                        total.product(-1, a, grid[p][j], ta=ta)
                    else:
                        a, ta = opA(p, k)
                        total.product(-1, grid[i][p], a, tb=ta)
                if is_zero_block(diagonal(k)):
                    raise ValueError(f'block: {op.A} has a diagonal block of zeros ({k}, {k}): '
                                     'it is singular')
                if not is_identity_block(diagonal(k)):
                    total.apply(lambda alpha, b, k=k: on_diagonal(alpha, b, k))
            else:
                # Y[k] = alpha (op(A)[k,k] B[k] + sum_p op(A)[k,p] B[p]); the first
                # term starts the sum (TRMM adds no C).
                total = BlockSum(env)
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
            total = BlockSum(env, 1, S[i, j])
            for p in range(j):                 # S[i,j] - sum_p L[i,p] L[j,p]'
                make = None if i != j else \
                    lambda beta, c, a=grid[i][p]: operation(SYRK, -1, a, beta, c)
                total.product(-1, grid[i][p], grid[j][p], tb=True, make=make)
            if i == j and total.is_zero():
                raise ValueError(f'block: the diagonal block ({j}, {j}) of {A} is zero: '
                                 f'{A} is not positive definite')
            if i == j and not total.is_identity():
                total.apply(lambda alpha, X: operation(POTRF, X), scales=False)
            elif i != j and not is_identity_block(grid[j][j]):
                total.apply(lambda alpha, X, d=grid[j][j]: operation(
                    TRSM, alpha, d, X, side='R', lower=True, trans_a=True))
            grid[i][j] = total.emit(L, i, j, step='u')
    for i in range(n):
        for j in range(i + 1, n):
            grid[i][j] = ZeroMatrix(*env.block_shape(L, i, j))
    env.set(L, grid)


@blocker(POTRF)
def _potrf(op, env):
    _cholesky(env, op.A, op.outputs[0])


def _potrs_from(env, L, B, X):
    """Blocks of ``X = (L L')^-1 B``: a forward then a backward blocked substitution."""
    forward = TRSM(1, L, B)
    _triangular(forward, env)
    _triangular(TRSM(1, L, forward.outputs[0], trans_a=True), env, var=X)


@blocker(POTRS)
def _potrs(op, env):
    _potrs_from(env, op.inputs[0], op.B, op.outputs[0])


@blocker(POSV)
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
    total = BlockSum(env, 1, env.of(op.Y)[i, j])
    total.add(op.alpha, env.of(op.X)[i, j])
    return total.emit(var, i, j)


def _scal(op, env, var, i, j):
    return BlockSum(env, op.alpha, env.of(op.X)[i, j]).emit(var, i, j)


def _shift(op, env, var, i, j):
    total = BlockSum(env, 1, env.of(op.C)[i, j])
    if i == j:                                 # the diagonal blocks (C is square)
        total.add(op.alpha, sympy.Identity(env.block_shape(var, i, j)[0]))
    return total.emit(var, i, j)


def _diagaxpy(op, env, var, i, j):
    total = BlockSum(env, 1, env.of(op.C)[i, j])
    if i == j:                                 # D's blocks off the diagonal are zero
        total.add(op.alpha, env.of(op.D)[i, i])
    return total.emit(var, i, j)


def _transpose(op, env, var, i, j):
    return transposed_block(env, var, i, j, env.of(op.X)[j, i])


def _diagonal_scaling(op, env, var, i, j):
    """DIAGMM and DIAGMM_ROOT: block (i, j) of ``op(D)*B`` is ``op(D[i,i])*B[i,j]`` (of
    ``B*op(D)``, ``B[i,j]*op(D[j,j])``): D's blocks off the diagonal are zero, and its
    diagonal blocks are diagonal (positive with D)."""
    k = i if op.side == 'L' else j
    D = env.of(op.D)[k, k]
    total = BlockSum(env, op.alpha, env.of(op.B)[i, j])
    total.apply(lambda alpha, b: operation(type(op), alpha, D, b, side=op.side,
                                           inverse=op.inverse))
    return total.emit(var, i, j)


@blocker(COPY)
def _copy(op, env):
    env.blocks[op.outputs[0]] = env.of(op.X)


blocker(AXPY)(_blockwise(_axpy))
blocker(SCAL)(_blockwise(_scal))
blocker(SHIFT)(_blockwise(_shift))
blocker(DIAGAXPY)(_blockwise(_diagaxpy))
blocker(DIAGMM, DIAGMM_ROOT)(_blockwise(_diagonal_scaling))
blocker(TRANSPOSE)(_blockwise(_transpose))
