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
# # The Kalman filter: from SymPy to BLAS/LAPACK
#
# You write the mathematics with SymPy, state what you know about the
# matrices, and `computations.function` compiles it into a short program
# of BLAS/LAPACK calls, chosen from the properties it infers and the FLOPs
# each alternative costs.  This notebook follows the Kalman filter through
# every stage:
#
# 1. the expressions and the assumptions;
# 2. the compiled `Function` and the program it chose (`pseudocode`, `computation`,
#    `program`, `source`), with pictures;
# 3. a check against NumPy, a timing against `sympy.lambdify`, a per-call profile,
#    and the memory the program needs.

# %% [markdown]
# ## 1. The mathematics
#
# The update of a normal belief $(\mu, \Sigma)$ about a state of size $n$
# by an observation `data` of $H x$ (size $k$) with noise covariance $R$:
#
# $$\mu' = \mu + \Sigma H^T (R + H \Sigma H^T)^{-1} (H\mu - \mathrm{data}), \qquad
# \Sigma' = \Sigma - \Sigma H^T (R + H \Sigma H^T)^{-1} H \Sigma.$$
#
# The sizes stay symbolic; the covariances are positive definite, which we
# tell the compiler with `Q.positive_definite`.

# %%
import numpy as np
import sympy
from sympy import MatrixSymbol, Q, Symbol

import computations

n, k = Symbol('n', integer=True, positive=True), Symbol('k', integer=True, positive=True)
mu, Sigma = MatrixSymbol('mu', n, 1), MatrixSymbol('Sigma', n, n)
H, R, data = MatrixSymbol('H', k, n), MatrixSymbol('R', k, k), MatrixSymbol('data', k, 1)

newmu = mu + Sigma*H.T*(R + H*Sigma*H.T).I*(H*mu - data)
newSigma = Sigma - Sigma*H.T*(R + H*Sigma*H.T).I*H*Sigma
assumptions = [Q.positive_definite(Sigma), Q.positive_definite(R)]
newSigma

# %% [markdown]
# (`computations.matrices.examples.kalman()` returns these same inputs,
# outputs and assumptions, plus `Q.fullrank(H)`.)
#
# The program the compiler wants solves with $S = R + H \Sigma H^T$ by
# Cholesky, which needs $S$ positive definite.  SymPy's own `ask` cannot
# tell; the compiler's property inference (`Properties`, rule by rule:
# $H \Sigma H^T$ is a congruence of a positive definite matrix, plus a
# positive definite $R$) can:

# %%
from computations.matrices import Properties

S = R + H*Sigma*H.T
print('sympy.ask:  ', sympy.ask(Q.positive_definite(S), sympy.And(*assumptions)))
print('Properties: ', Properties(assumptions).ask('positive_definite', S))

# %% [markdown]
# ## 2. Compiling
#
# `computations.function(inputs, outputs, assumptions)` compiles the outputs
# into a `Function`.  The program depends on the sizes (the cheapest order
# of a product does), so it is chosen per shape signature, when first
# called, and cached; `sizes` says which sizes to show the program for
# before any call.  We will run at $n = 1000$, $k = 500$.  Displayed in
# Jupyter, a `Function` shows the program it chose; the sections below take
# that program apart.

# %%
N, K = 1000, 500
f = computations.function([mu, Sigma, H, R, data], [newmu, newSigma], assumptions,
                          names=['newmu', 'newSigma'], sizes={'n': N, 'k': K})
f

# %% [markdown]
# ### The program, as pseudocode
#
# One line per BLAS/LAPACK call, in execution order, with the routine in
# brackets (`t'` is a transpose, `chol(t)` a Cholesky factor):

# %%
print(f.pseudocode())

# %% [markdown]
# Read it line by line against the formula:
#
# - `H*Sigma` is computed once (SYMM: `Sigma` is symmetric) and serves both
#   products that read it through BLAS's transpose flags, since
#   $\Sigma H^T = (H\Sigma)^T$;
# - `R` is added inside GEMM's `beta*C`;
# - $S$ is positive definite, so POTRF factors it by Cholesky, $S = L L^T$, once
#   for both outputs;
# - $\Sigma H^T S^{-1} H \Sigma = W^T W$ with $W = L^{-1} H \Sigma$, so
#   the covariance takes one triangular solve (TRSM) and a symmetric rank-k update
#   (SYRK), at half the FLOPs of the textbook program;
# - the mean's $\Sigma H^T S^{-1} (H\mu - d)$ is $W^T (L^{-1}(H\mu - d))$: the two
#   outputs are planned together, so the mean reads the same $W$ and needs one
#   more triangular solve, with a vector;
# - no inverse is ever formed.
#
# ### The mathematical program: `f.computation`
#
# The same program as a composite of operations (notebook 01), whose
# variables are the mathematical values.  They are spelled in the
# compiler's canonical form (`Sigma.T` is `Sigma`, which is symmetric), and
# an `Identity` marks the two results.

