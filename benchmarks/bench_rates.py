"""Routine rates: each BLAS/LAPACK routine's speed per FLOP, relative to GEMM's at the same size.

Run with ``./dev bench rates`` (or ``.venv/bin/python benchmarks/bench_rates.py``);
``--sizes 125 250 ...`` the orders n (default 60 to 2000), ``--repeat N`` the
samples per routine and size (default 5), ``--quick`` three small sizes.

Each routine runs through the library's own kernel
(:func:`computations.schedulers.kernels.run`, the call its ``Call`` spec
describes) on n x n Fortran-ordered float64 operands that satisfy its
assumptions, overwriting inputs prepared before the sample (as compiled
programs do), a symmetric result left in the triangle the routine writes (a
program mirrors it only for a reader of the whole matrix); its FLOPs are the
op's declared count (``op.flops``).  The
routines alternate within a size (the copies each sample overwrites made
before its clock starts), a sample is a batch of calls of at least 20 ms,
the figure is the median (after two seconds of warming up), and the timing
thread and the OpenBLAS threads are pinned to different cores as in
``bench_applications.py`` (``bench_suite.apart``).

It prints GFLOP/s per routine and size, and each routine's rate over GEMM's
at that size, as the ``rate = Rate(...)`` line a class declares for the
compiler's cost model, next to what it declares now
(:mod:`computations.matrices.ops.rates` says which classes declare one, and
why the others do not).
"""
import argparse
import datetime
import math
import statistics
import sys
import time

import bench_suite                           # first: it notes the OpenBLAS threads
import numpy as np
from sympy import MatrixSymbol

from computations.matrices.ops.blas import COPY, GEMM, SYMM, SYRK, TRMM, TRSM
from computations.matrices.ops.lapack import (GESV, GETRF, GETRS, POSV, POTRF, POTRI, POTRS, SYSV,
                                              SYTRF, SYTRS, TRTRI, TRTRS)
from computations.matrices.ops.core import operations as operation_classes
from computations.schedulers import kernels
from computations.sizes import Binding

#: Orders off powers of two: GEMM at n = 2048 runs at 82 GFLOP/s and at 1536 at 112 (leading
#: dimensions of 2^k doubles map columns onto the same cache sets).
SIZES = (60, 125, 250, 500, 1000, 2000)


def operations(n):
    """``{name: (op, kinds of its inputs)}`` at order ``n``: kinds say how to make each input."""
    A, B, C = (MatrixSymbol(name, n, n) for name in 'ABC')
    # Each routine writes into an input (accumulating onto C where it would allocate):
    # a new n x n result costs page faults that fell on GEMM alone (85 GFLOP/s at n = 2000
    # against 135 into a given C), which compiled programs mostly avoid (buffer reuse).
    return {
        'GEMM': (GEMM(1, A, B, 1, C), ('general', 'general', 'general')),
        'COPY': (COPY(A), ('general',)),
        'SYMM': (SYMM(1, A, B, 1, C), ('spd', 'general', 'general')),
        'SYRK': (SYRK(1, A, 1, C), ('general', 'spd')),
        'TRMM': (TRMM(1, A, B), ('lower', 'general')),
        'TRSM': (TRSM(1, A, B), ('lower', 'general')),
        'POTRF': (POTRF(A), ('spd',)),
        'POSV': (POSV(A, B), ('spd', 'general')),
        'POTRS': (POTRS(A, B), ('lower', 'general')),
        'TRTRS': (TRTRS(A, B), ('lower', 'general')),
        'POTRI': (POTRI(A), ('lower',)),
        'TRTRI': (TRTRI(A), ('lower',)),
        'GETRF': (GETRF(A), ('general',)),
        'GETRS': (GETRS(A, B), ('lu', 'general')),
        'GESV': (GESV(A, B), ('general', 'general')),
        'SYTRF': (SYTRF(A), ('spd',)),
        'SYTRS': (SYTRS(A, B), ('ldl', 'general')),
        'SYSV': (SYSV(A, B), ('spd', 'general')),
    }


#: The shapes of the BLAS-3 routines whose rate depends on two dimensions (``--shapes``):
#: the order of their symmetric or triangular matrix (SYRK: of the result) and the other
#: dimension (the right-hand sides; SYRK: the inner dimension).
ORDERS, WIDTHS = (60, 125, 500, 1000, 2000), (16, 64, 250, 1000, 2000)


