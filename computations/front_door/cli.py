"""The command line: compile a problem and run it, or draw a hand-built computation.

``computations run SPEC [--size n=2000] [--svg FILE] [--check] [--bench]``
    compiles a bundled problem (``kalman``, ``least_squares``, ``gls``) or
    the ``inputs``, ``outputs`` and ``assumptions`` a Python file defines;
    prints the chosen program one routine call per line and its FLOP count;
    with ``--check`` compares the result with NumPy (``sympy.lambdify``),
    with ``--bench`` times both, with ``--svg`` draws the program.
``computations show [minmax|kalman] [--svg FILE]``
    prints and draws a computation built by hand.

Pictures (``--svg``, ``--png``, ``--pdf``) are :func:`computations.pictures.dot`
drawings, the same as ``f.dot()`` and Jupyter's display; ``--layers``,
``--hide-scalars`` and ``--rankdir`` are its options.

>>> main(['show', 'minmax'])
inputs:  w, y
outputs: Min(x, y), Max(x, y)
program:
  x = A(w)
  Min(x, y), Max(x, y) = MinMax(x, y)
0
"""
import argparse
import statistics
import sys
import time

import numpy as np
import sympy

from ..examples import EXAMPLES
from ..graph import ComputationsError
from ..matrices.examples.problems import load, random_inputs
from ..matrices.ops.core import dimensions
from .compiled import function

__all__ = ['main']

FORMATS = ('svg', 'png', 'pdf')


def _parser():
    parser = argparse.ArgumentParser(
        prog='computations',
        description='Compile matrix expressions into BLAS/LAPACK programs, run and draw them.')
    commands = parser.add_subparsers(dest='command', required=True)
    run = commands.add_parser('run', help='compile a problem and run it')
    run.add_argument('spec', help='a bundled problem (kalman, least_squares, gls) or a Python '
                     'file defining inputs, outputs and assumptions')
    run.add_argument('--size', action='append', default=[], metavar='DIM=N',
                     help='the size of a symbolic dimension (repeatable), e.g. --size n=2000')
    run.add_argument('--check', action='store_true',
                     help='compare the results with NumPy (sympy.lambdify)')
    run.add_argument('--bench', action='store_true', help='time the program against NumPy')
    run.add_argument('--repeat', type=int, default=5,
                     help='timed repetitions of each contestant for --bench (default 5)')
    run.add_argument('--seed', type=int, default=0, help='seed of the random data')
    show = commands.add_parser('show', help='print and draw a computation built by hand')
    show.add_argument('example', nargs='?', default='minmax', choices=sorted(EXAMPLES))
    for sub in (run, show):
        for fmt in FORMATS:
            sub.add_argument(f'--{fmt}', metavar='FILE',
                             help=f'write the picture as {fmt.upper()} to FILE')
        sub.add_argument('--layers', action='store_true',
                         help='in pictures, put each topological generation on one rank')
        sub.add_argument('--hide-scalars', action='store_true',
                         help='in pictures, leave out scalar variables')
        sub.add_argument('--rankdir', choices=('TB', 'LR'), default='TB',
                         help='in pictures, draw top to bottom (TB, default) or left to right')
    return parser


class UsageError(ComputationsError):
    """A mistake in what the command line was given, reported as one line."""


def main(argv=None):
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    A mistake in the arguments (an unknown problem, a missing file, a size
    for a dimension the problem does not have) is one line on stderr,
    ``computations: error: ...``, and exit code 2, as argparse reports its own.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _run(args) if args.command == 'run' else _show(args)
    except UsageError as error:
        parser.exit(2, f'{parser.prog}: error: {error}\n')


def _show(args):
    comp = EXAMPLES[args.example]()
    print('inputs: ', ', '.join(map(str, comp.inputs)))
    print('outputs:', ', '.join(map(str, comp.outputs)))
    print('program:')
    for op in comp.toposort():
        print(' ', op)
    _write_pictures(comp, args)
    return 0


