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
- rewritings, as candidates beside the others (never fixed rewrites): a
  product distributed over a sum, factors several terms of a sum share taken
  out (:mod:`.rewrites`);
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
factor) -- jointly (:mod:`.joint`) --, makes each proposal's operations on the
variables that hold them (:meth:`Planner.propose`), and keeps the cheapest
(:meth:`Planner.cheapest`).

Outputs are planned jointly as well (:meth:`~.joint.JointPlanning.plan_outputs`);
what earlier outputs computed costs nothing later (:meth:`Planner.commit`).
An output held transposed costs the copy the program ends with
(:meth:`Planner.output`): a TRANSPOSE declares no FLOPs, and the search prices
the elements it moves (:meth:`Planner.work`, at ``TRANSPOSE.element_price``).
"""
import math
from typing import NamedTuple

import sympy
from sympy import (Determinant, Identity, Inverse, MatAdd, MatMul, MatPow, MatrixExpr, OneMatrix,
                   Trace, Transpose, ZeroMatrix)
from sympy.matrices.expressions.matexpr import MatrixElement

from computations.sizes import check_position
from computations.matrices.ops.auxiliary import DIAGAXPY, SCALAR, SHIFT, SYMMETRIZE, TRANSPOSE
from computations.matrices.ops.blas import AXPY, SCAL
from computations.matrices.ops.core import NothingToComputeError
from computations.matrices.expressions import LofCholesky, SymmetricLower, is_log_determinant
from computations.matrices.ops.lapack import POTRF
from computations.matrices.ops.memo import active
from computations.matrices.ops.rates import ratio
from computations.matrices.compiler.canonical import cancel_inverses, product
from computations.matrices.compiler.chain import ChainOrder
from computations.matrices.compiler.joint import MAX_GIVEN_SEARCHES, JointPlanning
from computations.matrices.compiler.rewrites import (MAX_REWRITES, _RewriteCycle, Rewriting,
                                                     sum_of)
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

#: Prices within this fraction of the least are a tie (:meth:`Planner.cheapest`): the
#: routines' rates are measured to a few percent (``./dev bench rates``, two runs).
RATE_TOLERANCE = 0.05


class Plan(NamedTuple):
    """A way to compute ``target``: the operations needed, and where the result is."""
    target: object
    operand: Operand
    ops: frozenset = frozenset()

    def flipped(self, target):
        """The same operations, seen as a plan for the transpose ``target``."""
        return Plan(target, Operand(self.operand.var, not self.operand.transposed), self.ops)


class Planner(JointPlanning, Rewriting):
    """Finds and records the cheapest plans for canonical expressions (see the module).

    ``properties`` is a :class:`~.properties.Properties` (its ``binding``
    sizes the FLOP counts); ``inputs`` the variables the caller provides.
    """

    #: Rewritten candidates planned between two commits (:data:`MAX_REWRITES`).
    max_rewrites = MAX_REWRITES

    def __init__(self, properties, inputs):
        self.properties = properties
        self.inputs = frozenset(inputs)
        self.committed = set()
        self._memo = {}
        self._flops = {}
        self._work = {}            # an operation -> its price (:meth:`work`)
        self._splits = {}          # a long product's factors -> where its chain order splits
        self._active = set()       # the expressions being planned (the cycle guard)
        self._rewrites = self.max_rewrites
        self._given_searches = MAX_GIVEN_SEARCHES
        self._given_made = 0       # re-plans under free operations made in all (:mod:`.joint`)
        self._depth = 0            # rewritings being planned, nested
        self._given = None         # planning with other operations free (:mod:`.joint`)
        self._frames = []          # per expression being searched: the expressions it plans
        self._children = {}        # an expression searched -> the expressions it planned
        self._reaches = {}         # an expression searched -> what its search planned
        self._joint = {}           # needs -> their plans, planned jointly
        self._given_memos = {}     # those operations -> the plans made so
        self._given_plans = {}     # an expression, the free operations it sees -> its plan
        self._rule_memo, self._make_memo = {}, {}
        self._state = frozenset()  # the operations committed when this state began
        self._states = {}          # such operations -> the search's state under them
        self._built = {}           # SymPy expressions built by the search (:meth:`built`)
        self._renames = {}         # an operation -> it, its output named by value (_numbered)

    def built(self, key, make):
        """The SymPy expression ``make()`` builds, kept under ``key`` in the shared memo
        when there is one, else for this planner's life: the sum of a sum's other terms, a
        rewriting, are built again for each search that offers them (each set of free
        operations, each re-plan, each size), and building a sum costs SymPy milliseconds
        (a sum of products of sums with a shared factor spent 22 of its 41 s of
        compilation adding the same terms again)."""
        memo = active()
        if memo is not None:
            return memo.lookup('products', key, make)
        if key not in self._built:
            self._built[key] = make()
        return self._built[key]

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
        return self.price(op for op in plan.ops if op not in self.committed)

    def price(self, ops):
        """``(explicit inverses, work, operations)`` of ``ops``: the work is the FLOPs, plus
        the elements a copy moves at their price (a TRANSPOSE declares no FLOPs, but is not
        free)."""
        new = list(ops)
        inverses = sum(getattr(op, 'forms_inverse', False)   # SCALAR is not a MatrixComputation
                       or isinstance(getattr(op, 'B', None), Identity) for op in new)
        # fsum: exact, so equal costs tie whatever order the set iterates in
        return inverses, math.fsum(map(self.work, new)), len(new)

    def work(self, op):
        """The price of ``op`` in GEMM FLOPs: its FLOPs over its routine's speed per FLOP
        relative to GEMM's (:mod:`~computations.matrices.ops.rates`); for a copy (TRANSPOSE)
        the elements it moves at their price (``element_price``)."""
        if op not in self._work:
            self._work[op] = self._measure(op)
        return self._work[op]

    def _measure(self, op):
        if type(op) is TRANSPOSE:
            rows, columns = map(self.properties.size, op.X.shape)
            return float((rows or 0) * (columns or 0) * op.element_price)
        flops = self.flops(op)
        speed = ratio(op, self.properties.size)              # SCALAR: not a routine
        return flops if speed is None else flops / speed

    def cheapest(self, plans, target):
        """The plan of least :meth:`cost`; prices within :data:`RATE_TOLERANCE` of the least
        are a tie that the work without the routines' rates breaks (fewer FLOPs: a Cholesky
        factorization before an LU that runs twice as fast per FLOP at n = 60)."""
        keyed = [((*self.cost(plan), plan.operand.transposed), plan) for plan in plans]
        if not keyed:
            raise NotImplementedError(f'no rule can compute {target}')
        best = min(key for key, _ in keyed)
        near = [(key, plan) for key, plan in keyed
                if key[0] == best[0] and key[1] <= best[1] * (1 + RATE_TOLERANCE)]
        if len(near) == 1:
            return near[0][1]
        return min(near, key=lambda kp: (self._unrated(kp[1]), kp[0][0], *kp[0][2:]))[1]

    def _unrated(self, plan):
        """The work of ``plan``'s new operations priced without rates or orientation (FLOPs,
        and the elements copies move at their price)."""
        return math.fsum(self.work(op) if type(op) is TRANSPOSE else self.flops(op)
                         for op in plan.ops if op not in self.committed)

    # Applying the rules' proposals ---------------------------------------------

    def apply(self, rules, *args):
        """The plans of the proposals of every rule in ``rules`` (a tuple) for ``args``, in
        order."""
        return list(self.propose(self._proposals(rules, args)))

    def _proposals(self, rules, args):
        """The proposals of ``rules`` for ``args``, kept for this planner's life: a rule is a
        pure function of its arguments and the properties (this planner's sizes), and the
        same products are offered again under each set of committed operations, free
        operations and output order (with :meth:`_made`, a tenth of the Kalman filter's
        compilation)."""
        key = rules, tuple(tuple(a) if type(a) is list else a for a in args)
        found = self._rule_memo.get(key)
        if found is None:
            found = self._rule_memo[key] = tuple(
                proposal for rule in rules for proposal in rule(self.properties, *args))
        return found

    def _made(self, proposal, operands):
        """What ``proposal`` makes on ``operands`` (:class:`~.rules.Made`), or None when it
        makes nothing or its operations cannot be built: one whose shape precondition the
        rule could not see fails (a routine that needs a square matrix), or would compute
        nothing (a need that is the identity: ``S.I*L*L.T``, ``L*L.T`` being S); the
        proposal does not apply, and the other rules still may (never fatal to the whole
        compile).  Kept for this planner's life (:meth:`_proposals`)."""
        key = proposal, operands
        try:
            return self._make_memo[key]
        except KeyError:
            pass
        try:
            made = proposal.make(*operands)
        except (sympy.ShapeError, NothingToComputeError):
            made = None
        self._make_memo[key] = made
        return made

    def propose(self, proposals):
        """The plans of ``proposals``: each one's needs planned jointly
        (:meth:`~.joint.JointPlanning.needs`), then its operations made on the variables
        holding them (a proposal that makes nothing, or whose needs cannot be built, gives
        no plan)."""
        for proposal in proposals:
            try:
                plans = self.needs(proposal.needs)
            except (sympy.ShapeError, NothingToComputeError):
                continue        # a need whose operations cannot be built: as in _made
            made = self._made(proposal, tuple(plan.operand for plan in plans))
            if made is None or any(value in self.inputs for op in made.ops
                                   for value in op.outputs):
                continue               # recomputes an input (L.-T*(L.T*B) is B): a cycle
            yield self.emit(made.ops, *plans, transposed=made.operand.transposed,
                            var=made.operand.var)

    def need(self, need):
        """The plan of a :class:`~.rules.Need`: its value, factored or oriented as asked."""
        factors = cancel_inverses(need.factors)            # L.I*L*B, from a rule: B
        plan = self.plan(product(factors, doit=False))
        if need.factorization is not None:
            plan = self.emit((need.factorization(plan.operand.var),), plan,
                             transposed=plan.operand.transposed)
        if need.orientation is not None:
            plan = self._oriented(plan, need.orientation)
        return plan

    def emit(self, ops, *reads, transposed=False, var=None, target=None):
        """The plan that runs ``ops`` after the plans it ``reads``; the result is ``var``
        (default: the last operation's first output)."""
        if self._renames:
            ops, var = self._with_names(ops, var)
        result = ops[-1].outputs[0] if var is None else var
        ops = set(ops)
        for op in list(ops):      # a scalar of matrices, or of scalars, is computed first
            for value in op.inputs:
                if not isinstance(value, MatrixExpr) and value not in self.inputs:
                    ops |= self.plan(value).ops
        for plan in reads:
            ops |= plan.ops
        return Plan(target, Operand(result, transposed), frozenset(ops))

    def _with_names(self, ops, var):
        """``ops`` with those whose output the search named by value (:meth:`_numbered`)
        so named, and ``var`` with them: a proposal made before the name was given (kept
        by :meth:`_made`) builds on the name.  Unchanged when one of ``ops`` reads the
        output under its old name."""
        found = [(op, self._renames[op]) for op in ops if op in self._renames]
        if not found:
            return ops, var
        old = {out: new for op, named in found for out, new in zip(op.outputs, named.outputs)
               if out != new}
        if any(value in old for op in ops for value in op.inputs):
            return ops, var
        return tuple(self._renames.get(op, op) for op in ops), old.get(var, var)

    def _numbered(self, expr, plan):
        """``plan`` with the variable holding its value named by ``expr`` (canonical; its
        transpose when held transposed): value numbering.  The variables the operations
        compute are named by their arguments (SYRK's ``H*L*L.T*H.T + R`` from ``H*L``,
        GEMM's ``H*Sigma.T*H.T + R`` from ``H*Sigma``); named by value, what reads the value
        is the same operation whichever route computed it, and the operations built for one
        shape serve another (:mod:`~computations.matrices.ops.memo`) where the cheapest
        route differs.  Two routes to one value both take its name (a program that holds
        both keeps one: :func:`~.driver.one_producer_per_value`); an operation already
        named, an input's value, or a plan that reads the old name inside keeps its own."""
        var, transposed = plan.operand
        if var == expr or not plan.ops:
            return plan                          # so named already; an input, a constant
        name = self.properties.transpose(expr) if transposed else expr
        if var == name or name in self.inputs:
            return plan
        producer = next((op for op in plan.ops if var in op.outputs), None)
        if (producer is None or producer._names
                or any(var in op.inputs for op in plan.ops)):
            return plan
        named = producer.renamed({var: name})
        self._renames[producer] = named
        return Plan(plan.target, Operand(name, transposed), plan.ops - {producer} | {named})

    def _oriented(self, plan, transposed):
        """``plan``, its variable holding the value ``transposed`` or not (a TRANSPOSE added
        unless the value is symmetric)."""
        if plan.operand.transposed == transposed:
            return plan
        if (self.properties.ask('symmetric', plan.target)          # its own transpose
                or self.properties.ask('symmetric', plan.operand.var)):
            return plan._replace(operand=Operand(plan.operand.var, transposed))
        return self.emit((TRANSPOSE(plan.operand.var),), plan, transposed=transposed,
                         target=plan.target)

    # The search ---------------------------------------------------------------

    def plan(self, expr):
        """The cheapest plan for a canonical expression, given what is committed."""
        expr = self.properties.one_instance(expr)
        if self._frames:
            self._frames[-1].add(expr)
        found = self._memo.get(expr)
        if found is not None:
            return found
        key = None
        if self._given is not None:      # planning with other operations free
            found, key = self._given_plan(expr)
            if found is not None:
                self._memo[expr] = found
                return found
        if isinstance(expr, MatrixExpr) and (expr in self.inputs or isinstance(
                expr, (Identity, ZeroMatrix, OneMatrix))):
            result = Plan(expr, Operand(expr))
        elif isinstance(expr, Transpose) and expr.arg in self.inputs:
            result = Plan(expr, Operand(expr.arg, True))
        else:
            matrix = isinstance(expr, MatrixExpr)
            if matrix and expr in self._active:
                raise _RewriteCycle(expr)
            if self._given is not None:
                self._searching_given()
            self._active.add(expr)
            self._frames.append(set())
            try:
                result = (self._numbered(expr, self._search(expr)) if matrix else
                          self._scalar(expr))
            finally:
                self._active.discard(expr)
                self._children[expr] = self._frames.pop()
        self._keep_given(key, result)
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
            check_position(expr, self.properties.size)
            matrix = self.plan(expr.parent)
            var, transposed = matrix.operand
            i, j = (expr.j, expr.i) if transposed else (expr.i, expr.j)
            candidates = [self.emit((ELEMENT(var, i, j, output=expr),), matrix)]
        elif isinstance(expr, Determinant) or is_log_determinant(expr):
            candidates = self.apply(DETERMINANT_RULES, expr)
        else:                          # arithmetic: emit plans the scalars it reads
            candidates = [self.emit((SCALAR(expr),), target=expr)]
        return self.cheapest(candidates, expr)._replace(target=expr)

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
        best = self.cheapest(self._candidates(expr), expr)
        if best.operand.transposed and transpose == expr:      # symmetric: either will do
            best = Plan(expr, Operand(best.operand.var), best.ops)
        return best._replace(target=expr)

    def _candidates(self, expr):
        """Every candidate plan for a product, sum or inverse ``expr``."""
        if isinstance(expr, MatMul) or type(expr) is MatPow:
            coefficient, factors = _factors(expr)
            return self.products(coefficient, factors)
        if isinstance(expr, MatAdd):
            return self.sums(expr)
        if isinstance(expr, Inverse):
            return self.apply(SOLVE_RULES, expr.arg, Identity(expr.shape[0]), 'L', 1)
        raise NotImplementedError(f'the compiler cannot compute {expr} '
                                  f'({type(expr).__name__}): it is not an input')

    def products(self, coefficient, factors, acc=None):
        """Candidate plans for ``coefficient*product(factors) + acc``; an accumulated
        multiple of the identity is a diagonal shift of the product (:meth:`shifted`), never
        a matrix a routine accumulates onto."""
        if acc is not None and isinstance(acc.value, Identity):
            return [self.shifted(plan, acc.beta) for plan in self.products(coefficient, factors)]
        alpha = coefficient
        candidates = []
        for k in self.splits(factors):
            left, right = factors[:k], factors[k:]
            inverse_left = len(left) == 1 and isinstance(left[0], Inverse)
            inverse_right = len(right) == 1 and isinstance(right[0], Inverse)
            if acc is None and inverse_left:
                candidates += self.apply(SOLVE_RULES, left[0].arg, product(right), 'L', alpha)
            if acc is None and inverse_right:
                candidates += self.apply(SOLVE_RULES, right[0].arg, product(left), 'R', alpha)
            if not (inverse_left or inverse_right):
                candidates += self.apply(PRODUCT_RULES, product(left), product(right), alpha,
                                         acc)
            candidates += self.distributed(alpha, left, right, acc)
        if len(factors) > 1:
            candidates += self.apply(CHAIN_RULES, alpha, factors, acc)
        if alpha != 1 or acc is not None or len(factors) == 1:
            candidates.append(self.finish(self.plan(product(factors)), alpha, acc))
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
                self.plan(product(sub))
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

    def shifted(self, plan, alpha):
        """``plan + alpha*I``: SHIFT adds ``alpha`` to the diagonal of the value ``plan``
        holds (O(n); the identity is never formed)."""
        return self.emit((SHIFT(alpha, plan.operand.var),), plan,
                         transposed=plan.operand.transposed)

    def finish(self, plan, alpha, acc):
        """``alpha*plan + beta*C`` from a computed plan: SCAL and AXPY (or nothing)."""
        if alpha != 1 and acc is None:
            return self.emit((SCAL(alpha, plan.operand.var),), plan,
                             transposed=plan.operand.transposed)
        if acc is None:
            return plan
        C = self.finish(self.plan(acc.value), acc.beta, None)
        if isinstance(plan.operand.var, Identity):          # alpha*I + beta*C
            return self.shifted(C, alpha)
        if plan.operand.var.is_square and self.properties.ask('diagonal', plan.operand.var):
            # alpha*D + beta*C, D diagonal: onto C's diagonal, O(n) (D's other entries are 0)
            return self.emit((DIAGAXPY(alpha, plan.operand.var, C.operand.var),), plan, C,
                             transposed=C.operand.transposed)
        if plan.operand.transposed != C.operand.transposed:
            plan = self._oriented(plan, C.operand.transposed)
        return self.emit((AXPY(alpha, plan.operand.var, C.operand.var),), plan, C,
                         transposed=C.operand.transposed)

    def sums(self, expr):
        """Candidate plans for a sum: each term accumulated onto the sum of the others."""
        terms = list(expr.args)
        last = range(len(terms)) if len(terms) <= MAX_SUM_SEARCH else [len(terms) - 1]
        factoring = len(terms) <= MAX_SUM_SEARCH
        # Inside a rewriting, the (few: narrowing) factorings first, before the terms'
        # distributions use up the budget of rewritings they share; outside, last (first,
        # they cost the hard cases of bench_compile twice the time)
        candidates = self.factored(terms) if factoring and self._depth else []
        for j in last:
            rest = terms[:j] + terms[j + 1:]
            beta, C = (_factors(rest[0]) if len(rest) == 1 else
                       (1, [self.built(('sum', tuple(rest)), lambda: sum_of(rest))]))
            # a scaled matrix: the routine's beta scales it
            acc = Accumulator(beta, C[0]) if len(C) == 1 else Accumulator(1, rest[0])
            coefficient, factors = _factors(terms[j])
            candidates += self.products(coefficient, factors, acc=acc)
        if factoring and not self._depth:
            candidates += self.factored(terms)
        return candidates

    def output(self, expr):
        """The cheapest plan for the output ``expr`` held as it is: a plan leaving the
        transpose costs the copy the program ends with (TRANSPOSE), so an untransposed
        candidate wins unless it costs more than the copy."""
        plan = self.plan(expr)
        if not isinstance(expr, MatrixExpr) or not plan.operand.transposed:
            return plan
        candidates = [plan]
        if isinstance(expr, (MatMul, MatPow, MatAdd, Inverse)):
            transpose = self.properties.transpose(expr)
            flip = transpose != expr and _orientation_key(transpose) < _orientation_key(expr)
            candidates += [c.flipped(expr) if flip else c._replace(target=expr)
                           for c in self._candidates(transpose if flip else expr)]
        return self.cheapest([self._oriented(c, False) for c in candidates], expr)

    def commit(self, plan):
        """Record ``plan``'s operations as part of the program: later plans get them free."""
        self.committed |= plan.ops
        self._restart()

    def _restart(self):
        """Go on with the plans made under the operations now committed: the search's
        state (its memo, what each search planned, the joint plans, the budgets left) is
        kept per set of committed operations, since a plan depends on what is committed.
        Planning a program's outputs in another order meets the same sets again (none
        committed, first; one output's plan committed, when it is planned first in one
        order and the others are re-planned around it in the other): the Kalman filter's
        covariance planned first finds every value it shares with the mean planned
        already."""
        self._states[self._state] = (self._memo, self._children, self._reaches, self._joint,
                                     self._given_memos, self._given_plans, self._rewrites,
                                     self._given_searches)
        self._state = frozenset(self.committed)
        if self._state in self._states:
            (self._memo, self._children, self._reaches, self._joint, self._given_memos,
             self._given_plans, self._rewrites, self._given_searches) = \
                self._states[self._state]
            return
        self._memo, self._children, self._reaches, self._joint = {}, {}, {}, {}
        self._given_memos, self._given_plans = {}, {}
        self._rewrites = self.max_rewrites
        self._given_searches = MAX_GIVEN_SEARCHES


def _orientation_key(expr):
    """Which of a value and its transpose is searched (the other is its flip): the one
    with fewer transposes, then the shorter.  ``srepr``, not ``str``: SymPy's ``str`` of
    a deeply nested expression is slow (see :func:`computations.graph.sort_key`)."""
    memo = active()
    return _written(expr) if memo is None else memo.lookup('keys', expr, lambda: _written(expr))


def _written(expr):
    text = _text(expr, active())
    return text.count('Transpose('), len(text), text


def _text(expr, memo):
    """``sympy.srepr(expr)``, a product's, sum's, transpose's or inverse's built from its
    arguments' (kept in ``memo``): the sub-chains of a long chain share their factors'
    texts, and sums their terms' (``srepr`` of the terms of the sums the search builds
    took a tenth of a hard case's compile time).  A sum's terms are in the order of their
    texts, not ``srepr``'s (which sorts them as SymPy does): a key that does not depend on
    the order the terms were given in, nor on the hash seed."""
    kind = type(expr)
    if kind not in _BUILT_TEXTS:
        return sympy.srepr(expr)
    texts = [_text(arg, memo) if memo is None else
             memo.lookup('keys', ('text', arg), lambda arg=arg: _text(arg, memo))
             for arg in expr.args]
    if kind is MatAdd:
        texts.sort()
    return f'{kind.__name__}({", ".join(texts)})'


#: The expressions whose :func:`_text` is built from their arguments'.
_BUILT_TEXTS = frozenset({MatMul, MatAdd, Transpose, Inverse})
