"""Memory and time of the hand-built Kalman filter: pure program versus inplace program.

Run with ``./dev bench inplace`` (or ``python benchmarks/bench_inplace.py``).

Three ways to run the same composite on n=2000, k=1000 (default sizes):

- ``pure``: ``execute(..., inplace=False)``: no routine overwrites anything
  (scipy copies every C/B argument it writes into);
- ``inplace``: the inplace pass's program; the caller's arrays are protected,
  so the pass copies the four inputs that routines write into;
- ``inplace, donated``: the caller donates its arrays, so no copy at all.

All three free each buffer when its value dies.  ``allocated MB`` counts
the arrays the routines returned in new memory (copies included);
``peak MB`` is the peak of tracemalloc's traced memory above what was
allocated before the call (the inputs); time is wall-clock without
tracemalloc.  Repetitions alternate
between the modes; figures are medians.
"""
import argparse
import statistics
import sys
import time
import tracemalloc

import numpy as np

from computations.matrices.examples import kalman, kalman_numpy, kalman_program
from computations.schedulers import execute

from _harness import data

MODES = {'pure': dict(inplace=False), 'inplace': dict(inplace=True), 'inplace, donated': None}


def run_once(mode, program, variables, values, traced, stats=None):
    inputs = dict(zip(variables, [v.copy(order='F') for v in values]))
    options = dict(MODES[mode] if MODES[mode] is not None else dict(donate=variables))
    options['stats'] = stats
    if traced:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    out = execute(program, inputs, **options)
    seconds = time.perf_counter() - start
    peak = None
    if traced:
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    return out, seconds, peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('-n', type=int, default=2000)
    parser.add_argument('-k', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args(argv)
    (mu, Sigma, H, R, data_), (newmu, newSigma), _ = kalman()
    variables = [mu, Sigma, H, R, data_]
    program = kalman_program()
    values = data(args.n, args.k)
    expected = kalman_numpy(*values)
    times = {mode: [] for mode in MODES}
    peaks = {mode: [] for mode in MODES}
    allocated = {}
    for _ in range(args.repeat):
        for mode in MODES:                            # alternate the modes
            out, seconds, _ = run_once(mode, program, variables, values, traced=False)
            times[mode].append(seconds)
            for got, want in zip((out[newmu], out[newSigma]), expected):
                assert np.linalg.norm(got - want) <= 1e-10 * np.linalg.norm(want)
            stats = {}
            _, _, peak = run_once(mode, program, variables, values, traced=True, stats=stats)
            peaks[mode].append(peak)
            allocated[mode] = stats['allocated_bytes']
    inputs_mb = sum(v.nbytes for v in values) / 1e6
    print(f'Kalman filter, n={args.n}, k={args.k}, inputs {inputs_mb:.0f} MB, '
          f'{args.repeat} repetitions (medians)\n')
    print('| program | allocated MB | vs pure | peak MB above the inputs | vs pure | time (s) '
          '| vs pure |')
    print('|---|---:|---:|---:|---:|---:|---:|')
    base_peak, base_time = statistics.median(peaks['pure']), statistics.median(times['pure'])
    for mode in MODES:
        peak, seconds = statistics.median(peaks[mode]), statistics.median(times[mode])
        print(f"| {mode} | {allocated[mode] / 1e6:.0f} | "
              f"{allocated[mode] / allocated['pure']:.2f} | {peak / 1e6:.0f} | "
              f'{peak / base_peak:.2f} | {seconds:.3f} | {seconds / base_time:.2f} |')
    # The peaks may differ by a few KB of Python objects; 1% is "not more".
    saves = allocated['inplace'] < allocated['pure'] and \
        statistics.median(peaks['inplace']) <= 1.01 * base_peak
    print(f"\ninplace allocates {'less' if saves else 'NOT less'} than pure")
    return 0 if saves else 1


if __name__ == '__main__':
    sys.exit(main())
