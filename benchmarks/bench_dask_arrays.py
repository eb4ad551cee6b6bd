"""The Kalman update on dask arrays: compiled against dask.array's own linear algebra.

All contestants run on one ``LocalCluster`` (loopback only: worker processes,
one thread each, ``--memory-limit`` each), on the same inputs: dask arrays in
square chunks of ``--chunk``, generated on the workers with ``da.random`` and
persisted there before anything is timed (generation is not timed)::

    mu (n,1), data (k,1), H (k,n): standard normal (H scaled by 1/sqrt(n))
    Sigma (n,n), R (k,k):          W/(2 sqrt(m)) + 2 I, W = (X + X.T)/sqrt(2)

(``W`` is a symmetric Gaussian matrix whose eigenvalues lie in about
``[-2 sqrt(m), 2 sqrt(m)]``, so Sigma and R are SPD with eigenvalues in about
``[1, 3]``: cheaper than ``X X^T/m + I``, which costs a whole product.)

The contestants, each timed from the dask arrays to the results persisted on
the workers (``client.persist`` and ``wait``: the results stay distributed, as
they would for a user who goes on with them; none is gathered to the client):

1. ``compiled``: ``computations.function(*kalman())`` (built once, outside the
   timings) called on the dask arrays, which returns dask arrays lazily (the
   call, i.e. building the graph, is inside the timing);
2. ``dask naive``: the update as a NumPy user writes it::

       S = R + H @ Sigma @ H.T
       newmu    = mu + Sigma @ H.T @ da.linalg.solve(S, H @ mu - data)
       newSigma = Sigma - Sigma @ H.T @ da.linalg.solve(S, H @ Sigma)

   (``da.linalg.solve`` is a blocked LU of S; both calls share it, their
   keys being equal);
3. ``dask careful``: one Cholesky factor and one triangular solve, with the
   symmetry of Sigma used by hand::

       X = H @ Sigma; S = X @ H.T + R; L = da.linalg.cholesky(S, lower=True)
       W = solve_triangular(L, X, lower=True)          # L^-1 H Sigma
       newmu    = mu + W.T @ solve_triangular(L, H @ mu - data, lower=True)
       newSigma = Sigma - W.T @ W

Before timing, at a small size (``n = 3 chunks``), every contestant's results
are checked against NumPy's (``kalman_numpy``, relative error <= 1e-8).
Then, per size, the calls are timed with alternating repetitions
(``_harness.round_robin``; medians; ``paired`` is the median over rounds of
a contestant's time over careful's in the same round, which a drift of this
shared machine moves less).  During each call a background thread
samples, every ``--interval`` seconds, the resident set size (RSS) of each
worker process (``client.run``) and of the client process; the table gives
the median over the repetitions of each process's peak, and, for the client,
the peak growth above its RSS just before the call.  ``total / limit`` is
the working set of the update (inputs, intermediates and results, float64)
over one worker's ``memory_limit``.  A contestant that fails (an error, a
worker killed for memory) is reported as such in the table, not re-raised.

Run: ``./dev bench dask_arrays [--plot PNG] [--n 2000,4000,8000 --chunk 1000 --repeat 3
--workers 2 --memory-limit 1GiB]``; ``--quick`` runs small sizes once; ``--tasks``
also prints where the workers' time went in each contestant's calls, from Dask's task
stream (:func:`stream_summary`: compute, busy fraction, the wait for the first task, the
gaps between tasks, the transfers; collecting it costs the scheduler a little, so the
times of such a run are not the ones to quote).
"""
import argparse
import contextlib
import os
import statistics
import threading
import time
import traceback

import numpy as np

from _harness import relative_error, round_robin, save_figure


# Inputs -----------------------------------------------------------------------------------

def spd(da, m, chunk, seed):
    """A symmetric positive definite m x m dask array, eigenvalues in about [1, 3]."""
    x = da.random.RandomState(seed).standard_normal((m, m), chunks=chunk)
    return (x + x.T) / (2 * np.sqrt(2 * m)) + 2 * da.eye(m, chunks=chunk)


def inputs(da, n, k, chunk, seed=0):
    """``mu, Sigma, H, R, data`` as (unpersisted) dask arrays in square chunks."""
    rs = da.random.RandomState(seed)
    mu = rs.standard_normal((n, 1), chunks=(chunk, 1))
    H = rs.standard_normal((k, n), chunks=chunk) / np.sqrt(n)
    data = rs.standard_normal((k, 1), chunks=(chunk, 1))
    return [mu, spd(da, n, chunk, seed + 1), H, spd(da, k, chunk, seed + 2), data]


