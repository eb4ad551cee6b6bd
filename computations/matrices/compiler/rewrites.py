"""Rewritten candidates of the search: a product distributed over a sum, factors taken out.

Beside the rules' candidates, :class:`~.search.Planner` plans equal rewritings
of the expression it searches, as candidates too (never fixed rewrites):

- a product distributed over a sum at one end of a split (``(I - K*H)*P`` as
  ``P - K*(H*P)``, ``(I - A*B)*x`` as two matrix-vector products), when that
  may be cheaper (:meth:`Rewriting.distributed`);
- a factor, or a run of factors up to its narrowest dimension, that several
  terms of a sum share taken out (``A*x + A*y`` as ``A*(x + y)``, ``T -
  E*A*T`` with ``T = S*M.I*S.T`` as ``(S - E*A*S)*M.I*S.T``:
  :meth:`Rewriting.factored`).

Each is made canonical before it is planned; one that leads back to an
expression being planned is skipped (distributing undoes factoring:
:class:`_RewriteCycle`), and their number and nesting are bounded
(:data:`MAX_REWRITES`, :data:`MAX_REWRITE_DEPTH`).

>>> from sympy import MatrixSymbol
>>> from computations.matrices.compiler.properties import Properties
>>> from computations.matrices.compiler.search import Planner
>>> A, x, y = MatrixSymbol('A', 3, 3), MatrixSymbol('x', 3, 1), MatrixSymbol('y', 3, 1)
>>> planner = Planner(Properties(), [A, x, y])
>>> _ = planner.plan_outputs([A*x + A*y])             # one product: A*(x + y)
>>> sorted(str(op) for op in planner.committed)
['A*x + A*y = GEMV(1, A, x + y)', 'x + y = AXPY(1, x, y)']
"""
from sympy import Identity, MatAdd

from computations.graph import ComputationsError
from computations.matrices.compiler.canonical import product
from computations.matrices.compiler.properties import split_product as _factors

__all__ = ['Rewriting', 'sum_of', 'MAX_REWRITES', 'MAX_REWRITE_DEPTH']

#: Rewritten candidates (a product distributed over a sum, a common factor taken out of a
#: sum) planned between two commits, at most: each plans a new expression.
MAX_REWRITES = 8

#: Rewritten candidates nest this deep at most (``(I - T*A)*X*(I - A*T)`` needs two: ``E -
#: E*A*T`` with ``E = X - T*A*X``); inside a rewriting, a sum is factored only where that
#: narrows it (elsewhere, factoring mostly undoes the rewriting).
MAX_REWRITE_DEPTH = 2

class _RewriteCycle(ComputationsError):
    """A rewritten candidate led back to ``expr``, an expression being planned
    (distributing undoes factoring).  Control flow inside the search, which skips that
    candidate: it never reaches a caller."""

    def __init__(self, expr):
        super().__init__(f'planning {expr} led back to itself')
        self.expr = expr


def sum_of(terms):
    """The sum of ``terms`` (each in SymPy's canonical form), as ``A + B + ...`` builds it
    but at once: ``+`` in turn simplifies every partial sum again, and each term in it
    (``doit`` deep), quadratic in the number of terms.

    >>> from sympy import MatrixSymbol
    >>> A, B = MatrixSymbol('A', 2, 2), MatrixSymbol('B', 2, 2)
    >>> sum_of([B, A, 2*B]), sum_of([A])
    (A + 3*B, A)
    """
    return terms[0] if len(terms) == 1 else MatAdd(*terms).doit(deep=False)


def _distributed(alpha, total, other, side, added):
    """``alpha*total*product(other)`` (``side`` 0; else ``other`` on the left) with the
    product distributed over the sum ``total``, plus ``beta*C`` when ``added`` is
    ``(beta, C)``."""
    rest = product(other)
    terms = [alpha * (term * rest if side == 0 else rest * term) for term in total.args]
    if added:
        terms.append(added[0] * added[1])
    return sum_of(terms)


def _factored_out(terms, split, end, length, members):
    """The sum of ``terms`` (``split`` into coefficients and factors) with the ``length``
    factors the ``members`` start (``end`` 0) or end (-1) with taken out."""
    factors = split[members[0]][1]
    common = factors[:length] if end == 0 else factors[-length:]
    inner = sum_of([split[i][0] * product(split[i][1][length:] if end == 0 else
                                         split[i][1][:-length]) for i in members])
    taken = [*common, inner] if end == 0 else [inner, *common]
    return sum_of([product(taken)] + [term for i, term in enumerate(terms) if i not in members])


def _common_run(lists, end):
    """How many factors all of ``lists`` share at their start (``end`` 0) or end (-1)."""
    ordered = lists if end == 0 else [factors[::-1] for factors in lists]
    length = 0
    for column in zip(*ordered):
        if any(f != column[0] for f in column[1:]):
            break
        length += 1
    return length


