"""TokenProgram and the default execution order: readers before overwrites.

A plain :class:`~computations.CompositeComputation` orders its members by
data dependencies only.  A token program has more constraints
(:func:`constraints`): every reader of a value runs before the node that
overwrites it.  :func:`execution_order` is the deterministic order that
respects both, and ``toposort()``, ``str`` and iteration of a
:class:`TokenProgram` follow it.  (Whether an order is *safe* is the
checker's question: :mod:`computations.inplace.check`.)

>>> import sympy
>>> from computations.matrices import GEMM, SCAL
>>> from computations.inplace import inplace_compile
>>> X = sympy.MatrixSymbol('X', 2, 2)
>>> program = inplace_compile(SCAL(2, X) + GEMM(1, X, X), donate=[X])
>>> print(program)                    # GEMM reads X before SCAL overwrites it
pow_X = GEMM(X, X)  # X**2
X = SCAL(X)  # 2*X
"""
import networkx as nx

from computations import CompositeComputation, Computation, CycleError, graph

from .tokens import Copy, TokenComputation

__all__ = ['TokenProgram', 'execution_order', 'constraints', 'as_token_program',
           'data_order', 'node_name', 'OverwriteCycleError', 'AmbiguousOrderError']


class OverwriteCycleError(graph.ComputationsError, ValueError):
    """No order respects the overwrites: they form a cycle with the data (``cycle``: the
    nodes in it).  The checker reports it as an
    :class:`~computations.inplace.UnsafeInplaceError`."""

    def __init__(self, message, cycle):
        super().__init__(message)
        self.cycle = tuple(cycle)


def node_name(node):
    """The name of a node's operation (``GEMM`` for a token node wrapping a GEMM).

    >>> node_name(Computation(['x'], ['y']))
    'Computation'
    """
    comp = node.comp if isinstance(node, TokenComputation) else node
    return type(comp).__name__


def as_token_program(program):
    """``program`` as a composite of token nodes; TypeError if it is not one.

    >>> as_token_program(Computation(['x'], ['y']))
    Traceback (most recent call last):
    ...
    TypeError: Computation(('x',), ('y',)) is not a TokenComputation: check takes token programs (see computations.inplace.tokenize and computations.inplace.inplace_compile)
    """
    if not isinstance(program, Computation):
        raise TypeError(f'expected a token program, got {type(program).__name__}')
    if not isinstance(program, CompositeComputation):
        program = CompositeComputation(program)
    for node in data_order(program):
        if not isinstance(node, TokenComputation):
            raise TypeError(f'{node!r} is not a TokenComputation: check takes token programs '
                            '(see computations.inplace.tokenize and computations.inplace.inplace_compile)')
    return program


def data_order(program):
    """The members in plain data order (a TokenProgram's own ``toposort`` is
    :func:`execution_order`)."""
    return CompositeComputation.toposort(program)


def constraints(program):
    """``{writer: set of readers}``: who must run before each write into a buffer.

    Every node that reads a value, other than the one overwriting it, must
    run before the overwrite; so must the readers of a value held in a buffer
    before a node writes another value there without reading it (a buffer
    reused: :mod:`computations.schedulers.reuse`).  Which of two values in one
    buffer comes first is what the data says: an input's value first, else the
    one whose producer the other's depends on.  Raises
    :class:`AmbiguousOrderError` when the data does not say (a reused buffer
    whose program lost the order it was checked in).
    """
    before = {}
    for node in data_order(program):
        for i in node.destroyed:
            readers = {r for r in program.consumers(node.inputs[i]) if r is not node}
            if readers:
                before.setdefault(node, set()).update(readers)
    for earlier, later in _successive_values(program):
        writer = program.producer(later)
        readers = {r for r in program.consumers(earlier) if r is not writer}
        if readers:
            before.setdefault(writer, set()).update(readers)
    return before


class AmbiguousOrderError(graph.ComputationsError, ValueError):
    """Two values share a buffer and nothing in the data says which is written first:
    the program's order is part of it (a :class:`TokenProgram` keeps the order it was
    checked in, also through pickling); rebuilt from its nodes alone, it has none."""