def working_set(n, k):
    """Bytes of the update's inputs, intermediates and results (float64): Sigma, H, R;
    H Sigma (or Sigma H.T), its solve by S, S; newSigma; the vectors are negligible."""
    return 8 * (n * n + k * n + k * k + 2 * k * n + k * k + n * n)


# Contestants --------------------------------------------------------------------------------

def naive(da, mu, Sigma, H, R, data):
    S = R + H @ Sigma @ H.T
    newmu = mu + Sigma @ H.T @ da.linalg.solve(S, H @ mu - data)
    newSigma = Sigma - Sigma @ H.T @ da.linalg.solve(S, H @ Sigma)
    return newmu, newSigma


def careful(da, mu, Sigma, H, R, data):
    X = H @ Sigma
    S = X @ H.T + R
    L = da.linalg.cholesky(S, lower=True)
    W = da.linalg.solve_triangular(L, X, lower=True)
    newmu = mu + W.T @ da.linalg.solve_triangular(L, H @ mu - data, lower=True)
    newSigma = Sigma - W.T @ W
    return newmu, newSigma


def contestants(da, compiled):
    return {'compiled': lambda *a: compiled(*a),
            'dask naive': lambda *a: naive(da, *a),
            'dask careful': lambda *a: careful(da, *a)}


# Memory -------------------------------------------------------------------------------------

def _rss():
    import psutil
    return psutil.Process().memory_info().rss


class Sampler:
    """Peak RSS of each worker and of this process while the ``with`` block runs."""

    def __init__(self, client, interval):
        self.client, self.interval = client, interval

    def _sample(self):
        try:
            for address, rss in self.client.run(_rss).items():
                self.workers[address] = max(self.workers.get(address, 0), rss)
        except Exception:                     # a worker restarting: skip this sample
            pass
        self.client_peak = max(self.client_peak, _rss())

    def _loop(self):
        while not self.stop.wait(self.interval):
            self._sample()

    def __enter__(self):
        self.workers, self.client_base = {}, _rss()
        self.client_peak = self.client_base
        self.stop = threading.Event()
        self._sample()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self._sample()


# Running ------------------------------------------------------------------------------------

def check(client, da, compiled, chunk):
    """Every contestant against NumPy at n = 3 chunks, k = 2 chunks (rel. error <= 1e-8),
    at the chunks the timed runs use."""
    from computations.matrices.examples.kalman import kalman_numpy
    n, k = 3 * chunk, 2 * chunk
    arrays = client.persist(inputs(da, n, k, chunk, seed=7))
    expected = kalman_numpy(*[np.asarray(a) for a in client.compute(arrays, sync=True)])
    errors = {}
    for name, run in contestants(da, compiled).items():
        got = client.compute(list(run(*arrays)), sync=True)
        errors[name] = max(relative_error(g, e) for g, e in zip(got, expected))
        assert errors[name] <= 1e-8, f'{name}: relative error {errors[name]:.1e}'
    return n, k, errors


def streaming(client, wanted):
    """Dask's task stream of the ``with`` block (``.data``: a record per task) when
    ``wanted``, else a context giving None."""
    if not wanted:
        return contextlib.nullcontext()
    from distributed import get_task_stream
    return get_task_stream(client)


def stream_summary(records, began, ended):
    """Where the workers' time went in one call, from its task stream ``records``
    (``began``, ``ended``: the call's wall-clock bounds): ``compute``, the seconds of
    the workers' tasks, summed; ``busy``, that over the call's time on every worker that
    ran a task; ``first``, the seconds before the first task started; ``gaps``, the
    seconds a worker waited between two of its tasks, summed over the workers;
    ``transfers``, the seconds spent receiving the tasks' inputs, summed.

    >>> def task(worker, start, stop):
    ...     return {'worker': worker, 'startstops': [
    ...         {'action': 'compute', 'start': start, 'stop': stop}]}
    >>> stream_summary([task('a', 1.0, 2.0), task('a', 2.5, 4.0), task('b', 1.0, 4.0)],
    ...                0.0, 4.0)
    {'compute': 5.5, 'busy': 0.6875, 'first': 1.0, 'gaps': 0.5, 'transfers': 0.0}
    """
    spans, transfers = {}, 0.0
    for record in records:
        for step in record['startstops']:
            if step['action'] == 'compute':
                spans.setdefault(record['worker'], []).append((step['start'], step['stop']))
            elif step['action'] == 'transfer':
                transfers += step['stop'] - step['start']
    compute = sum(stop - start for each in spans.values() for start, stop in each)
    gaps = sum(max(0.0, b[0] - a[1]) for each in spans.values()
               for a, b in zip(sorted(each), sorted(each)[1:]))
    first = min((start for each in spans.values() for start, _ in each), default=began)
    return {'compute': compute, 'busy': compute / max(len(spans) * (ended - began), 1e-9),
            'first': first - began, 'gaps': gaps, 'transfers': transfers}


