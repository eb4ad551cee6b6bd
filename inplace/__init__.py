"""The storage layer: which buffer holds each mathematical value.

It pairs every value of a :class:`computations.CompositeComputation` with a
storage token, inserts copies where an overwrite would destroy a value that is
still needed, and checks that a token program is safe.  Which value each token
holds at each step of an order, and when each buffer is allocated and freed, is
computed in one place, :mod:`computations.inplace.buffers`, which the checker
and the schedulers read.  It imports
``computations``; ``computations`` never imports it.

>>> import sympy
>>> from computations.matrices import POSV
>>> A, B = sympy.MatrixSymbol('A', 3, 3), sympy.MatrixSymbol('B', 3, 1)
>>> program = inplace_compile(POSV(A, B))       # the caller's A and B are protected
>>> print(program)
B_2 = Copy(B)  # B
A_2 = Copy(A)  # A
B_2, A_2 = POSV(A_2, B_2)  # A**(-1)*B, LofCholesky(A)
>>> len(check(program))
3
"""
from .buffers import BufferModel, BufferStates, buffer_states
from .check import UnsafeInplaceError, check, numeric_shape, safe_order
from .donate import DonateError, check_donate, donated, is_constant
from .compile import (inplace_compile, insert_copies, is_token_program, plan_overwrites, pure,
                      tokenize)
from .program import (AmbiguousOrderError, OverwriteCycleError, TokenProgram, constraints,
                      execution_order)
from . import pictures  # noqa: F401  (registers how token programs are drawn)
from .tokens import Copy, ExprToken, TokenComputation, TokenNamer, inplace_map, token_name

__all__ = ['ExprToken', 'TokenComputation', 'Copy', 'TokenNamer', 'token_name', 'inplace_map',
           'tokenize', 'insert_copies', 'plan_overwrites', 'inplace_compile', 'pure',
           'is_token_program', 'check', 'numeric_shape', 'safe_order', 'execution_order',
           'constraints', 'is_constant', 'UnsafeInplaceError', 'OverwriteCycleError',
           'AmbiguousOrderError', 'TokenProgram', 'buffer_states', 'BufferModel',
           'BufferStates', 'DonateError', 'check_donate', 'donated']
