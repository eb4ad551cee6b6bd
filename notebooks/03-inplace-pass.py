# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The inplace pass: where each value lives
#
# A computation (notebooks 01 and 02) is pure mathematics: its variables are
# values, such as `Sigma*H.T`, and nothing says where they are stored.  But
# BLAS and LAPACK routines write their results *over their inputs*: GEMM
# computes `alpha*A*B + beta*C` into `C`, POSV overwrites `A` with its
# Cholesky factor and `B` with the solution.  Overwriting saves memory and
# time, and destroys a value that someone may still need.
#
# The seed post's answer is to keep the two questions apart: **mathematics
# first, storage second**.  This notebook shows the second stage, the
# `inplace` package:
#
# 1. tokens: a value paired with the name of the buffer that holds it;
# 2. `inplace_compile`, which assigns tokens, overwrites where that is safe and
#    copies where it is not;
# 3. `check`, which proves a token program safe, and rejects an unsafe plan with
#    an error that explains what would have been destroyed.

# %% [markdown]
# ## 1. Tokens
#
# An `ExprToken(expr, token)` is a mathematical value and the name of its
# buffer (a Python identifier, since generated code uses it as a local
# variable).  A `TokenComputation(comp, input_tokens, output_tokens)` is an
# operation whose every input and output carries a token.  An ExprToken
# prints as value@token: `x@x` below is the value `x` in buffer `x` (and
# `A@B` would be the value `A` in buffer `B`).
#
# The seed's `MinMax`, *pure*: it reads `x` and `y` from buffers `x` and
# `y` and writes its results into new buffers `_1` and `_2`:

# %%
import sympy
from computations.examples import A, MinMax
from computations.inplace import ExprToken, TokenComputation

x, y, w = sympy.symbols('x y w')
print(ExprToken(x, 'x'))
pure_minmax = TokenComputation(MinMax(x, y), ['x', 'y'], ['_1', '_2'])
print(pure_minmax)
pure_minmax


# %% [markdown]
# An operation may write an output into the buffer of an input only if its
# routine can: the operation declares that as its `inplace` map,
# `{output index: input index}`.  `MinMax` declares none; a variant that
# writes the minimum over `x` and the maximum over `y` (the seed's second
# picture) declares `{0: 0, 1: 1}`.  A token computation overwrites exactly
# where an output carries the token of the input its map names: its
# `destroy_map`.

# %%
class InplaceMinMax(MinMax):
    __slots__ = ()
    inplace = {0: 0, 1: 1}     # Min(x, y) over x, Max(x, y) over y


inplace_minmax = TokenComputation(InplaceMinMax(x, y), ['x', 'y'], ['x', 'y'])
print(inplace_minmax, '   destroy_map', inplace_minmax.destroy_map)
inplace_minmax

# %% [markdown]
# The BLAS/LAPACK operations declare their maps as data:

# %%
from sympy import MatrixSymbol
from computations.matrices import GEMM, POSV, SCAL

size = 3
S, B, X, Y = (MatrixSymbol(name, size, size) for name in 'SBXY')
for op in (GEMM(1, S, X, 1, Y), SCAL(2, X), POSV(S, B)):
    print(f'{type(op).__name__:5} inplace {op.inplace}:  {op}')

# %% [markdown]
# ## 2. `inplace_compile`
#
# Take a small composite in which one value is read twice: `GEMM` reads
# `S` to compute `S*X`, and `POSV` solves with `S`, overwriting it with its
# Cholesky factor.

# %%
from computations.inplace import check, inplace_compile, insert_copies, tokenize

comp = GEMM(1, S, X) + POSV(S, B)
comp

# %% [markdown]
# The pass runs in three steps, each available on its own:
#
# - `tokenize`: the *pure* program, one new token per value, nothing overwritten;
# - `insert_copies`: every overwrite a routine can do, each on a private `Copy`
#   (safe by construction, wasteful);
# - `inplace_compile`: the copies that are not needed removed.

# %%
print('tokenize:', tokenize(comp), sep='\n')
print()
print('insert_copies:', insert_copies(comp), sep='\n')

# %%
program = inplace_compile(comp)
print(program)

# %% [markdown]
# Here no copy can go: `S` and `B` are the **caller's arrays**, and the
# program must not destroy them.  So POSV works on copies (`S_2`, `B_2`),
# and writes its results over those copies.  The token program is drawn
# with each variable labelled by its value and, in brackets, its token:

# %%
program

# %% [markdown]
# A caller who does not need `S` and `B` afterwards may **donate** them:
# then POSV overwrites them directly, and the pass orders GEMM, which
# still reads `S`, before POSV destroys it.

# %%
donated = inplace_compile(comp, donate=[S, B])
print(donated)
donated

# %% [markdown]
# Donation does not license every overwrite.  Here `SCAL` would double `Y`
# in place, but `GEMM` needs `Y` and `2*Y` *at the same time*: one buffer
# cannot hold both, so the pass copies `Y` even though it was donated.

# %%
both = SCAL(2, Y) + GEMM(1, Y, 2*Y)
print(inplace_compile(both, donate=[Y]))

# %% [markdown]
# ### `check` accepts it
#
# `check(program)` proves a token program safe by simulating, step by step,
# which value each token holds, and returns the order it checked.  Every
# program `inplace_compile` emits passes (an invariant the test suite
# checks on random programs).

# %%
for step, node in enumerate(check(program), 1):
    print(step, node)
