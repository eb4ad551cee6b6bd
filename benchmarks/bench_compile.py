"""Compile time: product chains, the Kalman filter at new shapes, random expressions.

Run with ``./dev bench compile`` (or ``.venv/bin/python benchmarks/bench_compile.py``);
``--quick`` runs short chains and few repetitions (a smoke run), ``--repeat N``
sets the repetitions of the fast cases (default 5; a case that took more than
1 s is repeated 3 times, more than 10 s once), ``--out DIR`` where the report
goes (default ``docs/benchmarks``), ``--save FILE`` writes the figures as JSON
and ``--compare FILE`` prints them next to those of an earlier run (the
figures before and after a change, run on one tree each); ``--clock cpu``
times by the process's CPU time instead of the wall clock (on a machine
other jobs share, where the wall clock counts their time too).

What is timed, each a median over repetitions that alternate between the
cases of one size (``_harness.round_robin``), SymPy's cache cleared before
each sample (every sample is a cold compile, as a new shape is):

- ``chain L``: :func:`~computations.matrices.compile_expressions` of the
  product ``A0*A1*...*A(L-1)`` for L = 4, 8, 12, 16, 20, 40, 100, 200, with
  symbolic dimensions bound to sizes: *random* shapes (sizes drawn from
  5..500) and 8 x 8 *squares*; and ``computations.function(...).specialize``
  of the random chain to new random sizes (the function made once, each
  sample a shape it has not seen).  A length whose previous length took more
  than 60 s is not run (``skipped``).
- ``kalman (n, k)``: the Kalman filter's ``specialize`` to a new shape, the
  function made and specialized once to another shape first (*after one
  shape*), and to every other shape of the list first (*after the others*: a
  filter meets many observation counts; what a function's compilations share
  is kept by the function, :mod:`computations.matrices.ops.memo`): compiling
  and lowering (inplace pass, order, reuse).
- ``random k``: sums, products, inverses and transposes of k square
  operands (some declared positive definite or symmetric), k = 2..24, three
  expressions per k; the growth exponent is the slope of log(time) against
  log(k), fitted over k >= 6.
- ``hard``: the slowest compiles met so far, each cold at two sizes: a sum
  of products of sums with a shared factor (found by the random-expression
  tests; joint planning once took 20 s on it, now bounded by
  ``joint.MAX_GIVEN_SEARCHES``) and the randomized inversion of the
  application suite.

BLAS threads: compile time runs no BLAS, but the Kalman specialization's
first call does not either; OpenBLAS is limited to one thread
(threadpoolctl when installed, else ``OPENBLAS_NUM_THREADS=1`` set before
NumPy loads) so that no spinning worker competes with the compiler.

It prints a table per family (markdown, for docs/benchmarks.md) and writes
``DIR/compile.png`` (compile time against size, log-log).
"""
import os

os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', '1')

import argparse
import contextlib
import datetime
import json
import pathlib
import platform
import random
import statistics
import sys
import time

import numpy as np
import sympy
from sympy import MatrixSymbol, Q, Symbol
from sympy.core.cache import clear_cache

import computations
import computations.front_door                # loaded before anything is timed
from computations.matrices import compile_expressions
from computations.matrices.examples.kalman import kalman

import _harness

CHAIN_LENGTHS = (4, 8, 12, 16, 20, 40, 100, 200)
KALMAN_SHAPES = ((50, 5), (100, 10), (200, 40), (500, 3), (1000, 100), (2000, 1000))
RANDOM_OPERANDS = tuple(range(2, 25, 2))
#: A length (operand count) whose previous one took longer than this is skipped.
SKIP_AFTER = 60.0


