"""The rewrite rules: the ways one BLAS/LAPACK call can compute part of an expression.

Rules are small functions in three registries, each offering candidate
:class:`~.search.Plan`\\ s; the search (:mod:`.search`) keeps the cheapest.

:data:`PRODUCT_RULES` ``(planner, left, right, alpha, acc)``
    ``alpha*left*right + beta*C`` from two computed values (GEMM, SYMM,
    TRMM, GEMV, SYRK); ``acc`` is an :class:`~.search.Accumulator`
    ``(beta, C)`` or None.
:data:`SOLVE_RULES` ``(planner, Y, B, side, alpha)``
    ``alpha*Y.I*B`` (side ``'L'``) or ``alpha*B*Y.I`` (``'R'``) without
    forming the inverse: Cholesky (POTRF, POTRS), triangular (TRSM), LU
    (GETRF, GETRS).  ``Y`` is an expression, ``B`` a plan.
:data:`CHAIN_RULES` ``(planner, coefficient, factors, acc)``
    rules that see a whole product: ``Y.T*Y`` and ``Y.T*S.I*Y`` (S positive
    definite) as one SYRK, after a triangular solve with S's Cholesky factor;
    the Cholesky adjoint ``c*L.-T*SymmetricLower(L.T*B)*L.-1`` as one
    CHOLESKY_ADJOINT.
:data:`TRACE_RULES` ``(planner, trace)``, :data:`DETERMINANT_RULES` ``(planner, scalar)``
    a trace as the diagonal's sum of the computed matrix, or as an inner
    product of the two parts of its product split anywhere (never forming
    the product); a determinant or its logarithm from a Cholesky factor or
    from LU.

A value is held in a variable either as it is or transposed
(:class:`~.search.Operand`); rules use the routines' transpose flags and
sides to read either orientation, and may produce the transpose of what was
asked for when that is what the routine computes.  A rule offers nothing
when it does not apply (wrong properties, or an accumulation it cannot do).
"""
import sympy
from sympy import Identity, Inverse, MatMul, Transpose

from computations.matrices.ops.auxiliary import CHOLESKY_ADJOINT
from computations.matrices.ops.blas import GEMM, GEMV, SYMM, SYRK, TRMM, TRSM
from computations.matrices.expressions import LUPivots, SymmetricLower
from computations.matrices.ops.lapack import GETRF, GETRS, POTRF, POTRI, POTRS
from computations.matrices.compiler.properties import _congruence, split_product
from computations.matrices.ops.scalars import CHOLESKY_DETERMINANT, ELEMENT, INNER, LU_DETERMINANT, TRACE

__all__ = ['PRODUCT_RULES', 'SOLVE_RULES', 'CHAIN_RULES', 'TRACE_RULES', 'DETERMINANT_RULES']


def _fits(acc, transposed):
    """Whether ``acc`` can be the C of a routine whose result has this orientation."""
    return acc is None or acc.plan.operand.transposed == transposed


def _beta_c(acc):
    return (0, None) if acc is None else (acc.beta, acc.plan.operand.var)


def _symmetric_acc(pl, acc):
    """Whether ``acc`` can be the C of a routine that writes one triangle (SYRK)."""
    return acc is None or pl.ask('symmetric', acc.plan.target)


# Products of two values ------------------------------------------------------

def gemm(pl, left, right, alpha, acc):
    """GEMM, computing the product or, with the operands swapped, its transpose."""
    (a, ta), (b, tb) = left.operand, right.operand
    beta, C = _beta_c(acc)
    if _fits(acc, False):
        yield pl.emit(GEMM(alpha, a, b, beta, C, trans_a=ta, trans_b=tb), left, right, acc)
    if _fits(acc, True):
        yield pl.emit(GEMM(alpha, b, a, beta, C, trans_a=not tb, trans_b=not ta),
                      left, right, acc, transposed=True)


def symm(pl, left, right, alpha, acc):
    """SYMM when one side is symmetric (its orientation does not matter)."""
    beta, C = _beta_c(acc)
    for sym, other, side in ((left, right, 'L'), (right, left, 'R')):
        if not pl.ask('symmetric', sym.target):
            continue
        s, (b, tb) = sym.operand.var, other.operand
        # tb: the other side is held transposed, so the routine computes the
        # transposed product, with the symmetric matrix on the other side.
        flipped = {'L': 'R', 'R': 'L'}[side] if tb else side
        if _fits(acc, tb):
            yield pl.emit(SYMM(alpha, s, b, beta, C, side=flipped), left, right, acc,
                          transposed=tb)


