"""Trading FLOPs for memory: a congruence computed in row panels, its middle never held.

The compiler's program for ``Sigma - Y.T*S.I*Y`` (S positive definite,
``Y = H*Sigma`` in the Kalman filter) factors ``S = L*L.T``, solves
``X = L.I*Y`` (TRSM) and updates ``Sigma - X.T*X`` (SYRK): the fewest
FLOPs, but X (k x n) is alive next to the n x n result, and Y next to it
before.  :func:`stream_congruences` rewrites that pattern into

- ``TRTRI``: ``P = L.I`` (k x k, in L's buffer), and
- :class:`STREAMED_SYRK`: ``Sigma - X.T*X`` with ``X = P*H*Sigma`` made a
  few rows at a time (:attr:`STREAMED_SYRK.PANEL_ROWS`): each panel of P's
  rows times H times Sigma, then a rank update of the result; X and the
  product ``H*Sigma`` are never held.

The price is the product ``H*Sigma`` recomputed (2kn^2 FLOPs in the Kalman
filter, +56% in all at n = 2k), for a peak of the result, P and the panels
instead of the result and X.  Whether that is worth it depends on the
sizes: :func:`computations.function` with ``low_memory=True`` compiles
both programs and runs the one of smaller predicted peak.

>>> from sympy import MatrixSymbol, Q
>>> from computations.matrices import compile_expressions
>>> S, Y = MatrixSymbol('S', 40, 40), MatrixSymbol('Y', 40, 100)
>>> compiled = compile_expressions([Y.T*S.I*Y], [S, Y], [Q.positive_definite(S)])
>>> [type(op).__name__ for op in compiled.computation.toposort()][:3]
['POTRF', 'TRSM', 'SYRK']
>>> streamed = stream_congruences(compiled.computation)
>>> [type(op).__name__ for op in streamed.toposort()][:3]
['POTRF', 'TRTRI', 'STREAMED_SYRK']
"""
import functools
import operator

import sympy
from sympy import Q

from computations.core import CompositeComputation
from computations.matrices.ops.blas import GEMM, GEMV, SYMM, SYRK, TRSM, _accumulate, _beta_and_c
from computations.matrices.ops.algebra import transpose_if
from computations.matrices.ops.core import MatrixComputation, as_flag, as_matrix, as_scalar, check_shapes
from computations.matrices.ops.lapack import TRTRI

__all__ = ['STREAMED_SYRK', 'stream_congruences']


class STREAMED_SYRK(MatrixComputation):
    """``alpha*X.T*X + beta*C`` for ``X = P*op(A)*op(B)``, made in panels of P's rows.

    With ``trans=False``, ``alpha*X*X.T + beta*C`` for ``X = op(A)*op(B)*P.T``
    instead (the same panels, as SYRK's flag picks the orientation).
    ``B`` may be absent (``X = P*op(A)``); ``symmetric`` names the factor
    (``'A'`` or ``'B'``) that is symmetric and read through SYMM (one
    triangle).  Each panel of :attr:`PANEL_ROWS` rows of X is computed
    (GEMM or SYMM per factor), added to the result (SYRK), and dropped:
    the working memory is :attr:`workspace`, not X.  Like SYRK, the routine
    writes one triangle and executors return the result whole.

    >>> from sympy import MatrixSymbol
    >>> P, H, S = MatrixSymbol('P', 3, 3), MatrixSymbol('H', 3, 5), MatrixSymbol('S', 5, 5)
    >>> op = STREAMED_SYRK(-1, P, H, S, 1, S, symmetric='B')
    >>> op.outputs, op.condition
    ((S - S.T*H.T*P.T*P*H*S,), Q.symmetric(S))
    >>> op.flops, op.workspace
    (330, 39)
    """
    __slots__ = ()
    __props__ = ('alpha', 'P', 'A', 'B', 'beta', 'C', 'trans_a', 'trans_b', 'symmetric', 'trans')
    arguments = ('alpha', 'P', 'A', 'B', 'beta', 'C')
    overwrites = {0: 'C'}
    out_buffers = ()                 # the kernel allocates the result when C is absent
    symmetric_outputs = (0,)
    routine = 'streamed_syrk'
    library = 'numpy'
    #: Rows of X per panel.  The workspace is this many rows of P, of
    #: ``P*op(A)`` and of X.  In the Kalman filter at n = 2000, k = 1000 a
    #: call took 0.35 s with 32 rows, 0.32 s with 64 and 0.29 s with 128, but
    #: 128 rows hold 5.1 MB of panels, which puts the peak above 0.7 of
    #: lambdify's (docs/benchmarks.md).
    PANEL_ROWS = 64

    def __init__(self, alpha, P, A, B=None, beta=0, C=None, trans_a=False, trans_b=False,
                 symmetric='', trans=True):
        name = type(self).__name__
        alpha = as_scalar(alpha, 'alpha', name)
        P, A = as_matrix(P, 'P', name), as_matrix(A, 'A', name)
        B = None if B is None else as_matrix(B, 'B', name)
        trans_a, trans_b = as_flag(trans_a, 'trans_a', name), as_flag(trans_b, 'trans_b', name)
        trans = as_flag(trans, 'trans', name)
        if symmetric not in ('', 'A', 'B') or (symmetric == 'B' and B is None):
            raise ValueError(f"{name}: symmetric must be '', 'A' or 'B' (a factor that is "
                             f"given), got {symmetric!r}")
        if (symmetric == 'A' and trans_a) or (symmetric == 'B' and trans_b):
            raise ValueError(f'{name}: the symmetric factor {symmetric} is read as it is; '
                             f'do not transpose it')
        factors = [transpose_if(trans_a, A)] + ([] if B is None else [transpose_if(trans_b, B)])
        names = ['op(A)', 'op(B)'][:len(factors)]
        if trans:
            factors, names = [P] + factors, ['P'] + names
        else:
            factors, names = factors + [P.T], names + ['P.T']
        for i in range(len(factors) - 1):
            check_shapes(name, names[i], factors[i], names[i + 1], factors[i + 1], 1, 0)
        X = functools.reduce(operator.mul, factors)     # spelled as TRSM spells L.I*Y
        product = X.T * X if trans else X * X.T
        beta, C = _beta_and_c(beta, C, product.shape, name)
        self._set(alpha, P, A, B, beta, C, trans_a, trans_b, symmetric, trans,
                  outputs=[_accumulate(alpha, product, beta, C)])

    @property
    def requires(self):
        """C is symmetric, and so is the factor named by ``symmetric``."""
        found = {'C': Q.symmetric}
        if self.symmetric:
            found[self.symmetric] = Q.symmetric
        return found

    def _steps(self):
        """The shapes of the factors applied to a panel of P.T, first to last."""
        shapes = [transpose_if(self.trans_a, self.A).shape]
        if self.B is not None:
            shapes.append(transpose_if(self.trans_b, self.B).shape)
        return [shape[::-1] for shape in shapes] if self.trans else shapes[::-1]

    @property
    def flops(self):
        m = self.P.shape[0]
        steps = self._steps()
        n = steps[-1][0]
        return sum(2 * m * rows * cols for rows, cols in steps) + n * (n + 1) * m

    @property
    def workspace(self):
        """Elements of the panels the kernel holds while it runs: rows of P, and each
        factor's product with them."""
        m, k = self.P.shape
        return sympy.Min(m, self.PANEL_ROWS) * (k + sum(rows for rows, _ in self._steps()))


