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
# # Building computations by hand
#
# SymPy represents an expression as a *tree*: every node is an operation
# (`Add`, `Mul`, ...) applied to its children.  Trees cannot say that one
# operation produces *two* results, or that a large intermediate result is
# computed once and read twice.  `computations` represents a program as a
# **bipartite directed acyclic graph** instead: *variables* (ellipses) and
# *operations* (boxes), each operation reading some variables and producing
# others.
#
# This notebook builds such graphs by hand, as in the post *Computations:
# beyond expression trees* that started the project:
#
# 1. opaque operations, `Computation(inputs, outputs)`, and composites made with `+`;
# 2. the seed's `MinMax` example, and an operation class of your own;
# 3. pictures (in Jupyter every computation shows itself), `dot()` and `to_networkx()`;
# 4. BLAS/LAPACK operations (`computations.matrices`), a hand-built Kalman filter,
#    and running it on NumPy arrays with `computations.schedulers.execute`.
#
# Notebook 02 lets the compiler build these graphs from SymPy expressions;
# notebook 03 is about storage (which buffer holds which value).

# %% [markdown]
# ## 1. An operation, and composites
#
# `Computation(inputs, outputs)` is an opaque operation: it reads its inputs
# and produces its outputs, and that is all we know about it.  Variables may
# be any hashable Python value; here, strings.

# %%
from computations import Computation, CompositeComputation, Identity

a = Computation(['w'], ['x'])        # reads w, produces x
b = Computation(['x', 'y'], ['z'])   # reads x and y, produces z
print(a)
print(b)

# %% [markdown]
# Adding computations makes a `CompositeComputation`: the graph of all of
# them, joined by their shared variables.  Its **inputs** are the variables
# no member produces, its **outputs** those no member reads; `toposort()`
# lists the members so that every producer comes before its readers.

# %%
c = a + b
print('inputs:   ', c.inputs)
print('outputs:  ', c.outputs)
print('variables:', c.variables)
print('order:    ', c.toposort())

# %% [markdown]
# `x` is an intermediate: `b` reads it, so it is not an output.  To keep it,
# mark it with `Identity`, which reads a variable and marks it as wanted
# without computing anything:

# %%
(c + Identity('x')).outputs

# %% [markdown]
# A computation is a value, like a number or a SymPy expression: it is
# immutable, hashable and equal to any computation built the same way.
# Composition flattens, so `+` is associative and commutative.

# %%
print(a + b == b + a)
print((a + b) + Computation(['z'], ['u']) == a + (b + Computation(['z'], ['u'])))
print(len({a + b, b + a}))                # one value, so one element of the set
try:
    c.inputs = ('v',)
except AttributeError as error:
    print('AttributeError:', error)

# %% [markdown]
# Nothing is checked lazily: a composite is indexed when it is made, and a
# cycle or a variable produced twice is an error that names the culprits.

# %%
from computations import ConflictingProducersError, CycleError

for attempt in (lambda: Computation(['x'], ['y']) + Computation(['y'], ['x']),
                lambda: Computation(['x'], ['y']) + Computation(['z'], ['y'])):
    try:
        attempt()
    except (CycleError, ConflictingProducersError) as error:
        print(f'{type(error).__name__}: {error}')

# %% [markdown]
# ## 2. The seed's example: `MinMax`
#
# The seed post's operation `MinMax` reads two scalars `x` and `y` and
# produces both `Min(x, y)` and `Max(x, y)` from a single comparison.  Two
# outputs: no expression tree can hold it.  Its variables are SymPy
# expressions, and a variable *is* its mathematical meaning: the output of
# `MinMax(x, y)` is the expression `Min(x, y)`, so any other operation that
# needs `Min(x, y)` reads this very variable.
#
# `computations.examples` defines `MinMax` and the seed's opaque operation
# `A`, which makes `x` from `w`:

# %%
import sympy
from computations.examples import A, MinMax, minmax

w, x, y = sympy.symbols('w x y')
mm = MinMax(x, y)
print(mm.inputs, '->', mm.outputs)

# %% [markdown]
# Together, `A` and `MinMax` make the seed's computation.  In Jupyter a
# computation displays as its picture: variables are ellipses (outputs with
# a double border), operations boxes, edges the flow of data.

# %%
seed = A([w], [x]) + mm
seed

# %%
print(seed)
print('inputs', seed.inputs, 'outputs', seed.outputs)
print(seed == minmax())               # the same computation, from computations.examples

