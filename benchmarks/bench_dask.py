"""Blocked Kalman filter on Dask (n=4000, k=2000 by default): time and per-task working set.

Contestants, each compiled once and timed in one process with alternating
repetitions (medians):

* ``unblocked``: the ordinary compiled program, in process;
* ``blocked BxB in process``: the blocked program run by the generated source;
* ``blocked BxB threads``: the blocked program as a Dask graph on Dask's
  thread pool;
* ``blocked BxB cluster``: the same graph on a 2-worker ``LocalCluster``
  (worker processes, one thread each, on loopback).

for a 2x2 and a 4x4 grid of blocks (block size n/2 and n/4).  The largest
per-task working set is the most bytes one block operation reads and writes
(its inputs, its outputs and the private copy a routine that overwrites
makes inside its task); the unblocked program's figure is for its largest
operation.

Run: ``./dev bench dask [--n N --k K --repeat R]``.
"""
import argparse
import statistics
import time

import numpy as np

import computations
from computations import Identity
from computations.matrices.transforms.blocking import Assemble, Split
from computations.matrices.examples.problems import PROBLEMS
from computations.inplace.tokens import inplace_map
from computations.schedulers.memory import Sizes
from _harness import check, data, round_robin


def largest_task(computation, dims):
    """The most bytes one routine call of ``computation`` touches (inputs, outputs, the
    private copies of what it overwrites), and the most a Split or Assemble touches."""
    sizes = Sizes(dims)
    worst = {'call': 0, 'split/assemble': 0}
    for op in computation.toposort():
        if isinstance(op, Identity):
            continue
        touched = sum(sizes.nbytes(v) for v in set(op.inputs) | set(op.outputs))
        if isinstance(op, (Split, Assemble)):
            worst['split/assemble'] = max(worst['split/assemble'], touched)
            continue
        copies = sum(sizes.nbytes(op.inputs[i]) for i in inplace_map(op).values())
        worst['call'] = max(worst['call'], touched + copies)
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', type=int, default=4000)
    parser.add_argument('--k', type=int, default=2000)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    n, k = args.n, args.k
    problem = PROBLEMS['kalman']()
    values = data(n, k)
    plain = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    expected = plain(*values)
    contestants, tasks, compile_seconds = {'unblocked': lambda: plain(*values)}, {}, {}
    spec = plain.specialize(*values)
    tasks['unblocked'] = (largest_task(spec.computation, spec.dims), len(spec.computation))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address='127.0.0.1:0', host='127.0.0.1') as cluster, \
            Client(cluster) as client:
        for grid in (2, 4):
            start = time.perf_counter()
            f = computations.function(problem.inputs, problem.outputs, problem.assumptions,
                                      blocksize={'n': n // grid, 'k': k // grid})
            spec = f.specialize(*values)
            compile_seconds[grid] = time.perf_counter() - start
            tasks[f'blocked {grid}x{grid}'] = (largest_task(spec.computation, spec.dims),
                                               len(spec.computation))
            for scheduler, name in ((None, 'in process'), ('threads', 'threads'),
                                    (client, 'cluster')):
                label = f'blocked {grid}x{grid} {name}'
                check(label, f(*values, scheduler=scheduler), expected)
                contestants[label] = (lambda f=f, s=scheduler: f(*values, scheduler=s))
        times = round_robin(contestants, args.repeat)
    base = statistics.median(times['unblocked'])
    print(f'Kalman n={n}, k={k}: median of {args.repeat} alternating runs')
    print(f"{'contestant':<28} {'seconds':>8} {'vs unblocked':>13}")
    for label, samples in times.items():
        median = statistics.median(samples)
        print(f'{label:<28} {median:8.3f} {median / base:12.2f}x')
    print(f"\n{'program':<16} {'operations':>10} {'largest call':>13} {'largest split':>14}")
    for label, (worst, count) in tasks.items():
        print(f"{label:<16} {count:10d} {worst['call'] / 1e6:10.1f} MB "
              f"{worst['split/assemble'] / 1e6:11.1f} MB")
    for grid, seconds in compile_seconds.items():
        print(f'compiling the {grid}x{grid} blocked program: {seconds:.1f} s')
    print(f'this machine: {len(__import__("os").sched_getaffinity(0))} cores, '
          f'numpy {np.__version__}')


if __name__ == '__main__':
    main()
