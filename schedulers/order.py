"""A memory-aware execution order: the fewest bytes live at the worst moment.

Finding the order of a DAG that needs the least memory is NP-complete
(Sethi 1975), so :func:`memory_order` is exact only for small programs: a
dynamic program over the sets of operations that can have run (the state
after a set does not depend on the order within it, so the best peak to
reach each set is all that must be kept).  The search stops as soon as the
step it is building outgrows ``budget`` states (fewer for a large program,
see :data:`STATE_BYTES`) or the whole search :data:`EXACT_STEPS`, so it
never holds more than a few tens of megabytes, and falls back to a greedy
list schedule that, among the operations ready to run, takes the one that
adds the fewest bytes (freeing counts negatively).  Either way the result
is compared with the default order (:func:`computations.inplace.execution_order`), and
the lower peak wins, so the memory-aware order is never worse than the
default.

Every order respects data and the overwrite constraints (every reader of a
value before the operation that destroys it), so it passes
:func:`computations.inplace.check`.

Two outer products, each reduced to a row: the default order makes both
1000 x 1000 products first; the memory-aware one reduces each before making
the next::

    a, b -> [GEMM] -> a*b (8 MB) -> [GEMM] -> e*a*b
    c, d -> [GEMM] -> c*d (8 MB) -> [GEMM] -> f*c*d

>>> import sympy
>>> from computations.matrices import GEMM
>>> from computations.inplace import inplace_compile
>>> from computations.schedulers.memory import Sizes, peak_bytes
>>> a, c = (sympy.MatrixSymbol(s, 1000, 1) for s in 'ac')
>>> b, d, e, f = (sympy.MatrixSymbol(s, 1, 1000) for s in 'bdef')
>>> program = inplace_compile(GEMM(1, a, b) + GEMM(1, e, a*b) + GEMM(1, c, d) + GEMM(1, f, c*d))
>>> sizes = Sizes({})
>>> peak_bytes(program, program.toposort(), sizes), peak_bytes(program, memory_order(program, sizes), sizes)
(16008000, 8016000)
"""
import heapq

from computations.inplace import BufferModel, constraints, execution_order

from .memory import peak_bytes

__all__ = ['memory_order', 'DEFAULT_BUDGET']

#: The most states (sets of operations run) the exact search keeps per step.
DEFAULT_BUDGET = 4096

#: The most bytes the states of one step of the exact search may take: a state
#: holds bit sets over the program's n nodes (two) and t buffers, about
#: (2n + t)/8 bytes, so a large program gets fewer states than the budget.
STATE_BYTES = 32 * 2**20

#: The most steps (states built) the exact search takes in all, which bounds its
#: time (about a second) and the paths it keeps.
EXACT_STEPS = 2**18


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


class _State:
    """What is live after a set of nodes has run, all as integers: the nodes run and the
    nodes ready (bit sets over the default order), the live buffers (a bit set over the
    tokens) and their bytes, the peak so far, and the path as ``(node, previous path)``."""
    __slots__ = ('done', 'ready', 'tokens', 'live', 'peak', 'path')

    def __init__(self, done, ready, tokens, live, peak, path):
        self.done, self.ready, self.tokens, self.live = done, ready, tokens, live
        self.peak, self.path = peak, path


