"""Blocked compile time: how it grows with the number of block operations.

Run with ``./dev python benchmarks/bench_blocked_compile.py`` (or
``.venv/bin/python benchmarks/bench_blocked_compile.py``); ``--quick`` runs
b = 4, 6, 8 once (a smoke run), ``--blocks B B ...`` chooses the blocks per
dimension (default 4, 6, 8, 10, 12, 14, 16, 20), ``--repeat N`` the samples
of the fast cases (default 3; a case that took more than 1 s gets 2, more
than 10 s one), ``--out DIR`` where the picture goes (default
``docs/benchmarks``), ``--save FILE`` writes the figures as JSON and
``--compare FILE`` prints them next to those of an earlier run (the figures
before and after a change, run on one tree each).

What is timed: ``computations.function(..., blocksize=40).specialize(shapes)``
of a new function (compiling the unblocked program, blocking it, and
lowering the blocked program: inplace pass, memory-aware order, buffer reuse,
each order checked), SymPy's cache cleared first, for

- the Kalman filter (:mod:`computations.matrices.examples.kalman`) at
  ``n = k = 40*b``: b blocks per dimension;
- generalized least squares (:func:`computations.matrices.examples.problems.gls`)
  at ``n = 40*b``, ``p = 40*ceil(b/2)``,

the two problems alternating at each b, each row the median of its samples.
The peak of Python memory the compilation allocates (``tracemalloc``) is
measured in one more, untimed run (tracing slows every allocation).  A problem
whose previous b took more than 60 s is not run further.  The number of block
operations is the node count of the blocked program
(``Specialization.computation``: block operations, Splits and Assembles).

It prints a markdown table (for docs/benchmarks.md), the growth exponent of
each problem (the slope of log(time) against log(operations), fitted over
b >= 6: linear is 1), and writes ``DIR/blocked_compile.png``.
"""
import argparse
import datetime
import json
import math
import pathlib
import platform
import statistics
import sys
import time
import tracemalloc

import numpy as np
import sympy
from sympy.core.cache import clear_cache

import computations
import computations.front_door                # loaded before anything is timed
from computations.matrices.examples.kalman import kalman
from computations.matrices.examples.problems import gls

import _harness

BLOCKSIZE = 40
BLOCKS = (4, 6, 8, 10, 12, 14, 16, 20)
#: A problem whose previous b took longer than this is not run further.
SKIP_AFTER = 60.0


def kalman_case(b):
    """``(inputs, outputs, assumptions, shapes)``: the Kalman filter at b blocks per dimension."""
    inputs, outputs, assumptions = kalman()
    n = k = BLOCKSIZE * b
    return inputs, outputs, assumptions, [(n, 1), (n, n), (k, n), (k, k), (k, 1)]


def gls_case(b):
    """GLS with ``n = 40*b`` rows and ``p = 40*ceil(b/2)`` columns."""
    problem = gls()
    n, p = BLOCKSIZE * b, BLOCKSIZE * math.ceil(b / 2)
    return problem.inputs, problem.outputs, problem.assumptions, [(n, p), (n, n), (n, 1)]


PROBLEMS = {'kalman': kalman_case, 'gls': gls_case}


def compile_once(case):
    """The specialization of a new blocked function of ``case``."""
    inputs, outputs, assumptions, shapes = case
    f = computations.function(inputs, outputs, assumptions, blocksize=BLOCKSIZE)
    return f.specialize(*shapes)


def timed(case):
    """Seconds one cold compilation of ``case`` takes, and its number of block operations."""
    clear_cache()
    start = time.perf_counter()
    spec = compile_once(case)
    seconds = time.perf_counter() - start
    return seconds, len(spec.computation.computations)


def peak_memory(case):
    """The most bytes of Python memory one cold compilation of ``case`` holds at once."""
    clear_cache()
    tracemalloc.start()
    try:
        spec = compile_once(case)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del spec
    return peak


def samples(seconds, repeat):
    """How many samples a case whose first took ``seconds`` gets."""
    return repeat if seconds < 1 else 2 if seconds < 10 else 1


