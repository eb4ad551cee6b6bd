"""A hypothesis strategy of random SymPy matrix problems: expressions, assumptions, data.

:func:`matrix_problems` draws a :class:`MatrixProblem`: inputs
(MatrixSymbols and scalar Symbols), one or two outputs (matrix expressions
over them), the assumptions that declare the inputs' properties, and
NumPy data that satisfies those properties and is well conditioned
(:meth:`MatrixProblem.data`, made by :func:`computations.testing.random_matrix`).
Compile it with ``computations.function(p.inputs, p.outputs, p.assumptions)``
and compare with :func:`computations.testing.assert_allclose_to_numpy`.

The expressions cover numeric shapes (1 to 6) and, in some draws, symbolic
shapes (``n``, ``m``, ``k``, ``p``: integer, positive Symbols, bound to numbers
in ``MatrixProblem.dims`` and by the data's shapes), scalar Symbols and numbers
as coefficients, ``Identity``, ``ZeroMatrix``, ``MatMul``, ``MatAdd``,
``Transpose``, ``Inverse`` and their nesting, through a small random grammar
plus named motifs (ridge solve, least squares, GLS, triangular and general
solves, ``alpha*A*B + beta*C``, the Kalman mean and covariance, chains of
3-4 factors ending in a vector).

Every ``Inverse`` is of a matrix that is invertible both by construction and
by its declared properties: an SPD, triangular or invertible symbol (or its
transpose), an SPD symbol plus a PSD-by-construction term (``B.T*B``,
``H*T*H.T``, ``Identity``), ``B.T*B + c*I``, ``X.T*X`` or ``X.T*S.I*X`` with
``X`` tall and full rank.  Every ``Inverse`` is a factor of a product with a
non-inverse matrix, so a solve always suffices and no explicit inverse is
ever needed (:func:`structure_errors` states these promises).

>>> import numpy as np
>>> import computations
>>> from hypothesis import given, settings
>>> from computations.testing import assert_allclose_to_numpy
>>> @given(matrix_problems(symbolic=False))
... @settings(max_examples=3, deadline=None)
... def test_compiled_functions_agree_with_numpy(p):
...     f = computations.function(p.inputs, p.outputs, p.assumptions)
...     assert_allclose_to_numpy(f, *p.data())
>>> test_compiled_functions_agree_with_numpy()
"""
import dataclasses

import numpy as np
import sympy
from hypothesis import assume, strategies as st
from sympy import (Identity, Inverse, MatAdd, MatMul, MatPow, MatrixExpr, MatrixSymbol, Q,
                   Transpose, ZeroMatrix)

from .data import KINDS, PREDICATES as _PREDICATES, random_matrix
from .reference import relative_error, rounding as _rounding

__all__ = ['MatrixProblem', 'matrix_problems', 'structure_errors', 'symmetric_canonical', 'KINDS']

_NAMES = {'general': 'ABCFKMNP', 'vector': 'xyzvwu', 'symmetric': 'YZ', 'spd': 'SRTW',
          'lower': 'L', 'upper': 'U', 'invertible': 'GJ', 'diagonal': 'D', 'fullrank': 'X',
          'observation': 'H'}
_SCALAR_NAMES = ('alpha', 'beta', 'gamma', 'delta')
_DIM_NAMES = ('n', 'm', 'k', 'p')
MAX_DIM = 6


# ---------------------------------------------------------------------------- the problem