# %%
print(f.computation)

# %%
f.computation

# %%
print(f'{f.flops / 1e9:.2f} GFLOP at n={N}, k={K}')

# %% [markdown]
# ### The token program: `f.program`
#
# BLAS and LAPACK write their results over their inputs (GEMM into `C`,
# POTRF the factor into `A`, TRSM the solution into `B`).  The inplace pass
# (notebook 03) pairs every value with a **token**, the name of the buffer
# that holds it, lets routines overwrite buffers where that is provably
# safe, and copies the caller's arrays (`Copy`) where a routine would
# otherwise destroy them.  Each line reads `tokens = OPERATION(tokens)  #
# the values computed`; in the picture each value carries its token in
# brackets, and overwrites are drawn in red.

# %%
print(f.program)

# %%
f.program

# %% [markdown]
# ### The generated source: `f.source`
#
# What actually runs: Python source with one routine call per line, the
# flags resolved and the typed routines (`dgemm`, `dposv`, ...) bound once.
# `overwrite_*=1` marks an overwrite the inplace pass proved safe, `del`
# frees a buffer after its value's last reader, and the copies of the
# caller's arrays are gone where a routine can read the original and write
# its result elsewhere.

# %%
print(f.source)

# %% [markdown]
# ## 3. Running it
#
# A `Function` takes NumPy arrays in the order of its inputs and returns a
# tuple of arrays.  We make random, well-conditioned data ($\Sigma$ and $R$
# symmetric positive definite), seeded so that the notebook gives the same
# numbers every time, and compare with the same update written in NumPy
# with `np.linalg.solve`.

# %%
rng = np.random.default_rng(0)

def spd(size):
    M = rng.standard_normal((size, size))
    return M @ M.T / size + np.eye(size)

args = (rng.standard_normal((N, 1)), spd(N), rng.standard_normal((K, N)), spd(K),
        rng.standard_normal((K, 1)))
saved = [a.copy() for a in args]

def kalman_numpy(mu, Sigma, H, R, data):
    S = R + H @ Sigma @ H.T
    newmu = mu + Sigma @ H.T @ np.linalg.solve(S, H @ mu - data)
    newSigma = Sigma - Sigma @ H.T @ np.linalg.solve(S, H @ Sigma)
    return newmu, newSigma

results = f(*args)
expected = kalman_numpy(*args)
for name, result, reference in zip(f.names, results, expected):
    error = np.linalg.norm(result - reference) / np.linalg.norm(reference)
    print(f'{name}: shape {result.shape}, relative error {error:.1e}')
print("the caller's arrays are unchanged:",
      all(np.array_equal(a, s) for a, s in zip(args, saved)))

# %% [markdown]
# Bad input fails early, with an error that names the argument or the
# expression: a wrong shape is a `ValueError`, and data that violates an
# assumption (here $\Sigma = -I$, so $S$ is not positive definite) a
# `numpy.linalg.LinAlgError` raised by the routine that finds out.

# %%
bad_shape = (args[0], args[1], args[2], np.eye(K + 1), args[4])
not_spd = (args[0], -np.eye(N), args[2], np.eye(K), args[4])
for bad in (bad_shape, not_spd):
    try:
        f(*bad)
    except (ValueError, np.linalg.LinAlgError) as error:
        print(f'{type(error).__name__}: {error}')

# %% [markdown]
# ### Timing against `sympy.lambdify`
#
# The usual way to run SymPy matrix expressions numerically is
# `sympy.lambdify`, which prints them as NumPy code: the products left to
# right, and an explicit inverse.

# %%
import inspect

lambdified = sympy.lambdify([mu, Sigma, H, R, data], [newmu, newSigma], 'numpy')
print(inspect.getsource(lambdified))

# %% [markdown]
# We time both on the same arrays, as the median of several repetitions,
# and time the compilation too (once per shape signature; `f` has compiled
# already, so we compile a fresh function).

