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
# # Gradients
#
# `computations.grad` differentiates a scalar SymPy expression of matrices
# (a trace, a log-determinant, arithmetic of them) with respect to matrix
# symbols, in reverse mode, and returns the gradients as **SymPy matrix
# expressions**.  So the compiler treats a gradient like any other output:
# `computations.function` compiles a value and its gradient together into
# one BLAS/LAPACK program, and they share its factorizations and products.
#
# 1. `grad` and its convention, on small examples;
# 2. scalar outputs: a compiled function returns traces and log-determinants
#    as Python floats (a `numpy.float32` when every matrix argument is
#    float32);
# 3. a Gaussian process's negative log marginal likelihood and its gradient,
#    checked against NumPy and finite differences, and the chain rule to its
#    kernel's lengthscale;
# 4. the Cholesky factor as a differentiable value, against the seed notebook's
#    pure-Python loop;
# 5. gradients are ordinary expressions: everything else applies.

# %% [markdown]
# ## 1. `grad`
#
# `grad(expr, wrt, assumptions=())` returns, for a scalar `expr` and a
# `MatrixSymbol` `X`, the matrix `G` with
#
# $$df = \mathrm{Trace}(G^T\,dX) = \textstyle\sum_{ij} G_{ij}\,dX_{ij}$$
#
# for every perturbation `dX`: each entry of `X` is its own variable (the
# Matrix Cookbook's convention).  A list of symbols gives a list of
# gradients.

# %%
import numpy as np
import sympy
from sympy import Determinant, MatrixSymbol, Q, Symbol, Trace, log, pi

import computations

n, m = Symbol('n', integer=True, positive=True), Symbol('m', integer=True, positive=True)
A, X, B = MatrixSymbol('A', n, m), MatrixSymbol('X', m, m), MatrixSymbol('B', n, m)
S = MatrixSymbol('S', m, m)

print(computations.grad(Trace(A*X*A.T), X))
print(computations.grad(Trace(A*X*A.T), [X, A]))
print(computations.grad(log(Determinant(S)), S))
print(computations.grad(Determinant(S), S))
print(computations.grad(Trace(S.I), S))
assert computations.grad(Trace(A*X*A.T), [X, A]) == [A.T*A, A*X + A*X.T]

# %% [markdown]
# Scalars are written as traces (a quadratic form $y^T A y$ as
# `Trace(y.T*A*y)`; a 1x1 matrix expression is taken as its trace),
# determinants and their logarithms, and arithmetic and functions of these.
# `frobenius_norm(X)` spells $\sqrt{\mathrm{Trace}(X^T X)}$.  Assumptions
# only tidy the result: for a symmetric `S`, `S.T` is `S`.

# %%
residual = computations.frobenius_norm(A*X - B)
print(computations.grad(residual, X))
print(computations.grad(log(Determinant(S)), S, [Q.positive_definite(S)]))
assert computations.grad(log(Determinant(S)), S, [Q.positive_definite(S)]) == S.I

# %% [markdown]
# The rules, one per kind of node (the full table is in the docstring of
# `computations.matrices.gradients`), each passing the node's adjoint `G`
# to its arguments:
#
# | node | adjoint of the argument |
# |---|---|
# | `Trace(M)` | `G*I` |
# | `log(Determinant(M))` | `G*M.-T` |
# | `c*A*B*C` | `c*A.T*G*C.T` for `B` |
# | `A.I` | `-A.-T*G*A.-T` |
# | `LofCholesky(K)` | `L.-T*SymmetricLower(L.T*G)*L.-1/2` (section 4) |
# | scalar functions | the chain rule |
#
# ## 2. Scalar outputs
#
# `computations.function` accepts scalar outputs, which come back as Python
# floats (a `numpy.float32` when every matrix argument is float32).  The
# Frobenius norm of a residual and its gradient, compiled together: the
# residual `t1` is computed once, its squared norm by an inner product
# (INNER), and the arithmetic on scalars by a `SCALAR` step.  We check both
# against NumPy.

# %%
lsq = computations.function([A, X, B], [residual, computations.grad(residual, X)],
                            names=['norm', 'gradient'])
print(lsq.pseudocode())

rng = np.random.default_rng(0)
a, x, b = rng.standard_normal((50, 5)), rng.standard_normal((5, 5)), rng.standard_normal((50, 5))
norm, gradient = lsq(a, x, b)
r = a @ x - b
print(type(norm).__name__, norm)
assert isinstance(norm, float) and np.isclose(norm, np.linalg.norm(r))
assert np.allclose(gradient, a.T @ r / np.linalg.norm(r))

