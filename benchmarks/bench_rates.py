"""Routine rates: each BLAS/LAPACK routine's speed per FLOP, relative to GEMM's at the same size.

Run with ``./dev bench rates`` (or ``.venv/bin/python benchmarks/bench_rates.py``);
``--sizes 125 250 ...`` the orders n (default 60 to 2000), ``--repeat N`` the
samples per routine and size (default 5), ``--quick`` three small sizes.

Each routine runs through the library's own kernel
(:func:`computations.schedulers.kernels.run`, the call its ``Call`` spec
describes) on n x n Fortran-ordered float64 operands that satisfy its
assumptions, overwriting inputs prepared before the sample (as compiled
programs do); its FLOPs are the op's declared count (``op.flops``).  The
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
import statistics
import sys
import time

import bench_suite                           # first: it notes the OpenBLAS threads
import numpy as np
from sympy import MatrixSymbol

from computations.matrices.ops.blas import GEMM, SYMM, SYRK, TRMM, TRSM
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


def make(kind, n, rng):
    """The arrays of one input of this ``kind`` (two for the factors and pivots of 'lu' and
    'ldl', made by the factorization's own kernel)."""
    if kind in ('lu', 'ldl'):
        A = MatrixSymbol('A', n, n)
        factorization = GETRF(A) if kind == 'lu' else SYTRF(A)
        return list(kernels.run(factorization, [make('spd', n, rng)[0]]))
    x = rng.standard_normal((n, n))
    if kind == 'spd':
        x = x @ x.T / n + np.eye(n)
    elif kind == 'lower':
        x = np.linalg.cholesky(x @ x.T / n + np.eye(n))
    return [np.asfortranarray(x)]


def warm_up(callers, seconds=2.0):
    """Run the routines in turn for ``seconds``: the first seconds of BLAS work on this
    machine run at a third of the speed that follows (GEMM at n = 2048 took 360-560 ms,
    then 131 ms), which fell on the routine timed first."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for call in callers.values():
            call(1)


def rates(n, repeat, rng):
    """``{name: GFLOP/s}`` of every routine at order ``n``."""
    ops = operations(n)
    flops = {name: float(Binding({}).value(op.flops)) for name, (op, _) in ops.items()}
    inputs = {name: [array for kind in kinds for array in make(kind, n, rng)]
              for name, (_, kinds) in ops.items()}
    every = frozenset(range(4))

    def caller(name):
        op, values = ops[name][0], inputs[name]

        def call(batch):
            copies = [[np.array(v, order='F') for v in values] for _ in range(batch)]
            start = time.perf_counter()
            for args in copies:
                kernels.run(op, args, overwrite=every & set(range(len(args))))
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=SIZES)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args(argv)
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
        points = ', '.join(f'({n}, {table[n][name] / table[n]["GEMM"]:.2f})' for n in sizes)
        print(f'    {name}: rate = Rate({points})\n        declared {declared.get(name)}')


if __name__ == '__main__':
    sys.exit(main())