def stream_congruences(computation):
    """``computation`` with each ``SYRK`` of ``L.I*Y`` (or of ``Y*L.-T``: TRSM with a
    lower-triangular L, whose result nothing else reads) replaced by ``TRTRI`` of L and a
    :class:`STREAMED_SYRK` that recomputes ``Y`` from the product that made
    it (GEMM or SYMM), or reads Y when Y was not made by one.  ``L.I*Y`` may also be read
    by GEMVs ``(L.I*Y).T*z`` (the Kalman mean through the same half solve): each becomes
    ``Y.T*(L.-T*z)``, one more triangular solve with a vector.  The product stays when
    something else reads Y.  Returns the computation itself when nothing matches (see the
    module).
    """
    ops = set(computation.computations)
    changed = False
    for syrk in [op for op in computation.toposort() if type(op) is SYRK]:
        solve = computation.producer(syrk.A)
        others = [op for op in computation.consumers(syrk.A) if op != syrk]
        if not _streamable_solve(solve, syrk.trans) or others and not (
                syrk.trans and all(_reads_transposed(op, syrk.A) for op in others)):
            continue
        Y = solve.B
        for gemv in others:               # X.T*z = Y.T*(L.-T*z): X's other readers read Y
            back = TRSM(1, solve.A, gemv.x, trans_a=True)
            moved = GEMV(gemv.alpha, Y, back.outputs[0], gemv.beta, gemv.y, trans=True)
            ops -= {gemv}
            ops |= {back, moved.renamed(dict(zip(moved.outputs, gemv.outputs)))}
        product = computation.producer(Y)
        factors = _factors(product, Y)
        inverse = TRTRI(solve.A)
        streamed = STREAMED_SYRK(syrk.alpha, inverse.outputs[0], beta=syrk.beta, C=syrk.C,
                                 trans=syrk.trans, **factors)
        # the same value as the SYRK's, spelled from the product (or named by value by
        # the compiler): named as the SYRK's output, which its readers read
        streamed = streamed.renamed(dict(zip(streamed.outputs, syrk.outputs)))
        ops -= {syrk, solve}
        ops |= {inverse, streamed}
        if factors['A'] != Y and computation.consumers(Y) == (solve,) and not others:
            ops.discard(product)                    # recomputed in panels, never formed
        changed = True
    return CompositeComputation(*ops) if changed else computation


def _streamable_solve(op, trans):
    """``L.I*Y`` read by ``SYRK(trans=True)``, or ``Y*L.-T`` by ``SYRK(trans=False)``."""
    side, trans_a = ('L', False) if trans else ('R', True)
    return (type(op) is TRSM and op.side == side and op.trans_a == trans_a and op.lower
            and not op.unit_diagonal and op.alpha == 1)


def _reads_transposed(op, X):
    """Whether ``op`` is ``alpha*X.T*z + beta*y`` (GEMV), which reads X only through ``X.T*z``."""
    return type(op) is GEMV and op.A == X and op.trans and op.x != X


def _factors(product, Y):
    """STREAMED_SYRK's ``A``, ``B`` and flags for ``Y``, as the op that produced it made it."""
    if type(product) is GEMM and product.alpha == 1 and product.C is None:
        return dict(A=product.A, B=product.B, trans_a=product.trans_a, trans_b=product.trans_b)
    if type(product) is SYMM and product.alpha == 1 and product.C is None:
        if product.side == 'L':                      # Y = A*B, A symmetric
            return dict(A=product.A, B=product.B, symmetric='A')
        return dict(A=product.B, B=product.A, symmetric='B')
    return dict(A=Y)
