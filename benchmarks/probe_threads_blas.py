"""A probe: dask.array results of a compiled function computed on Dask's thread pool, with
BLAS threads as they are, against BLAS limited to one thread, and the ``sync`` scheduler.

On Dask's thread pool two block kernels run at once when they release the GIL; each then
calls a BLAS that uses every core, and the cores are oversubscribed.  The kernels release
the lock only where BLAS runs on one thread or a run has divided the BLAS threads
(``computations/schedulers/released.py``, ``may_release``); this script measures what
that leaves for ``.compute()`` with BLAS as it is.  Medians of alternating samples.

Run: ``.venv/bin/python benchmarks/probe_threads_blas.py N K CHUNK`` (e.g. 2000 1000 500).
"""
import statistics
import sys
import time

import dask
import dask.array as da
from threadpoolctl import threadpool_info, threadpool_limits

import computations
from computations.matrices.examples.problems import PROBLEMS, random_inputs


def main(n, k, chunk, repeat=5):
    problem = PROBLEMS['kalman']()
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    args = random_inputs(problem, {'n': n, 'k': k}, 0)
    dargs = [da.from_array(a, chunks=chunk) for a in args]

    def threads():
        return dask.compute(*f(*dargs), scheduler='threads')

    def limited():
        with threadpool_limits(1, user_api='blas'):
            return threads()
    contestants = {'threads, BLAS as is': threads, 'threads, BLAS on 1 thread': limited,
                   'sync': lambda: dask.compute(*f(*dargs), scheduler='sync'),
                   'in process, unblocked': lambda: f(*args)}
    print('BLAS threads:', [p['num_threads'] for p in threadpool_info()
                            if p['user_api'] == 'blas'])
    threads()                                   # compile and warm up
    times = {name: [] for name in contestants}
    for _ in range(repeat):
        for name, run in contestants.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times['threads, BLAS on 1 thread'])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f'{name:24s} {median:.3f} s  {median / base:.2f}x')


if __name__ == '__main__':
    main(*map(int, sys.argv[1:4]))