def trmm(pl, left, right, alpha, acc):
    """TRMM when one side is triangular (written into the other's buffer)."""
    if acc is not None:
        return
    for tri, other, side in ((left, right, 'L'), (right, left, 'R')):
        lower = pl.stored_lower(tri)
        if lower is None:
            continue
        (t, tt), (b, tb) = tri.operand, other.operand
        flipped = {'L': 'R', 'R': 'L'}[side] if tb else side
        yield pl.emit(TRMM(alpha, t, b, side=flipped, lower=lower, trans_a=tt != tb),
                      left, right, transposed=tb)


def gemv(pl, left, right, alpha, acc):
    """GEMV when the result is a vector: ``op(A)*x``, or ``x.T*op(A)`` computed as its transpose."""
    (a, ta), (b, tb) = left.operand, right.operand
    beta, C = _beta_c(acc)
    # Vectors by declaration: a dimension that is 1 only at these sizes does
    # not make a vector of the (size-independent) program.
    if right.target.shape[1] == 1 and not tb and _fits(acc, False):
        yield pl.emit(GEMV(alpha, a, b, beta, C, trans=ta), left, right, acc)
    if left.target.shape[0] == 1 and ta and _fits(acc, True):
        yield pl.emit(GEMV(alpha, b, a, beta, C, trans=not tb), left, right, acc,
                      transposed=True)


def syrk(pl, left, right, alpha, acc):
    """SYRK for ``A.T*A`` and ``A*A.T`` (half the FLOPs of GEMM)."""
    (a, ta), (b, tb) = left.operand, right.operand
    if a != b or ta == tb or not _symmetric_acc(pl, acc):
        return
    beta, C = _beta_c(acc)
    yield pl.emit(SYRK(alpha, a, beta, C, trans=ta), left, right, acc)


#: Specialized routines first: on equal cost the first candidate wins.
PRODUCT_RULES = (syrk, trmm, symm, gemv, gemm)


# Solves -----------------------------------------------------------------------

def cholesky_solve(pl, Y, B, side, alpha):
    """Y positive definite: factor once (POTRF, shared by every solve with Y), then POTRS.

    A right solve ``B*Y.I`` is POTRS on the transpose when B is held
    transposed, else two triangular solves with the factor.
    """
    if not pl.ask('positive_definite', Y):
        return
    factor = pl.factor(POTRF, Y)
    y = factor.operand.var.arg
    if isinstance(B.target, Identity) and alpha == 1:     # an explicit inverse: POTRI
        yield pl.emit(POTRI(y), factor)
    if side == 'L' or B.operand.transposed:
        if alpha == 1:
            held = B if side == 'R' else pl.normal(B)
            yield pl.emit(POTRS(y, held.operand.var), factor, held, transposed=side == 'R')
        return
    first = pl.emit(TRSM(1, factor.operand.var, B.operand.var, side='R', trans_a=True),
                    factor, B)
    yield pl.emit(TRSM(alpha, factor.operand.var, first.operand.var, side='R'), factor, first)


def triangular_solve(pl, Y, B, side, alpha):
    """Y triangular: TRSM, reading either orientation of Y and of B."""
    Yp = pl.plan(Y)
    lower = pl.stored_lower(Yp)
    if lower is None:
        return
    (y, ty), (b, tb) = Yp.operand, B.operand
    flipped = {'L': 'R', 'R': 'L'}[side] if tb else side
    yield pl.emit(TRSM(alpha, y, b, side=flipped, lower=lower, trans_a=ty != tb), Yp, B,
                  transposed=tb)


def lu_solve(pl, Y, B, side, alpha):
    """Any square Y: LU once (GETRF), then GETRS (a right solve is a transposed solve).

    The general case needs no property: the expression's inverse presumes Y
    invertible, and a singular Y raises SingularMatrixError when it runs.
    """
    if alpha != 1:
        return
    factor = pl.factor(GETRF, Y)
    y, ty = factor.operand.var.arg, factor.operand.transposed
    if side == 'L':
        held = pl.normal(B)
        yield pl.emit(GETRS(y, held.operand.var, trans=ty), factor, held)
    else:
        held = pl.transposed(B)
        yield pl.emit(GETRS(y, held.operand.var, trans=not ty), factor, held, transposed=True)


#: Solves without an explicit inverse, triangular first.
SOLVE_RULES = (triangular_solve, cholesky_solve, lu_solve)


