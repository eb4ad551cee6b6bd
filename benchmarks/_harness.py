"""What the benchmark scripts share: the Kalman filter's data, a hand-written
scipy program for it, result checks and alternating timing.

It also holds the seed notebook's pure-Python Cholesky backward pass, which
the gradient benchmark times and tests/test_gradients.py takes as its
reference.

The scripts run as ``python benchmarks/bench_NAME.py``, so this directory is
on ``sys.path`` and they import it as ``_harness``; a test can do the same
after putting ``benchmarks/`` on ``sys.path``.
"""
import argparse
import datetime
import math
import pathlib
import resource
import statistics
import time

import numpy as np
from scipy.linalg import blas, lapack

# the mirror of a triangle the hand-written programs use too (applications/_base.py)
from computations.schedulers.calls import symmetrize

__all__ = ['data', 'kalman_scipy', 'relative_error', 'check', 'round_robin', 'medians',
           'smith_loop', 'loglog_slope', 'seconds_text', 'save_figure', 'faults_per_call']


def data(n, k, seed=0):
    """Inputs ``mu, Sigma, H, R, data`` of the Kalman filter, Fortran-ordered float64.

    ``Sigma`` (n x n) and ``R`` (k x k) are symmetric positive definite with
    eigenvalues at least 1 and condition numbers near 5; ``H`` (k x n) has
    entries of variance ``1/n``, so ``H*Sigma*H.T`` is of order 1 too.
    """
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, n)), rng.standard_normal((k, k))
    return [np.asfortranarray(a) for a in (
        rng.standard_normal((n, 1)), x @ x.T / n + np.eye(n),
        rng.standard_normal((k, n)) / np.sqrt(n), y @ y.T / k + np.eye(k),
        rng.standard_normal((k, 1)))]


def kalman_scipy(mu, Sigma, H, R, data):
    """The Kalman update written by hand on scipy's BLAS/LAPACK wrappers.

    Returns ``(newmu, newSigma)`` with ``newmu`` of shape ``(n, 1)``, as
    :func:`computations.matrices.examples.kalman.kalman_numpy` does.  The
    program, as an expert would write it (``Sigma`` and ``S = H*Sigma*H.T + R``
    symmetric positive definite; ``S = L*L.T``)::

        X        = H*Sigma                 dsymm  (side=1: Sigma on the right)
        S        = X*H.T + R               dgemm  (trans_b, into a copy of R)
        r        = H*mu - data             dgemv  (into a copy of data)
        L        = chol(S)                 dpotrf (overwriting S)
        W, v     = L.I*X, L.I*r            dtrsm  (two triangular solves, in place:
                                                   cheaper than one on [r | X] at small
                                                   sizes, which would copy X)
        newmu    = mu + W.T*v              dgemv  (trans, into a copy of mu)
        newSigma = Sigma - W.T*W           dsyrk  (trans, into a copy of Sigma,
                                                   then mirrored)

    ``X.T*S.I = W.T*L.I`` and ``X.T*S.I*X = W.T*W`` because ``Sigma`` is
    symmetric: the covariance is one SYRK (n²k FLOPs) where solving with S and
    multiplying back is a GEMM (2n²k).  Every overwrite flag points at an
    array this function allocated; the caller's arrays are never modified.
    Raises ``numpy.linalg.LinAlgError`` when ``S`` is not positive definite.

    (Before 2026-12-07 this peer solved ``[r | X]`` with POSV and formed the
    covariance with a GEMM, 24 GFLOP at n = 2000, k = 1000 against 18: a review
    found it flattered the compiled program, whose routines are these.)

    >>> mu, Sigma, H, R, d = data(6, 3)
    >>> from computations.matrices.examples.kalman import kalman_numpy
    >>> all(relative_error(got, want) < 1e-12 for got, want in
    ...     zip(kalman_scipy(mu, Sigma, H, R, d), kalman_numpy(mu, Sigma, H, R, d)))
    True
    """
    n = Sigma.shape[0]
    X = blas.dsymm(1.0, Sigma, H, side=1)
    S = blas.dgemm(1.0, X, H, beta=1.0, c=np.array(R, dtype=float, order='F'),
                   trans_b=1, overwrite_c=1)
    r = blas.dgemv(1.0, H, mu[:, 0], beta=-1.0, y=data[:, 0].copy(), overwrite_y=1)
    L, info = lapack.dpotrf(S, lower=1, overwrite_a=1, clean=0)
    if info != 0:
        raise np.linalg.LinAlgError(
            f'dpotrf: H*Sigma*H.T + R is not positive definite (info={info})'
            if info > 0 else f'dpotrf: illegal argument {-info}')
    W = blas.dtrsm(1.0, L, X, lower=1, overwrite_b=1)
    v = blas.dtrsm(1.0, L, r.reshape(-1, 1), lower=1, overwrite_b=1)
    newmu = blas.dgemv(1.0, W, v[:, 0], beta=1.0, y=mu[:, 0].copy(), trans=1, overwrite_y=1)
    newSigma = blas.dsyrk(-1.0, W, beta=1.0, c=np.array(Sigma, dtype=float, order='F'),
                          trans=1, lower=1, overwrite_c=1)
    return newmu.reshape(n, 1), symmetrize(newSigma, 'lower')


