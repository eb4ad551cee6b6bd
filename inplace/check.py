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
>>> [type(t.comp).__name__ for t in safe_order(program, donate=[X])]
['GEMM', 'SCAL']
>>> check(program, order=[g, f], donate=[X])
Traceback (most recent call last):
    ...
computations.inplace.check.UnsafeInplaceError: SCAL overwrites token 'x' holding X, but GEMM still needs it (x = SCAL(x)  # 2*X)
"""
from collections import Counter

from computations import graph

from .buffers import buffer_states
from .donate import donated, is_constant
from .program import (AmbiguousOrderError, OverwriteCycleError, as_token_program, data_order,
                      execution_order, node_name)

__all__ = ['UnsafeInplaceError', 'check', 'safe_order', 'is_constant']


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


def _protected(program, donate):
    """The values nobody may overwrite, each with the reason why."""
    donate = donated(donate, [value.expr for value in program.inputs])
    reasons = {}
    for value in program.inputs:
        if is_constant(value.expr):
            reasons[value] = 'a constant'
        elif value.expr not in donate and value not in donate:
            reasons[value] = "the caller's input"
    for value in program.outputs:
        reasons[value] = 'a returned output'
    return reasons


def numeric_shape(expr):
    """The shape of a matrix value when its dimensions are numbers, else None (unknown
    until the dimensions are bound): :func:`check`'s default ``shapes``.

    >>> import sympy
    >>> x, y = sympy.MatrixSymbol('x', 3, 1), sympy.MatrixSymbol('y', sympy.Symbol('n'), 1)
    >>> numeric_shape(x), numeric_shape(y)
    ((3, 1), None)
    """
    shape = getattr(expr, 'shape', None)
    if shape is None or not all(isinstance(d, int) or getattr(d, 'is_Integer', False)
                                for d in shape):
        return None
    return tuple(int(d) for d in shape)


def _one_shape_per_token(program, shapes):
    """Raise unless the values each token holds have one shape (by ``shapes``: None for
    unknown): a buffer holds values of one shape, and writing a value of another into it
    would broadcast, or be refused by the routine."""
    seen = {}
    for node in data_order(program):
        for value in (*node.inputs, *node.outputs):
            shape = shapes(value.expr)
            if shape is None:
                continue
            first, first_shape = seen.setdefault(value.token, (value, shape))
            if first_shape != shape:
                raise UnsafeInplaceError(
                    f'token {value.token!r} holds {first.expr} (shape {first_shape}) and '
                    f'{value.expr} (shape {shape}): a buffer holds values of one shape '
                    f'({node})',
                    operation=node, token=value.token, value=value)


def _check_nodes(program, donate, shapes=numeric_shape):
    """The checks that need no order: what each node may overwrite, and who may be destroyed."""
    _one_shape_per_token(program, shapes)
    protected = _protected(program, donate)
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
    for node in data_order(program):
        if node.comp.output_is_input:
            continue                           # a copy makes the same value in a new buffer
        for value in node.produced:
            if value.expr in homes:
                raise UnsafeInplaceError(f'{node_name(node)} computes {value.expr}, which is '
                                         f'also an input of the program ({node})', operation=node,
                                         value=value)
    destroyers = {}
    for node in data_order(program):
        legal = node.destroy_map
        seen = Counter(v.token for v in node.produced)
        for token, count in seen.items():
            if count > 1:
                raise UnsafeInplaceError(f'{node_name(node)} writes two outputs into token '
                                         f'{token!r} ({node})', operation=node, token=token)
        for o, token in enumerate(node.output_tokens):
            if node.outputs[o] not in node.produced:
                continue                       # Identity: marks, does not write
            same = [i for i, t in enumerate(node.input_tokens) if t == token]
            if not same:
                continue
            if o not in legal:
                raise UnsafeInplaceError(
                    f'{node_name(node)} writes {node.comp.outputs[o]} into token {token!r}, '
                    f'which holds its input {node.comp.inputs[same[0]]}, but its routine '
                    f'cannot write that output there (its inplace map is '
                    f'{dict(node.comp.inplace)}) ({node})',
                    operation=node, token=token, value=node.inputs[same[0]])
            others = [j for j in same if j != legal[o]]
            if others:
                raise UnsafeInplaceError(
                    f'{node_name(node)} overwrites token {token!r} (its input {legal[o]}, '
                    f'{node.comp.inputs[legal[o]]}) while also reading it as input '
                    f'{others[0]}: aliased arguments ({node})', operation=node, token=token,
                    value=node.inputs[legal[o]])
        for o, i in legal.items():
            token, value = node.input_tokens[i], node.inputs[i]
            if value in protected:
                raise UnsafeInplaceError(
                    f'{node_name(node)} overwrites token {token!r} holding {value.expr}, which is '
                    f'{protected[value]} ({node})', operation=node, token=token, value=value)
            if value in destroyers:
                raise UnsafeInplaceError(
                    f'{value.expr} in token {token!r} is overwritten by two operations: '
                    f'{destroyers[value]} and {node}', operation=node, token=token, value=value,
                    reader=destroyers[value])
            destroyers[value] = node
    return protected, destroyers


def safe_order(program, *, donate=()):
    """A deterministic order of the program's nodes that respects data and overwrites.

    Checks the nodes first (what each may overwrite, and who may be
    destroyed); then :func:`~computations.inplace.execution_order`.  Raises
    :class:`UnsafeInplaceError` for an unsafe node, or naming the cycle when
    no order can exist (for example two nodes that each overwrite what the
    other reads).
    """
    program = as_token_program(program)
    _check_nodes(program, donate)
    return _execution_order(program)


def _execution_order(program):
    try:
        return execution_order(program)
    except OverwriteCycleError as error:
        raise UnsafeInplaceError(str(error), cycle=error.cycle) from None
    except AmbiguousOrderError as error:                 # no order to prove safe
        raise UnsafeInplaceError(str(error)) from None


def check(program, order=None, *, donate=(), shapes=numeric_shape):
    """Prove ``program`` safe, in ``order`` (a sequence of its nodes) or in :func:`safe_order`.

    Follows which value each token holds at each step
    (:func:`computations.inplace.buffers.buffer_states`).  Returns the order
    checked; raises :class:`UnsafeInplaceError` at the first unsafe step.
    ``donate`` lists caller inputs (expressions, or their names) that may be overwritten
    (:func:`~.donate.donated`).  ``shapes`` gives a value's shape, or None when it is
    not known (by default the shapes whose dimensions are numbers): the values a token
    holds must have one.
    """
    program = as_token_program(program)
    protected, _ = _check_nodes(program, donate, shapes)
    order = tuple(_execution_order(program) if order is None else order)
    if len(order) != len(program) or set(order) != set(program.computations):
        raise ValueError('order must list every node of the program exactly once')
    states = buffer_states(program, order)
    for step, node in enumerate(order):
        for value in states.stale[step]:
            if states.written.get(value, step) >= step:
                raise UnsafeInplaceError(f'{node_name(node)} reads {value.expr} (token '
                                         f'{value.token!r}) before it is computed ({node})',
                                         operation=node, token=value.token, value=value)
            writer = order[states.displaced_at[value]]
            raise UnsafeInplaceError(
                f'{node_name(writer)} overwrote token {value.token!r} holding {value.expr}, '
                f'but {node_name(node)} still needed it ({node})',
                operation=writer, token=value.token, value=value, reader=node)
        for old in states.displaced[step]:
            later = states.next_read(old, step)
            if later is None and old not in protected:
                continue
            reader = None if later is None else order[later]
            why = f'{node_name(reader)} still needs it' if reader else f'it is {protected[old]}'
            raise UnsafeInplaceError(
                f'{node_name(node)} overwrites token {old.token!r} holding {old.expr}, but '
                f'{why} ({node})', operation=node, token=old.token, value=old, reader=reader)
    return order
