"""Small problems: the time of one call against hand-written code, and against size.

Two parts, both in one process, contestants alternating, medians:

1. **Single small problems** -- the issue's five (Kalman n=6/k=3, 20/10,
   50/20; least squares n=100/p=20; GLS n=50/p=10) -- through
   ``bench_suite.measure``: every contestant of the suite (compiled,
   ``lambdify``, NumPy with ``solve``, the hand-written SciPy program, JAX
   and PyTensor when installed) checked against ``lambdify``, then timed in
   samples of many calls (~20 ms) with BLAS on one thread (threadpoolctl):
   at these sizes OpenBLAS's second thread only adds synchronization, and
   with it on another core (the suite's pinning) the same calls took 9-12
   µs instead of 7-8, erratically, for every contestant (least squares
   compiled/hand-written 0.99-1.19 over four runs, 0.94-0.95 on one
   thread).
   Targets: compiled <= 1.0x the hand-written SciPy program at every size,
   and <= 0.5x ``lambdify``, judged on paired ratios (the median over rounds
   of the two times taken in the same round, :func:`verdict`).
2. **Time per problem against size** (the plot): the Kalman update at
   n = 4 ... 256 (k = n/2) as single calls (the same contestants), and as
   batches of ``BATCH`` targets (``bench_batches``: the compiled function on
   the stacks, stacked NumPy, a loop over the hand-written SciPy program,
   ``jax.vmap`` when installed), per target.  The growth exponent of each
   line (log-log slope over the largest sizes) is printed.

Run: ``./dev bench small [--repeat 7] [--quick] [--out docs/benchmarks]``;
writes ``OUT/small.png``.
"""
import argparse
import datetime

import bench_suite  # noqa: F401  first: it notes OpenBLAS's threads before others start
import bench_batches
from _harness import loglog_slope, save_figure
from bench_suite import Case, DEFAULT_OUT, measure
from threadpoolctl import threadpool_limits

import computations
from computations.matrices.examples.kalman import kalman

CASES = (('kalman', {'n': 6, 'k': 3}), ('kalman', {'n': 20, 'k': 10}),
         ('kalman', {'n': 50, 'k': 20}), ('least_squares', {'n': 100, 'p': 20}),
         ('gls', {'n': 50, 'p': 10}))
TARGETS = {'scipy_hand': 1.0, 'lambdify': 0.5}         # compiled / contestant at most
SWEEP = (4, 8, 16, 32, 64, 128, 256)
BATCH = 1000
BATCH_SWEEP = (4, 8, 16, 32, 64)


def single(repeat, quick, compiled):
    """The five issue cases: rows of ``bench_suite.measure``."""
    rows = []
    for problem, sizes in CASES:
        case = Case(problem, 'small', sizes, repeat, 0.05 if quick else 0.1)
        with threadpool_limits(1):
            rows += measure(case, compiled)[0]
    return rows


def sweep(repeat, quick, compiled):
    """The Kalman update at every size of :data:`SWEEP`: rows of ``bench_suite.measure``."""
    rows = []
    for n in SWEEP[:4] if quick else SWEEP:
        case = Case('kalman', 'sweep', {'n': n, 'k': max(1, n // 2)}, repeat,
                    0.05 if quick else 0.1)
        with threadpool_limits(1):
            rows += measure(case, compiled)[0]
    return rows


def batches(repeat, quick):
    """Per target seconds of batches of :data:`BATCH` Kalman updates: {contestant: [(n,
    seconds per target)]}."""
    f = computations.function(*kalman())
    jax_update = bench_batches.jax_vmap()
    count = BATCH // 10 if quick else BATCH
    points = {}
    with threadpool_limits(1):
        for n in BATCH_SWEEP[:3] if quick else BATCH_SWEEP:
            found = bench_batches.run_case(f, count, n, max(1, n // 2), repeat, jax_update)
            for name, (seconds, _faults) in found.items():
                points.setdefault(name, []).append((n, seconds / count))
    return points


def table(rows):
    """Markdown: per case, every contestant's µs per call and its time over compiled's."""
    lines = ['| problem | size | contestant | µs per call | vs compiled |',
             '|---|---|---|---:|---:|']
    lines += [f'| {r.problem} | {r.size} | {r.contestant} | {r.seconds * 1e6:.1f} | '
              f'{r.ratio:.2f} |' for r in rows]
    return '\n'.join(lines)


def verdict(rows):
    """Per case, compiled over each target contestant, and whether the target holds: the
    median over rounds of the two times taken in the same round (paired, as the application
    suite's ratios: a drift of this shared machine falls on both), and in parentheses the
    ratio of the medians (least squares once gave 1.01 so against 0.87-0.93 paired in
    three probes the same hour)."""
    lines = []
    for problem, sizes in CASES:
        label = ', '.join(f'{d}={v}' for d, v in sizes.items())
        mine = {r.contestant: r for r in rows if r.problem == problem and r.size == label}
        for name, target in TARGETS.items():
            ratio = 1 / mine[name].paired
            of_medians = mine['computed'].seconds / mine[name].seconds
            lines.append(f'- {problem} {label}: compiled/{name} = {ratio:.2f} '
                         f'({of_medians:.2f} of medians; target <= {target}: '
                         f'{"met" if ratio <= target else "NOT met"})')
    return '\n'.join(lines)


def plot(sweep_rows, batch_points, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    by = {}
    for r in sweep_rows:
        by.setdefault(r.contestant, []).append((int(r.size.split(',')[0][2:]), r.seconds))
    for name, points in by.items():
        left.loglog(*zip(*points), marker='o', label=name)
    left.set(title='one Kalman update per call (k = n/2)', xlabel='n',
             ylabel='seconds per problem')
    for name, points in batch_points.items():
        right.loglog(*zip(*points), marker='o', label=name)
    right.set(title=f'batches of {BATCH} Kalman updates, per target', xlabel='n',
              ylabel='seconds per problem')
    for axis, sizes in ((left, SWEEP), (right, BATCH_SWEEP)):
        axis.set_xticks(sizes, labels=[str(n) for n in sizes])
        axis.minorticks_off()
    save_figure(fig, (left, right), path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--quick', action='store_true', help='fewer sizes, smaller batches')
    parser.add_argument('--out', default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    compiled = {}
    started = datetime.datetime.now()
    print(f'{started:%Y-%m-%d %H:%M}; BLAS on one thread; medians of {args.repeat} '
          'alternating samples\n')
    rows = single(args.repeat, args.quick, compiled)
    print(table(rows) + '\n\n' + verdict(rows) + '\n', flush=True)
    swept = sweep(args.repeat, args.quick, compiled)
    print(table(swept) + '\n', flush=True)
    for name in dict.fromkeys(r.contestant for r in swept):
        points = [(int(r.size.split(',')[0][2:]), r.seconds) for r in swept
                  if r.contestant == name]
        print(f'- {name}: growth exponent in n over n >= 64: '
              f'{loglog_slope([p for p in points if p[0] >= 64]):.2f}')
    points = batches(args.repeat, args.quick)
    print('\nbatches, µs per target:\n\n| n | ' + ' | '.join(points) + ' |\n|---:|' +
          '---:|' * len(points))
    for i, n in enumerate(p[0] for p in next(iter(points.values()))):
        print(f'| {n} | ' + ' | '.join(f'{points[name][i][1] * 1e6:.1f}' for name in points)
              + ' |')
    plot(swept, points, f'{args.out}/small.png')
    print(f'\nwrote {args.out}/small.png in {datetime.datetime.now() - started}')


if __name__ == '__main__':
    main()