def relative_error(got, want):
    """``||got - want|| / ||want||`` (Frobenius norms)."""
    return np.linalg.norm(np.asarray(got) - want) / np.linalg.norm(want)


def check(name, results, expected, tolerance=1e-8):
    """Raise ``AssertionError`` unless every result is within ``tolerance``
    (relative) of the expected array of the same shape."""
    results = tuple(results)
    assert len(results) == len(expected), f'{name}: {len(results)} results'
    for i, (got, want) in enumerate(zip(results, expected)):
        got = np.asarray(got)
        assert got.shape == want.shape, f'{name}: output {i} has shape {got.shape}'
        error = relative_error(got, want)
        assert error <= tolerance, f'{name}: output {i} has relative error {error:.2e}'


def shaped(f, got, want, args):
    """``got`` (the results of ``f`` called on ``args``) reshaped as ``want``, after
    checking their shapes: ``want``'s, or 1-D for those the call gives 1-D (a column
    vector computed from a vector given 1-D: ``f.structure.flat``)."""
    flat = f.structure.flat(f.inputs, args)
    for i, (g, w, one) in enumerate(zip(got, want, flat)):
        expected = (w.shape[0],) if one else np.shape(w)
        assert np.shape(g) == expected, f'output {i}: shape {np.shape(g)}, not {expected}'
    return [np.reshape(g, np.shape(w)) for g, w in zip(got, want)]


def looped(call, seconds=0.01):
    """``call`` repeated enough times to last about ``seconds`` (as a function of no
    argument), and that count."""
    start, count = time.perf_counter(), 0
    while time.perf_counter() - start < seconds or count < 1:
        call()
        count += 1

    def run():
        for _ in range(count):
            call()
    return run, count


def per_call(calls, repeat):
    """Seconds a call of each of ``calls`` (name -> function of no argument) takes: a
    sample is a loop of calls lasting about 10 ms (:func:`looped`), the loops alternate
    (:func:`round_robin`, no pause), the median of ``repeat`` samples."""
    loops = {name: looped(call) for name, call in calls.items()}
    times = round_robin({name: run for name, (run, _) in loops.items()}, repeat, pause=0)
    return {name: statistics.median(t) / loops[name][1] for name, t in times.items()}


