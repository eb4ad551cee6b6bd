"""The compiled Kalman filter against lambdified NumPy and a hand-written scipy program.

Run with ``./dev bench kalman`` (or ``python benchmarks/bench_kalman.py``);
``--markdown`` prints the table for docs/benchmarks.md.

The update of ``(mu, Sigma)`` by ``data`` (see
``computations.matrices.examples.kalman``) at n=2000, k=1000 (default
sizes), three ways, all on the same Fortran-ordered float64 arrays
(``Sigma`` and ``R`` symmetric positive definite and well conditioned):

- ``compiled``: ``f = computations.function(inputs, outputs, assumptions)``
  on the symbolic SymPy expressions of ``kalman()``, called as
  ``f(mu, Sigma, H, R, data)`` once it has compiled the program for these
  shapes;
- ``lambdify``: ``sympy.lambdify(inputs, outputs, 'numpy')``: NumPy ``dot``
  products evaluated left to right and an explicit ``numpy.linalg.inv``;
- ``scipy by hand``: ``_harness.kalman_scipy``, the program a skilled user
  writes on ``scipy.linalg.blas``/``lapack`` (SYMM, GEMM, GEMV, one POSV for
  both right-hand sides, GEMV, GEMM, with overwrite flags on its own
  arrays).

Each contestant's result is first checked against ``kalman_numpy`` (relative
error <= 1e-8), and the inputs are checked unchanged.  Then the calls are
timed with wall-clock time in one process, the repetitions alternating
between the contestants (round-robin) so that the machine's noise falls on
all alike, each call after a pause of 0.3 s (NumPy and SciPy each bring their
own OpenBLAS, whose threads spin for ~0.1 s after a call and would slow
whichever contestant runs next: without the pause, two identical programs
measured 0.82x of each other); figures are medians.  The compile time is the
median over ``--compiles`` fresh compiles of ``computations.function(...)`` plus
``f.specialize(mu, Sigma, H, R, data)`` (which compiles the program for
these shapes; where ``specialize`` does not exist, the first call, which
also runs the program once).

Targets (issue 5): compiled <= 0.6x lambdify, <= 1.0x scipy by hand (aim
<= 0.85x), compile <= 1 s.  The exit status is 0 when every target passes,
1 when one fails or could not be measured.
"""
import argparse
import platform
import statistics
import sys
import time

import numpy as np
import scipy
import sympy

import computations
from computations.matrices.examples.kalman import kalman, kalman_numpy

from _harness import check, data, kalman_scipy, medians, round_robin

COMPILED, LAMBDIFY, BY_HAND = 'compiled', 'lambdify', 'scipy by hand'


def compile_compiled(values, compiles):
    """``(f, seconds per compile, what was timed)``, or ``None`` when
    ``computations.function`` does not exist yet."""
    try:
        function = computations.function
    except (AttributeError, ImportError) as error:
        print(f'compiled: SKIPPED, computations.function is not available '
              f'({type(error).__name__}: {error})\n')
        return None
    seconds = []
    for _ in range(compiles):
        inputs, outputs, assumptions = kalman()
        start = time.perf_counter()
        f = function(inputs, outputs, assumptions)
        if hasattr(f, 'specialize'):
            f.specialize(*values)
            how = 'computations.function(...) + f.specialize(arrays)'
        else:
            f(*values)
            how = 'computations.function(...) + the first call (f.specialize does not exist)'
        seconds.append(time.perf_counter() - start)
    return f, seconds, how


def verdict(value, target):
    if value is None:
        return 'not measured'
    return f"{value:.2f} (target <= {target}): {'PASS' if value <= target else 'FAIL'}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('-n', '--n', type=int, default=2000, help='size of the state')
    parser.add_argument('-k', '--k', type=int, default=1000, help='size of the observation')
    parser.add_argument('--repeat', type=int, default=7, help='timed calls per contestant')
    parser.add_argument('--compiles', type=int, default=5, help='fresh compiles timed')
    parser.add_argument('--markdown', action='store_true', help='print the table as markdown')
    args = parser.parse_args(argv)

    values = data(args.n, args.k)
    originals = [v.copy() for v in values]
    expected = kalman_numpy(*values)

    contestants = {}
    compiled = compile_compiled(values, args.compiles)
    if compiled is not None:
        f = compiled[0]
        contestants[COMPILED] = lambda: f(*values)
    inputs, outputs, _ = kalman()
    lambdified = sympy.lambdify(inputs, outputs, 'numpy')
    contestants[LAMBDIFY] = lambda: lambdified(*values)
    contestants[BY_HAND] = lambda: kalman_scipy(*values)

    for name, call in contestants.items():
        check(name, call(), expected)
    for name, before, after in zip(('mu', 'Sigma', 'H', 'R', 'data'), originals, values):
        assert np.array_equal(before, after), f'{name} was modified'

    times = medians(round_robin(contestants, args.repeat))
    compile_seconds = statistics.median(compiled[1]) if compiled else None
    ratios = {}
    if compiled:
        ratios = {other: times[COMPILED] / times[other] for other in (LAMBDIFY, BY_HAND)}

    inputs_mb = sum(v.nbytes for v in values) / 1e6
    print(f'Kalman filter, n={args.n}, k={args.k}, inputs {inputs_mb:.0f} MB, '
          f'{args.repeat} alternating repetitions (medians); Python '
          f'{platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}\n')
    rows = [(name, f'{times[name]:.3f}', f'{times[name] / times[BY_HAND]:.2f}',
             f'{times[COMPILED] / times[name]:.2f}' if compiled else 'n/a')
            for name in contestants]
    header = ('program', 'time (s)', 'vs scipy by hand', 'compiled / this')
    if args.markdown:
        print('| ' + ' | '.join(header) + ' |')
        print('|---|' + '---:|' * (len(header) - 1))
        for row in rows:
            print('| ' + ' | '.join(row) + ' |')
    else:
        widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
        for row in [header] + rows:
            print('  '.join(cell.ljust(w) if i == 0 else cell.rjust(w)
                            for i, (cell, w) in enumerate(zip(row, widths))))
    print()
    if compiled:
        print(f'compile time: {compile_seconds:.3f} s, median of {args.compiles} '
              f'({compiled[2]})')
    checks = [
        ('compiled / lambdify', ratios.get(LAMBDIFY), 0.6),
        ('compiled / scipy by hand', ratios.get(BY_HAND), 1.0),
        ('compile time (s)', compile_seconds, 1.0),
    ]
    for label, value, target in checks:
        print(f'{label}: {verdict(value, target)}')
    if compiled:
        aim = ratios[BY_HAND] <= 0.85
        print(f"compiled / scipy by hand, aim <= 0.85: {'met' if aim else 'not met'}")
    passed = all(value is not None and value <= target for _, value, target in checks)
    return 0 if passed else 1


if __name__ == '__main__':
    sys.exit(main())