# Whole products -----------------------------------------------------------------

def congruence(pl, coefficient, factors, acc):
    """``c*Y.T*Y`` and ``c*Y.T*S.I*Y`` (S positive definite) as a SYRK.

    The second is ``W.T*W`` with ``W = L.I*Y`` and ``S = L*L.T``: one
    triangular solve instead of a full solve and a product, and the
    symmetric result at half the FLOPs of GEMM.
    """
    found = _congruence(pl.properties, factors)
    if found is None or not _symmetric_acc(pl, acc):
        return
    Y, M = found
    beta, C = _beta_c(acc)
    Yp = pl.plan(Y)
    y, ty = Yp.operand
    if M is None:
        yield pl.emit(SYRK(coefficient, y, beta, C, trans=not ty), Yp, acc)
        return
    if not (M.is_Inverse and pl.ask('positive_definite', M.arg)):
        return
    factor = pl.factor(POTRF, M.arg)
    L = factor.operand.var
    # ty: y holds Y.T, and Y.T*L.-T = W.T is a right solve.
    W = pl.emit(TRSM(1, L, y, side='R' if ty else 'L', trans_a=ty), factor, Yp)
    yield pl.emit(SYRK(coefficient, W.operand.var, beta, C, trans=not ty), W, acc)


def cholesky_adjoint(pl, coefficient, factors, acc):
    """``c*L.-T*SymmetricLower(L.T*B)*L.-1`` (L lower triangular) as one CHOLESKY_ADJOINT:
    about 2n^3/3 FLOPs, where TRMM and two TRSMs take 3n^3."""
    if acc is not None or len(factors) != 3:
        return
    first, middle, last = factors
    if not (isinstance(last, Inverse) and first == Inverse(Transpose(last.arg))
            and isinstance(middle, SymmetricLower)):
        return
    L = last.arg
    inner = split_product(middle.arg)
    if inner[0] != 1 or len(inner[1]) < 2 or inner[1][0] != Transpose(L):
        return
    Lp = pl.plan(L)
    if pl.stored_lower(Lp) is not True or Lp.operand.transposed:
        return
    rest = inner[1][1:]
    Bp = pl.normal(pl.plan(rest[0] if len(rest) == 1 else MatMul(*rest)))
    yield pl.emit(CHOLESKY_ADJOINT(coefficient, Lp.operand.var, Bp.operand.var), Lp, Bp)


#: Rules that see a whole product at once.
CHAIN_RULES = (congruence, cholesky_adjoint)


# Scalars ------------------------------------------------------------------------

def whole_trace(pl, trace):
    """The trace of the computed matrix (of a 1x1 matrix: its element)."""
    M = pl.plan(trace.arg)
    var = M.operand.var
    if pl.size(var.shape[0]) == 1 and pl.size(var.shape[1]) == 1:
        yield pl.emit(ELEMENT(var, output=trace), M)
    else:
        yield pl.emit(TRACE(var, output=trace), M)


def inner_product(pl, trace):
    """``Trace(F*G)`` as the sum of ``F`` times ``G.T`` elementwise, for each split of the
    product into F and G."""
    coefficient, factors = split_product(trace.arg)
    if coefficient != 1:
        return
    for k in range(1, len(factors)):
        left, right = factors[:k], factors[k:]
        lp = pl.plan(left[0] if len(left) == 1 else MatMul(*left))
        rp = pl.plan(right[0] if len(right) == 1 else MatMul(*right))
        (a, ta), (b, tb) = lp.operand, rp.operand
        yield pl.emit(INNER(a, b, trans=ta == tb, output=trace), lp, rp)


#: Ways to compute a trace.
TRACE_RULES = (inner_product, whole_trace)


def determinant(pl, scalar):
    """``Determinant(S)`` or ``log(Determinant(S))``: from the Cholesky factor when S is
    positive definite (shared with the solves with S), else from LU."""
    log = isinstance(scalar, sympy.log)
    S = (scalar.args[0] if log else scalar).arg
    if pl.ask('positive_definite', S):
        factor = pl.factor(POTRF, S)
        yield pl.emit(CHOLESKY_DETERMINANT(factor.operand.var, log=log, output=scalar), factor)
        return
    factor = pl.factor(GETRF, S)
    lu = factor.operand.var
    yield pl.emit(LU_DETERMINANT(lu, LUPivots(lu.arg), log=log, output=scalar), factor)


#: Ways to compute a determinant or its logarithm.
DETERMINANT_RULES = (determinant,)
