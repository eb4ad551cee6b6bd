"""How fast a routine runs per FLOP, relative to GEMM's at the same order: the cost model's
correction to FLOP counts.

FLOPs alone price every routine as GEMM, but a factorization runs far slower per
FLOP: on this machine's OpenBLAS, POTRF at 0.21-0.51 of GEMM's GFLOP/s from
n = 60 to 2000 (``./dev bench rates``).  So a plan with fewer FLOPs through a
Cholesky factor can be the slower one: the MMSE estimator ``Cx*H.T*(H*Cx*H.T +
Cn).I*y`` through Cx's factor (POTRF, TRMM, SYRK) has 27% fewer FLOPs than
SYMM + GEMM and ran 1.25x the hand-written SYMM program at n = 1000.

A routine class declares its measured rate as ``rate`` (None: as GEMM), and
the planner prices an operation at ``flops / ratio(op)`` (:func:`ratio`):

- the square routines (the factorizations POTRF, GETRF and SYTRF, and the
  explicit inversions POTRI and TRTRI) declare a :class:`Rate` over their
  order, measured on squares (``./dev bench rates``);
- the BLAS-3 routines with a symmetric or triangular operand (SYMM, SYRK,
  TRMM, TRSM) and the solves made of TRSMs (TRTRS, POTRS, GETRS) declare a
  :class:`ShapeRate` over (order, width) -- per side of the product for SYMM,
  TRMM and TRSM, a :class:`SidedRate` -- measured against GEMM *of the same
  shape* (``./dev bench rates --shapes``): their speed depends on the shape,
  not on one order -- TRMM runs at 0.98 of GEMM with 1000 right-hand sides
  at order 500 but at 0.58 with 16 of them -- and square figures chose worse
  programs (GEMM for a SYRK, four TRSMs for a POSV).  Their competitor is
  usually GEMM of that shape, priced at its FLOPs, so where SYMM is
  measurably slower than GEMM (0.67 on the right at order 500 with 16 rows)
  the planner takes GEMM.  The tables are capped at 1: these routines run
  GEMM's kernel on packed operands, and a ratio above 1 is the noise of
  GEMM's sample;
- the drivers POSV, GESV and SYSV declare none: the planner never prices them
  (they are a factorization and a solve fused after planning);
- SYTRS, nor the matrix-vector routines, nor a routine called on a vector:
  their speed is the memory's (SYTRS's LAPACK kernel is level 2).

One more fact applies to every product whose result's orientation the planner
chooses (a class declaring ``oriented``: GEMM, SYMM, TRMM, TRSM and the solves
made of TRSMs): a *tall* result (more rows than columns) runs at
:data:`TALL` of the speed of the same product made as its transpose, which is
*wide*.  On this machine's OpenBLAS with two threads, ``A.T*W`` (2000 x 200,
inner 1000) takes 7.1 ms where ``W.T*A`` takes 6.4; a 2000 x 16 result runs at
0.65 of its transpose.  The side-'L' tables above are measured against GEMM of
an order x width result (tall where the width is below the order) and the
side-'R' ones against its transpose, so the routine's rate times
:func:`orientation` is its speed over GEMM's on the wide one of the two, and
:func:`ratio` returns that product.

What the rates leave out: memory traffic, but for one price.  A TRANSPOSE (a
transposed copy the program makes) is priced at ``TRANSPOSE.element_price``,
64 GEMM FLOPs an element it moves (NumPy's transposed copy measured 33-119).
A copy of the caller's array that a routine overwrites (POTRF on the caller's
matrix) costs as much as ~250 GEMM FLOPs per element at n = 2000 (``COPY`` in
``./dev bench rates``), and the level-1 and level-2 routines (AXPY, GEMV) 7-29
(an AXPY, measured 2026-12-08), but they are priced at their FLOPs; pricing
those copies alone made the planner trade a copy for an AXPY priced at two
FLOPs per element.  Both belong in one model of memory traffic, not done yet.

>>> rate = Rate((100, 0.4), (1000, 0.6))
>>> rate.at(100), rate.at(1000), rate.at(10), rate.at(10000)
(0.4, 0.6, 0.4, 0.6)
>>> round(rate.at(316.2), 3)         # linear in log(n) between the points
0.5
"""
import bisect
import math

from sympy import MatrixExpr

__all__ = ['Rate', 'ShapeRate', 'SidedRate', 'TALL', 'order', 'orientation', 'ratio']


