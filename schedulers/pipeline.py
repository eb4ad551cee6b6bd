"""The lowering pipeline: from a mathematical composite to the token program that runs.

One function, :func:`lower`, chains the steps every runner needs, in one
place: the inplace pass (:func:`computations.inplace.inplace_compile`: a
token on every value, copies where an overwrite would destroy a value still
needed), an order (the memory-aware one of :mod:`computations.schedulers.order`,
or the default :func:`computations.inplace.execution_order`), and buffer
reuse (:mod:`computations.schedulers.reuse`), each order checked by
:func:`computations.inplace.check`.  The front door, the generated source
(:func:`computations.schedulers.codegen.compile_source`) and the interpretive
executor (:func:`computations.schedulers.execute.compile_program`) all call it.

Its result, :class:`Lowered`, is a small immutable record: the token
program, its order, the inputs the caller donated (which the program may
overwrite) and the constants the program reads.

Solve ``S*X = B`` with ``B`` donated: the solution goes into ``B``'s buffer,
and only ``S``, which the caller keeps, is copied::

    S, B -> [POSV] -> S.I*B (in B), LofCholesky(S) (in a copy of S)

>>> import sympy
>>> from computations.matrices import POSV
>>> S, B = sympy.MatrixSymbol('S', 3, 3), sympy.MatrixSymbol('B', 3, 1)
>>> lowered = lower(POSV(S, B), donate=[B])
>>> print(lowered.program)
S_2 = Copy(S)  # S
B, S_2 = POSV(S_2, B)  # S**(-1)*B, LofCholesky(S)
>>> lowered.donate
(B,)
"""
import dataclasses

import numpy as np

from computations import Computation, CompositeComputation
from computations.inplace import (check, execution_order, inplace_compile, is_constant,
                                  is_token_program, pure, tokenize)
from computations.inplace.donate import DonateError, check_donate

from .memory import Sizes
from .order import memory_order
from .reuse import reuse_buffers, scheduled

__all__ = ['lower', 'Lowered', 'DonateError', 'ORDERS', 'check_donate']

#: The orders :func:`lower` knows: ``'memory'`` (the memory-aware order, which
#: needs every dimension bound) and ``'default'`` (:func:`~computations.inplace.execution_order`).
ORDERS = ('memory', 'default')


@dataclasses.dataclass(frozen=True)
class Lowered:
    """A lowered program: what the runners take.

    ``computation``: the mathematical composite it computes; ``program``: the
    token program, checked safe in ``order`` (``program.toposort()`` is that
    order); ``donate``: the inputs the program may overwrite; ``constants``:
    the constant inputs (identity, zero matrices...) whose values the runner
    makes.
    """
    computation: CompositeComputation
    program: CompositeComputation
    order: tuple
    donate: tuple = ()
    constants: tuple = ()


def lower(computation, *, donate=(), dims=None, dtype=np.float64, order='memory', reuse=True,
          inplace=True):
    """Lower ``computation`` to a checked token program in its order: a :class:`Lowered`.

    ``donate`` lists inputs the program may overwrite; ``dims`` binds the
    symbolic dimensions (``{n: 1000}``) and ``dtype`` the item size, for the
    memory-aware ``order`` and buffer ``reuse``; ``order='default'`` keeps
    the default order (no sizes needed without ``reuse``).  ``inplace=False``
    lowers to the pure program (no overwrites).  A token program given as
    ``computation`` is checked and kept as it is.

    >>> import sympy
    >>> from computations.matrices import GEMM
    >>> A = sympy.MatrixSymbol('A', 40, 40)
    >>> print(lower(GEMM(1, A, A) + GEMM(1, A*A, A) + GEMM(1, A**3, A)).program)
    pow_A = GEMM(A, A)  # A**2
    pow_A_2 = GEMM(pow_A, A)  # A**3
    pow_A = GEMM(pow_A_2, A)  # A**4
    """
    if not isinstance(computation, Computation):
        raise TypeError(f'lower needs a Computation, got {type(computation).__name__}')
    if order not in ORDERS:
        raise ValueError(f'order must be one of {", ".join(map(repr, ORDERS))}, got {order!r}')
    if not isinstance(computation, CompositeComputation):
        computation = CompositeComputation(computation)
    given = is_token_program(computation)
    mathematics = pure(computation) if given else computation
    donate = check_donate(donate, mathematics.inputs)
    if given and inplace:                       # a program built by hand: checked, kept
        program, steps = computation, tuple(check(computation, donate=donate))
    else:
        program = inplace_compile(mathematics, donate) if inplace else tokenize(mathematics)
        sizes = Sizes(dims or {}, dtype) if order == 'memory' or reuse else None
        steps = memory_order(program, sizes) if order == 'memory' \
            else tuple(execution_order(program))
        program = reuse_buffers(program, steps, sizes, donate=donate) if reuse \
            else scheduled(program, steps, donate=donate)
        steps = tuple(program.toposort())
    constants = tuple(v.expr for v in program.inputs if is_constant(v.expr))
    return Lowered(mathematics, program, steps, donate, constants)