def _bits(mask):
    """The positions of the set bits of ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class _Graph:
    """The program's nodes (numbered in the default order) and one step of the memory model.

    The memory model is the buffer-state model's
    (:class:`computations.inplace.BufferModel`, which
    :func:`computations.schedulers.memory.timeline` walks), restated per node as bit
    sets so that a step costs a few integer operations and copies nothing: running
    node ``i`` allocates the buffers of its tokens that are not live
    (``allocates[i]``), and then frees each buffer of ``frees[i]`` whose value has no
    reader left and whose token no node left to run writes.
    """

    def __init__(self, program, default, sizes):
        self.nodes = default
        model = BufferModel(program)
        rank = {node: i for i, node in enumerate(default)}

        def mask(nodes):
            return sum(1 << rank[node] for node in nodes)

        token_bit, token_bytes = {}, {}
        for node in default:
            for value in node.produced:
                if value.token not in model.callers and value.token not in token_bit:
                    token_bit[value.token] = 1 << len(token_bit)
                    token_bytes[value.token] = sizes.nbytes(value.expr)
        writers = {token: mask(model.writers(token)) for token in token_bit}
        before = constraints(program)
        self.preds, self.succs = [], [[] for _ in default]
        self.allocates, self.frees, self.workspace = [], [], []
        for i, node in enumerate(default):
            preds = {program.producer(v) for v in node.inputs} | before.get(node, set())
            preds = sorted(rank[p] for p in preds if p is not None)
            self.preds.append(sum(1 << p for p in preds))
            for p in preds:
                self.succs[p].append(i)
            self.allocates.append(tuple((token_bit[t], token_bytes[t])
                                        for t in model.allocates(node)))
            self.frees.append(tuple(
                (mask(model.readers(v)) | writers[v.token], token_bit[v.token],
                 token_bytes[v.token]) for v in model.may_free(node)))
            self.workspace.append(sizes.workspace(node.comp))
        self.state_bytes = (2 * len(default) + len(token_bit)) // 8 + 200
        ready = sum(1 << i for i, preds in enumerate(self.preds) if not preds)
        self.start = _State(0, ready, 0, 0, 0, None)

    def step(self, state, i):
        """The state after node ``i`` runs (its peak includes the step itself)."""
        done, tokens, live = state.done | (1 << i), state.tokens, state.live
        for bit, nbytes in self.allocates[i]:
            if not tokens & bit:
                tokens |= bit
                live += nbytes
        peak = max(state.peak, live + self.workspace[i])
        for waiting, bit, nbytes in self.frees[i]:
            if not waiting & ~done and tokens & bit:
                tokens &= ~bit
                live -= nbytes
        ready = state.ready & ~(1 << i)
        for s in self.succs[i]:
            if not self.preds[s] & ~done:
                ready |= 1 << s
        return _State(done, ready, tokens, live, peak, (i, state.path))

    def _order(self, path):
        order = []
        while path is not None:
            i, path = path
            order.append(self.nodes[i])
        return tuple(reversed(order))

    def exact(self, budget):
        """The best order by dynamic programming over sets of nodes run, or None when
        some step has more than ``budget`` such sets (or more than :data:`STATE_BYTES`
        hold), or the search would take more than :data:`EXACT_STEPS` steps: it stops
        as soon as the step it builds outgrows that."""
        budget = min(budget, STATE_BYTES // self.state_bytes)
        steps = 0
        layer = [self.start]
        for _ in self.nodes:
            following = {}
            for state in layer:
                for i in _bits(state.ready):
                    steps += 1
                    if steps > EXACT_STEPS:
                        return None
                    new = self.step(state, i)
                    old = following.get(new.done)
                    if old is None:
                        if len(following) == budget:
                            return None
                        following[new.done] = new
                    elif new.peak < old.peak:
                        following[new.done] = new
            layer = list(following.values())
        (final,) = layer
        return self._order(final.path)

    def greedy(self):
        """Take, among the ready nodes, the one that adds the fewest bytes (then the
        default order's).

        What a node adds changes only when a value it reads loses its
        second-to-last reader (the node then frees it) or its own readiness
        changes, so each node's figure is kept in a heap and refreshed only then
        (a figure found stale when popped is refreshed and pushed back).
        """
        state = self.start
        heap = [(self._adds(state, i), i) for i in _bits(state.ready)]
        heapq.heapify(heap)
        for _ in self.nodes:
            while True:                         # refresh figures that went stale
                adds, i = heapq.heappop(heap)
                if not state.ready >> i & 1:
                    continue                    # run already
                now = self._adds(state, i)
                if now == adds:
                    break
                heapq.heappush(heap, (now, i))
            old = state
            state = self.step(state, i)
            changed = set(_bits(state.ready & ~old.ready))
            for waiting, _, _ in self.frees[i]:
                left = waiting & ~state.done
                if left and not left & (left - 1):     # one node left: it may now free
                    changed.add(left.bit_length() - 1)
            for j in changed:
                if state.ready >> j & 1:
                    heapq.heappush(heap, (self._adds(state, j), j))
        return self._order(state.path)

    def _adds(self, state, i):
        return self.step(state, i).live - state.live
