"""Memory and efficiency of the compiled Kalman filter (n=2000, k=1000 by default).

Three figures the issue sets targets for:

* traced peak memory of one call (``tracemalloc``: NumPy reports its
  allocations to it, f2py's included), compiled against the lambdified
  NumPy code (target: <= 0.7x);
* ``Function.peak_bytes`` (the model's prediction from shapes) against the
  compiled call's traced peak (target: within 10%);
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
from schedulers.memory import traced_peak
from _harness import check, data, round_robin

TARGETS = {'peak compiled/lambdify': 0.7, 'peak_bytes error': 0.10, 'GFLOP/s vs DGEMM': 0.60}


def lambdified(problem, sizes):
    dims = {sympy.Symbol(str(d), integer=True, positive=True): v for d, v in sizes.items()}
    inputs = [v.xreplace(dims) for v in problem.inputs]
    outputs = [o.xreplace(dims) for o in problem.outputs]
    return sympy.lambdify(inputs, outputs, 'numpy')


def measure(n, k, repeat):
    problem = PROBLEMS['kalman']()
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    lam = lambdified(problem, {'n': n, 'k': k})
    args = data(n, k)
    expected = lam(*args)
    check('compiled', f(*args), expected)
    peaks = {'compiled': traced_peak(lambda: f(*args))[0],
             'lambdify': traced_peak(lambda: lam(*args))[0]}
    predicted = f.peak_bytes(*args)
    # The DGEMM yardstick alternates with the program's calls, so that both
    # see the same machine (it is shared and noisy).
    rng = np.random.default_rng(0)
    a, b = (np.asfortranarray(rng.standard_normal((n, n))) for _ in range(2))
    times = round_robin({'compiled': lambda: f(*args), 'dgemm': lambda: blas.dgemm(1.0, a, b)},
                        repeat)
    seconds = statistics.median(times['compiled'])
    flops = float(f.specialize(*args).flops)
    rate = 2 * n ** 3 / statistics.median(times['dgemm']) / 1e9
    profile = f.profile(*args)
    return {'peaks': peaks, 'predicted': predicted, 'seconds': seconds, 'flops': flops,
            'dgemm': rate, 'profile': profile}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', type=int, default=2000)
    parser.add_argument('--k', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--markdown', action='store_true')
    args = parser.parse_args()
    start = time.perf_counter()
    m = measure(args.n, args.k, args.repeat)
    peaks, predicted = m['peaks'], m['predicted']
    ratios = {'peak compiled/lambdify': peaks['compiled'] / peaks['lambdify'],
              'peak_bytes error': abs(predicted - peaks['compiled']) / peaks['compiled'],
              'GFLOP/s vs DGEMM': m['flops'] / m['seconds'] / 1e9 / m['dgemm']}
    print(f"Kalman n={args.n}, k={args.k}: {m['flops'] / 1e9:.1f} GFLOP")
    print(f"traced peak: compiled {peaks['compiled'] / 1e6:.1f} MB, "
          f"lambdify {peaks['lambdify'] / 1e6:.1f} MB; "
          f"peak_bytes predicts {predicted / 1e6:.1f} MB")
    print(f"median call {m['seconds']:.3f} s = {m['flops'] / m['seconds'] / 1e9:.1f} GFLOP/s; "
          f"DGEMM on this machine: {m['dgemm']:.1f} GFLOP/s")
    print('profile of one call:')
    print(m['profile'])
    if args.markdown:
        print('\n| figure | measured | target |\n|---|---:|---:|')
    for name, ratio in ratios.items():
        target = TARGETS[name]
        ok = ratio >= target if name == 'GFLOP/s vs DGEMM' else ratio <= target
        if args.markdown:
            print(f"| {name} | {ratio:.2f} | {'>=' if 'GFLOP' in name else '<='} {target} |")
        else:
            print(f"{name}: {ratio:.2f} (target {'>=' if 'GFLOP' in name else '<='} {target}) "
                  f"{'PASS' if ok else 'FAIL'}")
    print(f'(ran in {time.perf_counter() - start:.0f} s)')


if __name__ == '__main__':
    main()