# %% [markdown]
# The composite answers graph questions from an index built once, when it is
# made: who produces a variable, who reads it, which members a member
# depends on.

# %%
print('producer of x: ', seed.producer(x))
print('readers of x:  ', seed.consumers(x))
print('MinMax needs:  ', seed.dependencies(mm))
print('edges:', list(seed.edges()))


# %% [markdown]
# ### An operation of your own
#
# `MinMax` is a dozen lines (see `computations/examples.py`): a subclass of
# `Computation` lists its identity in `__props__` (the constructor's
# arguments, stored once by `_freeze`) and derives `inputs` and `outputs`
# from them.  Equality, hashing, `repr` and pickling come for free.  Here is
# an operation with three outputs, say a routine that computes the sine and
# cosine of an angle together and their ratio on the way:

# %%
class SinCos(Computation):
    __slots__ = ()
    __props__ = ('angle',)

    def __init__(self, angle):
        self._freeze(sympy.sympify(angle))

    @property
    def inputs(self):
        return (self.angle,)

    @property
    def outputs(self):
        return (sympy.sin(self.angle), sympy.cos(self.angle), sympy.tan(self.angle))


theta = sympy.Symbol('theta')
trig = SinCos(theta) + MinMax(sympy.sin(theta), sympy.cos(theta))
print(SinCos(theta) == SinCos(theta), trig.inputs, trig.outputs)
trig

# %% [markdown]
# `tan(theta)` is an output (nobody reads it); `sin(theta)` and
# `cos(theta)` are intermediates: `MinMax` reads them because its inputs
# *are* those expressions.
#
# ## 3. Pictures and graphs for other tools
#
# Jupyter shows a computation through its `_repr_mimebundle_` (SVG, and the
# text above as a fallback).  `dot()` gives the `graphviz.Digraph` itself,
# to restyle or render elsewhere (a notebook cell that ends with it shows
# the picture too); `write(path)` renders SVG, PNG or PDF, from the suffix,
# with graphviz's `dot` program.

# %%
drawing = seed.dot(rankdir='LR')
print(drawing.source)

# %%
import pathlib
import tempfile

with tempfile.TemporaryDirectory() as tmp:
    path = seed.write(pathlib.Path(tmp) / 'seed.png')
    print(path.name, path.read_bytes()[:4])

# %% [markdown]
# `to_networkx()` gives the bipartite graph to `networkx`, for any graph
# question the library does not answer itself.  Nodes are the variables
# and the operations; each carries `kind`, `label`, and for variables a
# `role` (input, output or intermediate).

# %%
import networkx as nx

g = seed.to_networkx()
for node, attributes in g.nodes(data=True):
    print(attributes)
print('is a DAG:', nx.is_directed_acyclic_graph(g))
print('Max(x, y) depends on:', sorted(g.nodes[v]['label'] for v in nx.ancestors(g, sympy.Max(x, y))))

# %% [markdown]
# ## 4. Matrix operations, built by hand
#
# `computations.matrices` has one operation class per BLAS/LAPACK routine,
# named after it: `GEMM`, `SYMM`, `SYRK`, `GEMV`, `AXPY`, `SCAL`, `COPY`,
# `TRMM`, `TRSM`, `POTRF`, `POTRS`, `POSV`, `GETRF`, `GETRS`, `GESV`,
# `TRTRS`.  Their arguments and outputs are SymPy matrix expressions, and
# each declares as data what the routine needs and does:
#
# - `inplace`: `{output index: input index}`, the input whose memory the routine
#   overwrites with that output (notebook 03 is about this);
# - `condition`: what must hold for the routine to compute its outputs;
# - `flops`: its floating-point operation count, in the shapes.

# %%
from sympy import MatrixSymbol
from computations.matrices import GEMM, POSV, POTRF, POTRS

n, m, p = sympy.symbols('n m p', integer=True, positive=True)
X, Y, Z = MatrixSymbol('X', n, m), MatrixSymbol('Y', m, p), MatrixSymbol('Z', n, p)
S, b = MatrixSymbol('S', n, n), MatrixSymbol('b', n, 1)

for op in (GEMM(2, X, Y, 3, Z), GEMM(1, X, X, trans_b=True), POSV(S, b)):
    print(op)
    print(f'    routine {op.library}.{op.routine}, inplace {op.inplace}, '
          f'condition {op.condition}, flops {op.flops}')

