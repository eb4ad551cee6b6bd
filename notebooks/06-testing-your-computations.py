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
# # Testing your own computations
#
# Notebook 01 built operations by hand and notebook 03 showed how the inplace
# pass decides where each value lives.  When you write an operation of your
# own, two promises are yours to keep:
#
# - the **inplace map** you declare says exactly which input buffer each
#   output may take, and your kernel writes nowhere else;
# - the **results** are the mathematics you wrote.
#
# `computations.testing` is the kit the library's own test suite uses to
# check those promises, packaged for you:
#
# - `assert_inplace_safe(program, inputs)`: runs a token program with every
#   buffer filled with NaN the moment its value dies (the scheduler's
#   *poisoning* interpreter) and compares each output with the pure program,
#   where nothing is overwritten;
# - `assert_allclose_to_numpy(f, *args)`: compares a compiled function with a
#   plain NumPy evaluation of its SymPy outputs, with tolerances that follow
#   the dtype;
# - hypothesis strategies: random DAGs (`dag_members`), random token programs
#   (`mix_dags`, `sized_programs`), random matrix problems with data that
#   keeps their assumptions (`matrix_problems`).
#
# The strategies need hypothesis (`pip install computations[testing]`); the
# assertions only NumPy.

# %%
import numpy as np
from hypothesis import given, settings, strategies as st

import computations
from computations import Computation, CompositeComputation
from computations.inplace import inplace_compile
from computations.schedulers import kernel
from computations.testing import assert_allclose_to_numpy, assert_inplace_safe

# %% [markdown]
# ## 1. A custom operation with an inplace map
#
# `Axpy2(x, y)` computes `2*x + y` on 1-D arrays.  Like BLAS's AXPY, it can
# write its result over `y`: it declares that as data, its `inplace` map
# `{output index: input index}` = `{0: 1}`.  Its identity is its inputs and
# outputs (the base class's `__props__`), so two nodes with the same
# variables are the same node.
#
# The kernel is registered with `computations.schedulers.kernel`.  It
# receives the input values and `overwrite`, the input positions it *may*
# destroy (the inplace pass decides, per call, whether that is safe); when
# position 1 is in it, it writes into `y`'s array and returns that array.

# %%
class Axpy2(Computation):
    """outputs[0] = 2*inputs[0] + inputs[1], which may be written over inputs[1]."""
    __slots__ = ()
    inplace = {0: 1}


@kernel.register(Axpy2)
def _axpy2(op, values, overwrite):
    x, y = values
    if 1 in overwrite:
        y += 2 * x                  # into y's own buffer
        return [y]
    return [2 * x + y]


# %% [markdown]
# A small program: `u = 2a + b`, `v = 2u + a`, `w = 2a + v`.  Here `a` is read
# three times: no operation may destroy it before its last reader.  The pass
# tokenizes the values, copies the caller's inputs before an overwrite and
# writes in place where it is safe:

# %%
comp = (Axpy2(['a', 'b'], ['u']) + Axpy2(['u', 'a'], ['v'])
        + Axpy2(['a', 'v'], ['w']))
program = inplace_compile(comp)
print(program)

# %% [markdown]
# `assert_inplace_safe` first asks `computations.inplace.check` to prove the
# program safe, then runs it with the poisoning interpreter and compares
# every output with the pure program (each operation on private copies,
# nothing overwritten).  It returns the outputs:

# %%
inputs = {'a': np.array([1.0, 2.0]), 'b': np.array([10.0, 20.0])}
assert_inplace_safe(program, inputs)

# %% [markdown]
# If the caller **donates** `b` (does not need it afterwards), the first
# call may write over it, and the copy goes:

# %%
print(inplace_compile(comp, donate=['b']))
assert_inplace_safe(comp, inputs, donate=['b'])['w']

# %% [markdown]
# ## 2. Property-testing it
#
# One program proves little.  A hypothesis strategy draws random DAGs of
# `Axpy2` operations: each reads two variables that exist already and
# writes a new one.  The property: whatever the DAG, and whether or not the
# caller donates the inputs, the compiled program passes `check` and
# computes the pure values under poisoning.  `max_examples` is kept modest
# here; in a test suite use hypothesis's defaults or more.

# %%
@st.composite
def axpy_dags(draw, max_ops=10):
    pool = ['i0', 'i1', 'i2']
    ops = []
    for k in range(draw(st.integers(1, max_ops))):
        x, y = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
        ops.append(Axpy2([x, y], [f't{k}']))
        pool.append(f't{k}')
    return CompositeComputation(*ops)


examples = []


@given(axpy_dags(), st.booleans(), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None, database=None)
def test_axpy2_programs_are_inplace_safe(comp, donate, seed):
    rng = np.random.default_rng(seed)
    inputs = {var: rng.uniform(-1, 1, 4) for var in comp.inputs}
    donated = comp.inputs if donate else ()
    assert_inplace_safe(inplace_compile(comp, donate=donated), inputs, donate=donated)
    examples.append(len(comp.computations))


test_axpy2_programs_are_inplace_safe()
print(f'{len(examples)} random programs passed')

# %% [markdown]
# ## 3. What a wrong inplace map looks like
#
# Now a variant whose kernel *always* writes into `y`, but declares no
# inplace map: the pass believes `y` survives the call and lets a later
# operation read it.  The checker cannot see this (the declaration is all it
# reads), but the kit runs the kernels and compares with the pure program:

