"""Prove a token program safe: which value does each buffer hold at each step?

An overwrite is safe when nothing still needs the value it destroys.  Unsafe
means (DESIGN.md): a value overwritten before its last reader ran; two
operations destroying one value; an overwritten buffer also passed as another
argument of the same call; a caller's input (unless donated), a constant or a
returned output overwritten.

:func:`safe_order` finds a deterministic order in which every other reader
of a value runs before the operation that destroys it; :func:`check`
simulates an order step by step and raises :class:`UnsafeInplaceError` at the
first unsafe step, naming the operation, the token, the value destroyed and
the reader that still needed it.

A value ``x`` read by ``f`` and overwritten by ``g``: ``f`` must run first::

    x@x --> [f] --> y@y
       \\--> [g] --> z@x        (g writes z into x's buffer)

>>> import sympy
>>> from computations.matrices import SCAL, GEMM
>>> from computations.inplace.tokens import TokenComputation as T
>>> X = sympy.MatrixSymbol('X', 2, 2)
>>> f = T(GEMM(1, X, X), ['x', 'x'], ['y'])
>>> g = T(SCAL(2, X), ['x'], ['x'])
>>> program = f + g
>>> [type(t.comp).__name__ for t in safe_order(program, donated=[X])]
['GEMM', 'SCAL']
>>> check(program, order=[g, f], donated=[X])
Traceback (most recent call last):
    ...
computations.inplace.check.UnsafeInplaceError: SCAL overwrites token 'x' holding X, but GEMM still needs it (x = SCAL(x)  # 2*X)
"""
from collections import Counter

import networkx as nx
import sympy

from computations import CompositeComputation, Computation, CycleError, graph

from .program import TokenProgram
from .tokens import Copy, TokenComputation

__all__ = ['UnsafeInplaceError', 'check', 'safe_order', 'execution_order', 'constraints',
           'is_constant']


class UnsafeInplaceError(graph.ComputationsError, ValueError):
    """A token program may destroy a value that is still needed.

    Attributes name what went wrong where known: ``operation`` (the node
    that overwrites), ``token``, ``value`` (the :class:`~computations.inplace.tokens.ExprToken` destroyed),
    ``reader`` (a node that still needed it) and ``cycle`` (for orders that
    cannot exist).
    """

    def __init__(self, message, operation=None, token=None, value=None, reader=None,
                 cycle=None):
        super().__init__(message)
        self.operation, self.token, self.value = operation, token, value
        self.reader, self.cycle = reader, cycle


def is_constant(expr):
    """Whether a value is a constant (never overwritten): a number, a zero or identity matrix.

    >>> is_constant(sympy.ZeroMatrix(2, 2)), is_constant(sympy.MatrixSymbol('A', 2, 2))
    (True, False)
    """
    if isinstance(expr, (sympy.ZeroMatrix, sympy.Identity, sympy.OneMatrix)):
        return True
    return isinstance(expr, sympy.Expr) and not isinstance(expr, sympy.MatrixExpr) \
        and expr.is_number


def _name(node):
    comp = node.comp if isinstance(node, TokenComputation) else node
    return type(comp).__name__


def _as_program(program):
    if not isinstance(program, Computation):
        raise TypeError(f'expected a token program, got {type(program).__name__}')
    if not isinstance(program, CompositeComputation):
        program = CompositeComputation(program)
    for node in _data_order(program):
        if not isinstance(node, TokenComputation):
            raise TypeError(f'{node!r} is not a TokenComputation: check takes token programs '
                            '(see computations.inplace.tokenize and computations.inplace.inplace_compile)')
    return program


def _data_order(program):
    """The members in plain data order (a TokenProgram's own toposort calls safe_order)."""
    return CompositeComputation.toposort(program)


def _protected(program, donated):
    """The values nobody may overwrite, each with the reason why."""
    donated = set(donated)
    reasons = {}
    for value in program.inputs:
        if is_constant(value.expr):
            reasons[value] = 'a constant'
        elif value.expr not in donated and value not in donated:
            reasons[value] = "the caller's input"
    for value in program.outputs:
        reasons[value] = 'a returned output'
    return reasons


def _check_nodes(program, donated):
    """The checks that need no order: what each node may overwrite, and who may be destroyed."""
    protected = _protected(program, donated)
    starts, homes = {}, {}
    for value in program.inputs:
        other = starts.setdefault(value.token, value)
        if other != value:
            raise UnsafeInplaceError(f'inputs {other.expr} and {value.expr} both start in token '
                                     f'{value.token!r}', token=value.token, value=value)
        home = homes.setdefault(value.expr, value)
        if home != value:
            raise UnsafeInplaceError(f'input {value.expr} starts in two tokens, {home.token!r} '
                                     f'and {value.token!r}: one value has one buffer to begin '
                                     'with (make the second with a Copy)', value=value)
    for node in _data_order(program):
        if isinstance(node.comp, Copy) or getattr(node.comp, 'output_is_input', False):
            continue                           # a copy makes the same value in a new buffer
        for value in node.produced:
            if value.expr in homes:
                raise UnsafeInplaceError(f'{_name(node)} computes {value.expr}, which is also an '
                                         f'input of the program ({node})', operation=node,
                                         value=value)
    destroyers = {}
    for node in _data_order(program):
        legal = node.destroy_map
        seen = Counter(v.token for v in node.produced)
        for token, count in seen.items():
            if count > 1:
                raise UnsafeInplaceError(f'{_name(node)} writes two outputs into token '
                                         f'{token!r} ({node})', operation=node, token=token)
        for o, token in enumerate(node.output_tokens):
            if node.outputs[o] not in node.produced:
                continue                       # Identity: marks, does not write
            same = [i for i, t in enumerate(node.input_tokens) if t == token]
            if not same:
                continue
            if o not in legal:
                raise UnsafeInplaceError(
                    f'{_name(node)} writes {node.comp.outputs[o]} into token {token!r}, '
                    f'which holds its input {node.comp.inputs[same[0]]}, but its routine '
                    f'cannot write that output there (its inplace map is '
                    f'{dict(getattr(node.comp, "inplace", {}))}) ({node})',
                    operation=node, token=token, value=node.inputs[same[0]])
            others = [j for j in same if j != legal[o]]
            if others:
                raise UnsafeInplaceError(
                    f'{_name(node)} overwrites token {token!r} (its input {legal[o]}, '
                    f'{node.comp.inputs[legal[o]]}) while also reading it as input '
                    f'{others[0]}: aliased arguments ({node})', operation=node, token=token,
                    value=node.inputs[legal[o]])
        for o, i in legal.items():
            token, value = node.input_tokens[i], node.inputs[i]
            if value in protected:
                raise UnsafeInplaceError(
                    f'{_name(node)} overwrites token {token!r} holding {value.expr}, which is '
                    f'{protected[value]} ({node})', operation=node, token=token, value=value)
            if value in destroyers:
                raise UnsafeInplaceError(
                    f'{value.expr} in token {token!r} is overwritten by two operations: '
                    f'{destroyers[value]} and {node}', operation=node, token=token, value=value,
                    reader=destroyers[value])
            destroyers[value] = node
    return protected, destroyers


