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
# # Blocked programs on Dask
#
# When matrices outgrow one machine's memory or cores, the same program can
# run as operations on **blocks**.  `computations.function(...,
# blocksize=...)` transforms the program (not the SymPy expressions: SymPy's
# `block_collapse` takes seconds on this filter): every GEMM, SYMM, SYRK,
# GEMV becomes block products with accumulation, POTRF the right-looking
# blocked Cholesky, POTRS and TRSM blocked substitution.  The blocked
# program is an ordinary composite you can print, draw and check, and
# `scheduler=` runs it in process, on Dask's threads, or on a cluster.
# Called on dask arrays instead of NumPy arrays, a compiled function
# returns dask arrays, blocked by their chunks and computed only when asked
# (the last section).

# %%
import numpy as np
import computations
from computations.matrices.examples.problems import PROBLEMS, random_inputs

problem = PROBLEMS['kalman']()
f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
g = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                          blocksize={'n': 200, 'k': 100})
args = random_inputs(problem, {'n': 400, 'k': 200})
expected = f(*args)
spec = g.specialize(*args)
print(len(spec.unblocked.computations), 'operations unblocked,',
      len(spec.computation.computations), 'blocked')

# %% [markdown]
# ## The blocked program
#
# Each block is a symbol named after the value it is a block of: `H[0,1]`,
# `t2[0,0]` (a block of `H*Sigma`), `t2[0,0].1` (a partial sum),
# `chol(t3)[1,1].u1` (a trailing block of the Cholesky factorization after
# one update).  `Split` cuts the inputs into blocks, `Assemble` puts the
# outputs together:

# %%
print(*[line for line in str(spec.computation).splitlines()
        if 'POTRF' in line or 'Split' in line or 'chol' in line][:12], sep='\n')

# %% [markdown]
# The blocked Cholesky factorization of the 2x2-block matrix
# `S = H*Sigma*H.T + R`, drawn (only the operations that make the factor):

# %%
from computations import CompositeComputation
factor = CompositeComputation(*[op for op in spec.computation
                                if any('chol' in str(v) for v in op.outputs)])
factor

# %% [markdown]
# ## Running it: in process, on threads, on a cluster
#
# The results are the same whichever way the program runs.  On a
# `distributed.Client`, each block operation is one task, except the terms
# of a block of a product, which are added up in one task, and an operation
# that overwrites a block nothing else reads (a factor's update, the
# factorization after it), which joins the task that made that block.  A
# task looks its routines up by name and never modifies its inputs; the
# inputs' blocks travel inside the graph, so the scheduler can re-create
# them if a worker dies, and each call's keys carry a token of their own, so
# calls can overlap.  `dashboard_address='127.0.0.1:0'` serves the dashboard
# on a free port.

# %%
from distributed import Client, LocalCluster

def error(results):
    return max(float(np.abs(r - e).max() / np.abs(e).max())
               for r, e in zip(results, expected))

print('in process', error(g(*args)))
print('threads   ', error(g(*args, scheduler='threads')))
with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                  dashboard_address='127.0.0.1:0') as cluster, Client(cluster) as client:
    print('cluster   ', error(g(*args, scheduler=client)))

# %% [markdown]
# A block that is not positive definite fails as in process, with the
# error naming the matrix and the block:

# %%
import sympy
from computations.matrices import NotPositiveDefiniteError
S, Y = sympy.MatrixSymbol('S', 6, 6), sympy.MatrixSymbol('Y', 6, 1)
h = computations.function([S, Y], [S.I * Y], [sympy.Q.positive_definite(S)], blocksize=3)
bad = np.eye(6)
bad[4, 4] = -1.0
try:
    h(bad, np.ones(6), scheduler='threads')
except NotPositiveDefiniteError as e:
    print(type(e).__name__, e)

# %% [markdown]
# ## dask.array in, dask.array out
#
# Matrices too large for one process are usually dask arrays already (read
# from zarr or HDF5, or made by another computation).  Call a compiled
# function on dask arrays and it computes nothing: it returns dask arrays
# whose graph is the program blocked by the inputs' **chunks**, one task per
# block operation (grouped as above: a block of a product, its terms added
# up, is one task), each reading only the chunks it needs.  No `blocksize=`
# is needed: `update`, compiled without one, takes its blocks of 100 from
# the chunks.  (`names=` names the results, and so their keys.)

# %%
import dask
import dask.array as da

update = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                               names=problem.names)
mu, Sigma, H, R, data = args
lazy = [da.from_array(a, chunks=100) for a in args]
newmu, newSigma = update(*lazy)                  # nothing is computed here
print(newmu)
print(newSigma)
print('chunks of newSigma:', newSigma.chunks)

# %% [markdown]
# The results' graph is an ordinary dask `HighLevelGraph`: a layer for each
# input, one for the program and one for each result.  Every key is named
# after the value it is a block of (`t2` is `H*Sigma`, `chol_t3` the
# Cholesky factor of `S`), with a token of the call, so the dashboard groups
# the tasks by value and the same call gives the same keys; the partial sums
# of a block and a factor's updates run inside that block's one task and
# have no keys of their own.  The program's layer has one key per task:

# %%
from collections import Counter
from dask.utils import key_split

graph = newSigma.__dask_graph__()
print(type(graph).__name__, [key_split(name) for name in graph.layers])
program = next(layer for name, layer in graph.layers.items()
               if name.startswith('computations-'))
print(len(program), 'tasks:',
      dict(Counter(key_split(key) for key in program).most_common(8)), '...')
print(update(*lazy)[1].name == newSigma.name)