def blas_limited():
    """A context limiting BLAS to one thread (threadpoolctl), or nothing if not installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


# The cases ---------------------------------------------------------------------

def chain(length, square, seed=0):
    """``(inputs, product, dims)`` of a chain of ``length`` matrices with symbolic sizes."""
    rng = random.Random(seed)
    if square:
        n = Symbol('n')
        factors = [MatrixSymbol(f'A{i}', n, n) for i in range(length)]
        return factors, sympy.MatMul(*factors), {n: 8}
    d = sympy.symbols(f'd0:{length + 1}')
    factors = [MatrixSymbol(f'A{i}', d[i], d[i + 1]) for i in range(length)]
    return factors, sympy.MatMul(*factors), {s: rng.randint(5, 500) for s in d}


def random_expression(operands, seed):
    """``(inputs, expression, assumptions, dims)``: a random tree of sums, products, inverses
    and transposes over ``operands`` square n x n matrices, a third of them declared
    positive definite and a third symmetric."""
    rng = random.Random(seed)
    n = Symbol('n')
    inputs = [MatrixSymbol(f'X{i}', n, n) for i in range(operands)]
    assumptions = [Q.positive_definite(x) for x in inputs[0::3]] + \
        [Q.symmetric(x) for x in inputs[1::3]]

    def tree(leaves):
        if len(leaves) == 1:
            expr = leaves[0]
        else:
            cut = rng.randint(1, len(leaves) - 1)
            left, right = tree(leaves[:cut]), tree(leaves[cut:])
            expr = left + right if rng.random() < 0.35 else left * right
        roll = rng.random()
        if roll < 0.15:
            expr = expr.T
        elif roll < 0.25 and len(leaves) <= 3:
            expr = expr.I
        return expr
    leaves = list(inputs)
    rng.shuffle(leaves)
    return inputs, tree(leaves), assumptions, {n: 64}


# Timing ------------------------------------------------------------------------

#: The clock samples are timed by (``--clock``): the wall clock, or this process's CPU time.
CLOCKS = {'wall': time.perf_counter, 'cpu': time.process_time}
clock = CLOCKS['wall']


def timed(contestants, repeat):
    """name -> median seconds over ``repeat`` alternating samples, SymPy's cache cleared
    before each sample."""
    times = {name: [] for name in contestants}
    names = list(contestants)
    for i in range(repeat):
        for name in names[i % len(names):] + names[:i % len(names)]:
            clear_cache()
            start = clock()
            contestants[name]()
            times[name].append(clock() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def repetitions(seconds, repeat):
    """How many samples a case that took ``seconds`` once gets."""
    return repeat if seconds < 1 else 3 if seconds < 10 else 1


def measure_chains(lengths, repeat):
    """Rows ``(length, random, square, specialize)`` in seconds (None: skipped)."""
    rows, slowest = [], 0.0
    for length in lengths:
        if slowest > SKIP_AFTER:
            rows.append((length, None, None, None))
            print(f'chain {length:4d}: skipped (the previous length took {slowest:.0f} s)',
                  flush=True)
            continue
        r_inputs, r_product, r_dims = chain(length, square=False)
        s_inputs, s_product, s_dims = chain(length, square=True)
        f = computations.function(r_inputs, [r_product])
        shapes = iter(_new_shapes(length))
        contestants = {
            'random': lambda: compile_expressions([r_product], r_inputs, (), r_dims),
            'square': lambda: compile_expressions([s_product], s_inputs, (), s_dims),
            'specialize': lambda: f.specialize(*next(shapes)),
        }
        first = timed(contestants, 1)
        samples = repetitions(max(first.values()), repeat) - 1
        result = timed(contestants, samples) if samples > 0 else first
        slowest = max(result.values())
        rows.append((length, result['random'], result['square'], result['specialize']))
        print(f'chain {length:4d}: random {result["random"]:9.4f} s  square '
              f'{result["square"]:9.4f} s  specialize {result["specialize"]:9.4f} s', flush=True)
    return rows


def _new_shapes(length, seed=1):
    """Endless random shapes for a chain of ``length`` matrices (tuples per factor)."""
    rng = random.Random(seed)
    while True:
        d = [rng.randint(5, 500) for _ in range(length + 1)]
        yield [(d[i], d[i + 1]) for i in range(length)]


def measure_kalman(shapes, repeat):
    """Rows ``((n, k), seconds, steady)``: the filter specialized to a shape it has not
    seen, the function specialized to one other (small) shape before (``seconds``), and
    to every other shape of ``shapes`` before (``steady``: a filter that has met many
    observation counts, as real ones do)."""
    inputs, outputs, assumptions = kalman()
    rows = []
    for n, k in shapes:
        samples, steady = [], []
        for i in range(repeat):
            f = computations.function(inputs, outputs, assumptions)
            f.specialize(*_kalman_shapes(4 + i, 2))           # warm: another shape first
            samples.append(_timed_specialize(f, n, k))
            g = computations.function(inputs, outputs, assumptions)
            for other in [(4 + i, 2)] + [shape for shape in shapes if shape != (n, k)]:
                g.specialize(*_kalman_shapes(*other))
            steady.append(_timed_specialize(g, n, k))
        rows.append(((n, k), statistics.median(samples), statistics.median(steady)))
        print(f'kalman n={n:5d} k={k:5d}: {rows[-1][1] * 1e3:8.2f} ms, after the other '
              f'shapes {rows[-1][2] * 1e3:8.2f} ms', flush=True)
    return rows


def _kalman_shapes(n, k):
    """The shapes of the Kalman filter's inputs (``mu, Sigma, H, R, data``)."""
    return [(n, 1), (n, n), (k, n), (k, k), (k, 1)]


