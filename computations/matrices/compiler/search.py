r"""The search for the cheapest program: dynamic programming over rule candidates.

A :class:`Plan` is one way to compute a value: the *set* of operations it
needs (its own and those of the values it reads) and the variable that
ends up holding the value -- possibly its transpose
(:class:`Operand`).  Because plans are sets of structurally equal
operations, a value that two parts of a plan need (a factorization, a
common product) is counted, and later computed, once.

:class:`Planner` finds, for each canonical expression, the plan of fewest
FLOPs (ties: fewer operations, then the untransposed result, then the
first rule offered):

- products: a matrix-chain dynamic program over the factors, where each
  split is offered to the product rules (explicit times explicit) or the
  solve rules (an inverse next to anything: never an explicit inverse), and
  whole products to the chain rules (SYRK for ``Y.T*S.I*Y``); scalar
  coefficients and an accumulated term go into the routine's ``alpha`` and
  ``beta*C`` when it has them.  A product of more than :data:`EXACT_CHAIN`
  factors is split only where the classic matrix-chain order on its sizes
  says (:mod:`.chain`: ints, no SymPy), and next to an inverse at an end, its
  sub-chains planned bottom-up: every candidate builds SymPy products and
  operations, so trying every split cost O(L^4) SymPy work (a chain of 40
  took minutes);
- sums: each term in turn is accumulated onto the sum of the others;
- inverses standing alone (only when the result itself is an inverse):
  a solve with the identity;
- a value and its transpose are one search problem;
- scalars: a trace is the sum of a diagonal or, split anywhere in its
  product, an inner product that never forms the product
  (:data:`~.rules.TRACE_RULES`); a determinant and its logarithm come from
  the Cholesky factor when the matrix is positive definite, else from LU
  (:data:`~.rules.DETERMINANT_RULES`); arithmetic on these is one
  :class:`~.auxiliary.SCALAR`;
- a Cholesky factor ``LofCholesky(S)`` in an expression is POTRF's output,
  shared with the solves with S.

The rules (:mod:`.rules`) only propose: each returns
:class:`~.rules.Proposal`\ s, operations with the values they need.  The
search plans the needs (:meth:`Planner.need`: a value, its transpose, or its
factor), makes each proposal's operations on the variables that hold them
(:meth:`Planner.propose`), and keeps the cheapest (:meth:`Planner.cheapest`).

Outputs are planned one after the other; what earlier outputs computed
costs nothing later (:meth:`Planner.commit`), so a factorization made for
one output serves the next.
"""
import functools
import math
import operator
from typing import NamedTuple

import sympy
from sympy import (Determinant, Identity, Inverse, MatAdd, MatMul, MatPow, MatrixExpr, OneMatrix,
                   Trace, Transpose, ZeroMatrix)
from sympy.matrices.expressions.matexpr import MatrixElement

from computations.matrices.ops.auxiliary import SCALAR, SYMMETRIZE, TRANSPOSE
from computations.matrices.ops.blas import AXPY, SCAL
from computations.matrices.expressions import LofCholesky, SymmetricLower, is_log_determinant
from computations.matrices.ops.lapack import POTRF
from computations.matrices.compiler.chain import ChainOrder
from computations.matrices.compiler.properties import split_product as _factors
from computations.matrices.compiler.rules import (CHAIN_RULES, DETERMINANT_RULES, PRODUCT_RULES,
                                                  SOLVE_RULES, TRACE_RULES, Accumulator, Need,
                                                  Operand)
from computations.matrices.ops.scalars import ELEMENT

__all__ = ['Operand', 'Plan', 'Accumulator', 'Planner']

#: Products of more factors are split where the matrix-chain order says (:meth:`Planner.splits`).
EXACT_CHAIN = 8

#: Sums with more terms are accumulated in their given order (2**n sub-sums otherwise).
MAX_SUM_SEARCH = 6


class Plan(NamedTuple):
    """A way to compute ``target``: the operations needed, and where the result is."""
    target: object
    operand: Operand
    ops: frozenset = frozenset()

    def flipped(self, target):
        """The same operations, seen as a plan for the transpose ``target``."""
        return Plan(target, Operand(self.operand.var, not self.operand.transposed), self.ops)


def _product(factors):
    """The product of matrix factors, built at once (``*`` in turn is quadratic in their
    number); the same expression as ``A*B*...``."""
    return factors[0] if len(factors) == 1 else MatMul(*factors).doit(deep=False)