# %% [markdown]
# `POSV` solves `S*x = b` for a symmetric positive definite `S` and also
# returns the Cholesky factor `LofCholesky(S)`, which later solves can
# reuse.  `POTRF` then `POTRS` do the same in two steps; the factor is a
# variable like any other:

# %%
A3, B3 = MatrixSymbol('A', 3, 3), MatrixSymbol('B', 3, 1)
solve = POTRF(A3) + POTRS(A3, B3)
print(solve)
solve

# %% [markdown]
# ### Running a hand-built program
#
# `computations.schedulers.execute(computation, {variable: array})` runs a composite on
# `scipy.linalg.blas`/`lapack` and returns `{output: array}`.  It never
# modifies the caller's arrays, and a routine's failure names the
# expression (here, a matrix that is not positive definite):

# %%
import numpy as np
from computations.schedulers import execute

out = execute(solve, {A3: 2 * np.eye(3), B3: [1., 2., 3.]})
print(out[A3.I * B3].ravel())
try:
    execute(solve, {A3: -np.eye(3), B3: [1., 2., 3.]})
except np.linalg.LinAlgError as error:
    print(f'{type(error).__name__}: {error}')

# %% [markdown]
# ### The seed's Kalman filter, by hand
#
# The Kalman filter updates a normal belief $(\mu, \Sigma)$ about a state
# of size $n$ with an observation `data` of $H x$ (size $k$) with noise
# covariance $R$:
#
# $$\mu' = \mu + \Sigma H^T (R + H \Sigma H^T)^{-1} (H\mu - \mathrm{data}), \qquad
# \Sigma' = \Sigma - \Sigma H^T (R + H \Sigma H^T)^{-1} H \Sigma.$$
#
# `computations.matrices.examples.kalman_program()` builds it by hand from
# SYMM, GEMM, GEMV, POSV and POTRS, factoring $S = H \Sigma H^T + R$ once
# (POSV, which also solves for the mean) and reusing the factor for the
# covariance (POTRS).  The sizes stay symbolic.

# %%
from computations.matrices.examples import kalman, kalman_numpy, kalman_program

program = kalman_program()
print(program)

# %%
program

# %% [markdown]
# The outputs of the program are exactly SymPy's expressions of the filter
# (`kalman()` returns those, with the inputs and the assumptions), so we
# can ask the graph questions in the mathematics' own terms.  Which
# operations does the new mean need?  Which could run at the same time?

# %%
(mu, Sigma, H, R, data), (newmu, newSigma), assumptions = kalman()
print(program.outputs == (newmu, newSigma))

g = program.to_networkx()
needed = nx.ancestors(g, newmu)
print('newmu needs:', [g.nodes[op]['label'] for op in program.toposort() if op in needed])
print('newmu does not need:',
      [g.nodes[op]['label'] for op in program.toposort() if op not in needed])
print('stages of independent operations:')
for stage in nx.topological_generations(g):
    ops = [g.nodes[node]['label'] for node in stage if g.nodes[node]['kind'] == 'operation']
    if ops:
        print('   ', ops)

# %% [markdown]
# Now run it on random, well-conditioned data ($\Sigma$ and $R$ symmetric
# positive definite), at $n = 1000$, $k = 500$, and compare with the same
# update written in NumPy with `np.linalg.solve` (`kalman_numpy`).  The
# symbolic sizes are bound from the arrays' shapes.

# %%
rng = np.random.default_rng(0)
N, K = 1000, 500

def spd(size):
    M = rng.standard_normal((size, size))
    return M @ M.T / size + np.eye(size)

values = {mu: rng.standard_normal((N, 1)), Sigma: spd(N), H: rng.standard_normal((K, N)),
          R: spd(K), data: rng.standard_normal((K, 1))}
out = execute(program, values)
expected = kalman_numpy(values[mu], values[Sigma], values[H], values[R], values[data])
for name, var, reference in zip(['newmu', 'newSigma'], (newmu, newSigma), expected):
    error = np.linalg.norm(out[var] - reference) / np.linalg.norm(reference)
    print(f'{name}: shape {out[var].shape}, relative error {error:.1e}')

# %% [markdown]
# Building programs by hand is how the library is tested and how new
# operations are tried out; for everyday work, notebook 02 lets the
# compiler choose the operations from SymPy expressions and their
# properties (it finds a cheaper program than this one).