def _timed_specialize(f, n, k):
    """Seconds ``f.specialize`` takes at the shape ``(n, k)``, SymPy's cache cleared first."""
    shapes = _kalman_shapes(n, k)
    clear_cache()
    start = clock()
    f.specialize(*shapes)
    return clock() - start


def measure_random(operand_counts, repeat, seeds=(0, 1, 2)):
    """Rows ``(k, seconds)``: the median over seeds of each expression's median."""
    rows, slowest = [], 0.0
    for k in operand_counts:
        if slowest > SKIP_AFTER:
            rows.append((k, None))
            print(f'random {k:3d}: skipped', flush=True)
            continue
        cases = {seed: random_expression(k, seed) for seed in seeds}
        contestants = {seed: (lambda c=c: compile_expressions([c[1]], c[0], c[2], c[3]))
                       for seed, c in cases.items()}
        first = timed(contestants, 1)
        samples = repetitions(max(first.values()), repeat) - 1
        result = timed(contestants, samples) if samples > 0 else first
        slowest = max(result.values())
        rows.append((k, statistics.median(result.values())))
        print(f'random {k:3d}: {rows[-1][1]:9.4f} s', flush=True)
    return rows


def hard_cases():
    """``{name: (outputs, inputs, assumptions, [dims, ...])}``: the slowest compiles met so far."""
    n, k, m = Symbol('n'), Symbol('k'), Symbol('m')
    A, B = MatrixSymbol('A', n, k), MatrixSymbol('B', k, n)
    C, D, T = (MatrixSymbol(s, n, n) for s in 'CDT')
    I = sympy.Identity(n)
    M = (5 * I + C).I * D + 9 * C + C * D + 3 * T + 2 * C.T
    sum_of_products = ((5 * I + C).I * D + (A * B) ** 2 * B.T * A.T * C * M + 9 * C + C * D
                       + 3 * T + 2 * C.T)
    S, X = MatrixSymbol('S', n, m), MatrixSymbol('X', n, n)
    P = S * (S.T * C * S).I * S.T
    return {
        'sum of products of sums': ([sum_of_products], [A, B, C, D, T],
                                    [Q.positive_definite(T)], [{n: 5, k: 3}, {n: 500, k: 300}]),
        'randomized inversion': ([P + (I - P * C) * X * (I - C * P)], [C, S, X],
                                 [Q.positive_definite(C), Q.fullrank(S)],
                                 [{n: 200, m: 10}, {n: 2000, m: 200}]),
    }


def measure_hard(repeat):
    """Rows ``(name, dims, seconds)``: each hard case compiled cold at each of its sizes."""
    rows = []
    for name, (outputs, inputs, assumptions, sizes) in hard_cases().items():
        for dims in sizes:
            result = timed({name: lambda: compile_expressions(outputs, inputs, assumptions,
                                                              dims)}, repeat)
            label = ', '.join(f'{d}={v}' for d, v in dims.items())
            rows.append((name, label, result[name]))
            print(f'hard {name} ({label}): {_s(result[name])}', flush=True)
    return rows


def growth_exponent(rows, smallest=6):
    """The slope of log(seconds) against log(k) over the rows with k >= ``smallest``."""
    return _harness.loglog_slope([(k, t) for k, t in rows if t and k >= smallest])


# Reporting ---------------------------------------------------------------------

_s = _harness.seconds_text