def measure(blocks, repeat):
    """``{problem: [(b, operations, seconds, peak bytes), ...]}``."""
    rows = {name: [] for name in PROBLEMS}
    slowest = {name: 0.0 for name in PROBLEMS}
    for b in blocks:
        names = [name for name in PROBLEMS if slowest[name] <= SKIP_AFTER]
        if not names:
            break
        times = {name: [] for name in names}
        ops = {}
        for name in names:                     # the first sample of each
            seconds, ops[name] = timed(PROBLEMS[name](b))
            times[name].append(seconds)
        more = samples(max(t[0] for t in times.values()), repeat) - 1
        for i in range(more):                  # alternating, the first rotating
            for name in names[i % len(names):] + names[:i % len(names)]:
                times[name].append(timed(PROBLEMS[name](b))[0])
        for name in names:
            seconds = statistics.median(times[name])
            slowest[name] = seconds
            peak = peak_memory(PROBLEMS[name](b))
            rows[name].append((b, ops[name], seconds, peak))
            print(f'{name:7s} b={b:3d}: {ops[name]:6d} operations, {seconds:8.3f} s '
                  f'({len(times[name])} samples), peak {peak / 2**20:7.1f} MiB, '
                  f'{seconds / ops[name] * 1e6:6.1f} us per operation', flush=True)
    return rows


def growth_exponent(rows, smallest=6):
    """The slope of log(seconds) against log(operations) over the rows with b >= ``smallest``."""
    return _harness.loglog_slope([(ops, seconds) for b, ops, seconds, _ in rows
                                  if b >= smallest])


def table(figures, before=None):
    """The report as markdown (with the ``before`` figures' seconds when given)."""
    old = {(name, row[0]): row for name, rows in (before or {}).items() for row in rows}
    head = '| problem | blocks per dimension | block operations | compile' + \
        (' before | compile after' if before else '') + ' | per operation | peak memory |'
    lines = [head, '|---|---:|---:|---:|' + ('---:|' if before else '') + '---:|---:|']
    for name, rows in figures.items():
        for b, ops, seconds, peak in rows:
            then = old.get((name, b))
            earlier = (f' {_s(then[2])} |' if then else ' skipped |') if before else ''
            lines.append(f'| {name} | {b} | {ops} |{earlier} {_s(seconds)} | '
                         f'{seconds / ops * 1e6:.0f} us | {peak / 2**20:.0f} MiB |')
    lines.append('')
    for name, rows in figures.items():
        exponent = growth_exponent(rows)
        if exponent is not None:
            was = growth_exponent(before[name]) if before and name in before else None
            lines.append(f'growth exponent of {name} (time against operations, b >= 6): '
                         f'{exponent:.2f}' + (f' (before: {was:.2f})' if was else ''))
    return '\n'.join(lines) + '\n'


def _s(seconds):
    return _harness.seconds_text(seconds, ms_digits=0)


def plot(figures, path, before=None):
    """Compile time and peak memory against block operations, log-log."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    runs = [('after', figures, '-')] + ([('before', before, ':')] if before else [])
    for label, data, style in runs:
        suffix = f' ({label})' if before else ''
        for name, rows in data.items():
            if not rows:
                continue
            ops = [row[1] for row in rows]
            left.loglog(ops, [row[2] for row in rows], style, marker='o', label=name + suffix)
            if label == 'after':
                right.loglog(ops, [row[3] / 2**20 for row in rows], style, marker='o',
                             label=name)
    rows = figures['kalman']
    if rows:
        ops = np.array([row[1] for row in rows], dtype=float)
        left.loglog(ops, rows[0][2] * ops / ops[0], 'k--', lw=0.8, label='linear')
    left.set(xlabel='block operations', ylabel='compile time (s)',
             title=f'specialize with blocksize={BLOCKSIZE}')
    right.set(xlabel='block operations', ylabel='peak Python memory (MiB)',
              title='tracemalloc peak of one compilation')
    _harness.save_figure(fig, (left, right), path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--blocks', type=int, nargs='+', default=list(BLOCKS))
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--out', default=str(pathlib.Path(__file__).parent.parent / 'docs'
                                             / 'benchmarks'))
    parser.add_argument('--save')
    parser.add_argument('--compare')
    args = parser.parse_args(argv)
    blocks, repeat = ((4, 6, 8), 1) if args.quick else (args.blocks, args.repeat)
    print(f'{datetime.date.today()}, Python {platform.python_version()}, SymPy '
          f'{sympy.__version__}, computations from {pathlib.Path(computations.__file__).parent}',
          flush=True)
    figures = measure(blocks, repeat)
    if args.save:
        pathlib.Path(args.save).write_text(json.dumps(figures, indent=1))
    before = json.loads(pathlib.Path(args.compare).read_text()) if args.compare else None
    print(table(figures, before))
    if not args.quick:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        plot(figures, out / 'blocked_compile.png', before)
        print(f'wrote {out / "blocked_compile.png"}')


if __name__ == '__main__':
    sys.exit(main())
