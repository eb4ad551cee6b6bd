r"""Joint planning: several values planned so that what they share is computed once.

The search (:mod:`.search`) finds each value's cheapest plan alone.  Two places need
more than that, and this module (a mixin of :class:`~.search.Planner`) does them:

- a proposal's needs (:meth:`JointPlanning.needs`): each need is planned alone, then
  again with the others' operations free (:meth:`JointPlanning.given`) when its search
  planned a value they compute, so that SYMM's by-product can make another need's
  cheapest route dearer than its second;
- a program's outputs (:meth:`JointPlanning.plan_outputs`): planned one after the
  other, what earlier outputs computed costing nothing later
  (:meth:`~.search.Planner.commit`), so a factorization made for one output serves the
  next; each matrix output is planned first in turn, and the cheapest program kept;
  then each of its outputs is planned again with the others' operations committed,
  and kept when the program is cheaper, so that what two outputs share is computed
  once whatever their order.

The planner's state this module reads and keeps (besides the search's memo):
``_given`` (None, or the memo, children and touched values of the planning that
:meth:`~JointPlanning.given` interrupted, and the values each free operation touches),
``_given_plans`` (an expression and the free operations touching its search -> its plan
made so), ``_children`` and ``_reaches`` (an expression
searched -> the expressions its search planned, directly or not), ``_joint`` (needs ->
their joint plans) and ``_given_memos`` (free operations -> the plans made so); all are
kept per set of committed operations (:meth:`~.search.Planner._restart`).

>>> from sympy import Identity, MatrixSymbol
>>> from computations.matrices.compiler.properties import Properties
>>> from computations.matrices.compiler.search import Planner
>>> X, A = MatrixSymbol('X', 4, 4), MatrixSymbol('A', 4, 4)
>>> planner = Planner(Properties(), [X, A])
>>> plans = planner.plan_outputs([X*A - Identity(4), A*X*A - A])
>>> sorted(type(op).__name__ for op in planner.committed)     # X*A once
['GEMM', 'GEMM', 'SHIFT']
"""
from sympy import MatAdd, MatMul, MatrixExpr, MatrixSymbol, Transpose
from sympy.core.sorting import default_sort_key as sort_key

from computations.graph import ComputationsError

from computations.matrices.compiler.canonical import product

__all__ = ['JointPlanning', 'MAX_JOINT_ROUNDS', 'MAX_FIRST_OUTPUTS', 'MAX_GIVEN_REWRITES',
           'MAX_GIVEN_SEARCHES', 'MAX_GIVEN_BEFORE_SHARING']

#: Rounds of re-planning each output with the others' operations committed, at most.
MAX_JOINT_ROUNDS = 3

#: Values two outputs' searches planned, computed first in turn, at most
#: (:meth:`JointPlanning._sharing`): each a whole planning of the outputs.
MAX_SHARED_VALUES = 4

#: Searches under free operations (:meth:`JointPlanning.given`) the plannings of the outputs
#: in their first orders may have made, in all, for the shared values to be tried as well
#: (:meth:`JointPlanning._sharing`): each try is a whole planning of the outputs again, and
#: the gradients of the Kalman filter's covariance (four outputs) made 7,698 re-plans, 5.3 s
#: of compilation, of which the four tries took 2.5 s and saved nothing.  The applications
#: make at most 520 (randomized_inversion), so they try every shared value as before.
MAX_GIVEN_BEFORE_SHARING = 1500

#: Outputs planned first in turn, at most (:meth:`JointPlanning.plan_outputs`): each a whole search.
MAX_FIRST_OUTPUTS = 3

#: Rewritten candidates (rewrites.MAX_REWRITES) a re-plan under free operations may plan: each
#: re-plan had the whole budget again, and a sum of products of sums with a shared factor
#: took 20 s to compile at n = 5 (2.3 s before joint planning); 2 keeps every application's
#: program (randomized_inversion needs 2; 1 loses its plan) and brings that case to 9 s.
MAX_GIVEN_REWRITES = 2

#: Searches that re-plans under free operations may run between two commits, at most.
#: Each re-plan searches again the expressions whose search planned a value the free
#: operations compute, once per set of such operations; a long product of sums re-plans
#: each split's need under each other need: a sum of products of sums with a shared
#: factor ran 5334 such searches for 206 alone (8 s at n = 5).  Past the budget, needs
#: keep the plans made alone (the search's answer without joint planning), so compile
#: time is bounded by the plain search plus this much.  The applications use at most
#: 444 (randomized_inversion), the Kalman filter 21.
MAX_GIVEN_SEARCHES = 600