# %%
class SneakyAxpy2(Computation):
    """2*x + y, declared pure, but its kernel writes over y."""
    __slots__ = ()


@kernel.register(SneakyAxpy2)
def _sneaky(op, values, overwrite):
    x, y = values
    y += 2 * x                      # not declared: a bug
    return [y]


sneaky = SneakyAxpy2(['a', 'b'], ['u']) + Axpy2(['u', 'b'], ['v'])
try:
    assert_inplace_safe(sneaky, inputs)
except AssertionError as error:
    print('AssertionError:', error)

# %% [markdown]
# The caller's `b` was overwritten.  When the destroyed value is an
# intermediate instead, the output that read it differs from the pure
# program's, and the message names that output and its buffer:

# %%
sneaky = (Axpy2(['a', 'b'], ['t']) + SneakyAxpy2(['a', 't'], ['u'])
          + Axpy2(['u', 't'], ['v']))
try:
    assert_inplace_safe(sneaky, inputs)
except AssertionError as error:
    print('AssertionError:', error)

# %% [markdown]
# The kit's own model operation, `computations.testing.Mix`, is built to
# punish such mistakes: its kernel fills every buffer it may overwrite with
# NaN before reading its other arguments.  `mix_dags()` draws random
# programs of it; the library's tests of the inplace pass use them.

# %% [markdown]
# ## 4. Results against NumPy
#
# `assert_allclose_to_numpy(f, *args)` evaluates the SymPy outputs of a
# compiled function with plain NumPy (`computations.testing.evaluate`:
# products with `@`, explicit inverses) and compares with `f(*args)`, in
# the Frobenius norm, to `rtol=1e-8` for float64 and `1e-4` for float32 (the
# program runs in float32 when every matrix argument is float32; the results
# must keep that dtype).  The Kalman filter of notebook 02:

# %%
import sympy
from sympy import MatrixSymbol, Q

n, k = sympy.symbols('n k', integer=True, positive=True)
mu, data = MatrixSymbol('mu', n, 1), MatrixSymbol('data', k, 1)
Sigma, H, R = MatrixSymbol('Sigma', n, n), MatrixSymbol('H', k, n), MatrixSymbol('R', k, k)
newmu = mu + Sigma*H.T*(R + H*Sigma*H.T).I*(H*mu - data)
newSigma = Sigma - Sigma*H.T*(R + H*Sigma*H.T).I*H*Sigma
f = computations.function([mu, Sigma, H, R, data], [newmu, newSigma],
                          [Q.positive_definite(Sigma), Q.positive_definite(R)])

from computations.testing import random_matrix

rng = np.random.default_rng(0)
args = [rng.standard_normal((6, 1)), random_matrix('spd', (6, 6), rng),
        rng.standard_normal((3, 6)), random_matrix('spd', (3, 3), rng),
        rng.standard_normal((3, 1))]
assert_allclose_to_numpy(f, *args)
assert_allclose_to_numpy(f, *[a.astype(np.float32) for a in args])
print('the compiled Kalman filter agrees with NumPy in float64 and float32')

# %% [markdown]
# It tests hand-written code against the mathematics too: give the
# expressions as `inputs=` and `outputs=`.  Of these two NumPy versions, the
# second gets the sign of the innovation `H*mu - data` wrong:

# %%
def kalman_by_hand(mu, Sigma, H, R, data):
    gain = Sigma @ H.T @ np.linalg.inv(R + H @ Sigma @ H.T)
    return mu + gain @ (H @ mu - data), Sigma - gain @ H @ Sigma


def kalman_wrong(mu, Sigma, H, R, data):
    gain = Sigma @ H.T @ np.linalg.inv(R + H @ Sigma @ H.T)
    return mu + gain @ (data - H @ mu), Sigma - gain @ H @ Sigma


spec = dict(inputs=f.inputs, outputs=[newmu, newSigma])
assert_allclose_to_numpy(kalman_by_hand, *args, **spec)
try:
    assert_allclose_to_numpy(kalman_wrong, *args, **spec)
except AssertionError as error:
    print('AssertionError:', str(error).split('\n')[0])

# %% [markdown]
# ## 5. Random matrix problems
#
# `matrix_problems()` draws expressions (products, sums, transposes, solves
# with SPD, triangular and invertible matrices, the Kalman and least-squares
# motifs...), the assumptions that declare their inputs' properties, and
# data that keeps them (`p.data()`).  The property the library's own tests
# check, in a few lines:

# %%
from computations.testing import matrix_problems

problems = []


@given(matrix_problems(), st.sampled_from([np.float64, np.float32]))
@settings(max_examples=25, deadline=None, database=None)
def test_compiled_functions_agree_with_numpy(p, dtype):
    f = computations.function(p.inputs, p.outputs, p.assumptions)
    values = [v.astype(dtype) if isinstance(v, np.ndarray) else v for v in p.data()]
    assert_allclose_to_numpy(f, *values)
    problems.append(p)


test_compiled_functions_agree_with_numpy()
print(f'{len(problems)} random problems agree with NumPy')

# %% [markdown]
# ## Where next
#
# - `docs/testing.md`, the kit's guide, and the API reference of
#   `computations.testing`;
# - notebook 03 for the inplace pass and `check`'s explanations;
# - the library's own property tests (`tests/test_inplace_properties.py`,
#   `tests/test_function_random.py`) use the same strategies and assertions.
