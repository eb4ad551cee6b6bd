"""The matrix-chain order on a light form: sizes as ints, no SymPy.

The search (:mod:`.search`) tries every split of a product, each offered to
the rules, which is exact but builds SymPy products and operations for
every candidate: a chain of 40 matrices took minutes.  Past a few factors
it asks this module instead which splits are worth offering: the classic
O(L^3) dynamic program over the factors' sizes (Cormen et al., 15.2; what
``numpy.linalg.multi_dot`` does), with the FLOPs of a general product,
``2*m*k*n`` -- what GEMM and GEMV declare, and a solve with an ``n x n``
factorization costs against an ``n x m`` right-hand side.

>>> order = ChainOrder([(10, 100), (100, 5), (5, 50)])
>>> order.cost(0, 3), order.split(0, 3), order.parenthesized()
(15000.0, 2, '((0 1) 2)')
"""
import numpy as np

__all__ = ['ChainOrder', 'product_flops']


def product_flops(m, k, n):
    """FLOPs of an ``m x k`` times ``k x n`` product (GEMM's count).

    >>> product_flops(2, 3, 4)
    48
    """
    return 2 * m * k * n


class ChainOrder:
    """The cheapest parenthesization of a chain of matrices of the given ``(rows, cols)``
    sizes, for every sub-chain ``[i, j)``: :meth:`cost` and :meth:`split` (the first factor
    of the right part; on a tie the most even split, which keeps the intermediate
    products, and so the SymPy expressions naming them, short: O(L log L) factors in all
    for a chain of squares instead of O(L^2)).

    Filled diagonal by diagonal, each diagonal one NumPy operation: a chain of 200
    takes a few milliseconds.
    """

    def __init__(self, shapes):
        dims = [int(shapes[0][0])] + [int(cols) for rows, cols in shapes]
        self.length = length = len(shapes)
        d = np.array(dims, dtype=float)
        costs = np.zeros((length + 1, length + 1))
        splits = np.zeros((length + 1, length + 1), dtype=int)
        for span in range(2, length + 1):          # one vector operation per diagonal
            i = np.arange(0, length - span + 1)[:, None]
            j = i + span
            k = i + np.arange(1, span)[None, :]
            total = costs[i, k] + costs[k, j] + 2 * d[i] * d[k] * d[j]
            cheapest = total.min(axis=1)
            # on a tie, the most even split: shorter products to build and name
            unevenness = np.abs(2 * k - i - j) + np.where(total == cheapest[:, None], 0, 2 * span)
            rows = np.arange(len(cheapest))
            costs[rows, rows + span] = cheapest
            splits[rows, rows + span] = k[rows, np.argmin(unevenness, axis=1)]
        self._costs, self._splits = costs, splits

    def cost(self, i, j):
        """The FLOPs of the cheapest order of the factors ``[i, j)``."""
        return float(self._costs[i, j])

    def split(self, i, j):
        """Where the cheapest order of ``[i, j)`` splits it: ``[i, k)`` times ``[k, j)``."""
        return int(self._splits[i, j])

    def parenthesized(self, i=0, j=None):
        """The cheapest order as text, factors by index (for tests and messages)."""
        j = self.length if j is None else j
        if j - i == 1:
            return str(i)
        k = self.split(i, j)
        return f'({self.parenthesized(i, k)} {self.parenthesized(k, j)})'
