"""The buffer-state model: which value each token holds at each step of an order, and when
each buffer is allocated and freed.

The one statement of liveness, which the checker (:func:`computations.inplace.check`),
the interpreter, the memory model, the memory-aware order, buffer reuse and the
generated source all read:

- a step *reads* its inputs' values, each of which should be in its token then
  (a *stale* read otherwise: not computed yet, or overwritten);
- a step *writes* each value it produces into its token, *displacing* the value
  the token held (an overwrite destroys it);
- a write *allocates* the token's buffer when the token had none: its first
  write, unless the token is the caller's (a program input's buffer comes from
  outside);
- a value *dies* after its last reader ran (or after its writer, if nothing
  reads it), unless it is ``wanted`` (returned) or was displaced;
- a token's buffer is *freed* when its value dies, unless the token is the
  caller's or is written again later (the buffer is kept for that write:
  buffer reuse).

:class:`BufferModel` holds the facts that do not depend on the order (who reads
each value, which tokens a node may allocate, which values it may kill);
:meth:`BufferModel.walk` (or :func:`buffer_states`) walks one order in time
linear in nodes plus edges and returns the step-by-step facts as a
:class:`BufferStates`.

A value ``x`` read by ``f`` and then overwritten by ``g``::

    x@x --> [f] --> y@y
       \\--> [g] --> z@x        (g writes z into x's buffer)

>>> import sympy
>>> from computations.matrices import SCAL, GEMM
>>> from computations.inplace.tokens import TokenComputation as T
>>> X = sympy.MatrixSymbol('X', 2, 2)
>>> f, g = T(GEMM(1, X, X), ['x', 'x'], ['y']), T(SCAL(2, X), ['x'], ['x'])
>>> states = buffer_states(f + g, [f, g])
>>> for fact in ('reads', 'writes', 'allocated', 'displaced', 'stale'):
...     print(f'{fact:9}', [', '.join(map(str, values)) for values in getattr(states, fact)])
reads     ['X@x', 'X@x']
writes    ['X**2@y', '2*X@x']
allocated ['X**2@y', '']
displaced ['', 'X@x']
stale     ['', '']
>>> {token: str(value) for token, value in states.holding(1).items()}    # as g starts
{'x': 'X@x', 'y': 'X**2@y'}
>>> [str(v) for v in buffer_states(f + g, [g, f]).stale[1]]   # g first: f reads x too late
['X@x']
"""
import bisect
import dataclasses

__all__ = ['BufferModel', 'BufferStates', 'buffer_states']