print('donated:', [type(node.comp).__name__ for node in check(donated, donate=[S, B])])

# %% [markdown]
# Running the program proves nothing, but it is reassuring: the results
# match NumPy, and the caller's arrays are untouched.

# %%
import numpy as np
from computations.schedulers import execute

rng = np.random.default_rng(0)
M = rng.standard_normal((size, size))
s, b, xv = M @ M.T + size * np.eye(size), rng.standard_normal((size, size)), rng.standard_normal((size, size))
saved = s.copy(), b.copy()
out = execute(comp, {S: s, B: b, X: xv})
print(np.allclose(out[S * X], s @ xv), np.allclose(out[S.I * B], np.linalg.solve(s, b)))
print("the caller's S and B unchanged:", np.array_equal(s, saved[0]) and np.array_equal(b, saved[1]))

# %% [markdown]
# ## 3. An unsafe plan, rejected
#
# The seed post's warning: *we must avoid situations where `x` may be
# overwritten (by `B`) before it is read (by `C`).*  Let us make that
# mistake by hand.  `X` lives in token `X`; `GEMM` reads it to compute
# `X*X` into a new buffer `XX`; `SCAL` doubles it **in place**, writing
# `2*X` over token `X`.  (We donate `X`, so overwriting the caller's array
# is allowed.)

# %%
from computations.inplace import UnsafeInplaceError

square = TokenComputation(GEMM(1, X, X), ['X', 'X'], ['XX'])
double = TokenComputation(SCAL(2, X), ['X'], ['X'])
plan = square + double
print(plan)
print('SCAL destroy_map:', double.destroy_map)

# %% [markdown]
# The plan is safe in one order only: GEMM must read `X` before SCAL
# destroys it.  An order is part of a plan; run SCAL first and `check`
# rejects it with an `UnsafeInplaceError` that names the operation, the
# token, the value destroyed and the reader that still needed it (the
# value is an ExprToken, printed as value@token: `X@X` is the value `X` in
# buffer `X`):

# %%
unsafe_order = [double, square]
try:
    check(plan, order=unsafe_order, donate=[X])
except UnsafeInplaceError as error:
    print(f'UnsafeInplaceError: {error}')
    print()
    print('operation:', error.operation)
    print('token:    ', error.token)
    print('value:    ', error.value)
    print('reader:   ', error.reader)

# %% [markdown]
# The picture shows the plan's data flow, overwrites in red: `SCAL` takes
# `X` from buffer `X` and writes `2*X` into that same buffer, while `GEMM`
# also reads `X` from it.  Nothing in the picture fixes which runs first;
# that is where this plan goes wrong.

# %%
plan

# %% [markdown]
# What would have happened without the check?  The interpreter
# (`computations.schedulers.run_program`) trusts the order it is given.  Run the unsafe
# order and GEMM reads `2*X` where it wanted `X`: it returns `4*X**2`,
# silently, a plausible-looking wrong answer.

# %%
from computations.schedulers import prepare_inputs, run_program

xv = rng.standard_normal((size, size))
values = prepare_inputs([v.expr for v in plan.inputs], {X: xv.copy()})
wrong = run_program(plan, unsafe_order, values, donate=[X])[X**2]
print('X*X expected:\n', xv @ xv)
print('X*X computed in the unsafe order:\n', wrong)
print('ratio:', np.round(wrong / (xv @ xv), 12))

# %% [markdown]
# In the safe order `check` accepts the same plan, but only because we
# donated `X`: without donation the plan destroys the caller's input,
# which no order can make safe.

# %%
print([type(node.comp).__name__ for node in check(plan, donate=[X])])
try:
    check(plan)
except UnsafeInplaceError as error:
    print(f'UnsafeInplaceError: {error}')

# %% [markdown]
# ### The other ways to be unsafe
#
# `check` rejects, with an explanation, every kind of unsafe plan: two
# operations that both destroy one value; an operation that overwrites a
# buffer it also reads through another argument (aliasing); and overwrites
# that no order can satisfy (each operation destroying what the other
# reads, a cycle: below, AXPY writes `X + Y` over buffer `y`, which GEMM
# reads, and GEMM writes `Y**2 + X` over buffer `x`, which AXPY reads).

# %%
from computations.matrices import AXPY

T = TokenComputation
plans = {
    'two destroyers': T(SCAL(2, Y), ['y'], ['y']) + T(SCAL(3, Y), ['y'], ['y']),
    'aliasing': T(GEMM(1, X, X), ['x', 'x'], ['c']) + T(GEMM(1, Y, X*X, 1, X*X), ['y', 'c', 'c'], ['c']),
    'a cycle': T(AXPY(1, X, Y), ['x', 'y'], ['y']) + T(GEMM(1, Y, Y, 1, X), ['y', 'y', 'x'], ['x']),
}
for name, unsafe in plans.items():
    try:
        check(unsafe, donate=[X, Y])
        print(f'{name}: accepted')
    except UnsafeInplaceError as error:
        print(f'{name}:\n    {error}')
        if error.cycle:
            print('    the cycle:', *error.cycle, sep='\n        ')

# %% [markdown]
# The inplace pass never emits such plans: for each of them
# `inplace_compile` finds a safe one, with a copy where one is needed.

# %%
from computations.inplace import pure

for name, unsafe in plans.items():
    safe = inplace_compile(pure(unsafe), donate=[X, Y])
    check(safe, donate=[X, Y])
    print(f'{name}:', *safe, sep='\n    ')