# %% [markdown]
# ## 3. A Gaussian process: the likelihood and its gradient
#
# Gaussian-process regression models observations $y$ (at inputs $x$) as
# one draw of a normal vector with covariance $K$, the kernel matrix.  The
# hyperparameters of the kernel are fitted by minimizing the **negative log
# marginal likelihood**
#
# $$\mathrm{NLML}(K) = \tfrac12\, y^T K^{-1} y + \tfrac12 \log\det K + \tfrac n2 \log 2\pi,$$
#
# which needs its gradient.  With respect to $K$, `grad` finds the textbook
# $\tfrac12 K^{-1} - \tfrac12 K^{-1} y y^T K^{-1}$:

# %%
K, y = MatrixSymbol('K', n, n), MatrixSymbol('y', n, 1)
nlml = Trace(y.T*K.I*y)/2 + log(Determinant(K))/2 + n*log(2*pi)/2
gK = computations.grad(nlml, K, [Q.positive_definite(K)])
gK

# %% [markdown]
# We compile the likelihood and its gradient into one function, at the
# size we will run, $n = 200$:

# %%
N = 200
gp = computations.function([K, y], [nlml, gK], [Q.positive_definite(K)],
                           names=['nlml', 'gradient'], sizes={'n': N})
print(gp)

# %% [markdown]
# The program factors $K$ **once** (by Cholesky, since it is positive
# definite), and everything else comes from that factor: the solve
# $K^{-1}y$, the inverse the gradient needs, and the log-determinant, which
# `CHOLESKY_DETERMINANT` reads off the factor's diagonal
# ($\log\det K = 2\sum_i \log L_{ii}$).  The quadratic form and the constant
# are scalars, combined by the last step.  Drawn:

# %%
gp

# %% [markdown]
# Let us check that claim on the program compiled for real arrays: one
# operation produces the factor `LofCholesky(K)`, and no other factors $K$.
#
# The data: 200 noisy observations of a sine at sorted random points of
# $[0, 10]$, and a squared-exponential kernel with lengthscale $\ell$ plus
# noise on the diagonal,
# $K_{ij} = \exp\!\big(-(x_i - x_j)^2 / 2\ell^2\big) + 0.1\,\delta_{ij}$.

# %%
from computations.matrices import LofCholesky

rng = np.random.default_rng(0)
xs = np.sort(rng.uniform(0, 10, N))
ys = (np.sin(xs) + 0.3 * rng.standard_normal(N))[:, None]
squared_distances = (xs[:, None] - xs[None, :])**2
NOISE = 0.1

def kernel(lengthscale):
    return np.exp(-squared_distances / (2 * lengthscale**2)) + NOISE * np.eye(N)

Kv = kernel(1.0)
ops = gp.specialize(Kv, ys).computation.toposort()
factorizations = [op for op in ops if LofCholesky(K) in op.outputs]
print('produce LofCholesky(K):', factorizations)
print('all operations:        ', [type(op).__name__ for op in ops])
routines = [type(op).__name__ for op in ops]
assert len(factorizations) == 1 and not {'POTRF', 'GETRF', 'GESV'} & set(routines)
assert 'CHOLESKY_DETERMINANT' in routines

# %% [markdown]
# ### Against NumPy
#
# The value comes back as a float, the gradient as an array.  The NumPy a
# user would write forms the inverse and calls `slogdet`, which factors $K$
# a second time:

# %%
value, G = gp(Kv, ys)

Kinv = np.linalg.inv(Kv)
alpha = Kinv @ ys
reference = 0.5 * (ys.T @ alpha).item() + 0.5 * np.linalg.slogdet(Kv)[1] + 0.5 * N * np.log(2 * np.pi)
reference_gradient = 0.5 * (Kinv - alpha @ alpha.T)
print(f'NLML {value!r} ({type(value).__name__}), NumPy {float(reference)!r}')
print(f'gradient {G.shape}, relative error '
      f'{np.abs(G - reference_gradient).max() / np.abs(reference_gradient).max():.1e}')
assert isinstance(value, float) and np.isclose(value, reference, rtol=1e-12)
assert np.allclose(G, reference_gradient, rtol=1e-10, atol=1e-12)

# %% [markdown]
# ### Against finite differences
#
# By the convention, the derivative of the NLML along a direction $D$ is
# $\sum_{ij} G_{ij} D_{ij}$.  $K$ is symmetric (it is assumed positive
# definite), so we perturb it along a random *symmetric* direction, of unit
# Frobenius norm, and compare with a central difference of the compiled
# function itself:

# %%
D = rng.standard_normal((N, N))
D = (D + D.T) / np.linalg.norm(D + D.T)
h = 1e-5
central = (gp(Kv + h * D, ys)[0] - gp(Kv - h * D, ys)[0]) / (2 * h)
directional = np.sum(G * D)
print(f'sum(G*D) = {directional:.10f}, central difference = {central:.10f}')
assert np.isclose(directional, central, rtol=1e-6)