def measure(client, da, compiled, n, k, chunk, repeat, interval, tasks=False):
    """name -> {'seconds': [...], 'workers': [[peak per worker]...], 'client': [...]}
    or {'failed': message}, at one size; with ``tasks``, also ``'tasks'``: a
    :func:`stream_summary` per call."""
    from distributed import wait
    arrays = client.persist(inputs(da, n, k, chunk))
    wait(arrays)
    for build in contestants(da, compiled).values():
        build(*arrays)          # untimed: the compiled graph's blocking, made once per grid
    runs, records = {}, {}
    for name, build in contestants(da, compiled).items():
        records[name] = {'seconds': [], 'workers': [], 'client': [], 'graph': []}

        def run(name=name, build=build):
            record = records[name]
            if 'failed' in record:
                return None
            with Sampler(client, interval) as sampler, streaming(client, tasks) as stream:
                try:
                    start, began = time.perf_counter(), time.time()
                    lazy = build(*arrays)
                    record['graph'].append(time.perf_counter() - start)
                    results = client.persist(list(lazy))
                    wait(results)
                    ended = time.time()
                except Exception as error:   # out of memory, a killed worker...
                    record['failed'] = f'{type(error).__name__}: {str(error)[:80]}'
                    traceback.print_exc()
                    return None
            if stream is not None:
                record.setdefault('tasks', []).append(stream_summary(stream.data, began, ended))
            record['workers'].append(sorted(sampler.workers.values()))
            record['client'].append(sampler.client_peak - sampler.client_base)
            del results, lazy
            return None
        runs[name] = run
    times = round_robin(runs, repeat, pause=1.0)
    for name, record in records.items():
        if 'failed' not in record:
            record['seconds'] = times[name]
    del arrays
    time.sleep(1.0)
    return records


def mb(x):
    return f'{x / 2**20:,.0f}'


def task_table(results):
    """The medians of each contestant's :func:`stream_summary` (``--tasks``)."""
    print('| n | k | contestant | workers\' compute s | busy | first task after s '
          '| gaps s | transfers s |')
    print('|---|---|---|---:|---:|---:|---:|---:|')
    for (n, k), records in results.items():
        for name, record in records.items():
            if not record.get('tasks'):
                continue
            median = {field: statistics.median(s[field] for s in record['tasks'])
                      for field in record['tasks'][0]}
            print(f"| {n} | {k} | {name} | {median['compute']:.2f} | {median['busy']:.0%} | "
                  f"{median['first']:.2f} | {median['gaps']:.2f} | {median['transfers']:.2f} |")


def table(results, limit, workers):
    print('| n | k | contestant | median s | vs careful | paired | peak RSS per worker (MB) '
          '| client peak growth (MB) | graph s | total / limit |')
    print('|---|---|---|---:|---:|---:|---|---:|---:|---:|')
    for (n, k), records in results.items():
        careful = records['dask careful']
        base = statistics.median(careful['seconds']) if careful.get('seconds') else None
        ratio = f'{working_set(n, k) / limit:.1f}x'
        for name, record in records.items():
            if 'failed' in record or not record['seconds']:
                print(f"| {n} | {k} | {name} | failed | | | {record.get('failed', '')} | | | "
                      f'{ratio} |')
                continue
            seconds = statistics.median(record['seconds'])
            peaks = [statistics.median(p[i] for p in record['workers'] if len(p) > i)
                     for i in range(workers)]
            vs = f'{seconds / base:.2f}x' if base else ''
            paired = f"{paired_ratio(record['seconds'], careful['seconds']):.2f}x" if base else ''
            print(f"| {n} | {k} | {name} | {seconds:.2f} | {vs} | {paired} | "
                  f"{' / '.join(mb(p) for p in peaks)} | "
                  f"{mb(statistics.median(record['client']))} | "
                  f"{statistics.median(record['graph']):.2f} | {ratio} |")


