r"""The rewrite rules: the ways one BLAS/LAPACK call can compute part of an expression.

A rule is a pure function of an expression (and the :class:`~.properties.Properties`
known of it) that returns :class:`Proposal`\ s: candidate operations and the
values they read (:class:`Need`).  Rules never plan anything: the search
(:mod:`.search`) plans each proposal's needs, asks the proposal for its
operations on the variables that hold them (:meth:`Proposal.make`), costs
the candidates and keeps the cheapest.  A rule returns nothing when it does
not apply (wrong properties, an accumulation it cannot do); a proposal makes
nothing (None) when the needs are held in an orientation its routine cannot
read.

The tables, each a tuple of rules tried in order (on equal cost the first
candidate wins):

:data:`PRODUCT_RULES` ``(properties, left, right, alpha, acc)``
    ``alpha*left*right + beta*C`` from two values (GEMM, SYMM, TRMM, GEMV,
    SYRK); ``acc`` is an :class:`Accumulator` ``(beta, C)`` or None.
:data:`SOLVE_RULES` ``(properties, Y, B, side, alpha)``
    ``alpha*Y.I*B`` (side ``'L'``) or ``alpha*B*Y.I`` (``'R'``) without
    forming the inverse: Cholesky (POTRF, POTRS, or one TRSM on the half
    solve ``L.I*B`` when the program makes it anyway), triangular (TRSM),
    symmetric indefinite (SYSV), LU (GETRF, GETRS).
:data:`CHAIN_RULES` ``(properties, coefficient, factors, acc)``
    rules that see a whole product: ``Y.T*M*Y`` as one SYRK -- M absent, a
    positive diagonal (a scaling by its square root, DIAGMM_ROOT), positive
    definite (TRMM by its Cholesky factor) or the inverse of one (TRSM);
    ``Y1.T*P*Y2`` (P positive definite) as a GEMM of the two sides
    multiplied by P's Cholesky factor, shared with the congruences, and
    ``Y1.T*S.I*Y2`` as one of the two half solves ``L.I*Y``; the
    Cholesky adjoint ``c*L.-T*SymmetricLower(L.T*B)*L.-1`` as one
    CHOLESKY_ADJOINT.
:data:`TRACE_RULES` ``(properties, trace)``, :data:`DETERMINANT_RULES` ``(properties, scalar)``
    a trace as the diagonal's sum of the computed matrix, or as an inner
    product of the two parts of its product split anywhere (never forming
    the product); a determinant or its logarithm from a Cholesky factor or
    from LU.

A value is held in a variable either as it is or transposed
(:class:`Operand`); rules use the routines' transpose flags and sides to
read either orientation, and may produce the transpose of what was asked
for when that is what the routine computes.

>>> from sympy import MatrixSymbol, Q, Symbol
>>> from computations.matrices.compiler.properties import Properties
>>> n = Symbol('n')
>>> S, B = MatrixSymbol('S', n, n), MatrixSymbol('B', n, n)
>>> [p.needs for p in symm(Properties([Q.symmetric(S)]), S, B, 1, None)]
[(Need(factors=(S,), orientation=None, factorization=None), Need(factors=(B,), orientation=None, factorization=None))]
>>> symm(Properties(), S, B, 1, None)
[]
>>> print(*symm(Properties([Q.symmetric(S)]), S, B, 1, None)[0].ops())
S*B = SYMM(1, S, B)
"""
from dataclasses import dataclass
from typing import Callable, NamedTuple

import sympy
from sympy import Identity, Inverse, MatMul, MatrixSymbol, Transpose

from computations.matrices.ops.auxiliary import CHOLESKY_ADJOINT, DIAGMM, DIAGMM_ROOT
from computations.matrices.ops.blas import GEMM, GEMV, SYMM, SYRK, TRMM, TRSM
from computations.matrices.expressions import LofCholesky, LUPivots, SymmetricLower
from computations.matrices.ops.lapack import GETRF, GETRS, POTRF, POTRI, POTRS, SYTRF, SYTRS, TRTRI
from computations.matrices.compiler.canonical import CYCLIC_MAX_FACTORS, cancel_inverses
from computations.matrices.compiler.properties import _congruence, split_product
from computations.matrices.ops.scalars import (CHOLESKY_DETERMINANT, ELEMENT, INNER, LU_DETERMINANT,
                                              TRACE, TRIANGULAR_DETERMINANT)