@dataclasses.dataclass(frozen=True, eq=False)
class MatrixProblem:
    """A random problem: ``computations.function(inputs, outputs, assumptions)`` and its data.

    ``specs`` lists, per input, its kind (see :data:`KINDS`) and numeric
    shape (None for scalars); ``kinds`` maps each input to its kind,
    ``dims`` each symbolic dimension to the number the data binds it to, and
    ``seed`` (drawn by the strategy) makes the default data.

    >>> A = MatrixSymbol('A', 2, 2)
    >>> p = MatrixProblem([A], [A.T * A], (sympy.Q.invertible(A),), [('invertible', (2, 2))])
    >>> [a.shape for a in p.data()], [r.shape for r in p.reference(p.data())]
    ([(2, 2)], [(2, 2)])
    """
    inputs: list
    outputs: list
    assumptions: tuple
    specs: list
    kinds: dict = dataclasses.field(default_factory=dict)
    dims: dict = dataclasses.field(default_factory=dict)
    seed: int = 0

    def data(self, rng=None):
        """One value per input (2-D float arrays for matrices, column vectors ``n x 1``;
        floats for scalars) satisfying the assumptions; ``rng`` a
        :class:`numpy.random.Generator`, by default one seeded with ``seed``."""
        rng = np.random.default_rng(self.seed) if rng is None else rng
        return [random_matrix(kind, shape, rng) for kind, shape in self.specs]

    @property
    def symbolic(self):
        """Whether some shape is symbolic."""
        return bool(self.dims)

    def shape(self, expr):
        """The numeric shape of a matrix expression under ``dims``."""
        return tuple(int(sympy.sympify(d).xreplace(self.dims)) for d in expr.shape)

    def reference(self, values):
        """``sympy.lambdify(inputs, outputs, 'numpy')(*values)``, as float arrays.

        Symbolic dimensions are replaced by their numbers first: lambdify
        prints ``Identity(n)`` and ``ZeroMatrix(n, m)`` with the dimension's
        name (or refuses: NotImplementedError for a symbolic Identity), and
        the dimensions are not arguments.
        """
        return self.evaluate(self.outputs, values)

    def evaluate(self, exprs, values):
        """The values of matrix expressions over the inputs (a list for a list), by lambdify."""
        subs = {d: sympy.Integer(v) for d, v in self.dims.items()}
        inputs = [x.xreplace(subs) for x in self.inputs]
        many = isinstance(exprs, (list, tuple))
        exprs = [e.xreplace(subs) for e in (exprs if many else [exprs])]
        results = [np.asarray(v, dtype=float)
                   for v in sympy.lambdify(inputs, exprs, 'numpy')(*values)]
        return results if many else results[0]

    def errors(self, results, values):
        """The relative error of each of ``results`` (one per output, computed from
        ``values``) against :meth:`reference`, beyond the error rounding explains
        (:func:`~computations.testing.rounding`): a random output can cancel to exactly
        zero (``alpha*x + alpha*x*G`` with a 1 x 1 orthogonal ``G = [[-1]]``), where a
        computed result is right to rounding at the size of its terms.

        >>> A = MatrixSymbol('A', 2, 2)
        >>> p = MatrixProblem([A], [A - A.T], (), [('general', (2, 2))])
        >>> (a,) = p.data()
        >>> p.errors([a - a.T + 1e-17], [a]), p.errors([a + a.T], [a]) > [0.1]
        ([0.0], True)
        """
        subs = {d: sympy.Integer(v) for d, v in self.dims.items()}
        known = {x.xreplace(subs): value for x, value in zip(self.inputs, values)}
        return [relative_error(got, want, _rounding(out.xreplace(subs), known))
                for out, got, want in zip(self.outputs, results, self.reference(values))]

    def __repr__(self):
        return (f'{type(self).__name__}(inputs={self.inputs!r}, outputs={self.outputs!r}, '
                f'assumptions={self.assumptions!r}, dims={self.dims!r})')


# ---------------------------------------------------------------------------- checks

def _walk(expr, parent=None):
    yield expr, parent
    for arg in expr.args:
        if isinstance(arg, sympy.Basic):
            yield from _walk(arg, expr)


def _is_inverse(node):
    """An Inverse (a MatPow subclass with exponent -1) or another negative MatPow."""
    return isinstance(node, MatPow) and bool(node.args[1].is_negative)


def structure_errors(outputs, powers=False):
    """What breaks the strategy's promises about these outputs (an empty list when nothing).

    >>> A = MatrixSymbol('A', 2, 2)
    >>> structure_errors([A.I * A.T]), structure_errors([A.I])
    ([], ['A**(-1) is not a factor of a product (parent None)'])

    Every inverse must be a factor of a MatMul that also has a non-inverse
    matrix factor; no MatPow other than Inverse (a MatPow subclass: ``A*A``
    canonicalizes to ``A**2`` and ``A.I*A.I`` to ``A**(-2)``) unless
    ``powers``, and then a negative power counts as an inverse; no nested
    Inverse; every output must involve a MatrixSymbol and must not be a bare
    input, Identity or ZeroMatrix; no two outputs equal.
    """
    errors = []
    for out in outputs:
        if not isinstance(out, MatrixExpr):
            errors.append(f'{out} is not a matrix expression')
            continue
        if isinstance(out, (MatrixSymbol, Identity, ZeroMatrix)) or not out.atoms(MatrixSymbol):
            errors.append(f'{out} is trivial')
        for node, parent in _walk(out):
            if isinstance(node, MatPow) and not isinstance(node, Inverse) and not powers:
                errors.append(f'{node} is a MatPow')
            if _is_inverse(node):
                if not isinstance(parent, MatMul):
                    errors.append(f'{node} is not a factor of a product (parent {parent})')
                elif not any(isinstance(a, MatrixExpr) and not _is_inverse(a)
                             and not isinstance(a, Identity) for a in parent.args):
                    errors.append(f'{node} has no non-inverse matrix factor in {parent}')
                if node.args[0].has(MatPow) and not _is_gls(node.args[0]):
                    errors.append(f'{node} nests an inverse')
    if len(set(outputs)) != len(outputs):
        errors.append('two outputs are equal')
    return errors