# %% [markdown]
# ### The chain rule, to the lengthscale
#
# The kernel's hyperparameters reach the likelihood through $K$ only, so
# their gradients follow from $G$ by the chain rule, entry by entry:
#
# $$\frac{d\,\mathrm{NLML}}{d\ell} = \sum_{ij} G_{ij}\,\frac{\partial K_{ij}}{\partial \ell},
# \qquad \frac{\partial K_{ij}}{\partial \ell} = \exp\!\Big(-\frac{(x_i - x_j)^2}{2\ell^2}\Big)\,\frac{(x_i - x_j)^2}{\ell^3}.$$
#
# The derivative of the kernel is NumPy; the expensive part, $G$, is the
# compiled program.  Against a central difference in $\ell$:

# %%
def kernel_derivative(lengthscale):
    return np.exp(-squared_distances / (2 * lengthscale**2)) * squared_distances / lengthscale**3

def nlml_and_slope(lengthscale):
    value, G = gp(kernel(lengthscale), ys)
    return value, np.sum(G * kernel_derivative(lengthscale))

ell0, h = 0.6, 1e-6
value0, slope0 = nlml_and_slope(ell0)
central = (gp(kernel(ell0 + h), ys)[0] - gp(kernel(ell0 - h), ys)[0]) / (2 * h)
print(f'dNLML/dlengthscale at {ell0}: chain rule {slope0:.8f}, central difference {central:.8f}')
assert np.isclose(slope0, central, rtol=1e-6)

# %% [markdown]
# With the value and the slope, an optimizer fits the lengthscale
# (`scipy.optimize.minimize` with `jac=True` takes both from one call):

# %%
from scipy.optimize import minimize

fit = minimize(lambda p: nlml_and_slope(p[0]), x0=[ell0], jac=True,
               method='L-BFGS-B', bounds=[(0.1, 5.0)])
best = fit.x[0]
print(f'lengthscale {best:.4f}, NLML {fit.fun:.4f}, slope there {fit.jac[0]:.1e}, '
      f'{fit.nfev} evaluations')
assert fit.success and abs(fit.jac[0]) < 1e-3

# %% [markdown]
# The likelihood along the lengthscale, with the tangent the gradient gives
# at $\ell = 0.6$ and the fitted minimum:

# %%
import matplotlib.pyplot as plt

grid = np.linspace(0.3, 2.5, 60)
values = [gp(kernel(ell), ys)[0] for ell in grid]
assert min(values) >= fit.fun - 1e-9          # the fit is at least as good as the grid

fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.plot(grid, values, label='NLML (compiled)')
near = np.linspace(ell0 - 0.2, ell0 + 0.2, 2)
ax.plot(near, value0 + slope0 * (near - ell0), 'C1--', label=f'tangent at {ell0} (chain rule)')
ax.plot([ell0], [value0], 'C1o')
ax.plot([best], [fit.fun], 'C2s', label=f'minimum, lengthscale {best:.2f}')
ax.set_xlabel('lengthscale')
ax.set_ylabel('negative log marginal likelihood')
ax.legend()
plt.show()

# %% [markdown]
# ## 4. The Cholesky factor as a differentiable value
#
# `LofCholesky(K)`, the lower Cholesky factor $L$ of $K = L L^T$, is an
# expression like any other, so it can appear inside the scalar being
# differentiated.  Any scalar function of $L$ looks, to first order, like
# $\mathrm{Trace}(\bar L^T L)$, with $\bar L$ its gradient with respect to
# $L$ (the *adjoint* the rest of a larger computation hands back).  The
# gradient of that with respect to $K$ is the **Cholesky backward pass**:

# %%
from computations.matrices import SymmetricLower

Lbar = MatrixSymbol('Lbar', n, n)
L = LofCholesky(K)
backward = computations.grad(Trace(Lbar.T*L), K, [Q.positive_definite(K)])
print(backward)
assert backward == L.T.I * SymmetricLower(L.T*Lbar) * L.I / 2

# %% [markdown]
# `SymmetricLower(P)` (`sym_lower` when printed) is the symmetric matrix
# with `P`'s lower triangle: the gradient is symmetric, as $K$ is.  The
# compiler computes it with **one** `CHOLESKY_ADJOINT` call after the
# factorization (POTRF), and the value itself by an inner product:

# %%
chol = computations.function([K, Lbar], [Trace(Lbar.T*L), backward], [Q.positive_definite(K)],
                             names=['value', 'gradient'], sizes={'n': N})
print(chol.pseudocode())
chol

# %% [markdown]
# Checked against central differences of NumPy's own Cholesky
# factorization, along a symmetric direction again:

# %%
M = rng.standard_normal((N, N))
Kc = M @ M.T / N + np.eye(N)
Lbar_v = rng.standard_normal((N, N))
value, Gc = chol(Kc, Lbar_v)
Lv = np.linalg.cholesky(Kc)
assert np.isclose(value, np.sum(Lbar_v * Lv))
assert np.array_equal(Gc, Gc.T)

def phi(k):
    return np.sum(Lbar_v * np.linalg.cholesky(k))

h = 1e-6
central = (phi(Kc + h * D) - phi(Kc - h * D)) / (2 * h)
print(f'sum(G*D) = {np.sum(Gc * D):.10f}, central difference = {central:.10f}')
assert np.isclose(np.sum(Gc * D), central, rtol=1e-6)

# %% [markdown]
# ### Against the seed notebook's loop
#
# The notebook that started the project differentiated the Cholesky
# factorization with the loop algorithm of Smith (1995), in pure Python;
# `benchmarks/_harness.py` keeps it as `smith_loop(Lbar, L)`.  It returns
# the gradient with respect to the **lower triangle** of $K$, its entries
# taken as independent: an entry below the diagonal stands for both
# $K_{ij}$ and $K_{ji}$, so it is twice our symmetric `G` there, and equal
# to it on the diagonal.
#
# For a fair race both start from the factor: since the gradient is an
# ordinary expression, replacing `LofCholesky(K)` by a lower triangular
# symbol `Lsym` makes it a function of the factor, compiled to the
# `CHOLESKY_ADJOINT` call alone.  We pass it Fortran-ordered arrays
# (BLAS's layout), so that the call copies nothing.

# %%
import sys
sys.path.insert(0, '../benchmarks')          # notebooks run in notebooks/
from _harness import smith_loop

Lsym = MatrixSymbol('L', n, n)
from_factor = computations.function([Lsym, Lbar], [backward.xreplace({L: Lsym})],
                                    [Q.lower_triangular(Lsym)])
print(from_factor.pseudocode())

Lv, Lbar_v = np.asfortranarray(Lv), np.asfortranarray(Lbar_v)
Gf, = from_factor(Lv, Lbar_v)
loop = smith_loop(Lbar_v, Lv)
print('max difference:', np.abs(loop - (np.tril(2 * Gf) - np.diag(np.diag(Gf)))).max())
assert np.allclose(Gf, Gc, rtol=1e-12, atol=1e-12)
assert np.allclose(loop, np.tril(2 * Gf) - np.diag(np.diag(Gf)), rtol=1e-12, atol=1e-12)

# %% [markdown]
# Timing both at $N = 200$ (the loop once: it takes a while; the compiled
# function as the best of several repetitions):

# %%
import time
import timeit

start = time.perf_counter()
smith_loop(Lbar_v, Lv)
loop_seconds = time.perf_counter() - start
compiled_seconds = min(timeit.repeat(lambda: from_factor(Lv, Lbar_v), number=20, repeat=5)) / 20
print(f'pure-Python loop  {loop_seconds * 1e3:9.2f} ms')
print(f'CHOLESKY_ADJOINT  {compiled_seconds * 1e3:9.2f} ms')
print(f'speed-up          {loop_seconds / compiled_seconds:9.0f}x')

# %% [markdown]
# (`./dev bench gradients` measures this more carefully, and the backward
# pass against the factorization at larger sizes.)
#
# ## 5. Gradients are ordinary expressions
#
# Nothing above needed a special path: a gradient is a SymPy matrix
# expression, so the compiler's property inference, its choice of
# routines, the inplace pass (notebook 03), the generated source, the
# profile and the memory prediction (notebook 02) all apply to it.  The
# GP's token program, for instance: after the copy of the caller's `K`,
# one n-by-n buffer holds the Cholesky factor, then the inverse, then the
# gradient, each routine overwriting the value no longer needed.

# %%
program = gp.specialize(Kv, ys).program
print(program)
tokens = {v.expr: v.token for node in program.toposort() for v in node.outputs}
gradient_token = program.outputs[1].token
print('buffers of the factor, the inverse, the gradient:',
      tokens[LofCholesky(K)], tokens[K.I], gradient_token)
assert tokens[LofCholesky(K)] == tokens[K.I] == gradient_token

# %% [markdown]
# And the source that runs, one routine call per line, every argument by
# position and the flags named in a comment (`overwrite_c=1` marks an
# overwrite the inplace pass proved safe); `del` frees a buffer after its
# last reader, and the arithmetic on scalars is one `scalar(...)` call (the
# SCALAR step of the program above, whose comment shows its expression):

# %%
print(gp.specialize(Kv, ys).source)