__all__ = ['Operand', 'Need', 'need', 'Made', 'Proposal', 'Accumulator', 'PRODUCT_RULES',
           'SOLVE_RULES', 'CHAIN_RULES', 'TRACE_RULES', 'DETERMINANT_RULES']


class Operand(NamedTuple):
    """The variable that holds a value, and whether it holds the value's transpose."""
    var: object
    transposed: bool = False


class Need(NamedTuple):
    """A value a proposal reads: the product of ``factors``.

    ``orientation`` None takes the value as it is held; False (True) asks
    for it untransposed (transposed), adding a transposition if needed.
    ``factorization`` (POTRF, GETRF) reads the value's factor instead,
    computed once and shared by every proposal that needs it.
    """
    factors: tuple
    orientation: object = None
    factorization: type = None


class Made(NamedTuple):
    """What a proposal makes: its operations, in order, and the operand holding the result."""
    ops: tuple
    operand: Operand


class Accumulator(NamedTuple):
    """``beta*C``, the term a routine adds its product to."""
    beta: object
    value: object


@dataclass(frozen=True)
class Proposal:
    """Candidate operations, made once the values they read are held.

    ``make(*operands)``, one :class:`Operand` per need, returns :class:`Made`,
    or None when the operands' orientations do not suit the routine.
    """
    needs: tuple
    make: Callable

    def ops(self, operands=None):
        """The operations made from ``operands``; by default each need held untransposed in
        the value itself (its factorization's output for a factor)."""
        if operands is None:
            operands = [Operand(_held(need)) for need in self.needs]
        made = self.make(*operands)
        return None if made is None else made.ops


def _held(need):
    value = need.factors[0] if len(need.factors) == 1 else sympy.MatMul(*need.factors)
    return value if need.factorization is None else need.factorization(value).outputs[0]


def need(value, orientation=None, factorization=None):
    """The :class:`Need` of one value."""
    return Need((value,), orientation, factorization)


def _made(*ops, transposed=False):
    """The operations ``ops``; the result is the last one's first output."""
    return Made(ops, Operand(ops[-1].outputs[0], transposed))


def _needs(*values, acc=None):
    return tuple(map(need, values)) + (() if acc is None else (need(acc.value),))


def _fits(c, transposed):
    """Whether the accumulated term (held in ``c``, or absent) can be the C of a routine
    whose result has this orientation."""
    return c is None or c.transposed == transposed


def _beta(acc):
    return 0 if acc is None else acc.beta


def _var(c):
    return None if c is None else c.var


def _symmetric_acc(properties, acc):
    """Whether ``acc`` can be the C of a routine that writes one triangle (SYRK)."""
    return acc is None or properties.ask('symmetric', acc.value)


def _triangle(properties, expr):
    """``'lower'`` or ``'upper'``: the triangle ``expr`` is known to have (lower first), or None
    (also for a triangular matrix not known square: a trapezoidal one, which the triangular
    routines cannot take)."""
    if properties.square(expr) is not True:
        return None
    if properties.ask('lower_triangular', expr):
        return 'lower'
    if properties.ask('upper_triangular', expr):
        return 'upper'
    return None


def _stored_lower(triangle, operand):
    """Whether the variable of a triangular value holds a lower triangle."""
    return (triangle == 'lower') != operand.transposed


_OTHER_SIDE = {'L': 'R', 'R': 'L'}


# Products of two values ------------------------------------------------------

def gemm(properties, left, right, alpha, acc):
    """GEMM, computing the product or, with the operands swapped, its transpose.  An operand
    that is its own transpose (:meth:`~.Properties.own_transpose`: symmetric and square in
    its declared shape) is read untransposed either way: a GEMM with both operands
    transposed ran 7% slower than with one (``S.T*A``, 2000 x 200 from an inner 2000: 13.9
    against 12.9 ms)."""
    beta = _beta(acc)
    free_l, free_r = map(properties.own_transpose, (left, right))

    def straight(l, r, c=None):
        if _fits(c, False):
            return _made(GEMM(alpha, l.var, r.var, beta, _var(c),
                              trans_a=l.transposed and not free_l,
                              trans_b=r.transposed and not free_r))

    def swapped(l, r, c=None):
        if _fits(c, True):
            return _made(GEMM(alpha, r.var, l.var, beta, _var(c),
                              trans_a=not (r.transposed or free_r),
                              trans_b=not (l.transposed or free_l)), transposed=True)

    needs = _needs(left, right, acc=acc)
    return [Proposal(needs, straight), Proposal(needs, swapped)]