def plot(results, limit, workers, path, title):
    """Write ``path``: per size, each contestant's median seconds (its paired ratio to
    careful dask.array written on the bar), and each worker's peak RSS against the
    memory limit."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    sizes = list(results)
    names = list(next(iter(results.values())))
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.8 / len(names)
    for j, name in enumerate(names):
        for i, (n, k) in enumerate(sizes):
            record, careful = results[n, k][name], results[n, k]['dask careful']
            if 'failed' in record or not record['seconds']:
                continue
            x = i + (j - (len(names) - 1) / 2) * width
            seconds = statistics.median(record['seconds'])
            left.bar(x, seconds, width, color=f'C{j}', label=name if i == 0 else None)
            left.text(x, seconds, f"{paired_ratio(record['seconds'], careful['seconds']):.2f}x",
                      ha='center', va='bottom', fontsize=8)
            peaks = [statistics.median(p[w] for p in record['workers'] if len(p) > w) / 2**20
                     for w in range(workers)]
            right.bar([x + (w - (workers - 1) / 2) * width / workers for w in range(workers)],
                      peaks, width / workers, color=f'C{j}', label=name if i == 0 else None)
    for axis, label in ((left, 'seconds (median; paired ratio to careful)'),
                        (right, 'peak RSS per worker (MB)')):
        axis.set_xticks(range(len(sizes)), [f'n = {n}, k = {k}' for n, k in sizes])
        axis.set_ylabel(label)
    right.axhline(limit / 2**20, color='gray', linestyle='--', label='memory limit')
    left.legend(fontsize=8)
    right.legend(fontsize=8, loc='lower right')
    figure.suptitle(title, fontsize=10)
    save_figure(figure, (), path)          # the legends placed above
    plt.close(figure)


def paired_ratio(seconds, careful):
    """The median over rounds of a contestant's time over careful's in the same round: the
    contestants alternate, so a drift of this shared machine falls on both of a pair.

    >>> paired_ratio([7.0, 8.0, 30.0], [10.0, 10.0, 40.0])
    0.75
    """
    return statistics.median(a / b for a, b in zip(seconds, careful))


def parse_bytes(text):
    from dask.utils import parse_bytes
    return parse_bytes(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', default='2000,4000,8000',
                        help='state sizes, comma-separated (k = n/2 unless --k)')
    parser.add_argument('--k', default=None, help='observation sizes, comma-separated')
    parser.add_argument('--chunk', type=int, default=1000, help='square chunk side')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--memory-limit', default='1GiB', help="per worker, e.g. '1GiB'")
    parser.add_argument('--interval', type=float, default=0.1,
                        help='seconds between memory samples')
    parser.add_argument('--tasks', action='store_true',
                        help="also where the workers' time went, from Dask's task stream")
    parser.add_argument('--quick', action='store_true',
                        help='small sizes (n = 1000, 2000; chunk 500), one repetition')
    parser.add_argument('--plot', default=None, metavar='PNG',
                        help='also draw the times and the workers\' peaks into this file '
                             '(docs/benchmarks/dask_arrays.png for the docs)')
    args = parser.parse_args()
    if args.quick:
        args.n, args.chunk, args.repeat = '1000,2000', 500, 1
    ns = [int(x) for x in args.n.split(',')]
    ks = [int(x) for x in args.k.split(',')] if args.k else [n // 2 for n in ns]

    import dask
    import dask.array as da
    import distributed
    from distributed import Client, LocalCluster
    import computations
    from computations.matrices.examples.kalman import kalman

    limit = parse_bytes(args.memory_limit)
    start = time.perf_counter()
    compiled = computations.function(*kalman())
    build_seconds = time.perf_counter() - start
    results = {}
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      memory_limit=args.memory_limit, host='127.0.0.1',
                      dashboard_address='127.0.0.1:0') as cluster, \
            Client(cluster) as client:
        # at the chunks timed: the blocked program depends on the grid
        n_check, k_check, errors = check(client, da, compiled, args.chunk)
        for n, k in zip(ns, ks):
            print(f'n={n}, k={k}...', flush=True)
            results[n, k] = measure(client, da, compiled, n, k, args.chunk, args.repeat,
                                    args.interval, args.tasks)
    print(f'\nKalman update on dask arrays, {args.workers} worker processes x 1 thread, '
          f'memory_limit {args.memory_limit} each, chunks {args.chunk}x{args.chunk}; '
          f'median of {args.repeat} alternating runs, each timed from the persisted '
          f'inputs to the results persisted on the workers.\n')
    table(results, limit, args.workers)
    if args.tasks:
        print("\nWhere the workers' time went (Dask's task stream, medians over the calls):\n")
        task_table(results)
    print(f'\nchecked at n={n_check}, k={k_check} against NumPy: ' +
          ', '.join(f'{name} {e:.1e}' for name, e in errors.items()))
    print(f'computations.function(*kalman()): {build_seconds:.1f} s (once, not timed)')
    if args.plot:
        plot(results, limit, args.workers, args.plot,
             f'Kalman update on dask arrays: {args.workers} workers x 1 thread, '
             f'{args.memory_limit} each, chunks {args.chunk}; {time.strftime("%Y-%m-%d %H:%M")}')
        print(f'wrote {args.plot}')
    print(f'this machine: {len(os.sched_getaffinity(0))} cores, numpy {np.__version__}, '
          f'dask {dask.__version__}, distributed {distributed.__version__}')


if __name__ == '__main__':
    main()