class _OutOfBudget(ComputationsError):
    """The searches :data:`MAX_GIVEN_SEARCHES` allows are used up: control flow inside
    :meth:`JointPlanning.given`, which then gives up its re-plan; never reaches a caller."""


class JointPlanning:
    """The joint planning of a proposal's needs and of a program's outputs (see the
    module); mixed into :class:`~.search.Planner`, whose ``need``, ``output``, ``price``,
    ``commit`` and ``_restart`` it uses."""

    # A proposal's needs --------------------------------------------------------

    def needs(self, needs):
        """The plans of ``needs``, planned jointly: each alone at its cheapest, then each again
        with the others' operations free (:meth:`given`) when its search planned a value they
        touch, kept when the proposal's operations together cost less.  A need's cheapest
        plan alone can be the dearer one for the proposal: ``H*Sigma`` and ``(H*Sigma*H.T +
        R).I*r`` -- S through Sigma's Cholesky factor (POTRF, TRMM, SYRK) costs less alone,
        but with SYMM's ``H*Sigma``, which the other need computes, S is one GEMM.  Not
        inside a plan made so: nesting them multiplies the work."""
        if len(needs) < 2 or self._given is not None:
            return [self.need(need) for need in needs]
        key = tuple(needs)
        if key not in self._joint:
            self._joint[key] = self._jointly(needs)
        return self._joint[key]

    def _jointly(self, needs):
        """The plans of ``needs`` (two or more), planned jointly (see :meth:`needs`)."""
        plans = [self.need(need) for need in needs]
        for i, need in enumerate(needs):
            if self._given_searches <= 0:
                break
            others = frozenset().union(*(p.ops for j, p in enumerate(plans) if j != i))
            free = others - self.committed - plans[i].ops
            if not free or not plans[i].ops - others - self.committed:
                continue                  # nothing free, or nothing of its own to save
            touched = self._touched(free)
            if touched.isdisjoint(self._reach(product(need.factors, doit=False))):
                continue
            plan = self.given(free, touched, need)
            if plan is not None and self.price((others | plan.ops) - self.committed) \
                    < self.price((others | plans[i].ops) - self.committed):
                plans[i] = plan
        return plans

    def given(self, ops, touched, need):
        """The plan of ``need`` with ``ops`` committed as well (free); ``touched`` the values
        they compute (:meth:`_touched`).  The plans made so are kept in a memo of
        their own per set of operations (until the next commit); a plan whose search
        planned none of the values touched is the one already made.  None when the
        searches allowed (:data:`MAX_GIVEN_SEARCHES`) run out before the plan is made."""
        saved = self.committed, self._memo, self._children, self._rewrites, self._given
        key = frozenset(ops)
        self._given = self._memo, self._children, touched, self._touching(key)
        self.committed = self.committed | key
        self._memo = self._given_memos.setdefault(key, {})
        self._children, self._rewrites = {}, MAX_GIVEN_REWRITES
        try:
            return self.need(need)
        except _OutOfBudget:
            return None
        finally:
            self.committed, self._memo, self._children, self._rewrites, self._given = saved

    def _searching_given(self):
        """Count a search made under :meth:`given` (:data:`MAX_GIVEN_SEARCHES`)."""
        if self._given_searches <= 0:
            raise _OutOfBudget
        self._given_searches -= 1
        self._given_made += 1

    def _touching(self, ops):
        """Each of ``ops`` with the values it touches (:meth:`_touched`), in a fixed order."""
        return tuple((op, frozenset(self._touched((op,)))) for op in ops)

    def _given_plan(self, expr):
        """Under :meth:`given`: ``(plan, None)`` when the plan of ``expr`` is known already --
        the one made without the free operations when none touches a value its search
        planned, or the one made with the same such operations free (in another set) --
        else ``(None, key)``, the key to keep the plan about to be made under
        (:meth:`_keep_given`)."""
        memo, children, touched, touching = self._given
        if expr not in memo:
            return None, None
        reach = self._reach(expr, children, memo)
        if touched.isdisjoint(reach):
            return memo[expr], None
        key = expr, frozenset(op for op, values in touching if not values.isdisjoint(reach))
        return self._given_plans.get(key), key

    def _keep_given(self, key, plan):
        if key is not None:
            self._given_plans[key] = plan

    def _touched(self, ops):
        """The matrices ``ops`` compute, and their transposes."""
        values = set()
        for op in ops:
            for value in op.outputs:
                if isinstance(value, MatrixExpr):
                    values.update((value, self.properties.transpose(value)))
        return values

    def _reach(self, expr, children=None, memo=None):
        """The expressions the search of ``expr`` planned, directly or not (with ``expr``),
        and the variables holding them; kept per expression searched, whose children are
        then complete."""
        if children is None:
            children, memo = self._children, self._memo
        reaches = self._reaches if children is self._base_children() else {}
        if expr in reaches:
            return reaches[expr]
        # Expressions visited apart from the reach: a variable held in the reach can be
        # named as an expression not visited yet (value numbering names it so), whose
        # children would then be skipped.
        reach, visited, todo = set(), set(), [expr]
        while todo:
            value = todo.pop()
            if value in visited:
                continue
            visited.add(value)
            if value in reaches and value is not expr:
                reach |= reaches[value]
                continue
            reach.add(value)
            if value in memo:
                reach.add(memo[value].operand.var)
            todo.extend(children.get(value, ()))
        reaches[expr] = reach = frozenset(reach)
        return reach

    def _base_children(self):
        """The children of the searches memoised across proposals (not :meth:`given`'s)."""
        return self._children if self._given is None else self._given[1]

    # A program's outputs -------------------------------------------------------

    def plan_outputs(self, exprs):
        """The plans of ``exprs``, each held untransposed (:meth:`output`), planned jointly.

        They are planned one after the other, each with the earlier ones' operations
        committed (:meth:`_in_order`), starting with each matrix in turn (at most
        :data:`MAX_FIRST_OUTPUTS`), and the cheapest program is kept: the first output
        chooses its shared values alone, so another output's needs steer them only when
        it comes first (the Kalman filter's covariance wants ``S = H*Sigma*H.T + R`` from
        the SYMM it reads anyway, the mean alone through Sigma's Cholesky factor).  Then
        each output of that program is planned again around the others (:meth:`_rounds`).
        Values two outputs share are tried first (:meth:`_sharing`) unless those plannings
        were long already (:data:`MAX_GIVEN_BEFORE_SHARING`).

        (the module shows ``[X*A - I, A*X*A - A]``, which computes ``X*A`` once).
        """
        firsts = [i for i, expr in enumerate(exprs) if isinstance(expr, MatrixExpr)]
        best, committed, made = None, set(self.committed), self._given_made
        for first in (firsts[:MAX_FIRST_OUTPUTS] if len(exprs) > 1 else []) or [0]:
            order = [first] + [i for i in range(len(exprs)) if i != first]
            found = self._program(exprs, order, committed)
            if best is None or found[0] < best[0]:
                best = found
        if len(exprs) > 1 and self._given_made - made <= MAX_GIVEN_BEFORE_SHARING:
            best = self._sharing(exprs, best, committed)
        plans = self._rounds(exprs, *map(list, zip(*best[2])))
        self.committed = committed.union(*(p.ops for p in plans))
        self._restart()
        return plans

    def _program(self, exprs, order, committed, first=None):
        """``(price, order, planned)``: ``exprs`` planned in ``order`` (:meth:`_in_order`)
        with ``committed`` (and the plan of the value ``first``) committed; ``planned`` per
        output in the order of ``exprs``, the price that of what they compute besides
        ``committed`` (``first``'s operations count only where an output reads it)."""
        self.committed = set(committed)
        self._restart()
        if first is not None:
            self.commit(self.plan(first))
        planned = [None] * len(exprs)
        for i, found in zip(order, self._in_order([exprs[i] for i in order])):
            planned[i] = found
        price = self.price(frozenset().union(*(p.ops for p, _, _ in planned)) - committed)
        return price, order, planned

    def _sharing(self, exprs, best, committed):
        """``best`` (:meth:`_program`), or a cheaper program made with a product that two
        or more outputs' searches planned, and that no output computes, computed first
        (at most :data:`MAX_SHARED_VALUES`, those the most outputs planned first): each
        output's cheapest order alone may not hold the product that would serve them all
        (``[B.T*A.T*C.T, A.T*C.T*E*y]``: the first output's two orders tie, and the one
        that computes ``A.T*C.T`` also serves the second).  Products of inputs only
        (:func:`_chain_of_inputs`): the order of a chain is what one output's search
        chooses alone; solves and factorizations two outputs share are made once
        already (a factor committed serves the next output), and trying them cost the
        Kalman filter four more plannings of its outputs for nothing."""
        _, order, planned = best
        computed = set()           # and the terms of sums computed (a GEMM's A*B + C)
        for plan, _, _ in planned:
            for op in plan.ops:
                for value in op.outputs:
                    if isinstance(value, MatrixExpr):
                        computed.add(value)
                        computed.update(value.args if isinstance(value, MatAdd) else ())
        counts = {}
        for _, _, seen in planned:
            for value in {self._oriented_key(v) for v in seen if _chain_of_inputs(v)}:
                counts[value] = counts.get(value, 0) + 1
        candidates = sorted((value for value, count in counts.items() if count > 1
                             and value not in computed
                             and self.properties.transpose(value) not in computed
                             and value not in exprs),
                            key=lambda value: (-counts[value], sort_key(value)))
        for value in candidates[:MAX_SHARED_VALUES]:
            found = self._program(exprs, order, committed, first=value)
            if found[0] < best[0]:
                best = found
        return best

    def _oriented_key(self, value):
        """One of ``value`` and its transpose, the same for both."""
        transpose = self.properties.transpose(value)
        return min(value, transpose, key=sort_key)

    def _in_order(self, exprs):
        """Per output of ``exprs``, planned one after the other, each with the earlier ones'
        operations committed: its plan, the operations committed then, and the expressions
        its planning planned (:meth:`_planned`)."""
        found = []
        for expr in exprs:
            base = frozenset(self.committed)
            plan, planned = self._planned(expr)
            found.append((plan, base, planned))
            self.commit(plan)
        return found

    def _rounds(self, exprs, plans, base, seen):
        """``plans`` of ``exprs`` (made with ``base`` committed, their planning planned
        ``seen``), each planned again with all the others' operations committed, kept when
        the whole program is cheaper, until nothing changes (at most
        :data:`MAX_JOINT_ROUNDS` rounds), so that a value two outputs share is computed
        once whatever their order (``[X*A - I, A*X*A - A]``).  An output is planned again
        only when another's plan computes a value that its last search planned (a
        candidate it could now read for free) and its own plan does not.  Run on the
        cheapest order only: in each order tried, they planned again what the next order
        plans anyway (the Kalman filter's mean around the covariance), a fifth of its
        compilation."""
        for _ in range(MAX_JOINT_ROUNDS if len(exprs) > 1 else 0):
            changed = False
            for i, expr in enumerate(exprs):
                others = frozenset().union(*(p.ops for j, p in enumerate(plans) if j != i))
                if not self._useful(others - base[i] - plans[i].ops, seen[i]):
                    continue
                self.committed = set(others)
                self._restart()
                plan, planned = self._planned(expr)
                if self.price(others | plan.ops) < self.price(others | plans[i].ops):
                    plans[i], changed = plan, True
                base[i], seen[i] = others, planned
            if not changed:
                break
        return plans

    def _planned(self, expr):
        """The plan of the output ``expr`` (:meth:`~.search.Planner.output`), and the
        expressions its planning planned: those its search reached, and any other it added
        to the memo (the memo may hold plans made for other outputs under the same committed
        operations: :meth:`~.search.Planner._restart`)."""
        before = set(self._memo)
        plan = self.output(expr)
        return plan, (set(self._memo) - before) | self._reach(expr)

    def _useful(self, ops, planned):
        '''Whether one of ``ops`` computes a value in ``planned`` (or its transpose).'''
        return any(value in planned or self.properties.transpose(value) in planned
                   for op in ops for value in op.outputs if isinstance(value, MatrixExpr))


def _chain_of_inputs(value):
    """Whether ``value`` is a product of two or more input matrices or their transposes.

    >>> from sympy import MatrixSymbol
    >>> A, B = MatrixSymbol('A', 2, 2), MatrixSymbol('B', 2, 2)
    >>> _chain_of_inputs(A.T*B), _chain_of_inputs(A.I*B), _chain_of_inputs(A)
    (True, False, False)
    """
    return isinstance(value, MatMul) and all(
        isinstance(f.arg if isinstance(f, Transpose) else f, MatrixSymbol)
        for f in value.args if isinstance(f, MatrixExpr))