# %% [markdown]
# ### Computing on a cluster
#
# The results are ordinary dask arrays: `.compute()` gathers one to the
# client, `.persist()` computes it and keeps its blocks on the workers, and
# `dask.compute(...)` computes several at once, sharing their common work.
# Here on a `LocalCluster` of two worker processes with one thread each, on
# loopback; `distributed.progress` shows the persisted blocks being made
# (`notebook=False`: a text bar rather than a widget).  The dashboard is at
# `client.dashboard_link` (its plots need `bokeh`, which the `[dask]` extra
# installs).  The results are checked against the update written in
# NumPy (`kalman_numpy`):

# %%
from distributed import progress
from computations.matrices.examples import kalman_numpy

cluster = LocalCluster(n_workers=2, threads_per_worker=1, host='127.0.0.1',
                       dashboard_address='127.0.0.1:0')
client = Client(cluster)
print(client.dashboard_link)
kept = client.persist(newSigma)                  # computed on the workers, kept there
progress(kept, notebook=False)
print()
reference = kalman_numpy(*args)
got = dask.compute(newmu, kept)                  # gathered to the client only now
for name, g, e in zip(problem.names, got, reference):
    print(name, type(g).__name__, g.shape, 'relative error',
          f'{float(np.abs(g - e).max() / np.abs(e).max()):.1e}')

# %% [markdown]
# ### Mixed inputs, and chunks that disagree
#
# NumPy arguments may be mixed in: they are cut into the same blocks as the
# dask ones.  Dask arguments whose chunks disagree along a dimension are
# rechunked to one chunking (the first dask argument's along it), with a
# `RechunkWarning` naming the dimension and the inputs rechunked:

# %%
import warnings
from computations.schedulers.dask_arrays import RechunkWarning

mixed = update(mu, da.from_array(Sigma, chunks=100), H, R, data)   # only Sigma lazy
print('mixed:', [x.chunks for x in mixed])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always', RechunkWarning)
    odd = update(*lazy[:2], da.from_array(H, chunks=(100, 80)), *lazy[3:])
for w in caught:
    print(type(w.message).__name__ + ':', w.message)
print('rechunked:', odd[1].chunks)
print('same results:', all(np.allclose(a, b) for a, b in
                           zip(dask.compute(*mixed, *odd), [*got, *got])))

# %% [markdown]
# ### Chaining: compiled functions and dask.array code
#
# A result can be the argument of another compiled function, and of any
# dask.array code, and nothing is computed in between.  Here a prediction
# step (`F*mu`, `F*Sigma*F.T + W`), compiled separately, takes the update's
# lazy results; a second update takes the prediction's, with new data; and
# dask.array's own `diagonal`, `sqrt` and `max` take the second update's
# covariance.  One `dask.compute` runs the three programs and the
# dask.array code as one graph:

# %%
n = problem.inputs[1].shape[0]
F, W = sympy.MatrixSymbol('F', n, n), sympy.MatrixSymbol('W', n, n)
predict = computations.function(problem.inputs[:2] + (F, W),
                                [F * problem.inputs[0], F * problem.inputs[1] * F.T + W],
                                [sympy.Q.positive_definite(W)],
                                names=['mu_pred', 'Sigma_pred'])
rng = np.random.default_rng(1)
F_, W_ = np.eye(400) + 0.01 * rng.standard_normal((400, 400)), 0.1 * np.eye(400)
data2 = rng.standard_normal(data.shape)

mu_pred, Sigma_pred = predict(newmu, newSigma, da.from_array(F_, chunks=100), W_)
mu2, Sigma2 = update(mu_pred, Sigma_pred, lazy[2], lazy[3], data2)
spread = da.sqrt(da.diagonal(Sigma2)).max()      # dask.array code on a result
print(Sigma2, spread, sep='\n')

got_mu2, got_spread = dask.compute(mu2, spread)
m, S = kalman_numpy(*args)
ref_mu2, ref_Sigma2 = kalman_numpy(F_ @ m, F_ @ S @ F_.T + W_, H, R, data2)
print('mu2 relative error', f'{float(np.abs(got_mu2 - ref_mu2).max() / np.abs(ref_mu2).max()):.1e}')
print('largest standard deviation', f'{float(got_spread):.6f}', 'NumPy',
      f'{np.sqrt(np.diag(ref_Sigma2)).max():.6f}')

# %% [markdown]
# ### Without a cluster
#
# Dask's local schedulers (`'threads'`, `'sync'`) compute the same arrays,
# and `dask.diagnostics.ProgressBar` shows their progress (it does not see
# a `distributed.Client`'s work: use `progress` or the dashboard there):

# %%
from dask.diagnostics import ProgressBar

client.close()
cluster.close()
with ProgressBar(dt=0.05):
    local = newSigma.compute(scheduler='threads')
print(np.allclose(local, got[1]))

# %% [markdown]
# A block that is not positive definite fails when the array is computed,
# with the same named error as in process (on a cluster too, where the
# worker also logs the failure):

# %%
(bad_solution,) = h(da.from_array(bad, chunks=3), da.ones(6, chunks=3))
try:
    bad_solution.compute(scheduler='threads')
except NotPositiveDefiniteError as e:
    print(type(e).__name__, e)

# %% [markdown]
# On this project's 2-core test machine blocking does not make the filter
# faster (OpenBLAS already uses both cores on the unblocked calls); what it
# buys is a bound on each task's working memory.  The figures are in
# `docs/benchmarks.md` (`./dev bench dask`, and `./dev bench dask_arrays`
# for dask arrays against dask.array's own linear algebra); the
# documentation's page "Running on a cluster" (`docs/cluster.md`) says more
# about chunks, deployments and the limits of this path.