def _write_pictures(comp, args):
    for fmt in FORMATS:
        path = getattr(args, fmt)
        if path:
            written = comp.write(path, format=fmt, layers=args.layers, rankdir=args.rankdir,
                                 scalars=not args.hide_scalars)
            print(f'wrote {written}')


def _run(args):
    try:
        problem = load(args.spec)
    except OSError as error:
        raise UsageError(f'cannot read {args.spec}: {error.strerror or error}') from None
    except ValueError as error:
        raise UsageError(error) from None
    sizes = {**problem.sizes, **_sizes(args.size, problem)}
    data = random_inputs(problem, sizes, seed=args.seed)
    start = time.perf_counter()
    f = function(problem.inputs, problem.outputs, problem.assumptions,
                              names=problem.names)
    compiled = f.specialize(*data)
    seconds = time.perf_counter() - start
    print(f'{problem.name}: {problem.description}' if problem.description else problem.name)
    if compiled.dims:
        print('sizes:', ', '.join(f'{d}={v}' for d, v in compiled.dims.items()))
    for name, output in zip(problem.names, problem.outputs):
        print(f'{name} = {output}')
    print('assumptions:', ', '.join(map(str, problem.assumptions)) or 'none')
    print(f'program (compiled in {seconds:.2f} s):')
    for line in compiled.pseudocode().splitlines():
        print('  ' + line)
    print(f'FLOPs: {compiled.flops:.4g}')
    status = 0
    if args.check or args.bench:
        # At the bound sizes: lambdify cannot print an Identity of symbolic size.
        sized = {d: sympy.Integer(v) for d, v in compiled.dims.items()}
        reference = sympy.lambdify([v.xreplace(sized) for v in problem.inputs],
                                   [out.xreplace(sized) for out in problem.outputs], 'numpy')
    if args.check:
        got, want = f(*data), reference(*data)
        errors = [np.linalg.norm(g - w) / max(np.linalg.norm(w), 1e-300)
                  for g, w in zip(got, want)]
        ok = all(e <= 1e-8 for e in errors)
        print('check against NumPy (lambdify): ' + ', '.join(
            f'{n} relative error {e:.2g}' for n, e in zip(problem.names, errors))
            + (': OK' if ok else ': FAILED (> 1e-8)'))
        status = 0 if ok else 1
    if args.bench:
        times = _alternate({'compiled': lambda: f(*data), 'NumPy': lambda: reference(*data)},
                           args.repeat)
        print(f'bench (median of {args.repeat}, alternating): compiled {times["compiled"]:.4g} s, '
              f'NumPy (lambdify) {times["NumPy"]:.4g} s: '
              f'{times["compiled"] / times["NumPy"]:.2f}x; '
              f'{compiled.flops / times["compiled"] / 1e9:.1f} GFLOP/s')
    _write_pictures(compiled.program, args)
    return status


def _sizes(items, problem):
    """``{dimension name: size}`` from ``--size DIM=N`` items, checked against the problem."""
    known = [str(d) for d in dimensions(problem.inputs)]
    sizes = {}
    for item in items:
        name, _, value = item.partition('=')
        name = name.strip()
        if not (name and value.isdigit() and int(value) > 0):
            raise UsageError(f'--size wants DIM=N with N a positive integer, got {item!r}')
        if name not in known:
            raise UsageError(f'--size {item}: {problem.name} has no dimension {name} '
                             f'(its dimensions: {", ".join(known) or "none"})')
        sizes[name] = int(value)
    return sizes


def _alternate(contestants, repeat):
    """Median seconds of each contestant, over ``repeat`` rounds that alternate between them."""
    for run in contestants.values():   # warm up: compile, allocate, load BLAS threads
        run()
    times = {name: [] for name in contestants}
    for _ in range(repeat):
        for name, run in contestants.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