def _is_gls(arg):
    """``X.T*S.I*X``: the one inverse argument that contains an inverse."""
    return (isinstance(arg, MatMul) and len(arg.args) == 3
            and isinstance(arg.args[1], Inverse) and arg.args[0] == arg.args[2].T)


def symmetric_canonical(outputs, kinds):
    """The outputs with ``S.T`` replaced by ``S`` for every symmetric input, re-evaluated.

    A compiler that knows ``S`` is symmetric may do this, and then SymPy's own
    canonicalization goes on: ``S.I*S.T`` becomes the Identity, ``S.I*S.T.I``
    becomes ``S**(-2)``, ``S*S.T`` becomes ``S**2``.

    >>> S = MatrixSymbol('S', 2, 2)
    >>> symmetric_canonical([S.I * S.T], {S: 'spd'})
    [I]
    """
    flips = {s.T: s for s, k in kinds.items() if k in ('spd', 'symmetric', 'diagonal')}
    return [out.xreplace(flips).doit() for out in outputs]



# ---------------------------------------------------------------------------- the builder

class _Builder:
    """Draws symbols, dimensions and expressions for one problem."""

    def __init__(self, draw, symbolic):
        self.draw = draw
        self.symbolic = symbolic
        self.dims = {}                         # dimension Symbol -> int
        self.kinds = {}                        # input -> kind, in creation order
        self.extra = {}                        # input -> extra assumptions
        self.names = set()

    # -- dimensions
    def value(self, d):
        return int(sympy.sympify(d).xreplace(self.dims))

    def dim(self, lo=1, hi=MAX_DIM, symbol=False):
        """A dimension whose number is in [lo, hi]: an Integer, or in symbolic draws a Symbol.

        With ``symbol``, a Symbol or None (when no more dimension Symbols fit).
        """
        draw = self.draw
        if symbol or (self.symbolic and draw(st.integers(0, 3)) > 0):
            existing = [d for d, v in self.dims.items() if lo <= v <= hi]
            if existing and draw(st.booleans()):
                return draw(st.sampled_from(existing))
            if len(self.dims) < len(_DIM_NAMES):
                d = sympy.Symbol(_DIM_NAMES[len(self.dims)], integer=True, positive=True)
                self.dims[d] = draw(st.integers(lo, hi))
                return d
            if existing:
                return draw(st.sampled_from(existing))
            if symbol:
                return None
        return sympy.Integer(draw(st.integers(lo, hi)))

    # -- symbols
    def fresh(self, letters):
        for suffix in ('', *map(str, range(1, 100))):
            for letter in letters:
                if letter + suffix not in self.names:
                    self.names.add(letter + suffix)
                    return letter + suffix
        raise AssertionError('out of names')

    def symbol(self, kind, rows, cols=None, letters=None):
        """A MatrixSymbol of that kind and shape: an existing one (sometimes) or a new one."""
        cols = rows if cols is None else cols
        same = [s for s, k in self.kinds.items()
                if k == kind and s.shape == (rows, cols)]
        if same and self.draw(st.integers(0, 2)) == 0:
            return self.draw(st.sampled_from(same))
        if letters is None:
            letters = _NAMES['vector' if kind == 'general' and cols == 1 else kind]
        s = MatrixSymbol(self.fresh(letters), rows, cols)
        self.kinds[s] = kind
        if kind == 'spd' and self.draw(st.booleans()):
            self.extra[s] = (Q.symmetric(s),)
        return s

    def scalar(self):
        same = [s for s, k in self.kinds.items() if k == 'scalar']
        if same and self.draw(st.booleans()):
            return self.draw(st.sampled_from(same))
        s = sympy.Symbol(self.fresh(_SCALAR_NAMES))
        self.kinds[s] = 'scalar'
        return s

    def coefficient(self):
        """A scalar Symbol, a number (integer, rational, float, negative) or their product."""
        form = self.draw(st.sampled_from(['number', 'symbol', 'product']))
        number = self.draw(st.sampled_from([sympy.Integer(2), sympy.Integer(-1),
                                            sympy.Rational(1, 2), sympy.Rational(-3, 2),
                                            sympy.Float(0.75), sympy.Integer(3)]))
        if form == 'number':
            return number
        if form == 'symbol':
            return self.scalar()
        return number * self.scalar()

    def positive_number(self):
        return self.draw(st.sampled_from([sympy.Integer(1), sympy.Integer(2),
                                          sympy.Rational(1, 2), sympy.Float(1.5)]))

    # -- matrix expressions
    def leaf(self, r, c):
        """A symbol of shape r x c (any kind that fits), or the transpose of one."""
        options = ['general', 'general.T']
        if r == c:
            options += ['spd', 'symmetric', 'lower', 'upper', 'diagonal', 'invertible',
                        'square.T']
        if self.value(r) > self.value(c) and self.value(c) > 0:
            options.append('fullrank')
        if self.value(c) > self.value(r):
            options.append('fullrank.T')
        kind = self.draw(st.sampled_from(options))
        if kind == 'general.T':
            return self.symbol('general', c, r).T
        if kind == 'square.T':
            return self.symbol(self.draw(st.sampled_from(
                ['spd', 'lower', 'upper', 'invertible', 'symmetric'])), r).T
        if kind == 'fullrank':
            return self.symbol('fullrank', r, c)
        if kind == 'fullrank.T':
            return self.symbol('fullrank', c, r).T
        return self.symbol(kind, r, c)

    def tall(self, n):
        """A tall full-rank X with n columns (more rows than columns), or None if none fits.

        When n is a Symbol, so is the number of rows: with numeric rows, the
        default sizes a compiler picks for n could make X wide and X.T*X singular.
        """
        if self.value(n) >= MAX_DIM:
            return None
        rows = self.dim(self.value(n) + 1, MAX_DIM, symbol=isinstance(n, sympy.Symbol))
        return None if rows is None else self.symbol('fullrank', rows, n)

    def inverse(self, n):
        """The inverse of an n x n matrix invertible by construction and by declaration."""
        draw = self.draw
        form = draw(st.sampled_from(['spd', 'lower', 'upper', 'invertible', 'spd+gram',
                                     'spd+congruence', 'gram+identity', 'spd+identity',
                                     'normal', 'gls', 'spd+spd']))
        if form in ('normal', 'gls'):
            X = self.tall(n)
            if X is None:
                form = 'spd'
        if form in ('spd', 'lower', 'upper', 'invertible'):
            M = self.symbol(form, n)
            if draw(st.integers(0, 3)) == 0:
                M = M.T
        elif form == 'spd+gram':
            B = self.symbol('general', self.dim(), n)
            M = self.symbol('spd', n) + self.positive_number() * B.T * B
        elif form == 'spd+congruence':
            H = self.symbol('general', n, self.dim(), letters=_NAMES['observation'])
            T = self.symbol('spd', H.shape[1])
            M = H * T * H.T + self.symbol('spd', n)
        elif form == 'gram+identity':
            B = self.symbol('general', self.dim(), n)
            M = B.T * B + self.positive_number() * Identity(n)
        elif form == 'spd+identity':
            M = self.symbol('spd', n) + self.positive_number() * Identity(n)
        elif form == 'spd+spd':
            M = self.symbol('spd', n) + self.positive_number() * self.symbol('spd', n)
        elif form == 'normal':
            M = X.T * X
        else:                                  # gls
            S = self.symbol('spd', X.shape[0])
            M = X.T * S.I * X
        return M.I

    def solve(self, r, c, depth):
        if self.draw(st.booleans()):
            return self.inverse(r) * self.term(r, c, depth - 1)
        return self.term(r, c, depth - 1) * self.inverse(c)

    def chain(self, r, c):
        """A product of 3-4 factors (symbols, some of them inverses) from r x ... x c.

        None when every factor drew an inverse.
        """
        draw = self.draw
        count = draw(st.integers(3, 4))
        factors, row = [], r
        for i in range(count):
            last = i == count - 1
            if (not last or row == c) and draw(st.integers(0, 3)) == 0:
                factors.append(self.inverse(row))
                continue
            col = c if last else self.dim()
            factors.append(self.leaf(row, col))
            row = col
        if row != c or all(isinstance(f, Inverse) for f in factors):
            return None
        return MatMul(*factors).doit()

    def term(self, r, c, depth, top=False):
        """A random matrix expression of shape r x c, at most ``depth`` levels deep."""
        draw = self.draw
        options = [] if top else ['leaf']
        if depth > 0 or top:
            options += ['product', 'sum', 'scale', 'transpose', 'solve', 'gemm', 'chain']
            if r == c:
                options += ['gram', 'shift']
        form = draw(st.sampled_from(options))
        if form == 'leaf':
            return self.leaf(r, c)
        if form == 'product':
            k = self.dim()
            return self.term(r, k, depth - 1) * self.term(k, c, depth - 1)
        if form == 'sum':
            first, second = self.term(r, c, depth - 1), self.term(r, c, depth - 1)
            return first + self.coefficient() * second if draw(st.booleans()) \
                else first - second
        if form == 'scale':
            return self.coefficient() * self.term(r, c, depth - 1)
        if form == 'transpose':
            inner = self.term(c, r, depth - 1)
            return Transpose(inner) if draw(st.booleans()) else inner.T
        if form == 'solve':
            return self.solve(r, c, depth)
        if form == 'gemm':
            k = self.dim()
            return (self.coefficient() * self.term(r, k, depth - 1) * self.term(k, c, depth - 1)
                    + self.coefficient() * self.term(r, c, depth - 1))
        if form == 'chain':
            result = self.chain(r, c)
            assume(result is not None)
            return result
        if form == 'gram':
            k = self.dim()
            if draw(st.booleans()):
                B = self.term(r, k, depth - 1)
                return B * B.T
            B = self.term(k, r, depth - 1)
            return B.T * B
        # shift
        return self.term(r, c, depth - 1) + self.coefficient() * Identity(r)

    # -- named motifs (the shapes of the examples)
    def motif(self):
        draw = self.draw
        name = draw(st.sampled_from(['grammar', 'ridge', 'least_squares', 'gls', 'triangular',
                                     'general_solve', 'gemm', 'kalman_mean', 'kalman_cov',
                                     'chain', 'symm', 'syrk']))
        if name == 'grammar':
            r = self.dim()
            c = sympy.S.One if draw(st.booleans()) else self.dim()
            return self.term(r, c, draw(st.integers(1, 3)), top=True)
        if name == 'ridge':                    # (A + B.T*B).I*C
            n = self.dim()
            return self.inverse_of_sum(n) * self.symbol('general', n, self.rhs_cols())
        if name == 'least_squares':            # (X.T*X).I*X.T*y
            X = self.tall(self.dim(1, MAX_DIM - 1))
            assume(X is not None)
            return (X.T * X).I * X.T * self.symbol('general', X.shape[0], self.rhs_cols())
        if name == 'gls':                      # (X.T*S.I*X).I*X.T*S.I*y
            X = self.tall(self.dim(1, MAX_DIM - 1))
            assume(X is not None)
            S = self.symbol('spd', X.shape[0])
            y = self.symbol('general', X.shape[0], self.rhs_cols())
            return (X.T * S.I * X).I * X.T * S.I * y
        if name == 'triangular':               # L.I*b, U.T.I*b, B*U.I
            n = self.dim()
            T = self.symbol(draw(st.sampled_from(['lower', 'upper'])), n)
            T = T.T if draw(st.booleans()) else T
            if draw(st.booleans()):
                return T.I * self.symbol('general', n, self.rhs_cols())
            return self.symbol('general', self.rhs_cols(), n) * T.I
        if name == 'general_solve':            # G.I*C, G.T.I*C, C*G.I
            n = self.dim()
            G = self.symbol('invertible', n)
            G = G.T if draw(st.booleans()) else G
            if draw(st.booleans()):
                return self.coefficient() * G.I * self.symbol('general', n, self.rhs_cols())
            return self.symbol('general', self.rhs_cols(), n) * G.I
        if name == 'gemm':                     # alpha*A*B + beta*C
            r, k, c = self.dim(), self.dim(), self.dim()
            return (self.coefficient() * self.leaf(r, k) * self.leaf(k, c)
                    + self.coefficient() * self.leaf(r, c))
        if name in ('kalman_mean', 'kalman_cov'):
            n, k = self.dim(), self.dim()
            S, R = self.symbol('spd', n), self.symbol('spd', k)
            H = self.symbol('general', k, n, letters=_NAMES['observation'])
            x, y = self.symbol('general', n, 1), self.symbol('general', k, 1)
            K = (H * S * H.T + R).I
            if name == 'kalman_cov':           # S - S*H.T*(H*S*H.T + R).I*H*S
                return S - S * H.T * K * H * S
            if draw(st.booleans()):            # (H*S*H.T + R).I*(H*x - y)
                return K * (H * x - y)
            return x + S * H.T * K * (y - H * x)
        if name == 'chain':                    # A*B*C*x: the order matters
            r = self.dim()
            result = self.chain(r, sympy.S.One) if draw(st.booleans()) else \
                self.chain(sympy.S.One, r)
            assume(result is not None)
            return result
        if name == 'symm':                     # Y*B, B*Y with Y symmetric or SPD
            n, c = self.dim(), self.dim()
            Y = self.symbol(draw(st.sampled_from(['symmetric', 'spd'])), n)
            B = self.symbol('general', n, c)
            return Y * B if draw(st.booleans()) else B.T * Y
        # syrk: A*A.T + beta*C (C symmetric), X.T*X
        n, k = self.dim(), self.dim()
        A = self.symbol('general', n, k)
        if draw(st.booleans()):
            return A * A.T + self.coefficient() * self.symbol('symmetric', n)
        return A.T * A

    def rhs_cols(self):
        return sympy.S.One if self.draw(st.booleans()) else self.dim()

    def inverse_of_sum(self, n):
        """(S + c*B.T*B).I, (H*T*H.T + R).I or (B.T*B + c*I).I."""
        form = self.draw(st.sampled_from(['gram', 'congruence', 'identity']))
        if form == 'gram':
            B = self.symbol('general', self.dim(), n)
            return (self.symbol('spd', n) + self.positive_number() * B.T * B).I
        if form == 'congruence':
            H = self.symbol('general', n, self.dim(), letters=_NAMES['observation'])
            return (H * self.symbol('spd', H.shape[1]) * H.T + self.symbol('spd', n)).I
        B = self.symbol('general', self.dim(), n)
        return (B.T * B + self.positive_number() * Identity(n)).I

    def wrap(self, expr):
        """Sometimes wrap an output in a form SymPy does not simplify away."""
        form = self.draw(st.sampled_from(['none', 'none', 'none', 'none', 'scale', 'transpose',
                                          'plus_zero', 'times_identity']))
        r, c = expr.shape
        if form == 'scale':
            return self.coefficient() * expr
        if form == 'transpose':
            return Transpose(expr)
        if form == 'plus_zero':
            return MatAdd(expr, ZeroMatrix(r, c), evaluate=False)
        if form == 'times_identity':
            return MatMul(Identity(r), expr, evaluate=False)
        return expr



