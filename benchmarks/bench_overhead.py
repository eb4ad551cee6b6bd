"""Per-call overhead: a chain of 200 GEMMs on 8 x 8 matrices, three ways.

The chain ``x[i+1] = A*x[i]`` (``A**200*X`` one product at a time) is
built by hand as a composite of 200 GEMM operations, so that the time is
all call overhead (an 8 x 8 DGEMM takes about a microsecond).  It runs as:

``generated``
    the generated source (:func:`computations.schedulers.codegen.compile_source`), the
    default runner of compiled functions;
``hand``
    the same 200 ``dgemm`` calls written out by hand (source text made by
    this script, compiled once: what a user would type);
``interpreter``
    the interpretive executor (:func:`computations.schedulers.run_program`) on the same
    token program.

Each sample times a batch of calls; contestants alternate, medians are
reported with the ratios the issue sets as targets (generated <= 1.5 x
hand, <= 0.5 x interpreter).  Run: ``./dev bench overhead [--markdown]``.
"""
import argparse
import statistics
import time

import numpy as np
import sympy
from scipy.linalg import blas

from computations import CompositeComputation
from computations.matrices import GEMM
from computations.schedulers import run_program
from computations.schedulers.codegen import compile_source
from computations.schedulers.execute import compile_program

TARGETS = {'generated/hand': 1.5, 'generated/interpreter': 0.5}


def chain(length, size):
    """The composite of ``length`` GEMMs ``x[i+1] = A*x[i]``, and its symbols A, X."""
    A, X = sympy.MatrixSymbol('A', size, size), sympy.MatrixSymbol('X', size, size)
    ops, x = [], X
    for _ in range(length):
        op = GEMM(1, A, x)
        ops.append(op)
        x = op.outputs[0]
    return CompositeComputation(*ops), A, X, x


def by_hand(length):
    """The chain written out as scipy calls, one per line, as a user would."""
    lines = ['def chain(A, X):', '    x0 = dgemm(1.0, A, X)']
    lines += [f'    x{i + 1} = dgemm(1.0, A, x{i})' for i in range(length - 1)]
    lines.append(f'    return x{length - 1}')
    namespace = {'dgemm': blas.dgemm}
    exec(compile('\n'.join(lines), '<by hand>', 'exec'), namespace)
    return namespace['chain']


def measure(length=200, size=8, repeat=15, batch=50):
    comp, A, X, result = chain(length, size)
    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.standard_normal((size, size)) / np.sqrt(size))
    x = np.asfortranarray(rng.standard_normal((size, size)))
    generated = compile_source(comp, parameters=[A, X], results=[result])
    program, order = compile_program(comp)
    hand = by_hand(length)
    contestants = {
        'generated': lambda: generated(a, x)[0],
        'hand': lambda: hand(a, x),
        'interpreter': lambda: run_program(program, order, {A: a, X: x})[result],
    }
    want = hand(a, x)
    for name, call in contestants.items():
        np.testing.assert_allclose(call(), want, rtol=1e-12, err_msg=name)
    times = {name: [] for name in contestants}
    names = list(contestants)
    for i in range(repeat):
        for name in names[i % 3:] + names[:i % 3]:
            call = contestants[name]
            start = time.perf_counter()
            for _ in range(batch):
                call()
            times[name].append((time.perf_counter() - start) / batch)
    medians = {name: statistics.median(t) for name, t in times.items()}
    ratios = {'generated/hand': medians['generated'] / medians['hand'],
              'generated/interpreter': medians['generated'] / medians['interpreter']}
    return medians, ratios, generated


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--length', type=int, default=200)
    parser.add_argument('--size', type=int, default=8)
    parser.add_argument('--repeat', type=int, default=15)
    parser.add_argument('--markdown', action='store_true', help='print a markdown table')
    args = parser.parse_args()
    medians, ratios, generated = measure(args.length, args.size, args.repeat)
    print(f'chain of {args.length} GEMMs on {args.size}x{args.size} matrices; '
          f'{args.repeat} alternating samples, medians per call')
    print('first lines of the generated source:')
    print('\n'.join('    ' + line for line in generated.source.splitlines()[:5]))
    if args.markdown:
        print('\n| runner | µs per call | µs per operation |\n|---|---:|---:|')
        for name, seconds in medians.items():
            print(f'| {name} | {seconds * 1e6:.0f} | {seconds * 1e6 / args.length:.2f} |')
        print()
    else:
        for name, seconds in medians.items():
            print(f'{name:>12}: {seconds * 1e6:8.0f} µs per call '
                  f'({seconds * 1e6 / args.length:.2f} µs per operation)')
    for name, ratio in ratios.items():
        verdict = 'PASS' if ratio <= TARGETS[name] else 'FAIL'
        print(f'{name}: {ratio:.2f} (target <= {TARGETS[name]}) {verdict}')


if __name__ == '__main__':
    main()