def shaped_operations(order, width):
    """``{name: (op, kinds)}`` of the routines measured at ``(order, width)`` and the GEMMs of
    the same shapes they are compared with (``GEMM`` for the products with a square
    matrix, ``GEMM_INNER`` for SYRK's ``A.T*A``)."""
    A, C = MatrixSymbol('A', order, order), MatrixSymbol('C', order, width)
    B, K = MatrixSymbol('B', order, width), MatrixSymbol('K', width, order)
    R, D = MatrixSymbol('R', order, order), MatrixSymbol('D', width, order)
    return {
        'GEMM': (GEMM(1, A, B, 1, C), ('general', 'general', 'general')),
        'SYMM': (SYMM(1, A, B, 1, C), ('spd', 'general', 'general')),
        'TRMM': (TRMM(1, A, B), ('lower', 'general')),
        'TRSM': (TRSM(1, A, B), ('lower', 'general')),
        # the same products with A on the right, B's transpose's shape (H*Sigma)
        'GEMM_R': (GEMM(1, K, A, 1, D), ('general', 'general', 'general')),
        'SYMM_R': (SYMM(1, A, K, 1, D, side='R'), ('spd', 'general', 'general')),
        'TRMM_R': (TRMM(1, A, K, side='R'), ('lower', 'general')),
        'TRSM_R': (TRSM(1, A, K, side='R'), ('lower', 'general')),
        'GEMM_INNER': (GEMM(1, K, K, 1, R, trans_a=True), ('general', 'general', 'general')),
        'SYRK': (SYRK(1, K, 1, R, trans=True), ('general', 'spd')),
    }


def make(kind, shape, rng):
    """The arrays of one input of this ``kind`` and ``shape`` (two for the factors and pivots
    of 'lu' and 'ldl', made by the factorization's own kernel); all but 'general' square."""
    if kind == 'general':
        return [np.asfortranarray(rng.standard_normal(shape))]
    n = shape[0]
    if kind in ('lu', 'ldl'):
        A = MatrixSymbol('A', n, n)
        factorization = GETRF(A) if kind == 'lu' else SYTRF(A)
        return list(kernels.run(factorization, [make('spd', (n, n), rng)[0]]))
    x = rng.standard_normal((n, n))
    if kind == 'spd':
        x = x @ x.T / n + np.eye(n)
    elif kind == 'lower':
        x = np.linalg.cholesky(x @ x.T / n + np.eye(n))
    return [np.asfortranarray(x)]


def _matrices(op):
    """The matrices ``op`` reads, one per kind (a factorization's factors and pivots are one
    kind, 'lu' or 'ldl', made together)."""
    return [v for v in op.inputs if not type(v).__name__.endswith('Pivots')]