# %%
import statistics
import time
import timeit

start = time.perf_counter()
computations.function([mu, Sigma, H, R, data], [newmu, newSigma], assumptions).specialize(*args)
compile_seconds = time.perf_counter() - start

def median_seconds(call, repeat=7):
    call()                                        # warm up
    return statistics.median(timeit.repeat(call, number=1, repeat=repeat))

compiled = median_seconds(lambda: f(*args))
lambdify = median_seconds(lambda: lambdified(*args))
print(f'compiled   {compiled * 1e3:7.1f} ms per call')
print(f'lambdify   {lambdify * 1e3:7.1f} ms per call')
print(f'compiled / lambdify: {compiled / lambdify:.2f}x the time')
print(f'compiling  {compile_seconds * 1e3:7.1f} ms, once per shape signature')

# %% [markdown]
# ### Where the time goes: `f.profile`
#
# `f.profile(*args)` runs the program once, timing every routine call, and
# compares the achieved GFLOP/s with what this machine reaches on a large
# DGEMM (the usual yardstick).  Small calls (GEMV) run far below it; the
# level-3 calls (SYMM, GEMM, TRSM, SYRK) at half to most of it.  The numbers change from
# run to run, the more so on a busy machine (we profile twice and show the
# second run, after the first has warmed up).

# %%
f.profile(*args)
print(f.profile(*args))

# %% [markdown]
# ### Memory: `f.peak_bytes`
#
# `f.peak_bytes(*arrays or shapes)` predicts, from the shapes alone, the
# most bytes the program holds at once: the buffers it allocates and its
# results.  The order of the calls is chosen to keep that peak low, and a
# result may go into the buffer of a dead value of its shape.  It also
# counts the copies the call makes of inputs that are not Fortran-ordered
# (BLAS's layout): NumPy makes C-ordered arrays, so our `H` is copied (a
# symmetric `Sigma` or `R` is read as its own transpose, without a copy).
#
# Compare the prediction with what `tracemalloc` (to which NumPy reports
# its allocations) measures for one call, and with the lambdified code:

# %%
import tracemalloc

def traced_peak(call):
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

MB = 1e6
fortran = tuple(np.asfortranarray(a) for a in args)
print(f"{'':28} predicted  traced")
for label, arrays in (('compiled, C-ordered arrays', args), ('compiled, Fortran-ordered', fortran)):
    print(f'{label:28} {f.peak_bytes(*arrays) / MB:6.1f} MB {traced_peak(lambda: f(*arrays)) / MB:6.1f} MB')
print(f"{'lambdify':28} {'':9} {traced_peak(lambda: lambdified(*fortran)) / MB:6.1f} MB")
print(f'for scale: Sigma is {args[1].nbytes / MB:.1f} MB, H {args[2].nbytes / MB:.1f} MB')

# %% [markdown]
# The prediction needs no data: shapes will do (and then assume
# Fortran-ordered arrays), for example to see how the memory grows with
# the state.

# %%
for size in (1000, 2000, 4000):
    shapes = [(size, 1), (size, size), (size // 2, size), (size // 2, size // 2),
              (size // 2, 1)]
    print(f'n={size:5}, k={size // 2:5}: {f.peak_bytes(*shapes) / MB:7.1f} MB')

# %% [markdown]
# ## Other problems
#
# `computations.matrices.examples.problems` bundles two more problems
# (the command line, `computations run NAME`, runs them too).
# Generalized least squares, with a positive definite covariance $\Omega$
# and a design matrix $X$ of full column rank, compiles into Cholesky
# solves and a SYRK, never forming $\Omega^{-1}$:

# %%
from computations.matrices.examples.problems import PROBLEMS, random_inputs

gls = PROBLEMS['gls']()
print(gls.description, ':', gls.outputs[0], 'assuming', gls.assumptions)
g = computations.function(gls.inputs, gls.outputs, gls.assumptions, names=gls.names,
                          sizes={'n': 2000, 'p': 500})
print(g.pseudocode())
X, Omega, y = random_inputs(gls, {'n': 2000, 'p': 500})
beta, = g(X, Omega, y)
reference = np.linalg.solve(X.T @ np.linalg.solve(Omega, X), X.T @ np.linalg.solve(Omega, y))
print(f'relative error {np.linalg.norm(beta - reference) / np.linalg.norm(reference):.1e}')