def _successive_values(program):
    """``(earlier, later)`` for each two values held one after the other in a buffer and
    not linked by an overwrite (the later one's producer does not read the earlier):
    in the order a :class:`TokenProgram` was checked in, else in the data's."""
    known = getattr(program, '_safe', None)        # a TokenProgram's checked order
    nodes = data_order(program) if known is None else known
    by_token = {}
    for node in nodes:
        for value in (*node.inputs, *node.outputs):
            by_token.setdefault(value.token, {})[value] = None
    position = {node: i for i, node in enumerate(nodes)}
    pairs = []
    for token, values in by_token.items():
        if len(values) < 2:
            continue
        ordered = sorted(values, key=lambda value: _written_at(program, value, position))
        for earlier, later in zip(ordered, ordered[1:]):
            writer = program.producer(later)
            if writer is None:
                raise AmbiguousOrderError(f'{earlier} and {later} are both given in buffer '
                                          f'{token!r}')
            if earlier in writer.inputs:
                continue                      # an overwrite: constraints has it
            first = program.producer(earlier)
            if known is None and first is not None and not _depends(program, writer, first):
                raise AmbiguousOrderError(
                    f'{earlier} and {later} share buffer {token!r}, and nothing in the data '
                    f'says which is written first ({first} or {writer}): the program lost '
                    'the order it was checked in (keep the TokenProgram; pickling keeps its '
                    'order)')
            pairs.append((earlier, later))
    return pairs


def _written_at(program, value, position):
    producer = program.producer(value)
    return -1 if producer is None else position[producer]


def _depends(program, node, ancestor):
    """Whether ``node`` reads, through the data, a value ``ancestor`` makes."""
    seen, todo = set(), [node]
    while todo:
        current = todo.pop()
        for value in current.inputs:
            producer = program.producer(value)
            if producer is ancestor:
                return True
            if producer is not None and producer not in seen:
                seen.add(producer)
                todo.append(producer)
    return False


def execution_order(program):
    """The order a token program runs in, without checking that it is safe.

    Among the nodes ready at one time the smallest ``repr`` goes first (every
    reader of a value before the node that overwrites it); then each copy
    moves to just before the node that reads it.  A TokenProgram keeps its
    order once computed.  Raises :class:`OverwriteCycleError` when no order
    respects the overwrites.
    """
    if isinstance(program, TokenProgram):
        return program.toposort()
    return _ordered(as_token_program(program))


def _ordered(program):
    before = constraints(program)
    try:
        order = graph.toposort(data_order(program), before=before)
    except CycleError:
        raise _cycle_error(program, before) from None
    return _sink_copies(order, program, before)


def _sink_copies(order, program, before):
    """Move every Copy to just before the first node that must follow it.

    A copy allocates a buffer; making it just in time keeps that buffer alive
    as briefly as the order allows.  Moving a node later, but not past any of
    its successors, keeps a topological order valid.  (In the Kalman program
    the caller's Sigma was otherwise copied early and held through the
    largest step: bench_inplace.py.)
    """
    after = {}
    for destroyer, readers in before.items():
        for reader in readers:
            after.setdefault(reader, set()).add(destroyer)
    order = list(order)
    for copy in [node for node in reversed(order) if isinstance(node.comp, Copy)]:
        order.remove(copy)
        successors = set(program.consumers(copy.outputs[0])) | after.get(copy, set())
        order.insert(min((order.index(s) for s in successors), default=len(order)), copy)
    return tuple(order)


def _in_order(order):
    """A :class:`TokenProgram` that runs in ``order`` (unpickled: it was checked)."""
    program = TokenProgram(*order)
    object.__setattr__(program, '_safe', tuple(order))
    return program


def _cycle_error(program, before):
    g = nx.DiGraph()
    for node in data_order(program):
        for value in node.inputs:
            producer = program.producer(value)
            if producer is not None:
                g.add_edge(producer, node, why=f'{node_name(node)} reads {value.expr} made by '
                                               f'{node_name(producer)}')
    for destroyer, readers in before.items():
        for reader in readers:
            g.add_edge(reader, destroyer, why=f'{node_name(reader)} reads what '
                                              f'{node_name(destroyer)} overwrites, so it must '
                                              'run first')
    edges = nx.find_cycle(g)
    steps = '; '.join(g.edges[u, v]['why'] for u, v in edges)
    return OverwriteCycleError(f'no order is safe: the overwrites form a cycle: {steps}',
                               cycle=tuple(u for u, _ in edges))


class TokenProgram(CompositeComputation):
    """A token program: its order respects overwrites as well as data.

    The order it was checked in (:func:`computations.schedulers.reuse.scheduled`)
    is part of it, kept through pickling: a buffer reused for an unrelated value
    makes the order something the data alone does not say.
    """
    __slots__ = ('_safe',)

    def __reduce__(self):
        try:
            return (_in_order, (self._safe,))
        except AttributeError:
            return super().__reduce__()

    def toposort(self):
        """The nodes in :func:`execution_order` (readers before overwrites)."""
        try:
            return self._safe
        except AttributeError:
            pass
        order = _ordered(self)
        object.__setattr__(self, '_safe', order)
        return order

    def __iter__(self):
        return iter(self.toposort())

    def __str__(self):
        return '\n'.join(map(str, self.toposort()))

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self.toposort()))})"
