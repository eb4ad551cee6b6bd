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
           'data_order', 'node_name', 'OverwriteCycleError']


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
    """``{destroyer: set of readers}``: who must run before each overwrite.

    Every node that reads a value, other than the one overwriting it, must
    run before the overwrite.
    """
    before = {}
    for node in data_order(program):
        for i in node.destroyed:
            readers = {r for r in program.consumers(node.inputs[i]) if r is not node}
            if readers:
                before.setdefault(node, set()).update(readers)
    return before


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
    """A token program: its order respects overwrites as well as data."""
    __slots__ = ('_safe',)

    def toposort(self):
        """The nodes in :func:`execution_order` (readers before overwrites)."""
        try:
            return self._safe
        except AttributeError:
            order = _ordered(self)
            object.__setattr__(self, '_safe', order)
            return order

    def __iter__(self):
        return iter(self.toposort())

    def __str__(self):
        return '\n'.join(map(str, self.toposort()))

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self.toposort()))})"