def constraints(program):
    """``{destroyer: set of readers}``: who must run before each overwrite.

    Every node that reads a value, other than the one overwriting it, must
    run before the overwrite.
    """
    before = {}
    for node in _data_order(program):
        for i in node.destroyed:
            readers = {r for r in program.consumers(node.inputs[i]) if r is not node}
            if readers:
                before.setdefault(node, set()).update(readers)
    return before


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


def safe_order(program, *, donated=()):
    """A deterministic order of the program's nodes that respects data and overwrites.

    Checks the nodes first (what each may overwrite, and who may be
    destroyed); then :func:`execution_order`.  Raises
    :class:`UnsafeInplaceError` for an unsafe node, or naming the cycle when
    no order can exist (for example two nodes that each overwrite what the
    other reads).
    """
    program = _as_program(program)
    _check_nodes(program, donated)
    return _ordered(program)


def execution_order(program):
    """The order a token program runs in, without checking that it is safe.

    Among the nodes ready at one time the smallest ``repr`` goes first (every
    reader of a value before the node that overwrites it); then each copy
    moves to just before the node that reads it.  A TokenProgram keeps its
    order once computed.
    """
    if isinstance(program, TokenProgram):
        return program.toposort()
    return _ordered(_as_program(program))


def _ordered(program):
    before = constraints(program)
    try:
        order = graph.toposort(_data_order(program), before=before)
    except CycleError:
        raise _cycle_error(program, before) from None
    return _sink_copies(order, program, before)


def _cycle_error(program, before):
    g = nx.DiGraph()
    for node in _data_order(program):
        for value in node.inputs:
            producer = program.producer(value)
            if producer is not None:
                g.add_edge(producer, node, why=f'{_name(node)} reads {value.expr} made by '
                                               f'{_name(producer)}')
    for destroyer, readers in before.items():
        for reader in readers:
            g.add_edge(reader, destroyer, why=f'{_name(reader)} reads what {_name(destroyer)} '
                                              'overwrites, so it must run first')
    edges = nx.find_cycle(g)
    steps = '; '.join(g.edges[u, v]['why'] for u, v in edges)
    return UnsafeInplaceError(f'no order is safe: the overwrites form a cycle: {steps}',
                              cycle=tuple(u for u, _ in edges))


def check(program, order=None, *, donated=()):
    """Prove ``program`` safe, in ``order`` (a sequence of its nodes) or in :func:`safe_order`.

    Simulates which value each token holds at each step.  Returns the order
    checked; raises :class:`UnsafeInplaceError` at the first unsafe step.
    ``donated`` lists caller inputs (expressions) that may be overwritten.
    """
    program = _as_program(program)
    protected, _ = _check_nodes(program, donated)
    if order is None:
        order = execution_order(program)
    order = tuple(order)
    if len(order) != len(program) or set(order) != set(program.computations):
        raise ValueError('order must list every node of the program exactly once')
    holds = {value.token: value for value in program.inputs}
    seen = set(holds.values())
    readers_left = {value: len(program.consumers(value)) for value in program.variables}
    last_writer = {}
    for step, node in enumerate(order):
        for value in node.inputs:
            if holds.get(value.token) == value:
                continue
            if value not in seen:
                raise UnsafeInplaceError(f'{_name(node)} reads {value.expr} (token '
                                         f'{value.token!r}) before it is computed ({node})',
                                         operation=node, token=value.token, value=value)
            writer = last_writer[value.token]
            raise UnsafeInplaceError(
                f'{_name(writer)} overwrote token {value.token!r} holding {value.expr}, but '
                f'{_name(node)} still needed it ({node})',
                operation=writer, token=value.token, value=value, reader=node)
        for value in dict.fromkeys(node.inputs):
            readers_left[value] -= 1
        for value in node.produced:
            old = holds.get(value.token)
            if old is not None and old != value and (readers_left[old] or old in protected):
                reader = next((r for r in order[step + 1:] if old in r.inputs), None)
                why = f'{_name(reader)} still needs it' if reader else f'it is {protected[old]}'
                raise UnsafeInplaceError(
                    f'{_name(node)} overwrites token {value.token!r} holding {old.expr}, but '
                    f'{why} ({node})', operation=node, token=value.token, value=old,
                    reader=reader)
            holds[value.token] = value
            seen.add(value)
            last_writer[value.token] = node
    return order