class Rate:
    """A routine's speed per FLOP over GEMM's, measured at a few orders n: ``(n, ratio)``
    points, increasing in n; between them linear in log(n), outside them the nearest."""

    __slots__ = ('points', '_logs')

    def __init__(self, *points):
        if not points or any(n <= 0 or r <= 0 for n, r in points) or \
                list(points) != sorted(points) or len({n for n, _ in points}) != len(points):
            raise ValueError(f'a Rate is (n, ratio) points with n increasing and both '
                             f'positive, not {points}')
        self.points = tuple((int(n), float(r)) for n, r in points)
        self._logs = [math.log(n) for n, _ in self.points]

    def at(self, n):
        """The ratio at order ``n``."""
        points = self.points
        if n <= points[0][0]:
            return points[0][1]
        if n >= points[-1][0]:
            return points[-1][1]
        i = bisect.bisect_right(self._logs, math.log(n))
        (_, r0), (_, r1) = points[i - 1], points[i]
        t = (math.log(n) - self._logs[i - 1]) / (self._logs[i] - self._logs[i - 1])
        return r0 + t * (r1 - r0)

    def __repr__(self):
        return f'Rate{self.points}'


def order(op, size):
    """The order ``op`` runs at: the smallest dimension of the matrices it reads, ``size``
    giving a dimension's value; None when one is unbound or is a vector's 1 (a routine on
    a vector runs at the memory's speed, not at the rate measured on squares).  What it
    writes does not count: GETRF's pivots are a vector.

    >>> from sympy import MatrixSymbol
    >>> from computations.matrices.ops.lapack import GETRF, POTRS
    >>> A, b = MatrixSymbol('A', 300, 300), MatrixSymbol('b', 300, 1)
    >>> order(GETRF(A), int), order(POTRS(A, b), int)
    (300, None)
    """
    dims = [size(d) for v in op.inputs if isinstance(v, MatrixExpr) for d in v.shape]
    if not dims or None in dims or 1 in dims:
        return None
    return min(dims)


class ShapeRate:
    """A BLAS-3 routine's speed per FLOP over GEMM's *of the same shape*, measured on a grid:
    rows of ``orders`` (of its symmetric or triangular matrix; SYRK's: of its result),
    columns of ``widths`` (the other dimension: right-hand sides; SYRK's inner dimension).
    Between grid points bilinear in the logarithms, outside them the nearest edge.

    >>> rate = ShapeRate((100, 1000), (10, 100), ((0.4, 0.5), (0.6, 0.9)))
    >>> rate.at(100, 10), rate.at(1000, 100), rate.at(5000, 1)
    (0.4, 0.9, 0.6)
    >>> round(rate.at(316.2, 31.62), 3)            # the middle of the grid's square
    0.6
    """

    __slots__ = ('orders', 'widths', 'ratios')

    def __init__(self, orders, widths, ratios):
        ratios = tuple(tuple(float(r) for r in row) for row in ratios)
        if (not orders or not widths or list(orders) != sorted(set(orders))
                or list(widths) != sorted(set(widths))
                or min(orders) <= 0 or min(widths) <= 0 or len(ratios) != len(orders)
                or any(len(row) != len(widths) or min(row) <= 0 for row in ratios)):
            raise ValueError('a ShapeRate is increasing positive orders and widths and a '
                             'positive ratio for each (order, width)')
        self.orders, self.widths, self.ratios = tuple(orders), tuple(widths), ratios

    def at(self, order, width):
        """The ratio at ``(order, width)``."""
        (i, s), (j, t) = _where(self.orders, order), _where(self.widths, width)
        r = self.ratios
        i1, j1 = min(i + 1, len(self.orders) - 1), min(j + 1, len(self.widths) - 1)
        return ((1 - s) * ((1 - t) * r[i][j] + t * r[i][j1])
                + s * ((1 - t) * r[i1][j] + t * r[i1][j1]))

    def __repr__(self):
        return f'ShapeRate({self.orders}, {self.widths}, {self.ratios})'


class SidedRate:
    """The :class:`ShapeRate` of a product with the structured matrix on the left
    (``A*B``) and on the right (``B*A``): the routines run at different speeds (TRMM at
    order 2000 with 250 columns, 0.96 of GEMM on the left and 0.77 on the right).

    >>> left = ShapeRate((100,), (10,), ((0.5,),))
    >>> SidedRate(left, ShapeRate((100,), (10,), ((0.9,),))).of('R').at(100, 10)
    0.9
    """

    __slots__ = ('left', 'right')

    def __init__(self, left, right):
        if not (isinstance(left, ShapeRate) and isinstance(right, ShapeRate)
                and (left.orders, left.widths) == (right.orders, right.widths)):
            raise ValueError('a SidedRate is two ShapeRates over the same grid')
        self.left, self.right = left, right

    @property
    def orders(self):
        return self.left.orders

    @property
    def widths(self):
        return self.left.widths

    def of(self, side):
        """The ShapeRate of ``side`` ('L' or 'R')."""
        return self.left if side == 'L' else self.right

    def __repr__(self):
        return f'SidedRate({self.left!r}, {self.right!r})'


