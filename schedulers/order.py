"""A memory-aware execution order: the fewest bytes live at the worst moment.

Finding the order of a DAG that needs the least memory is NP-complete
(Sethi 1975), so :func:`memory_order` is exact only for small programs: a
dynamic program over the sets of operations that can have run (the state
after a set does not depend on the order within it, so the best peak to
reach each set is all that must be kept).  When that space outgrows
``budget`` states it falls back to a greedy list schedule that, among the
operations ready to run, takes the one that adds the fewest bytes (freeing
counts negatively).  Either way the result is compared with the default
order (:func:`inplace.execution_order`), and the lower peak wins, so the
memory-aware order is never worse than the default.

Every order respects data and the overwrite constraints (every reader of a
value before the operation that destroys it), so it passes
:func:`inplace.check`.

Two outer products, each reduced to a row: the default order makes both
1000 x 1000 products first; the memory-aware one reduces each before making
the next::

    a, b -> [GEMM] -> a*b (8 MB) -> [GEMM] -> e*a*b
    c, d -> [GEMM] -> c*d (8 MB) -> [GEMM] -> f*c*d

>>> import sympy
>>> from computations.matrices import GEMM
>>> from inplace import inplace_compile
>>> from schedulers.memory import Sizes, peak_bytes
>>> a, c = (sympy.MatrixSymbol(s, 1000, 1) for s in 'ac')
>>> b, d, e, f = (sympy.MatrixSymbol(s, 1, 1000) for s in 'bdef')
>>> program = inplace_compile(GEMM(1, a, b) + GEMM(1, e, a*b) + GEMM(1, c, d) + GEMM(1, f, c*d))
>>> sizes = Sizes({})
>>> peak_bytes(program, program.toposort(), sizes), peak_bytes(program, memory_order(program, sizes), sizes)
(16008000, 8016000)
"""
from inplace import constraints, execution_order

from .memory import peak_bytes
from .reuse import reuse_buffers, scheduled

__all__ = ['memory_order', 'schedule', 'DEFAULT_BUDGET']

#: The most states (sets of operations run) the exact search keeps per step.
DEFAULT_BUDGET = 4096


def memory_order(program, sizes, *, budget=DEFAULT_BUDGET):
    """A valid order of ``program``'s nodes with a low peak of live bytes (see the module)."""
    default = tuple(execution_order(program))
    graph = _Graph(program, default, sizes)
    order = graph.exact(budget)
    if order is None:
        order = graph.greedy()
    if peak_bytes(program, order, sizes) < peak_bytes(program, default, sizes):
        return order
    return default


def schedule(program, sizes, *, reuse=True, donated=()):
    """``program`` in its :func:`memory_order`, with dead buffers reused (unless not
    ``reuse``): a :class:`~inplace.TokenProgram` whose ``toposort()`` is that order,
    checked by :func:`inplace.check`."""
    order = memory_order(program, sizes)
    if reuse:
        return reuse_buffers(program, order, sizes, donated=donated)
    return scheduled(program, order, donated=donated)


class _State:
    """What is live after a set of nodes has run: bytes, token holders, readers left."""
    __slots__ = ('done', 'live', 'size', 'reads_left', 'peak', 'path')

    def __init__(self, done, live, size, reads_left, peak, path):
        self.done, self.live, self.size, self.reads_left = done, live, size, reads_left
        self.peak, self.path = peak, path


class _Graph:
    """The program's nodes with their predecessors, and one step of the memory model."""

    def __init__(self, program, default, sizes):
        self.nodes = default
        self.rank = {node: i for i, node in enumerate(default)}
        self.wanted = set(program.outputs)
        self.callers = {value.token for value in program.inputs}
        self.nbytes = {value: sizes.nbytes(value.expr) for value in program.variables}
        self.workspace = {node: sizes.workspace(node.comp) for node in default}
        before = constraints(program)
        self.preds = {}
        for node in default:
            preds = {program.producer(v) for v in node.inputs} | before.get(node, set())
            self.preds[node] = frozenset(p for p in preds if p is not None)
        self.start = _State(frozenset(), 0, {}, {v: len(program.consumers(v))
                                                for v in program.variables}, 0, ())

    def ready(self, state):
        return [n for n in self.nodes if n not in state.done and self.preds[n] <= state.done]

    def step(self, state, node):
        """The state after ``node`` runs (its peak includes the step itself)."""
        size, reads_left, live = dict(state.size), dict(state.reads_left), state.live
        for value in node.produced:
            if value.token not in size and value.token not in self.callers:
                size[value.token] = self.nbytes[value]
                live += size[value.token]
        peak = max(state.peak, live + self.workspace[node])
        for value in dict.fromkeys(node.inputs):
            reads_left[value] -= 1
        for value in [*dict.fromkeys(node.inputs), *node.produced]:
            if (not reads_left[value] and value not in self.wanted and value.token in size
                    and not self._overwritten_later(value, node)):
                live -= size.pop(value.token)
        return _State(state.done | {node}, live, size, reads_left, peak, state.path + (node,))

    def _overwritten_later(self, value, node):
        """Whether ``value``'s token goes on to hold another value (an overwrite chain
        ends in the node that last writes the token; a dead value there frees it)."""
        return value in node.inputs and any(o.token == value.token for o in node.produced)

    def exact(self, budget):
        """The best order by dynamic programming over sets of nodes run, or None
        when there are more than ``budget`` such sets at some step."""
        layer = {self.start.done: self.start}
        for _ in self.nodes:
            following = {}
            for state in layer.values():
                for node in self.ready(state):
                    new = self.step(state, node)
                    old = following.get(new.done)
                    if old is None or new.peak < old.peak:
                        following[new.done] = new
            if len(following) > budget:
                return None
            layer = following
        (final,) = layer.values()
        return final.path

    def greedy(self):
        """Take, among the ready nodes, the one that adds the fewest bytes (then the
        default order's)."""
        state = self.start
        for _ in self.nodes:
            state = min((self.step(state, n) for n in self.ready(state)),
                        key=lambda s: (s.live - state.live, self.rank[s.path[-1]]))
        return state.path