def table_arguments(doc, argv, quick, note=''):
    """The ``--repeat`` (default 7), ``--quick`` (help: ``quick``) and ``--tree`` options
    of a script whose docstring is ``doc``, parsed from ``argv``; prints the table's first
    line (the time, BLAS on one thread, medians of alternating samples, then ``note``).
    A script taking these options calls :func:`_tree.switch` before its imports, so that
    ``--tree`` is never ignored."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--quick', action='store_true', help=quick)
    parser.add_argument('--tree', help='measure this checkout instead (module _tree: the '
                        'script calls _tree.switch() before its imports)')
    args = parser.parse_args(argv)
    print(f'{datetime.datetime.now():%Y-%m-%d %H:%M}, BLAS on one thread, medians of '
          f'{args.repeat} alternating samples{note}\n')
    return args


def round_robin(contestants, repeat, pause=0.3):
    """Time ``repeat`` calls of each of ``contestants`` (name -> function of no
    argument), alternating between them so that the machine's noise falls on
    all alike (the starting contestant rotates too).  Returns name -> list of
    seconds; each result is dropped before the next call.

    Before each call it sleeps ``pause`` seconds: NumPy and SciPy each load
    their own OpenBLAS, whose threads busy-wait for about 0.1 s after a call
    (``OPENBLAS_THREAD_TIMEOUT``), so on a 2-core machine a call right after
    one on the other library runs up to 20% slower while those threads spin.
    """
    names = list(contestants)
    times = {name: [] for name in names}
    for i in range(repeat):
        for name in names[i % len(names):] + names[:i % len(names)]:
            time.sleep(pause)
            start = time.perf_counter()
            result = contestants[name]()
            times[name].append(time.perf_counter() - start)
            del result
    return times


def faults_per_call(call, calls=20):
    """The minor page faults of the process per call of ``call`` (a function of no
    argument), over ``calls`` calls, each result dropped before the next: the fresh pages
    the call touches, each one a trap into the kernel (2-3 us apiece on this virtual
    machine).  How many depends on the allocator's state as well as on the call: glibc
    returns freed memory at the top of its heap to the system once more than its trim
    threshold is free, and the threshold rises after the first large block is freed.

    >>> faults_per_call(lambda: None, calls=3) >= 0
    True
    """
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        result = call()
        del result
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def loglog_slope(points):
    """The slope of log(y) against log(x) over ``points`` (``(x, y)`` pairs, both positive):
    how a cost grows; None with fewer than two points.

    >>> round(loglog_slope([(2, 8.0), (4, 64.0), (8, 512.0)]), 6)
    3.0
    """
    points = [(math.log(x), math.log(y)) for x, y in points]
    if len(points) < 2:
        return None
    x, y = zip(*points)
    return float(np.polyfit(x, y, 1)[0])


def seconds_text(seconds, ms_digits=1):
    """``seconds`` as a table shows it: milliseconds below one second, 'skipped' for None.

    >>> seconds_text(0.01234), seconds_text(2.5), seconds_text(None)
    ('12.3 ms', '2.50 s', 'skipped')
    """
    if seconds is None:
        return 'skipped'
    return f'{seconds * 1e3:.{ms_digits}f} ms' if seconds < 1 else f'{seconds:.2f} s'


def save_figure(fig, axes, path):
    """Grid and legend on each of ``axes``, then ``fig`` laid out and saved to ``path``."""
    for axis in axes:
        axis.grid(True, which='both', alpha=0.3)
        axis.legend(fontsize=8)
    fig.tight_layout()
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)   # --out may name a new dir
    fig.savefig(path, dpi=110)


def medians(times):
    """name -> median of its list of seconds."""
    return {name: statistics.median(values) for name, values in times.items()}


def smith_loop(df_dL, L):
    """The pure-Python Cholesky backward pass of the seed notebook (Smith 1995), in Python 3.

    ``df_dL`` is the adjoint of the factor ``L``; the result is the gradient
    with respect to the lower triangle of ``K = L*L.T`` as independent
    entries (lower triangular).
    """
    df_dK = np.tril(df_dL).copy()
    n = L.shape[0]
    for k in range(n - 1, -1, -1):
        for j in range(k + 1, n):
            for i in range(j, n):
                df_dK[i, k] -= df_dK[i, j] * L[j, k]
                df_dK[j, k] -= df_dK[i, j] * L[i, k]
        for j in range(k + 1, n):
            df_dK[j, k] /= L[k, k]
            df_dK[k, k] -= L[j, k] * df_dK[j, k]
        df_dK[k, k] /= (2 * L[k, k])
    return df_dK