def symm(properties, left, right, alpha, acc):
    """SYMM when one side is symmetric (its orientation does not matter)."""
    beta, proposals = _beta(acc), []
    for symmetric, side in ((left, 'L'), (right, 'R')):
        if not properties.ask('symmetric', symmetric):
            continue

        def make(l, r, c=None, side=side):
            s, other = (l, r) if side == 'L' else (r, l)
            # The other side held transposed: the routine computes the transposed
            # product, with the symmetric matrix on the other side.
            if _fits(c, other.transposed):
                flipped = _OTHER_SIDE[side] if other.transposed else side
                return _made(SYMM(alpha, s.var, other.var, beta, _var(c), side=flipped),
                             transposed=other.transposed)
        proposals.append(Proposal(_needs(left, right, acc=acc), make))
    return proposals


def trmm(properties, left, right, alpha, acc):
    """TRMM when one side is triangular (written into the other's buffer)."""
    if acc is not None:
        return []
    proposals = []
    for triangular, side in ((left, 'L'), (right, 'R')):
        triangle = _triangle(properties, triangular)
        if triangle is None:
            continue

        def make(l, r, side=side, triangle=triangle):
            t, other = (l, r) if side == 'L' else (r, l)
            flipped = _OTHER_SIDE[side] if other.transposed else side
            return _made(TRMM(alpha, t.var, other.var, side=flipped,
                              lower=_stored_lower(triangle, t),
                              trans_a=t.transposed != other.transposed),
                         transposed=other.transposed)
        proposals.append(Proposal(_needs(left, right), make))
    return proposals


def gemv(properties, left, right, alpha, acc):
    """GEMV when the result is a vector: ``op(A)*x``, or ``x.T*op(A)`` computed as its transpose.

    Vectors by declaration: a dimension that is 1 only at these sizes does
    not make a vector of the (size-independent) program.
    """
    beta, needs, proposals = _beta(acc), _needs(left, right, acc=acc), []
    if right.shape[1] == 1:
        def column(a, x, c=None):
            if not x.transposed and _fits(c, False):
                return _made(GEMV(alpha, a.var, x.var, beta, _var(c), trans=a.transposed))
        proposals.append(Proposal(needs, column))
    if left.shape[0] == 1:
        def row(x, a, c=None):
            if x.transposed and _fits(c, True):
                return _made(GEMV(alpha, a.var, x.var, beta, _var(c), trans=not a.transposed),
                             transposed=True)
        proposals.append(Proposal(needs, row))
    return proposals


def syrk(properties, left, right, alpha, acc):
    """SYRK for ``A.T*A`` and ``A*A.T`` (half the FLOPs of GEMM): one variable read both ways."""
    if not _symmetric_acc(properties, acc):
        return []

    def make(l, r, c=None):
        if l.var == r.var and l.transposed != r.transposed:
            return _made(SYRK(alpha, l.var, _beta(acc), _var(c), trans=l.transposed))
    return [Proposal(_needs(left, right, acc=acc), make)]


#: Specialized routines first: on equal cost the first candidate wins.
def _diagonal_times(properties, diagonal, other, side, alpha, inverse=False):
    """``alpha*op(D)*B`` (side 'L') or ``alpha*B*op(D)`` by DIAGMM, B held either way (held
    transposed, the product is the transpose of the other side's)."""
    def make(d, b):
        flipped = _OTHER_SIDE[side] if b.transposed else side
        return _made(DIAGMM(alpha, d.var, b.var, side=flipped, inverse=inverse),
                     transposed=b.transposed)
    return Proposal((need(diagonal), need(other)), make)


def diagonal_product(properties, left, right, alpha, acc):
    """A product with a diagonal matrix: a scaling of the other's rows or columns (O(mn))."""
    if acc is not None:
        return []
    proposals = []
    if properties.ask('diagonal', left):
        proposals.append(_diagonal_times(properties, left, right, 'L', alpha))
    if properties.ask('diagonal', right):
        proposals.append(_diagonal_times(properties, right, left, 'R', alpha))
    return proposals


