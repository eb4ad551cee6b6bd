"""The inplace pass: from a mathematical composite to a token program.

Mathematics first, storage second (the seed post's design).  The pass

1. gives every value a token (:func:`tokenize`: the pure program, where no
   operation overwrites anything);
2. inserts a :class:`~computations.inplace.tokens.Copy` before every overwrite an
   operation can do (:func:`insert_copies`: always safe, since each routine
   then destroys a private copy);
3. removes the copies that are not needed (:func:`plan_overwrites` decides
   which overwrites may destroy the original value directly), and so reuses
   one token along each inplace chain.

:func:`inplace_compile` runs it all.  An overwrite of value ``v`` by
operation ``d`` is accepted, in deterministic order, when ``v`` is not
protected (a caller's input unless donated, a constant, a returned output),
not already destroyed, not read by ``d`` through another argument, and every
other reader of ``v`` can still run before ``d`` (``d`` does not reach it
through data or earlier accepted overwrites).

A value read by two operations, one of which can overwrite it::

    S --> [POSV] --> S.I*B (in B's buffer), LofCholesky(S) (in S's buffer)
    S --> [GEMM] --> S*X

>>> import sympy
>>> from computations.matrices import GEMM, POSV
>>> S, B, X = (sympy.MatrixSymbol(n, 3, 3) for n in 'SBX')
>>> comp = GEMM(1, S, X) + POSV(S, B)
>>> print(inplace_compile(comp))
S_X = GEMM(S, X)  # S*X
S_2 = Copy(S)  # S
B_2 = Copy(B)  # B
B_2, S_2 = POSV(S_2, B_2)  # S**(-1)*B, LofCholesky(S)
>>> print(inplace_compile(comp, donate=[S, B]))
S_X = GEMM(S, X)  # S*X
B, S = POSV(S, B)  # S**(-1)*B, LofCholesky(S)
"""
from computations import CompositeComputation, Computation

from .donate import donated, is_constant
from .program import TokenProgram
from .tokens import Copy, TokenComputation, TokenNamer, inplace_map

__all__ = ['tokenize', 'insert_copies', 'plan_overwrites', 'inplace_compile', 'pure',
           'is_token_program']


def is_token_program(comp):
    """Whether ``comp`` is made of :class:`TokenComputation` nodes (and is not empty)."""
    nodes = comp.toposort()
    return bool(nodes) and all(isinstance(node, TokenComputation) for node in nodes)


def pure(program):
    """The mathematical composite of a token program: its operations, without copies.

    >>> from computations import Computation
    >>> c = Computation(['x'], ['y'])
    >>> pure(tokenize(c)) == CompositeComputation(c)
    True
    """
    return CompositeComputation(*(node.comp for node in program.toposort()
                                  if not isinstance(node.comp, Copy)))


def _mathematical(comp):
    if not isinstance(comp, Computation):
        raise TypeError(f'expected a Computation, got {type(comp).__name__}')
    if not isinstance(comp, CompositeComputation):
        comp = CompositeComputation(comp)
    if is_token_program(comp):
        comp = pure(comp)
    return comp


def _build(comp, overwrites):
    """The token program of ``comp``.

    ``overwrites`` is ``None`` (nothing is overwritten) or the set of
    ``(operation, input_position)`` that overwrite the original value; every
    other overwrite an operation can do gets a Copy.
    """
    names = TokenNamer()
    token = {var: names(var) for var in comp.inputs}
    nodes = []
    for op in comp.toposort():
        in_tokens = [token[var] for var in op.inputs]
        out_tokens = [None] * len(op.outputs)
        if overwrites is not None:
            for o, i in sorted(inplace_map(op).items()):
                if (op, i) not in overwrites:
                    var = op.inputs[i]
                    copy_token = names(var)
                    nodes.append(TokenComputation(Copy(var), [in_tokens[i]], [copy_token]))
                    in_tokens[i] = copy_token
                out_tokens[o] = in_tokens[i]
        produced = set(op.produced)
        for o, var in enumerate(op.outputs):
            if out_tokens[o] is None:
                out_tokens[o] = names(var) if var in produced else token[var]
            if var in produced:
                token[var] = out_tokens[o]
        nodes.append(TokenComputation(op, in_tokens, out_tokens))
    return TokenProgram(*nodes)


def tokenize(comp):
    """The pure token program: one new token per value, no overwrites, no copies.

    >>> from computations import Computation
    >>> print(tokenize(Computation(['x'], ['y']) + Computation(['y'], ['z'])))
    y = Computation(x)  # y
    z = Computation(y)  # z
    """
    return _build(_mathematical(comp), None)


def insert_copies(comp):
    """Every overwrite an operation can do, each on a private Copy: safe by construction.

    >>> import sympy
    >>> from computations.matrices import SCAL
    >>> X = sympy.MatrixSymbol('X', 2, 2)
    >>> print(insert_copies(SCAL(2, X)))
    X_2 = Copy(X)  # X
    X_2 = SCAL(X_2)  # 2*X
    """
    return _build(_mathematical(comp), frozenset())


def plan_overwrites(comp, donate=()):
    """The overwrites that may destroy the original value, without a copy.

    Returns a frozenset of ``(operation, input_position)``.  ``donate`` lists
    caller inputs (expressions, or their names) the program may overwrite
    (:func:`~.donate.donated`: a value that is not an input has no effect; a name that is
    no input's raises :class:`~.donate.DonateError`).  Greedy, in the composite's
    deterministic order (see the module docstring for the rules).
    """
    comp = _mathematical(comp)
    donate = donated(donate, comp.inputs)
    protected = set(comp.outputs) | {var for var in comp.inputs
                                     if var not in donate or is_constant(var)}
    successors = {op: set(comp.dependents(op)) for op in comp.toposort()}
    accepted, destroyed = set(), set()
    for op in comp.toposort():
        for o, i in sorted(inplace_map(op).items()):
            var = op.inputs[i]
            if var in protected or var in destroyed or op.inputs.count(var) > 1:
                continue
            readers = [r for r in comp.consumers(var) if r is not op]
            if readers and _reaches(op, set(readers), successors):
                continue
            accepted.add((op, i))
            destroyed.add(var)
            for reader in readers:
                successors[reader].add(op)
    return frozenset(accepted)


def _reaches(start, targets, successors):
    """Whether a path leads from ``start`` to any of ``targets``."""
    # A depth-first search per candidate overwrite: O(nodes + edges) each, so
    # quadratic in the worst case; fine for the programs the compiler makes
    # (hundreds of operations).  Blocked programs may want an incremental
    # reachability index instead.
    stack, seen = [start], {start}
    while stack:
        for nxt in successors[stack.pop()]:
            if nxt in targets:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def inplace_compile(comp, donate=()):
    """The whole pass: the token program that overwrites wherever it is safe.

    Idempotent: a token program is first reduced to its mathematics, so
    ``inplace_compile(inplace_compile(c)) == inplace_compile(c)``.

    >>> from computations import Computation
    >>> c = Computation(['x'], ['y'])
    >>> inplace_compile(inplace_compile(c)) == inplace_compile(c)
    True
    """
    comp = _mathematical(comp)
    return _build(comp, plan_overwrites(comp, donate))