class Rewriting:
    """The rewritten candidates of a search (see the module); mixed into
    :class:`~.search.Planner`, whose ``plan``, ``finish``, ``built``, ``properties`` and
    state (the memo, the expressions being planned, the rewritings left and their depth)
    it uses."""

    def distributed(self, alpha, left, right, acc=None):
        """The plan of ``alpha*left*right + beta*C`` with the product distributed over a
        side that is one sum (``(I - K*H)*P`` as ``P - K*(H*P)``), when that may be cheaper
        (:meth:`_worth_distributing`); a candidate, never a fixed rewrite."""
        candidates = []
        for side, (group, other) in enumerate(((left, right), (right, left))):
            if (not self._may_rewrite() or len(group) != 1 or not isinstance(group[0], MatAdd)
                    or not self._worth_distributing(group[0], other, side)):
                continue
            inside = acc is not None and self._depth    # one rewriting whatever the term added
            added = () if acc is None or inside else (acc.beta, acc.value)
            total = self.built(('distributed', alpha, group[0], tuple(other), side, added),
                           lambda: _distributed(alpha, group[0], other, side, added))
            plans = self.rewritten(total)
            candidates += [self.finish(plan, 1, acc) for plan in plans] if inside else plans
        return candidates

    def _worth_distributing(self, total, other, side):
        """Whether distributing a product over the sum ``total`` (on the left when ``side``
        is 0) may be cheaper: a term of the sum is a multiple of the identity (its product
        is free), or a product through a dimension smaller than the sum's (a low-rank
        update), or the other side is thinner than the sum along the product (``(I -
        A*B)*x``: matrix-vector products only).  Forming a sum of plain matrices and
        multiplying once is never dearer than multiplying each, so that is not offered."""
        size = self.properties.size
        rows, columns = map(size, total.shape)
        if None in (rows, columns):
            return True
        for term in total.args:
            _, factors = _factors(term)
            if all(isinstance(f, Identity) for f in factors):
                return True
            inner = [size(f.shape[1]) for f in factors[:-1]]
            if any(dim is not None and dim < min(rows, columns) for dim in inner):
                return True
        free = size(other[-1].shape[1]) if side == 0 else size(other[0].shape[0])
        return free is not None and free < (rows if side == 0 else columns)

    def _may_rewrite(self):
        """Whether a rewritten candidate may be planned now (:meth:`rewritten`)."""
        return self._depth < MAX_REWRITE_DEPTH and self._rewrites > 0

    def rewritten(self, expr):
        """The plan of ``expr``, an equal rewriting of the expression being planned, in its
        canonical form: ``[plan]``, or ``[]`` when it leads back to an expression being
        planned (distributing undoes factoring), or when :data:`MAX_REWRITES` are used up."""
        if not self._may_rewrite():
            return []
        expr = self.properties.canonical(expr)
        if expr in self._active:
            return []
        if expr in self._memo:
            if self._frames:
                self._frames[-1].add(expr)
            return [self._memo[expr]]
        self._rewrites -= 1
        self._depth += 1
        try:
            return [self.plan(expr)]
        except _RewriteCycle:
            return []
        finally:
            self._depth -= 1

    def factored(self, terms):
        """Plans of the sum of ``terms`` with factors that several terms start (or end)
        with taken out: ``A*x + A*y`` as ``A*(x + y)``.  Of a run of shared factors, the
        first is taken out, and the run up to the narrowest dimension inside it:
        ``T - E*A*T`` with ``T = S*M.I*S.T`` (S n x m, m < n) as ``(S - E*A*S)*M.I*S.T``,
        an n x m sum, not ``(I - E*A)*T``, an n x n one.  Inside a rewriting (a sum
        distributed already), only a run that narrows the sum is taken out: other
        factorings mostly undo the rewriting, and each costs a search.  A term that is the
        run itself is left out of the group: ``A*(I + x)`` never costs less than ``A*x +
        A``."""
        split = [_factors(term) for term in terms]
        candidates = []
        for end in (0, -1):
            groups = {}
            for i, (_, factors) in enumerate(split):
                if len(factors) > 1:
                    groups.setdefault(factors[end], []).append(i)
            for members in groups.values():
                if len(members) < 2:
                    continue
                run = min(_common_run([split[i][1] for i in members], end),
                          *(len(split[i][1]) - 1 for i in members))
                for length in self._run_lengths(split[members[0]][1], run, end,
                                                terms[0].shape[-end]):
                    if not self._may_rewrite():
                        break
                    candidates += self.rewritten(self.built(
                        ('factored', tuple(terms), end, length, tuple(members)),
                        lambda: _factored_out(terms, split, end, length, tuple(members))))
        return candidates

    def _run_lengths(self, factors, run, end, across):
        """How many of the ``run`` factors shared at the start (``end`` 0) or end (-1) of
        ``factors`` to take out: the first (outside rewritings), and the run up to its
        narrowest dimension (the last such; inside a rewriting, only when that is narrower
        than the sum's dimension ``across`` it)."""
        size = self.properties.size
        lengths = [] if self._depth else [1]
        shared = factors[:run] if end == 0 else factors[::-1][:run]
        cuts = [size(f.shape[1] if end == 0 else f.shape[0]) for f in shared]
        if None in cuts:
            return lengths
        narrowest = max(range(run), key=lambda k: (-cuts[k], k)) + 1
        whole = size(across)
        if narrowest not in lengths and (not self._depth or (
                whole is not None and cuts[narrowest - 1] < whole)):
            lengths.append(narrowest)
        return lengths