def _where(points, x):
    """``(i, t)``: ``x`` is ``t`` of the way (in logarithms) from ``points[i]`` to the next."""
    if x <= points[0]:
        return 0, 0.0
    if x >= points[-1]:
        return len(points) - 1, 0.0
    i = bisect.bisect_right(points, x) - 1
    return i, (math.log(x) - math.log(points[i])) / (math.log(points[i + 1]) - math.log(points[i]))


#: A product's speed with a tall result (order x width, more rows than columns) over the
#: same product made as its transpose (width x order), declared where every measurement
#: agrees: at order 2000 (1 up to order 1000, between them linear in the logarithms, as
#: every ShapeRate: 0.80 at 1500 x 16).  GEMM over GEMM_R of ``./dev bench rates
#: --shapes`` (two runs, 2026-12-08, BLAS on two pinned threads; within 0.03 of each other)
#: put it at 0.65-0.89 from order 500 to 2000 with fewer than 1000 columns, but at orders
#: 500 and 1000 the wide product is faster only when its left operand is held wide: at
#: 1000 x 100 from an inner 1000, ``S.T*A`` (``trans_a``) took 1.67 ms and ``A*S`` 1.70,
#: while ``K*A`` (K held 100 x 1000) ran at 1/0.85 the speed; and the randomized inversion
#: made wide there ran 1.07-1.11x its hand-written program (tall: 1.02x).  At 2000 x 200,
#: ``S.T*A`` took 12.9 ms and ``A*S`` 15.0.
TALL = ShapeRate((60, 125, 500, 1000, 2000), (16, 64, 250, 1000, 2000), (
    (1.00, 1.00, 1.00, 1.00, 1.00),
    (1.00, 1.00, 1.00, 1.00, 1.00),
    (1.00, 1.00, 1.00, 1.00, 1.00),
    (1.00, 1.00, 1.00, 1.00, 1.00),
    (0.65, 0.87, 0.87, 0.99, 1.00)))


def orientation(op, size):
    """The speed of ``op``'s product over the same product made as its transpose: :data:`TALL`
    at its result's shape when its class declares ``oriented`` and the result is tall, else
    1.0 -- also when a dimension is unbound, or the result has fewer columns than the
    smallest width measured (16; a vector's 1): there OpenBLAS takes other paths, and the
    table does not hold (2000 x 10 from an inner 2000: the wide product 1.07x the time of
    the tall one, where 2000 x 16 made tall runs at 0.65 of the wide).

    >>> from sympy import MatrixSymbol
    >>> from computations.matrices.ops.blas import GEMM
    >>> A, W = MatrixSymbol('A', 1000, 2000), MatrixSymbol('W', 1000, 200)
    >>> orientation(GEMM(1, A, W, trans_a=True), int) == TALL.at(2000, 200) < 1
    True
    >>> orientation(GEMM(1, W, A, trans_a=True), int)           # the wide transpose
    1.0
    """
    if not getattr(op, 'oriented', False):
        return 1.0
    rows, columns = (size(d) for d in op.outputs[0].shape)
    if rows is None or columns is None or columns < TALL.widths[0] or columns >= rows:
        return 1.0
    return TALL.at(rows, columns)


def ratio(op, size):
    """``op``'s speed per FLOP over a wide GEMM's: :func:`orientation` times the ``rate`` its
    class declares -- a :class:`Rate` at its :func:`order`, a :class:`ShapeRate` (or the
    :class:`SidedRate` of its side) at its ``rate_shape``.  The rate does not apply (as 1)
    when the class declares none, a dimension is unbound, the op works on a vector (at
    the memory's speed), or its order is below the smallest measured (60: a call on
    smaller matrices takes its overhead's time, which no ratio of speeds describes, and
    every route there costs microseconds); the orientation then stands alone (a TRSM on
    the right with a 40 x 40 triangle and a 2000 x 40 result: its tall result's), and
    when it is 1 too, None: priced by its FLOPs.

    >>> from sympy import MatrixSymbol
    >>> from computations.matrices.ops.lapack import POTRF
    >>> ratio(POTRF(MatrixSymbol('A', 2000, 2000)), int) == POTRF.rate.at(2000)
    True
    """
    speed, tall = _routine_ratio(op, size), orientation(op, size)
    if tall == 1.0:
        return speed
    return tall if speed is None else speed * tall


def _routine_ratio(op, size):
    """The ratio of ``op``'s declared ``rate`` (see :func:`ratio`)."""
    rate = getattr(op, 'rate', None)
    if rate is None:
        return None
    if isinstance(rate, (ShapeRate, SidedRate)):
        dims = [size(d) for d in op.rate_shape]
        if None in dims or 1 in dims or dims[0] < rate.orders[0]:
            return None
        if isinstance(rate, SidedRate):
            rate = rate.of(getattr(op, 'side', 'L'))       # the solves: on the left
        return rate.at(*dims)
    at = order(op, size)
    return None if at is None or at < rate.points[0][0] else rate.at(at)