PRODUCT_RULES = (diagonal_product, syrk, trmm, symm, gemv, gemm)


# Solves -----------------------------------------------------------------------

def cholesky_solve(properties, Y, B, side, alpha):
    """Y positive definite: factor once (POTRF, shared by every solve with Y), then POTRS.

    A right solve ``B*Y.I`` is POTRS on the transpose when B is held
    transposed, else two triangular solves with the factor.  Either side
    is also the second half of a solve whose first half is a value of its
    own (:func:`_half_solve`): ``L.-T*(L.I*B)``, where ``L.I*B`` may be
    computed anyway (the SYRK of ``B.T*Y.I*B`` reads it).
    """
    if not properties.ask('positive_definite', Y):
        return []
    factor, proposals = need(Y, factorization=POTRF), []
    if isinstance(B, Identity) and alpha == 1:              # an explicit inverse: POTRI
        proposals.append(Proposal((factor,), lambda f: _made(POTRI(f.var.arg))))
    half = _half_solve(Y, B, side, alpha)
    if side == 'L':
        if alpha == 1:
            proposals.append(Proposal((factor, need(B, orientation=False)),
                                      lambda f, b: _made(POTRS(f.var.arg, b.var))))
        return proposals + half

    def transposed(f, b):
        if b.transposed and alpha == 1:
            return _made(POTRS(f.var.arg, b.var), transposed=True)

    def triangular(f, b):
        if not b.transposed:
            first = TRSM(1, f.var, b.var, side='R', trans_a=True)
            return _made(first, TRSM(alpha, f.var, first.outputs[0], side='R'))
    return proposals + [Proposal((factor, need(B)), transposed),
                        Proposal((factor, need(B)), triangular)] + half


def _half_solve(Y, B, side, alpha):
    """``alpha*Y.I*B`` as ``alpha*L.-T*G`` with ``G = L.I*B`` (side 'L'), or ``alpha*B*Y.I``
    as ``alpha*H*L.-1`` with ``H = B*L.-T`` ('R'), ``Y = L*L.T``: one TRSM on a half solve that
    is a value of its own, so the search counts it once when another part of the program
    computes it too (a SYRK of ``B.T*Y.I*B``, whitening ``L.I*B``).  Alone it costs what
    POTRS costs, with one operation more, so POTRS wins the tie."""
    if isinstance(B, Identity):
        return []
    L = LofCholesky(Y)
    factors = tuple(B.args) if isinstance(B, MatMul) else (B,)
    if side == 'L':
        half = Need((Inverse(L),) + factors)
    else:
        half = Need(factors + (Inverse(Transpose(L)),))

    def make(f, h):
        # held transposed, the other side: G.T*L.-1 is (L.-T*G).T, L.-T*H.T is (H*L.-1).T
        flipped = _OTHER_SIDE[side] if h.transposed else side
        return _made(TRSM(alpha, f.var, h.var, side=flipped, trans_a=flipped == 'L'),
                     transposed=h.transposed)
    return [Proposal((need(Y, factorization=POTRF), half), make)]


def triangular_solve(properties, Y, B, side, alpha):
    """Y triangular: TRSM, reading either orientation of Y and of B; an explicit inverse
    ``Y.I`` is TRTRI (n^3/3 FLOPs, against n^3 for TRSM on the identity)."""
    triangle = _triangle(properties, Y)
    if triangle is None:
        return []

    def make(y, b):
        flipped = _OTHER_SIDE[side] if b.transposed else side
        return _made(TRSM(alpha, y.var, b.var, side=flipped, lower=_stored_lower(triangle, y),
                          trans_a=y.transposed != b.transposed), transposed=b.transposed)
    proposals = [Proposal(_needs(Y, B), make)]
    if isinstance(B, Identity) and alpha == 1:
        proposals.insert(0, Proposal((need(Y),), lambda y: _made(
            TRTRI(y.var, lower=_stored_lower(triangle, y)), transposed=y.transposed)))
    return proposals


