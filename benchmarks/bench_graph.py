"""Scaling of the Computation BiDAG: building, indexing and sorting large composites.

Run with ``./dev bench graph`` (or ``python benchmarks/bench_graph.py``).

For chains and random DAGs of 10k, 20k and 40k opaque operations it times:

- ``nodes``: creating the ``Computation`` objects;
- ``composite``: ``CompositeComputation(*ops)``: flattening, hashing, and the
  one index (producers, consumers, inputs/outputs, toposort, validation);
- ``in/out``: ``graph.index(ops)`` then reading ``inputs`` and ``outputs``;
- ``toposort``: ``graph.toposort(ops)`` alone.

Repetitions alternate between sizes and shapes so that the machine's noise
falls on all of them alike; each figure is the median.  The verdict compares
the per-operation time at the largest size with that at the smallest: linear
scaling means a ratio near 1 (the target is <= 1.5).
"""
import argparse
import gc
import random
import statistics
import sys
import time

from computations import Computation, CompositeComputation, graph

SIZES = (10_000, 20_000, 40_000)
PHASES = ('nodes', 'composite', 'in/out', 'toposort')


def chain(n, rng):
    """v0 -> [op] -> v1 -> [op] -> v2 ... (each op also reads one side input)."""
    return [(('v%d' % i, 's%d' % i), ('v%d' % (i + 1),)) for i in range(n)]


def random_dag(n, rng):
    """Each op reads 1-3 earlier variables and produces 1-2 new ones."""
    pool = ['in%d' % i for i in range(10)]
    specs = []
    for i in range(n):
        reads = tuple(rng.choice(pool) for _ in range(rng.randint(1, 3)))
        writes = tuple('o%d.%d' % (i, j) for j in range(rng.randint(1, 2)))
        pool.extend(writes)
        specs.append((reads, writes))
    rng.shuffle(specs)
    return specs


SHAPES = {'chain': chain, 'random DAG': random_dag}


def measure(specs):
    """Seconds for each phase, each on fresh nodes (no cached hash is reused)
    and from a clean heap (the previous phase's objects are freed first)."""
    times = {}
    gc.collect()
    start = time.perf_counter()
    ops = [Computation(i, o) for i, o in specs]
    times['nodes'] = time.perf_counter() - start

    gc.collect()
    start = time.perf_counter()
    comp = CompositeComputation(*ops)
    times['composite'] = time.perf_counter() - start
    assert len(comp.toposort()) == len(specs)
    del comp, ops

    ops = [Computation(i, o) for i, o in specs]
    gc.collect()
    start = time.perf_counter()
    index = graph.index(ops)
    index.inputs, index.outputs
    times['in/out'] = time.perf_counter() - start
    del index, ops

    ops = [Computation(i, o) for i, o in specs]
    gc.collect()
    start = time.perf_counter()
    graph.toposort(ops)
    times['toposort'] = time.perf_counter() - start
    return times


def run(repeat, sizes):
    rng = random.Random(0)
    specs = {(shape, n): make(n, rng) for shape, make in SHAPES.items() for n in sizes}
    samples = {key: {phase: [] for phase in PHASES} for key in specs}
    for _ in range(repeat):
        for key in specs:                     # alternate sizes and shapes
            for phase, seconds in measure(specs[key]).items():
                samples[key][phase].append(seconds)
    return {key: {p: statistics.median(v) for p, v in phases.items()}
            for key, phases in samples.items()}


def table(medians, sizes):
    lines = ['| shape | ops | ' + ' | '.join(f'{p} (µs/op)' for p in PHASES) + ' |',
             '|---|---:|' + '---:|' * len(PHASES)]
    for (shape, n), phases in medians.items():
        cells = ' | '.join(f'{phases[p] / n * 1e6:.2f}' for p in PHASES)
        lines.append(f'| {shape} | {n:,} | {cells} |')
    lines += ['', '| shape | ' + ' | '.join(f'{p} {sizes[-1] // 1000}k/{sizes[0] // 1000}k'
                                            for p in PHASES) + ' |',
              '|---|' + '---:|' * len(PHASES)]
    worst = 0.0
    for shape in SHAPES:
        ratios = [medians[shape, sizes[-1]][p] / sizes[-1] / (medians[shape, sizes[0]][p] / sizes[0])
                  for p in PHASES]
        worst = max(worst, *ratios)
        lines.append(f'| {shape} | ' + ' | '.join(f'{r:.2f}' for r in ratios) + ' |')
    return '\n'.join(lines), worst


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeat', type=int, default=7, help='repetitions (default 7)')
    parser.add_argument('--sizes', type=int, nargs='+', default=SIZES)
    args = parser.parse_args(argv)
    medians = run(args.repeat, sorted(args.sizes))
    text, worst = table(medians, sorted(args.sizes))
    print(text)
    verdict = 'linear' if worst <= 1.5 else 'NOT linear'
    print(f'\nworst per-op ratio, largest/smallest: {worst:.2f} ({verdict}; target <= 1.5)')
    return 0 if worst <= 1.5 else 1


if __name__ == '__main__':
    sys.exit(main())
