"""Memory and efficiency of the compiled Kalman filter (n=2000, k=1000 by default).

Three figures the issue sets targets for, for both programs the compiler
offers -- the fastest (the default) and the leanest (``low_memory=True``,
which recomputes ``H*Sigma`` in row panels instead of holding
``inv(L)*H*Sigma``; :mod:`computations.matrices.transforms.streaming`):

* traced peak memory of one call (``tracemalloc``: NumPy reports its
  allocations to it, f2py's included), against the lambdified NumPy code
  (target: <= 0.7x);
* ``Function.peak_bytes`` (the model's prediction from shapes) against the
  call's traced peak (target: within 10%);
* the program's achieved GFLOP/s (its FLOPs over the median wall time of a
  call) against this machine's DGEMM rate, measured in the same run
  (target: >= 60%), an n x n DGEMM alternating with the calls; plus
  ``Function.profile``'s per-routine table.

Run: ``./dev bench memory [--n N --k K --repeat R --markdown]``.
"""
import argparse
import statistics
import time

import numpy as np
import sympy
from scipy.linalg import blas

import computations
from computations.matrices.examples.problems import PROBLEMS
from computations.schedulers.memory import traced_peak
from _harness import check, data, round_robin

TARGETS = {'peak / lambdify': 0.7, 'peak_bytes error': 0.10, 'GFLOP/s vs DGEMM': 0.60}

#: The programs measured: name -> options of ``computations.function``.
PROGRAMS = {'fastest': {}, 'leanest (low_memory=True)': {'low_memory': True}}


def lambdified(problem, sizes):
    dims = {sympy.Symbol(str(d), integer=True, positive=True): v for d, v in sizes.items()}
    inputs = [v.xreplace(dims) for v in problem.inputs]
    outputs = [o.xreplace(dims) for o in problem.outputs]
    return sympy.lambdify(inputs, outputs, 'numpy')


def measure(n, k, repeat):
    problem = PROBLEMS['kalman']()
    functions = {name: computations.function(problem.inputs, problem.outputs,
                                             problem.assumptions, **options)
                 for name, options in PROGRAMS.items()}
    lam = lambdified(problem, {'n': n, 'k': k})
    args = data(n, k)
    expected = lam(*args)
    for name, f in functions.items():
        check(name, f(*args), expected)
    peaks = {name: traced_peak(lambda f=f: f(*args))[0] for name, f in functions.items()}
    peaks['lambdify'] = traced_peak(lambda: lam(*args))[0]
    # The DGEMM yardstick alternates with the programs' calls, so that all see the same
    # machine (it is shared and noisy).
    rng = np.random.default_rng(0)
    a, b = (np.asfortranarray(rng.standard_normal((n, n))) for _ in range(2))
    calls = {name: (lambda f=f: f(*args)) for name, f in functions.items()}
    calls['dgemm'] = lambda: blas.dgemm(1.0, a, b)
    times = round_robin(calls, repeat)
    rate = 2 * n ** 3 / statistics.median(times['dgemm']) / 1e9
    results = {}
    for name, f in functions.items():
        results[name] = {'peak': peaks[name], 'predicted': f.peak_bytes(*args),
                         'seconds': statistics.median(times[name]),
                         'flops': float(f.specialize(*args).flops),
                         'profile': f.profile(*args),
                         'pseudocode': f.specialize(*args).pseudocode()}
    return results, peaks['lambdify'], rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', type=int, default=2000)
    parser.add_argument('--k', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--markdown', action='store_true')
    args = parser.parse_args()
    start = time.perf_counter()
    results, lambdify_peak, rate = measure(args.n, args.k, args.repeat)
    print(f'Kalman n={args.n}, k={args.k}; lambdify traced peak {lambdify_peak / 1e6:.1f} MB; '
          f'DGEMM on this machine: {rate:.1f} GFLOP/s')
    rows = []
    for name, m in results.items():
        ratios = {'peak / lambdify': m['peak'] / lambdify_peak,
                  'peak_bytes error': abs(m['predicted'] - m['peak']) / m['peak'],
                  'GFLOP/s vs DGEMM': m['flops'] / m['seconds'] / 1e9 / rate}
        print(f"\n{name}: {m['flops'] / 1e9:.1f} GFLOP, median call {m['seconds']:.3f} s "
              f"= {m['flops'] / m['seconds'] / 1e9:.1f} GFLOP/s; traced peak "
              f"{m['peak'] / 1e6:.1f} MB, peak_bytes predicts {m['predicted'] / 1e6:.1f} MB")
        print(m['pseudocode'])
        print(m['profile'])
        for figure, ratio in ratios.items():
            target = TARGETS[figure]
            ok = ratio >= target if 'GFLOP' in figure else ratio <= target
            sign = '>=' if 'GFLOP' in figure else '<='
            print(f"{figure}: {ratio:.2f} (target {sign} {target}) {'PASS' if ok else 'FAIL'}")
            rows.append((name, figure, ratio, f'{sign} {target}', ok))
    if args.markdown:
        print('\n| program | figure | measured | target |\n|---|---|---:|---:|')
        for name, figure, ratio, target, ok in rows:
            print(f"| {name} | {figure} | {ratio:.2f} | {target}{'' if ok else ' (missed)'} |")
    print(f'(ran in {time.perf_counter() - start:.0f} s)')


if __name__ == '__main__':
    main()