def _sum(terms):
    return functools.reduce(operator.add, terms)


class Planner:
    """Finds and records the cheapest plans for canonical expressions (see the module).

    ``properties`` is a :class:`~.properties.Properties` (its ``binding``
    sizes the FLOP counts); ``inputs`` the variables the caller provides.
    """

    def __init__(self, properties, inputs):
        self.properties = properties
        self.inputs = frozenset(inputs)
        self.committed = set()
        self._memo = {}
        self._flops = {}
        self._splits = {}          # a long product's factors -> where its chain order splits

    # Costs --------------------------------------------------------------------

    def flops(self, op):
        """An operation's declared FLOP count at the bound sizes (:class:`~computations.sizes.Binding`)."""
        if op not in self._flops:
            count = self.properties.binding.value(op.flops)
            if count is None:                      # the error names the unbound dimensions
                self.properties.binding.flops(op)
            self._flops[op] = float(count)
        return self._flops[op]

    def cost(self, plan):
        """``(explicit inverses, FLOPs, operations)`` that ``plan`` adds to the program so far.

        Explicit inverses (solves with the identity, and ops declaring
        ``forms_inverse`` such as POTRI) come first: they are
        formed only when nothing else computes the value, whatever the FLOPs
        (at tiny sizes forming one can look cheaper).
        """
        new = [op for op in plan.ops if op not in self.committed]
        inverses = sum(getattr(op, 'forms_inverse', False)   # SCALAR is not a MatrixComputation
                       or isinstance(getattr(op, 'B', None), Identity) for op in new)
        # fsum: exact, so equal costs tie whatever order the set iterates in
        return inverses, math.fsum(map(self.flops, new)), len(new)

    def cheapest(self, plans, target):
        plans = list(plans)
        if not plans:
            raise NotImplementedError(f'no rule can compute {target}')
        return min(plans, key=lambda p: (*self.cost(p), p.operand.transposed))

    # Applying the rules' proposals ---------------------------------------------

    def apply(self, rules, *args):
        """The plans of the proposals of every rule in ``rules`` for ``args``, in order."""
        return [plan for rule in rules for plan in self.propose(rule(self.properties, *args))]

    def propose(self, proposals):
        """The plans of ``proposals``: each one's needs planned, then its operations made on
        the variables holding them (a proposal that makes nothing gives no plan)."""
        for proposal in proposals:
            plans = [self.need(need) for need in proposal.needs]
            try:
                made = proposal.make(*(plan.operand for plan in plans))
            except sympy.ShapeError:
                # An operation whose shape precondition the rule could not see fails (a
                # routine that needs a square matrix): the proposal does not apply, and
                # the other rules still may (never fatal to the whole compile).
                continue
            if made is not None:
                yield self.emit(made.ops, *plans, transposed=made.operand.transposed,
                                var=made.operand.var)

    def need(self, need):
        """The plan of a :class:`~.rules.Need`: its value, factored or oriented as asked."""
        factors = need.factors
        plan = self.plan(factors[0] if len(factors) == 1 else MatMul(*factors))
        if need.factorization is not None:
            plan = self.emit((need.factorization(plan.operand.var),), plan,
                             transposed=plan.operand.transposed)
        if need.orientation is not None:
            plan = self._oriented(plan, need.orientation)
        return plan

    def emit(self, ops, *reads, transposed=False, var=None, target=None):
        """The plan that runs ``ops`` after the plans it ``reads``; the result is ``var``
        (default: the last operation's first output)."""
        result = ops[-1].outputs[0] if var is None else var
        ops = set(ops)
        for op in list(ops):      # a scalar of matrices, or of scalars, is computed first
            for value in op.inputs:
                if not isinstance(value, MatrixExpr) and value not in self.inputs:
                    ops |= self.plan(value).ops
        for plan in reads:
            ops |= plan.ops
        return Plan(target, Operand(result, transposed), frozenset(ops))

    def _oriented(self, plan, transposed):
        """``plan``, its variable holding the value ``transposed`` or not (a TRANSPOSE added
        unless the value is symmetric)."""
        if plan.operand.transposed == transposed:
            return plan
        if self.properties.ask('symmetric', plan.target):          # its own transpose
            return plan._replace(operand=Operand(plan.operand.var, transposed))
        return self.emit((TRANSPOSE(plan.operand.var),), plan, transposed=transposed,
                         target=plan.target)

    # The search ---------------------------------------------------------------

    def plan(self, expr):
        """The cheapest plan for a canonical expression, given what is committed."""
        if expr in self._memo:
            return self._memo[expr]
        if not isinstance(expr, MatrixExpr):
            result = self._scalar(expr)
        elif expr in self.inputs or isinstance(expr, (Identity, ZeroMatrix, OneMatrix)):
            result = Plan(expr, Operand(expr))
        elif isinstance(expr, Transpose) and expr.arg in self.inputs:
            result = Plan(expr, Operand(expr.arg, True))
        else:
            result = self._search(expr)
        self._memo[expr] = result
        return result

    def _scalar(self, expr):
        """The cheapest plan for a canonical scalar (see the module)."""
        if expr in self.inputs or expr.is_number:
            return Plan(expr, Operand(expr))
        if expr.is_Symbol:
            raise ValueError(f'the compiler cannot compute the scalar {expr}: it is not an input '
                             'nor a dimension')
        if isinstance(expr, Trace):
            candidates = self.apply(TRACE_RULES, expr)
        elif isinstance(expr, MatrixElement):
            self._check_position(expr)
            matrix = self.plan(expr.parent)
            var, transposed = matrix.operand
            i, j = (expr.j, expr.i) if transposed else (expr.i, expr.j)
            candidates = [self.emit((ELEMENT(var, i, j, output=expr),), matrix)]
        elif isinstance(expr, Determinant) or is_log_determinant(expr):
            candidates = self.apply(DETERMINANT_RULES, expr)
        else:                          # arithmetic: emit plans the scalars it reads
            candidates = [self.emit((SCALAR(expr),), target=expr)]
        return self.cheapest(candidates, expr)._replace(target=expr)

    def _check_position(self, element):
        """Raise an IndexError naming ``element`` when its position is outside its matrix for
        the sizes bound (SymPy checks only numeric shapes)."""
        for axis, (position, dim) in enumerate(zip((element.i, element.j), element.parent.shape)):
            size = self.properties.size(dim)
            if size is not None and not 0 <= int(position) < size:
                raise IndexError(f'{element}: {"row" if axis == 0 else "column"} {position} is '
                                 f'outside {element.parent}, which has {size} '
                                 f'{"rows" if axis == 0 else "columns"} ({dim} = {size})')

    def _search(self, expr):
        if isinstance(expr, LofCholesky):
            if not self.properties.ask('positive_definite', expr.arg):
                raise NotImplementedError(f'{expr}: the Cholesky factor needs '
                                          f'Q.positive_definite({expr.arg})')
            return self.need(Need((expr.arg,), factorization=POTRF))._replace(target=expr)
        if isinstance(expr, SymmetricLower):        # reads the lower triangle as it is stored
            held = self.need(Need((expr.arg,), orientation=False))
            return self.emit((SYMMETRIZE(held.operand.var),), held, target=expr)
        transpose = self.properties.transpose(expr)
        if transpose != expr and _orientation_key(transpose) < _orientation_key(expr):
            return self.plan(transpose).flipped(expr)
        if isinstance(expr, MatMul) or type(expr) is MatPow:
            coefficient, factors = _factors(expr)
            candidates = self.products(coefficient, factors)
        elif isinstance(expr, MatAdd):
            candidates = self.sums(expr)
        elif isinstance(expr, Inverse):
            candidates = self.apply(SOLVE_RULES, expr.arg, Identity(expr.shape[0]), 'L', 1)
        else:
            raise NotImplementedError(f'the compiler cannot compute {expr} '
                                      f'({type(expr).__name__}): it is not an input')
        best = self.cheapest(candidates, expr)
        if best.operand.transposed and transpose == expr:      # symmetric: either will do
            best = Plan(expr, Operand(best.operand.var), best.ops)
        return best._replace(target=expr)

    def products(self, coefficient, factors, acc=None):
        """Candidate plans for ``coefficient*product(factors) + acc``."""
        alpha = coefficient
        candidates = []
        for k in self.splits(factors):
            left, right = factors[:k], factors[k:]
            inverse_left = len(left) == 1 and isinstance(left[0], Inverse)
            inverse_right = len(right) == 1 and isinstance(right[0], Inverse)
            if acc is None and inverse_left:
                candidates += self.apply(SOLVE_RULES, left[0].arg, _product(right), 'L', alpha)
            if acc is None and inverse_right:
                candidates += self.apply(SOLVE_RULES, right[0].arg, _product(left), 'R', alpha)
            if not (inverse_left or inverse_right):
                candidates += self.apply(PRODUCT_RULES, _product(left), _product(right), alpha,
                                         acc)
        if len(factors) > 1:
            candidates += self.apply(CHAIN_RULES, alpha, factors, acc)
        if alpha != 1 or acc is not None or len(factors) == 1:
            candidates.append(self.finish(self.plan(_product(factors)), alpha, acc))
        return candidates

    def splits(self, factors):
        """Where to split a product of ``factors``: everywhere when there are at most
        :data:`EXACT_CHAIN` of them; else where the matrix-chain order on their sizes
        (:class:`~.chain.ChainOrder`) splits it, and next to an inverse at either end
        (a solve), so that a long chain costs O(L^3) integer work and O(L) plans.  The
        sub-chains of a long chain's order, short ones too, split where it says."""
        key = tuple(factors)
        if len(factors) <= EXACT_CHAIN and key not in self._splits:
            return range(1, len(factors))
        if key not in self._splits:
            shapes = [tuple(map(self.properties.size, f.shape)) for f in factors]
            if any(size is None for shape in shapes for size in shape):
                return range(1, len(factors))
            chosen = []
            self._record(key, ChainOrder(shapes), 0, len(key), chosen)
            for sub in sorted(chosen, key=len)[:-1]:    # bottom-up: no deep recursion
                self.plan(_product(sub))
        found = {self._splits[key]}
        if isinstance(factors[0], Inverse):
            found.add(1)
        if isinstance(factors[-1], Inverse):
            found.add(len(factors) - 1)
        return sorted(found)

    def _record(self, factors, order, i, j, chosen):
        """Remember the split ``order`` chooses for each sub-chain of its tree over ``[i, j)``
        (appended to ``chosen``)."""
        while j - i > 1:
            k = order.split(i, j)
            chosen.append(factors[i:j])
            self._splits.setdefault(factors[i:j], k - i)
            if k - i > j - k:                         # recurse into the shorter part
                self._record(factors, order, k, j, chosen)
                j = k
            else:
                self._record(factors, order, i, k, chosen)
                i = k

    def finish(self, plan, alpha, acc):
        """``alpha*plan + beta*C`` from a computed plan: SCAL and AXPY (or nothing)."""
        if alpha != 1 and acc is None:
            return self.emit((SCAL(alpha, plan.operand.var),), plan,
                             transposed=plan.operand.transposed)
        if acc is None:
            return plan
        C = self.finish(self.plan(acc.value), acc.beta, None)
        if plan.operand.transposed != C.operand.transposed:
            plan = self._oriented(plan, C.operand.transposed)
        return self.emit((AXPY(alpha, plan.operand.var, C.operand.var),), plan, C,
                         transposed=C.operand.transposed)

    def sums(self, expr):
        """Candidate plans for a sum: each term accumulated onto the sum of the others."""
        terms = list(expr.args)
        last = range(len(terms)) if len(terms) <= MAX_SUM_SEARCH else [len(terms) - 1]
        candidates = []
        for j in last:
            rest = terms[:j] + terms[j + 1:]
            beta, C = _factors(rest[0]) if len(rest) == 1 else (1, [_sum(rest)])
            # a scaled matrix: the routine's beta scales it
            acc = Accumulator(beta, C[0]) if len(C) == 1 else Accumulator(1, rest[0])
            coefficient, factors = _factors(terms[j])
            candidates += self.products(coefficient, factors, acc=acc)
        return candidates

    def commit(self, plan):
        """Record ``plan``'s operations as part of the program: later plans get them free."""
        self.committed |= plan.ops
        self._memo.clear()


def _orientation_key(expr):
    """Which of a value and its transpose is searched (the other is its flip): the one
    with fewer transposes, then the shorter.  ``srepr``, not ``str``: SymPy's ``str`` of
    a deeply nested expression is slow (see :func:`computations.graph.sort_key`)."""
    text = sympy.srepr(expr)
    return text.count('Transpose('), len(text), text