@st.composite
def matrix_problems(draw, symbolic=None, max_outputs=2):
    """A random :class:`MatrixProblem`; ``symbolic`` forces or forbids symbolic shapes.

    >>> from hypothesis import find, settings
    >>> p = find(matrix_problems(), lambda p: any(e.has(sympy.Inverse) for e in p.outputs),
    ...          settings=settings(database=None))
    >>> [v.shape for v in p.reference(p.data())] == [p.shape(e) for e in p.outputs]
    True
    """
    forced = symbolic is True
    if symbolic is None:
        symbolic = draw(st.integers(0, 3)) == 0
    builder = _Builder(draw, symbolic)
    outputs = [builder.wrap(builder.motif())
               for _ in range(draw(st.integers(1, max_outputs)))]
    assume(not structure_errors(outputs))
    canonical = symmetric_canonical(outputs, builder.kinds)
    assume(not structure_errors(canonical, powers=True))
    used = set()
    for out in outputs:
        used |= out.free_symbols
    inputs = [s for s in builder.kinds if s in used]
    inputs = draw(st.permutations(inputs))
    assumptions = []
    for s in inputs:
        kind = builder.kinds[s]
        if kind in _PREDICATES:
            assumptions.append(_PREDICATES[kind](s))
        assumptions.extend(builder.extra.get(s, ()))
    assumptions = tuple(draw(st.permutations(assumptions)))
    dims = {d: v for d, v in builder.dims.items() if any(out.has(d) for out in outputs)}
    if forced:
        assume(dims)                           # some outputs draw numeric shapes only
    specs = [(builder.kinds[s], tuple(builder.value(d) for d in s.shape)
              if isinstance(s, MatrixSymbol) else None) for s in inputs]
    return MatrixProblem(inputs=list(inputs), outputs=outputs, assumptions=assumptions,
                         specs=specs, kinds={s: builder.kinds[s] for s in inputs}, dims=dims,
                         seed=draw(st.integers(0, 2**32 - 1)))
