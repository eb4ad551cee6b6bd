"""A design probe, not a benchmark of the library: the Kalman update written by hand on a
batch-last layout, against stacked NumPy and the compiled batch.

Written when the compiled batch ran only batch-first (``(batch, rows, columns)`` stacks,
one NumPy call per operation; NumPy's stacked ``matmul`` calls BLAS once per problem), at
1.1-1.6x stacked NumPy for n = 6, short of issue 22's 2x.  It tested the alternative:
values of shape ``(rows, columns, batch)``, where a product with a shared matrix is one
GEMM for the whole batch and every step of a small Cholesky factorization or
substitution is one vector operation over the batch.  It ran 2.45x faster than stacked
NumPy (2026-12-05), and the library now has that layout
(``computations/schedulers/batch_last.py``); the script stays as the hand-written
reference the compiled batch is compared with.

Run: ``.venv/bin/python benchmarks/probe_batch_last.py``.
"""
import statistics

import numpy as np
from threadpoolctl import threadpool_limits

from _harness import round_robin
from bench_batches import numpy_stacked, stacks

import computations
from computations.matrices.examples.kalman import kalman


def batch_last(mu, Sigma, H, R, data):
    """The update of ``stacks(count, n, k)`` on ``(rows, columns, batch)`` arrays."""
    B, n, _ = Sigma.shape
    k = H.shape[0]
    Sg = np.ascontiguousarray(Sigma.reshape(B, n * n).T).reshape(n, n, B)
    m = np.ascontiguousarray(mu[:, :, 0].T)              # (n, B)
    d = data[:, :, 0].T                                   # (k, B)
    r = H @ m - d                                         # (k, B)
    X = (H @ Sg.reshape(n, n * B)).reshape(k, n, B)       # H*Sigma
    Xj = np.ascontiguousarray(X.transpose(1, 0, 2))       # (n, k, B)
    S = (H @ Xj.reshape(n, k * B)).reshape(k, k, B) + R[:, :, None]   # (H Sigma H^T)^T + R
    L = np.zeros((k, k, B))
    for j in range(k):
        s = S[j, j] - (L[j, :j] ** 2).sum(0) if j else S[j, j]
        L[j, j] = np.sqrt(s)
        for i in range(j + 1, k):
            t = S[i, j] - (L[i, :j] * L[j, :j]).sum(0) if j else S[i, j]
            L[i, j] = t / L[j, j]
    # y = S^-1 r: forward then back
    z = np.empty((k, B))
    for i in range(k):
        z[i] = (r[i] - (L[i, :i] * z[:i]).sum(0)) / L[i, i] if i else r[i] / L[i, i]
    y = np.empty((k, B))
    for i in reversed(range(k)):
        y[i] = (z[i] - (L[i + 1:, i] * y[i + 1:]).sum(0)) / L[i, i] if i < k - 1 else z[i] / L[i, i]
    newmu = m + (X * y[:, None, :]).sum(0)                # (n, B)
    Z = np.empty((k, n, B))
    for i in range(k):
        acc = X[i].copy()
        for l in range(i):
            acc -= L[i, l] * Z[l]
        Z[i] = acc / L[i, i]
    newS = Sg.copy()
    for i in range(k):
        newS -= Z[i][:, None, :] * Z[i][None, :, :]
    return newmu.T[:, :, None], np.ascontiguousarray(newS.reshape(n * n, B).T).reshape(B, n, n)

def chunked(ins, size):
    mu, Sigma, H, R, data = ins
    parts = [batch_last(mu[i:i + size], Sigma[i:i + size], H, R, data[i:i + size])
             for i in range(0, len(mu), size)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


inputs, outputs, assumptions = kalman()
f = computations.function(inputs, outputs, assumptions)
with threadpool_limits(1):
    for count in (1000, 10000):
        ins = stacks(count, 6, 3)
        a, b = batch_last(*ins), numpy_stacked(*ins)
        assert np.allclose(a[0], b[0]) and np.allclose(a[1], b[1])
        assert np.allclose(f(*ins)[1], b[1])
        contestants = {'batch-last': lambda: batch_last(*ins),
                       'batch-last, chunks of 1000': lambda: chunked(ins, 1000),
                       'compiled': lambda: f(*ins), 'numpy stacked': lambda: numpy_stacked(*ins)}
        times = round_robin(contestants, 9, pause=0.02)
        found = {name: statistics.median(t) for name, t in times.items()}
        for name, t in found.items():
            print(f'{count} targets: {name} {t * 1e3:.2f} ms, stacked NumPy / this '
                  f'{found["numpy stacked"] / t:.2f}x')
