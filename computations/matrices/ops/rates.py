"""How fast a routine runs per FLOP, relative to GEMM's at the same order: the cost model's
correction to FLOP counts.

FLOPs alone price every routine as GEMM, but a factorization runs far slower per
FLOP: on this machine's OpenBLAS, POTRF at 0.17-0.45 of GEMM's GFLOP/s from
n = 60 to 2000 (``./dev bench rates``).  So a plan with fewer FLOPs through a
Cholesky factor can be the slower one: the MMSE estimator ``Cx*H.T*(H*Cx*H.T +
Cn).I*y`` through Cx's factor (POTRF, TRMM, SYRK) has 27% fewer FLOPs than
SYMM + GEMM and ran 1.25x the hand-written SYMM program at n = 1000.

A routine class declares its measured :class:`Rate` as ``rate`` (None: as
GEMM), and the planner prices an operation at ``flops / rate.at(order)``
(:func:`order`: its smallest dimension).  Only the factorizations declare one,
POTRF, GETRF and SYTRF: they are square, so the square measurement is their
rate, and they are far from GEMM at every order (0.17-0.55), so their
competitors (each other, and routes through products) are priced right by
their FLOPs.  Not, for now:

- the BLAS-3 routines and the solves (SYMM, SYRK, TRMM, TRSM, POTRS, TRTRS,
  GETRS, SYTRS): their rate depends on the shape, not on one order.  SYRK runs
  at 0.68 of GEMM on 1000 x 1000 squares but at 0.77 and 0.91 for a 1000 x
  1000 and a 2000 x 2000 result from 200 columns, and SYMM at 0.98 on squares
  but 0.82 with 200 right-hand sides; priced by the square figures they chose
  worse programs (GEMM for a SYRK, four TRSMs for a POSV);
- the explicit inversions POTRI and TRTRI: their competitors are solves with
  the identity (POTRS, TRSM), which would need rates of their own;
- the drivers POSV, GESV and SYSV: the planner never prices them (they are a
  factorization and a solve fused after planning);
- the matrix-vector routines, nor a routine called on a vector: their speed is
  the memory's.

A shape-aware table for all of them is left to do.

>>> rate = Rate((100, 0.4), (1000, 0.6))
>>> rate.at(100), rate.at(1000), rate.at(10), rate.at(10000)
(0.4, 0.6, 0.4, 0.6)
>>> round(rate.at(316.2), 3)         # linear in log(n) between the points
0.5
"""
import bisect
import math

from sympy import MatrixExpr

__all__ = ['Rate', 'order']


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
        (n0, r0), (n1, r1) = points[i - 1], points[i]
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