def lu_solve(properties, Y, B, side, alpha):
    """Any square Y: LU once (GETRF), then GETRS (a right solve is a transposed solve).

    The general case needs no property: the expression's inverse presumes Y
    invertible, and a singular Y raises SingularMatrixError when it runs.
    """
    if alpha != 1:
        return []
    factor = need(Y, factorization=GETRF)
    if side == 'L':
        return [Proposal((factor, need(B, orientation=False)),
                         lambda f, b: _made(GETRS(f.var.arg, b.var, trans=f.transposed)))]
    return [Proposal((factor, need(B, orientation=True)),
                     lambda f, b: _made(GETRS(f.var.arg, b.var, trans=not f.transposed),
                                        transposed=True))]


def symmetric_solve(properties, Y, B, side, alpha):
    """Y symmetric but not known positive definite: SYSV (LDL^T with pivoting, half LU's work).

    A right solve ``B*Y.I`` is the transpose of ``Y.I*B.T`` (Y is symmetric).
    """
    if alpha != 1 or not properties.ask('symmetric', Y) \
            or properties.ask('positive_definite', Y):
        return []
    # SYTRF once (shared by every solve with Y), then SYTRS; one solve is fused back
    # into SYSV (driver.fuse_factorizations), as POTRF + POTRS is into POSV.
    factor = need(Y, factorization=SYTRF)
    if side == 'L':
        return [Proposal((factor, need(B, orientation=False)),
                         lambda f, b: _made(SYTRS(f.var.arg, b.var)))]
    return [Proposal((factor, need(B, orientation=True)),
                     lambda f, b: _made(SYTRS(f.var.arg, b.var), transposed=True))]


def orthogonal_solve(properties, Y, B, side, alpha):
    """Y orthogonal: ``Y.I`` is ``Y.T``, so a solve is a product (GEMM) and an explicit
    inverse is the transpose itself (no operation: the value held transposed)."""
    if not properties.ask('orthogonal', Y):
        return []
    if isinstance(B, Identity) and alpha == 1:
        return [Proposal((need(Y),), lambda y: Made((), Operand(y.var, not y.transposed)))]
    if side == 'L':
        return [Proposal(_needs(Y, B), lambda y, b: _made(GEMM(
            alpha, y.var, b.var, trans_a=not y.transposed, trans_b=b.transposed)))]
    return [Proposal(_needs(Y, B), lambda y, b: _made(GEMM(
        alpha, b.var, y.var, trans_a=b.transposed, trans_b=not y.transposed)))]


def diagonal_solve(properties, Y, B, side, alpha):
    """Y diagonal: a division of B's rows or columns by Y's diagonal (O(mn))."""
    if not properties.ask('diagonal', Y):
        return []
    return [_diagonal_times(properties, Y, B, side, alpha, inverse=True)]


#: Solves without an explicit inverse, the cheapest structures first.
SOLVE_RULES = (diagonal_solve, orthogonal_solve, triangular_solve, cholesky_solve,
               symmetric_solve, lu_solve)


# Whole products -----------------------------------------------------------------

def _through_cholesky(properties, factors):
    """``(P, Y1, Y2)`` when the product of ``factors`` is ``Y1.T*P*Y2`` (``Y1``, ``Y2`` tuples
    of factors, either may be empty) with P positive definite, read as ``F1.T*F2`` through
    ``F = L.T*Y``, ``P = L*L.T`` (P's Cholesky factor): P the only positive definite factor,
    no inverse in the product (whose solves have rules of their own), the sides plain
    (:func:`_plain`); else None."""
    definite = [j for j, f in enumerate(factors) if not isinstance(f, Inverse)
                and properties.ask('positive_definite', f)]
    if len(factors) < 2 or len(definite) != 1 or any(isinstance(f, Inverse) for f in factors):
        return None
    j = definite[0]
    if properties.square(factors[j]) is not True:    # an n x m input promised square
        return None
    Y1, Y2 = _sides(properties, factors, j)
    if not all(_plain(Y) for Y in (Y1, Y2) if Y):
        return None
    return factors[j], Y1, Y2


def _sides(properties, factors, j):
    """``(Y1, Y2)``, the product of ``factors`` read as ``Y1.T*M*Y2`` around its ``j``-th
    factor M: tuples of factors, ``Y1`` the transposes of those before M in reverse."""
    return tuple(properties.transpose(f) for f in reversed(factors[:j])), tuple(factors[j + 1:])


