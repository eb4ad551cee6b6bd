"""Buffer reuse: a later operation writes its result into a buffer whose value is dead.

On top of the inplace pass (which lets an operation overwrite its own
input), liveness in a fixed order lets an operation write a *fresh* result
into the buffer of any value no one will read again, if the two have the
same shape and dtype and the routine can write into a supplied buffer (the
op's ``buffered_outputs``: GEMM's ``C`` with ``beta = 0``, the ``B`` of a
solve, a copy's destination...).  That saves the allocation (page faults,
for large arrays) and keeps memory from fragmenting.

Reuse is a renaming of tokens, so the result is again a token program, and
:func:`computations.inplace.check` proves it safe in that order, with the same
simulation that proves overwrites safe.  The caller's buffers are never
taken, nor those of returned values.  Holding a dead buffer until it is
reused keeps it live in between, so a reuse is accepted only if that
never raises the order's peak (:mod:`computations.schedulers.memory`).

>>> import sympy
>>> from computations.matrices import GEMM
>>> from computations.inplace import inplace_compile
>>> from computations.schedulers.memory import Sizes
>>> A = sympy.MatrixSymbol('A', 40, 40)
>>> program = inplace_compile(GEMM(1, A, A) + GEMM(1, A*A, A) + GEMM(1, A*A*A, A))
>>> print(reuse_buffers(program, program.toposort(), Sizes({})))
pow_A = GEMM(A, A)  # A**2
pow_A_2 = GEMM(pow_A, A)  # A**3
pow_A = GEMM(pow_A_2, A)  # A**4
"""
import bisect

from computations.inplace import TokenComputation, TokenProgram, check, numeric_shape

from .memory import timeline

__all__ = ['reuse_buffers', 'scheduled', 'MIN_BYTES']

#: Smaller buffers are not reused: a fresh small array is cheaper than the
#: extra arguments that pass a buffer (an 8 x 8 DGEMM into a new array took
#: 0.28 us, into a given buffer 0.46 us; at 32 x 32 the buffer won).
MIN_BYTES = 4096


def reuse_buffers(program, order, sizes, *, min_bytes=MIN_BYTES, donate=()):
    """``program`` with fresh results written into dead buffers of at least ``min_bytes``,
    as a :func:`scheduled` program in ``order`` (see the module); ``donate`` lists the
    caller's inputs the program may overwrite (for the check).

    The buffers allocated and freed at each step are the memory model's
    (:func:`~computations.schedulers.memory.timeline`, from the one buffer-state
    model): a freed buffer is never the caller's nor a returned value's.
    """
    order = tuple(order)
    times = timeline(program, order, sizes)
    peak = times.peak
    during = list(times.during)
    key, exprs = {}, {}                         # token -> (shape, dtype), values held
    for node in order:
        for value in node.produced:
            key.setdefault(value.token, sizes.key(value.expr))
            exprs.setdefault(value.token, set()).add(value.expr)
    rename, pool = {}, {}       # pool: (shape and dtype, bytes) -> [(freed after step, token)]
    for step, node in enumerate(order):
        for o in node.comp.buffered_outputs:
            token = node.output_tokens[o]
            if token not in times.allocated[step] or key[token] is None:
                continue
            nbytes = sizes.nbytes(node.comp.outputs[o])
            if nbytes < min_bytes:
                continue
            group = pool.get((key[token], nbytes))
            taken = _take(group, step, nbytes, peak, during, exprs, token) if group else None
            if taken is None:
                continue
            freed, buffer = group.pop(taken)
            for s in range(freed + 1, step):
                during[s] += nbytes
            rename[token] = buffer
            exprs[buffer] |= exprs[token]
        for token in times.freed[step]:
            buffer = rename.get(token, token)
            bisect.insort(pool.setdefault((key.get(buffer), times.nbytes[token]), []),
                          (step, buffer))
    if not rename:
        return scheduled(program, order, donate=donate, shapes=sizes.key)
    renamed = {node: _renamed(node, rename) for node in order}
    return scheduled(TokenProgram(*renamed.values()), [renamed[node] for node in order],
                     donate=donate, shapes=sizes.key)


def _take(group, step, nbytes, peak, during, exprs, token):
    """The position in ``group`` (dead buffers of ``token``'s shape and size, sorted by
    ``(freed after step, token)``) of the one ``token`` takes at ``step``: the buffer freed
    last (the shortest hold) that never held one of ``token``'s values (one value in one
    token is one variable of the program) and whose hold keeps every step in between under
    ``peak``; None if there is none.

    Going back from the buffer freed last, the hold only grows, so the first buffer whose
    hold would raise the peak ends the search: the walk and the bytes it adds to
    ``during`` are both the length of the hold taken.

    >>> group = [(0, 'a'), (2, 'b'), (2, 'c')]
    >>> exprs = {'a': {'x'}, 'b': {'y'}, 'c': {'z'}, 't': {'z'}}
    >>> _take(group, 5, 8, 20, [0, 0, 4, 12, 4], exprs, 't')     # 'c' held z already
    1
    >>> _take(group, 5, 8, 20, [0, 0, 4, 14, 4], exprs, 't')     # 14 + 8 > 20
    """
    hold, edge = 0, step                        # hold: max(during[edge:step])
    for position in range(len(group) - 1, -1, -1):
        freed, buffer = group[position]
        while edge > freed + 1:
            edge -= 1
            hold = max(hold, during[edge])
        if hold + nbytes > peak:
            return None
        if not exprs[buffer] & exprs[token]:
            return position
    return None


def _renamed(node, rename):
    if not any(t in rename for t in (*node.input_tokens, *node.output_tokens)):
        return node
    return TokenComputation(node.comp, [rename.get(t, t) for t in node.input_tokens],
                            [rename.get(t, t) for t in node.output_tokens])


def scheduled(program, order, *, donate=(), shapes=numeric_shape):
    """``program`` as a :class:`~computations.inplace.TokenProgram` that runs (and prints) in ``order``,
    after :func:`computations.inplace.check` proves that order safe (``shapes``: the values'
    shapes at the bound sizes, when known)."""
    program = TokenProgram(*order)                 # a new object: the order is its own
    order = check(program, order, donate=donate, shapes=shapes)
    object.__setattr__(program, '_safe', order)
    return program