class BufferModel:
    """The order-independent buffer facts of a token program.

    ``wanted`` lists the values returned (default: the program's outputs);
    they never die.  The caller's tokens are those of the program's inputs.

    >>> from computations import Computation
    >>> from computations.inplace import TokenComputation as T
    >>> a = T(Computation(['x'], ['y']), ['x'], ['y'])
    >>> b = T(Computation(['y'], ['z']), ['y'], ['z'])
    >>> model = BufferModel(a + b)
    >>> model.allocates(a), model.may_free(b), sorted(model.callers)
    (('y',), (ExprToken('y', 'y'),), ['x'])
    """

    def __init__(self, program, wanted=None):
        self.program = program
        self.wanted = frozenset(program.outputs if wanted is None else wanted)
        self.callers = frozenset(value.token for value in program.inputs)
        self._writers = None

    def readers(self, value):
        """The nodes that read ``value``."""
        return self.program.consumers(value)

    def writers(self, token):
        """The nodes that write a value into ``token``."""
        if self._writers is None:
            writers = {}
            for node in self.program.computations:
                for value in node.produced:
                    writers.setdefault(value.token, []).append(node)
            self._writers = {token: tuple(nodes) for token, nodes in writers.items()}
        return self._writers.get(token, ())

    @staticmethod
    def reads(node):
        """The distinct values ``node`` reads."""
        return tuple(dict.fromkeys(node.inputs))

    @staticmethod
    def overwrites(node):
        """The values ``node`` reads and overwrites in their own token."""
        written = {value.token for value in node.produced}
        return tuple(v for v in dict.fromkeys(node.inputs) if v.token in written)

    def allocates(self, node):
        """The tokens ``node`` writes that it allocates if they have no buffer yet."""
        return tuple(dict.fromkeys(v.token for v in node.produced
                                   if v.token not in self.callers))

    def mortal(self, node):
        """The values that may die after ``node``: what it reads without overwriting it,
        and what it writes, unless wanted."""
        overwritten = set(self.overwrites(node))
        return tuple(v for v in (*dict.fromkeys(node.inputs), *node.produced)
                     if v not in overwritten and v not in self.wanted)

    def may_free(self, node):
        """The values whose death after ``node`` may free a buffer (not the caller's)."""
        return tuple(v for v in self.mortal(node) if v.token not in self.callers)

    def walk(self, order):
        """The :class:`BufferStates` of running the program's nodes in ``order`` (see the
        module for the rules)."""
        order = tuple(order)
        reads = tuple(map(self.reads, order))
        left, read_at, last_write = {}, {}, {}
        for step, (node, values) in enumerate(zip(order, reads)):
            for value in values:
                left[value] = left.get(value, 0) + 1
                read_at.setdefault(value, []).append(step)
            for value in node.produced:
                last_write[value.token] = step
        holds = {value.token: value for value in self.program.inputs}
        written = dict.fromkeys(holds.values(), -1)
        displaced_at, dies_at = {}, {}
        stale, displaced, allocated, dead, freed = [], [], [], [], []
        for step, (node, values) in enumerate(zip(order, reads)):
            stale.append(tuple(v for v in values if holds.get(v.token) != v))
            for value in values:
                left[value] -= 1
            new, gone = [], []
            for value in node.produced:
                old = holds.get(value.token)
                if old is None:
                    if value.token not in self.callers:
                        new.append(value)
                elif old != value:
                    gone.append(old)
                    displaced_at[old] = step
                holds[value.token] = value
                written[value] = step
            allocated.append(tuple(new))
            displaced.append(tuple(gone))
            died = tuple(v for v in self.mortal(node)
                         if not left.get(v) and holds.get(v.token) == v and v not in dies_at)
            dies_at.update(dict.fromkeys(died, step))
            dead.append(died)
            freed.append(tuple(v.token for v in died if v.token not in self.callers
                               and last_write[v.token] <= step))
        return BufferStates(order, reads, tuple(node.produced for node in order),
                            tuple(stale), tuple(displaced), tuple(allocated), tuple(dead),
                            tuple(freed), written, displaced_at, dies_at,
                            {value: tuple(steps) for value, steps in read_at.items()})


@dataclasses.dataclass(frozen=True)
class BufferStates:
    """The buffer facts of one order, step by step (tuples indexed by step) and value by value.

    ``reads[s]`` the distinct values step ``s`` reads and ``writes[s]`` those it writes;
    ``stale[s]`` the values it reads that their token did not hold (not yet computed, or
    overwritten); ``displaced[s]`` the values its writes displaced (destroyed);
    ``allocated[s]`` the values whose write allocated their token's buffer; ``dead[s]``
    the values that died after it; ``freed[s]`` the tokens whose buffers are freed after
    it.  Per value: ``written`` the step that wrote it (-1 for the program's inputs),
    ``displaced_at`` the step that overwrote it, ``dies_at`` the step after which it died,
    ``read_at`` the steps that read it.
    """
    order: tuple
    reads: tuple
    writes: tuple
    stale: tuple
    displaced: tuple
    allocated: tuple
    dead: tuple
    freed: tuple
    written: dict
    displaced_at: dict
    dies_at: dict
    read_at: dict

    def next_read(self, value, step):
        """The first step after ``step`` that reads ``value``, or None."""
        steps = self.read_at.get(value, ())
        i = bisect.bisect_right(steps, step)
        return steps[i] if i < len(steps) else None

    def held(self, value, step):
        """Whether ``value``'s token holds it as ``step`` starts (before its writes)."""
        written = self.written.get(value)
        if written is None or written >= step:
            return False
        displaced = self.displaced_at.get(value)
        return displaced is None or displaced >= step

    def holding(self, step):
        """``{token: value}``: the value each token holds as ``step`` starts (after the
        last step, with ``step == len(order)``), dead ones included until displaced."""
        return {value.token: value for value in sorted(self.written, key=self.written.get)
                if self.held(value, step)}


def buffer_states(program, order, wanted=None):
    """The :class:`BufferStates` of ``program`` run in ``order`` (``wanted``: the values
    returned, default the program's outputs)."""
    return BufferModel(program, wanted).walk(order)