def _plain(factors):
    """Whether ``factors`` are one matrix symbol, or its transpose: the sides that the
    routes through a Cholesky factor take.  A product side keeps its own chain order (SYMM
    folds P into it, and its by-products often serve other parts of the program, which a
    candidate's cost alone cannot see: the stochastic Newton update's ``B*A.T*W``)."""
    if len(factors) != 1:
        return False
    f = factors[0]
    return isinstance(f, MatrixSymbol) or isinstance(f, Transpose) \
        and isinstance(f.arg, MatrixSymbol)


def _factored(P, Y):
    """The Need of ``L.T*Y``, ``P = L*L.T``: computed by TRMM, shared by every product that
    reads P through its factor."""
    return Need((Transpose(LofCholesky(P)),) + Y)


def _cross(alpha, f1, f2, beta=0, c=None):
    """``alpha*F1.T*F2 + beta*C`` by GEMM from the operands holding F1 and F2, or its
    transpose ``alpha*F2.T*F1 + beta*C.T`` when C is held transposed; by GEMV when F2 is a
    column (by declaration) held as one."""
    if f2.var.shape[1] == 1 and not f2.transposed and _fits(c, False):
        return _made(GEMV(alpha, f1.var, f2.var, beta, _var(c), trans=not f1.transposed))
    if _fits(c, False):
        return _made(GEMM(alpha, f1.var, f2.var, beta, _var(c), trans_a=not f1.transposed,
                          trans_b=f2.transposed))
    return _made(GEMM(alpha, f2.var, f1.var, beta, _var(c), trans_a=not f2.transposed,
                      trans_b=f1.transposed), transposed=True)


def _ways_to_hold(properties, factors):
    """``[(needs, build)]``: the ways to hold the product of ``factors``, each the values it
    needs and ``build(*operands) -> (ops, operand)``: the product as planned, and, for
    ``Y1.T*P*Y2`` with P positive definite inside, ``F1.T*F2`` by GEMM through P's Cholesky
    factor (:func:`_through_cholesky`), so that a proposal reading it shares the F with the
    rest of the program (the Riccati recursion's ``B.T*P*A`` next to ``A.T*P*A``)."""
    value = factors[0] if len(factors) == 1 else MatMul(*factors)
    ways = [((need(value),), lambda y: ((), y))]
    found = _through_cholesky(properties, factors)
    if found is not None and found[1] and found[2]:
        P, Y1, Y2 = found

        def build(f1, f2):
            made = _cross(1, f1, f2)
            return made.ops, made.operand
        ways.append(((_factored(P, Y1), _factored(P, Y2)), build))
    return ways


def _diagonal_weight(properties, M):
    """``(D, inverse)`` when ``M`` is a diagonal D with a positive diagonal, or its inverse
    (``inverse`` True); else None."""
    D = M.arg if M.is_Inverse else M
    if properties.ask('diagonal', D) and properties.ask('positive_definite', D):
        return D, bool(M.is_Inverse)
    return None