def warm_up(callers, seconds=2.0):
    """Run the routines in turn for ``seconds``: the first seconds of BLAS work on this
    machine run at a third of the speed that follows (GEMM at n = 2048 took 360-560 ms,
    then 131 ms), which fell on the routine timed first."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for call in callers.values():
            call(1)


def rates(n, repeat, rng, ops=None):
    """``{name: GFLOP/s}`` of every routine at order ``n`` (of ``ops``, at that order)."""
    ops = operations(n) if ops is None else ops
    # a COPY's "FLOPs" are the elements it copies (into a new array, as the copies of the
    # caller's arrays that a routine overwrites are made): its rate prices those copies
    flops = {name: float(n * n) if isinstance(op, COPY) else float(Binding({}).value(op.flops))
             for name, (op, _) in ops.items()}
    inputs = {name: [array for kind, var in zip(kinds, _matrices(op))
                     for array in make(kind, tuple(map(int, var.shape)), rng)]
              for name, (op, kinds) in ops.items()}
    every = frozenset(range(4))

    def caller(name):
        op, values = ops[name][0], inputs[name]
        # the routine alone: a symmetric result's other triangle is not mirrored (a program
        # does that only for a reader of the whole matrix, at the memory's speed)
        triangle = frozenset(range(len(op.outputs)))

        def call(batch):
            copies = [[np.array(v, order='F') for v in values] for _ in range(batch)]
            start = time.perf_counter()
            for args in copies:
                kernels.run(op, args, overwrite=every & set(range(len(args))),
                            one_triangle=triangle)
            return time.perf_counter() - start
        return call

    callers = {name: caller(name) for name in ops}
    warm_up(callers)
    once = {name: max(call(1), 1e-6) for name, call in callers.items()}
    batch = {name: max(1, int(0.02 / seconds)) for name, seconds in once.items()}
    times = {name: [] for name in ops}
    names = list(ops)
    for i in range(repeat):            # alternating, the starting routine rotating
        for name in names[i % len(names):] + names[:i % len(names)]:
            time.sleep(0.05)
            times[name].append(callers[name](batch[name]))
    return {name: flops[name] / (statistics.median(t) / batch[name]) / 1e9
            for name, t in times.items()}


def shapes(repeat, rng):
    """Print, per routine of :func:`shaped_operations`, its ratio over GEMM of the same
    shape at every ``(order, width)``, as the ``ShapeRate`` its class declares."""
    table = {}
    with bench_suite.apart(True):
        for order in ORDERS:
            for width in WIDTHS:
                found = rates(order, repeat, rng, shaped_operations(order, width))
                table[order, width] = {
                    **{name: found[name] / found['GEMM'] for name in ('SYMM', 'TRMM', 'TRSM')},
                    **{name: found[name] / found['GEMM_R']
                       for name in ('SYMM_R', 'TRMM_R', 'TRSM_R')},
                    'SYRK': found['SYRK'] / found['GEMM_INNER'],
                    # a tall result over its transpose (rates.TALL), not capped; a width
                    # at or above the order is not tall (never read)
                    'TALL': found['GEMM'] / found['GEMM_R'] if width < order else 1.0}
                print(f'order {order}, width {width}: GEMM {found["GEMM"]:.1f}, '
                      f'GEMM_R {found["GEMM_R"]:.1f}, '
                      f'GEMM_INNER {found["GEMM_INNER"]:.1f} GFLOP/s; ' +
                      ', '.join(f'{k} {v:.2f}' for k, v in table[order, width].items()),
                      flush=True)
    print(f'\n{datetime.date.today()} (pinned: {bench_suite.pinning()}), over GEMM of the '
          f'same shape; rows: order, columns: width {WIDTHS}\n')
    def grid(name, indent, cap=1.0):
        # capped at 1: these routines are GEMM's kernel run on packed (mirrored, or
        # triangular) operands and do at least its work per FLOP; a ratio above 1 is the
        # noise of GEMM's sample, and as a rate it would make the planner prefer the
        # routine to GEMM for that noise
        rows = ',\n'.join(
            f'{indent}({", ".join(f"{min(cap, table[o, w][name]):.2f}" for w in WIDTHS)})'
            for o in ORDERS)
        return f'ShapeRate({ORDERS}, {WIDTHS}, (\n{rows}))'

    for name in ('SYMM', 'TRMM', 'TRSM'):
        print(f'    {name}: rate = SidedRate(\n        {grid(name, " " * 12)},\n'
              f'        {grid(name + "_R", " " * 12)})')
    print(f'    SYRK: rate = {grid("SYRK", " " * 8)}')
    print(f'    rates.TALL = {grid("TALL", " " * 8, cap=math.inf)}')
    print('    (measured; rates.TALL declares only the rows where other measurements agree: '
          'see its comment)')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=SIZES)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--shapes', action='store_true',
                        help='the BLAS-3 routines over (order, width): their ShapeRate '
                        'tables, and rates.TALL (a tall GEMM result over its transpose)')
    args = parser.parse_args(argv)
    if args.shapes:
        return shapes(args.repeat, np.random.default_rng(0))
    sizes = (60, 125, 250) if args.quick else args.sizes
    rng = np.random.default_rng(0)
    table = {}
    with bench_suite.apart(True):
        for n in sizes:
            table[n] = rates(n, 2 if args.quick else args.repeat, rng)
            print(f'n = {n}: ' + ', '.join(f'{k} {v:.1f}' for k, v in table[n].items()),
                  flush=True)
    names = list(table[sizes[0]])
    print(f'\n{datetime.date.today()}, GFLOP/s (pinned: {bench_suite.pinning()})\n')
    print('| routine | ' + ' | '.join(f'n={n}' for n in sizes) + ' |')
    print('|---|' + '---:|' * len(sizes))
    for name in names:
        print(f'| {name} | ' + ' | '.join(f'{table[n][name]:.1f} ({table[n][name] / table[n]["GEMM"]:.2f})'
                                          for n in sizes) + ' |')
    print('\nrelative to GEMM, as each class declares its rate (computations/matrices/ops/):\n')
    declared = {cls.__name__: cls.rate for cls in operation_classes()}
    for name in names:
        if name == 'GEMM':
            continue
        points = ', '.join(f'({n}, {table[n][name] / table[n]["GEMM"]:.2g})' for n in sizes)
        print(f'    {name}: rate = Rate({points})\n        declared {declared.get(name)}')


if __name__ == '__main__':
    sys.exit(main())