def tables(figures, before=None):
    """The report as markdown (with a column of ``before``'s figures when given)."""
    def pair(now, then):
        return _s(now) if before is None else f'{_s(then)} | {_s(now)}'

    b = before or {}
    bchains = {row[0]: row for row in b.get('chains', [])}
    bkalman = {tuple(row[0]): row[1:] for row in b.get('kalman', [])}
    brandom = {row[0]: row[1] for row in b.get('random', [])}
    head = (lambda name: f'{name} before | {name} after') if before else (lambda name: name)
    lines = ['| chain length | ' + ' | '.join(head(n) for n in (
        'random shapes', '8 x 8 squares', 'specialize')) + ' |',
        '|---:|' + '---:|' * (6 if before else 3)]
    for length, *now in figures['chains']:
        then = bchains.get(length, (length, None, None, None))[1:]
        lines.append(f'| {length} | ' + ' | '.join(pair(x, y) for x, y in zip(now, then)) + ' |')
    lines += ['', '| Kalman (n, k) | ' + ' | '.join(head(n) for n in (
        'after one shape', 'after the others')) + ' |',
              '|---|' + '---:|' * (4 if before else 2)]
    for shape, *now in figures['kalman']:
        then = list(bkalman.get(tuple(shape), ())) + [None, None]
        lines.append(f'| {tuple(shape)} | ' + ' | '.join(
            pair(x, y) for x, y in zip(now + [None] * (2 - len(now)), then)) + ' |')
    lines += ['', '| operands | ' + head('compile') + ' |', '|---:|' + '---:|' * (2 if before else 1)]
    for k, seconds in figures['random']:
        lines.append(f'| {k} | {pair(seconds, brandom.get(k))} |')
    if figures.get('hard'):
        bhard = {(row[0], row[1]): row[2] for row in b.get('hard', [])}
        lines += ['', '| hard case | sizes | ' + head('compile') + ' |',
                  '|---|---|' + '---:|' * (2 if before else 1)]
        for name, label, seconds in figures['hard']:
            lines.append(f'| {name} | {label} | {pair(seconds, bhard.get((name, label)))} |')
    exponent = growth_exponent(figures['random'])
    line = f'\ngrowth exponent of the random family (k >= 6): {exponent:.2f}' if exponent else ''
    if before and growth_exponent(before['random']):
        line += f' (before: {growth_exponent(before["random"]):.2f})'
    return '\n'.join(lines) + line + '\n'


def plot(figures, path, before=None):
    """Compile time against size, log-log: chains and the random family."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    runs = [('after', figures, '-')] + ([('before', before, ':')] if before else [])
    for label, data, style in runs:
        suffix = f' ({label})' if before else ''
        for column, name in ((1, 'random shapes'), (2, '8 x 8 squares')):
            points = [(row[0], row[column]) for row in data['chains'] if row[column]]
            if points:
                left.loglog(*zip(*points), style, marker='o', label=name + suffix)
        points = [(k, t) for k, t in data['random'] if t]
        if points:
            right.loglog(*zip(*points), style, marker='o', label='random expressions' + suffix)
    ks = np.array([k for k, t in figures['random'] if t], dtype=float)
    if len(ks):
        t0 = next(t for k, t in figures['random'] if t)
        right.loglog(ks, t0 * (ks / ks[0]) ** 3, 'k--', lw=0.8, label='cubic')
    left.set(xlabel='matrices in the chain', ylabel='compile time (s)',
             title='compile_expressions of a product chain')
    right.set(xlabel='operands', ylabel='compile time (s)', title='random expressions')
    _harness.save_figure(fig, (left, right), path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--out', default=str(pathlib.Path(__file__).parent.parent / 'docs'
                                             / 'benchmarks'))
    parser.add_argument('--save')
    parser.add_argument('--compare')
    parser.add_argument('--clock', choices=sorted(CLOCKS), default='wall')
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    repeat = 2 if args.quick else args.repeat
    print(f'{datetime.date.today()}, Python {platform.python_version()}, SymPy '
          f'{sympy.__version__}, computations from {pathlib.Path(computations.__file__).parent}, '
          f'{args.clock} clock', flush=True)
    with blas_limited():
        figures = {
            'chains': measure_chains(CHAIN_LENGTHS[:4] if args.quick else CHAIN_LENGTHS, repeat),
            'kalman': measure_kalman(KALMAN_SHAPES[:2] if args.quick else KALMAN_SHAPES,
                                     repeat),
            'random': measure_random(RANDOM_OPERANDS[:5] if args.quick else RANDOM_OPERANDS,
                                     repeat),
            'hard': measure_hard(min(repeat, 3)),
        }
    if args.save:
        pathlib.Path(args.save).write_text(json.dumps(figures, indent=1))
    before = json.loads(pathlib.Path(args.compare).read_text()) if args.compare else None
    report = tables(figures, before)
    print(report)
    if not args.quick:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        plot(figures, out / 'compile.png', before)
        print(f'wrote {out / "compile.png"}')


if __name__ == '__main__':
    sys.exit(main())