def congruence(properties, coefficient, factors, acc):
    """``c*Y.T*M*Y + acc`` as one SYRK (half the FLOPs of GEMM) on a value ``W`` with
    ``W.T*W = Y.T*M*Y``, by what M is:

    - absent: ``W = Y``;
    - a positive diagonal D or its inverse: ``W = L.T*Y`` (``L.I*Y``) with ``L = D**(1/2)``
      its Cholesky factor, a scaling of Y's rows by DIAGMM_ROOT (O(mn), no POTRF);
    - positive definite: ``W = L.T*Y`` with ``M = L*L.T`` (POTRF, shared with the solves
      with M, then TRMM), for an input Y: alone it costs less than SYMM and GEMM once Y
      is about as wide as M, and where SYMM's by-product ``M*Y`` serves elsewhere (the
      Kalman filter's ``Sigma*H.T``) the search sees it by planning a proposal's needs
      jointly (:meth:`~.search.Planner.needs`) and each output first in turn;
    - the inverse of a positive definite S: ``W = L.I*Y`` with ``S = L*L.T`` (TRSM): one
      triangular solve instead of a full solve and a product.

    Y is held as planned, or read through a positive definite factor inside it
    (:func:`_ways_to_hold`).
    """
    found = _congruence(properties, factors)
    if found is None or not _symmetric_acc(properties, acc):
        return []
    Y, M = found
    right = tuple(factors[len(factors) - len(factors) // 2:])
    beta, rest = _beta(acc), () if acc is None else (need(acc.value),)

    def syrk(w, c):                     # W.T*W from the operand holding W (or W.T)
        return SYRK(coefficient, w.var, beta, _var(c), trans=not w.transposed)

    def proposal(way, extra, finish):
        """Y held one ``way``, ``extra`` needs after it; ``finish(y, extras, c)`` the
        operations after Y's."""
        needs, build = way
        k, e = len(needs), len(extra)

        def make(*operands):
            ops, y = build(*operands[:k])
            c = operands[k + e] if acc is not None else None
            return _made(*ops, *finish(y, operands[k:k + e], c))
        return Proposal(needs + extra + rest, make)

    ways = _ways_to_hold(properties, right)
    if M is None:
        return [proposal(way, (), lambda y, _, c: (syrk(y, c),)) for way in ways]
    diagonal = _diagonal_weight(properties, M)
    if diagonal is not None:
        D, inverse = diagonal

        def weighted(y, d, c):
            # y holds Y (or Y.T): W = L.T*Y scales its rows (W.T = Y.T*L its columns)
            W = DIAGMM_ROOT(1, d[0].var, y.var, side='R' if y.transposed else 'L',
                            inverse=inverse)
            return W, syrk(Operand(W.outputs[0], y.transposed), c)
        return [proposal(way, (need(D),), weighted) for way in ways]
    if not M.is_Inverse and properties.ask('positive_definite', M):
        if not _plain(right):
            return []
        return [Proposal((_factored(M, right),) + rest, lambda w, c=None: _made(syrk(w, c)))]
    if not (M.is_Inverse and properties.ask('positive_definite', M.arg)):
        return []

    def solve(y, f, c):
        # y.transposed: y holds Y.T, and Y.T*L.-T = W.T is a right solve.
        W = TRSM(1, f[0].var, y.var, side='R' if y.transposed else 'L', trans_a=y.transposed)
        return W, syrk(Operand(W.outputs[0], y.transposed), c)
    return [proposal(way, (need(M.arg, factorization=POTRF),), solve) for way in ways]


def cholesky_product(properties, coefficient, factors, acc):
    """``c*Y1.T*P*Y2 + acc`` (P positive definite, strictly inside) as ``c*F1.T*F2 + acc`` by
    GEMM, ``F = L.T*Y`` with ``P = L*L.T`` (:func:`_through_cholesky`).  Alone it costs more
    than SYMM and GEMM; it wins when the factor and the F are made anyway (by the
    congruences ``Y.T*P*Y`` or the solves with P)."""
    found = _through_cholesky(properties, factors)
    if found is None or not (found[1] and found[2]) or found[1] == found[2]:
        return []                       # a congruence Y.T*P*Y is congruence()'s
    P, Y1, Y2 = found
    beta, rest = _beta(acc), () if acc is None else (need(acc.value),)
    return [Proposal((_factored(P, Y1), _factored(P, Y2)) + rest,
                     lambda f1, f2, c=None: _cross(coefficient, f1, f2, beta, c))]


def inverse_cholesky_product(properties, coefficient, factors, acc):
    """``c*Y1.T*S.I*Y2 + acc`` (S positive definite, strictly inside) as ``c*G1.T*G2 + acc`` by
    GEMM, ``G = L.I*Y`` with ``S = L*L.T``: the half solves.  Alone it costs about what a
    solve and a product cost; it wins when one half solve is made anyway (the Kalman
    update's ``L.I*H*Sigma``, whose SYRK is the covariance: the mean then needs one more
    triangular solve with the residual, not two)."""
    inverses = [j for j, f in enumerate(factors) if isinstance(f, Inverse)]
    if len(inverses) != 1 or not 0 < inverses[0] < len(factors) - 1:
        return []
    j = inverses[0]
    S = factors[j].arg
    if not properties.ask('positive_definite', S) or properties.square(S) is not True:
        return []
    Y1, Y2 = _sides(properties, factors, j)
    if Y1 == Y2:
        return []                       # a congruence Y.T*S.I*Y is congruence()'s
    L = Inverse(LofCholesky(S))
    beta, rest = _beta(acc), () if acc is None else (need(acc.value),)
    return [Proposal((need(S, factorization=POTRF), Need((L,) + Y1), Need((L,) + Y2)) + rest,
                     lambda _, g1, g2, c=None: _cross(coefficient, g1, g2, beta, c))]


def cholesky_adjoint(properties, coefficient, factors, acc):
    """``c*L.-T*SymmetricLower(L.T*B)*L.-1`` (L lower triangular) as one CHOLESKY_ADJOINT:
    about 2n^3/3 FLOPs, where TRMM and two TRSMs take 3n^3."""
    if acc is not None or len(factors) != 3:
        return []
    first, middle, last = factors
    if not (isinstance(last, Inverse) and first == Inverse(Transpose(last.arg))
            and isinstance(middle, SymmetricLower)):
        return []
    L = last.arg
    scale, inner = split_product(middle.arg)         # SymmetricLower is linear: 3*L.T*B
    if len(inner) < 2 or inner[0] != Transpose(L) or _triangle(properties, L) != 'lower':
        return []
    alpha = coefficient * scale

    def make(l, b):
        if not l.transposed:                     # the routine reads the lower triangle
            return _made(CHOLESKY_ADJOINT(alpha, l.var, b.var))
    return [Proposal((need(L), Need(tuple(inner[1:]), orientation=False)), make)]


#: Rules that see a whole product at once.
CHAIN_RULES = (congruence, cholesky_product, inverse_cholesky_product, cholesky_adjoint)


# Scalars ------------------------------------------------------------------------

def whole_trace(properties, trace):
    """The trace of the computed matrix (of a 1x1 matrix: its element)."""
    one = all(properties.size(d) == 1 for d in trace.arg.shape)
    routine = ELEMENT if one else TRACE
    return [Proposal((need(trace.arg),), lambda m: _made(routine(m.var, output=trace)))]


def inner_product(properties, trace):
    """``Trace(F*G)`` as the sum of ``F`` times ``G.T`` elementwise, for each split of the
    product's cycle of factors into F and G (two cuts: ``Trace(A*B*C*D)`` is also
    ``Trace((B*C)*(D*A))``), so that the rotation a canonical trace is written in
    (:func:`~.canonical._cyclic`) loses no plan; a longer product (more than
    :data:`~.canonical.CYCLIC_MAX_FACTORS` factors) at one cut, as it is written.  A G
    whose factors cancel (``X*X.I``) is left out: the canonical trace has that rotation's
    fewer factors."""
    coefficient, factors = split_product(trace.arg)
    if coefficient != 1:
        return []
    count, proposals = len(factors), []
    for i in range(count if count <= CYCLIC_MAX_FACTORS else 1):    # else one cut: i = 0
        for j in range(i + 1, count):
            wrapped = tuple(factors[j:]) + tuple(factors[:i])
            if i and cancel_inverses(wrapped) != wrapped:
                continue
            proposals.append(Proposal(
                (Need(tuple(factors[i:j])), Need(wrapped)),
                lambda f, g: _made(INNER(f.var, g.var, trans=f.transposed == g.transposed,
                                         output=trace))))
    return proposals


#: Ways to compute a trace.
TRACE_RULES = (inner_product, whole_trace)


def determinant(properties, scalar):
    """``Determinant(S)`` or ``log(Determinant(S))``: the product of the diagonal when S is
    triangular (or diagonal); from the Cholesky factor when S is positive definite (shared
    with the solves with S), else from LU."""
    log = isinstance(scalar, sympy.log)
    S = (scalar.args[0] if log else scalar).arg
    triangle = _triangle(properties, S)
    if triangle:           # S = X or X.T: X's triangle is the other one when transposed
        return [Proposal((need(S),), lambda f: _made(TRIANGULAR_DETERMINANT(
            f.var, lower=(triangle == 'lower') != f.transposed, log=log, output=scalar)))]
    if properties.ask('positive_definite', S):
        return [Proposal((need(S, factorization=POTRF),), lambda f: _made(
            CHOLESKY_DETERMINANT(f.var, log=log, output=scalar)))]
    return [Proposal((need(S, factorization=GETRF),), lambda f: _made(
        LU_DETERMINANT(f.var, LUPivots(f.var.arg), log=log, output=scalar)))]


#: Ways to compute a determinant or its logarithm.
DETERMINANT_RULES = (determinant,)
