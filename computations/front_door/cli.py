"""The command line: compile a problem and run it, or draw a hand-built computation.

``computations run SPEC [--size n=2000] [--svg FILE] [--check] [--bench]``
    compiles a bundled problem (``kalman``, ``least_squares``, ``gls``) or
    the ``inputs``, ``outputs`` and ``assumptions`` a Python file defines;
    prints the chosen program one routine call per line and its FLOP count;
    with ``--check`` compares the result with NumPy (``sympy.lambdify``),
    with ``--bench`` times both (BLAS pinned to ``--threads`` threads with
    threadpoolctl, the contestants alternating, medians printed), with
    ``--svg`` draws the program.
``computations show [minmax|kalman] [--svg FILE]``
    prints and draws a computation built by hand.
``computations --version``
    prints ``computations X.Y.Z``.

A failure is one line on stderr, ``computations: error: ...``, and a
nonzero exit status (2 for a mistake in the arguments or the problem file,
1 for a problem that fails to compile or run), never a Python traceback.

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
import os
import statistics
import sys
import time

import graphviz
import numpy as np
import sympy

from .. import __version__
from ..examples import EXAMPLES
from ..graph import ComputationsError
from ..matrices.examples.problems import ProblemError, load, random_inputs
from ..matrices.ops.core import dimensions
from .compiled import function

__all__ = ['main']

FORMATS = ('svg', 'png', 'pdf')


def _parser():
    parser = argparse.ArgumentParser(
        prog='computations',
        description='Compile matrix expressions into BLAS/LAPACK programs, run and draw them.')
    parser.add_argument('--version', action='version', version=f'%(prog)s {__version__}')
    commands = parser.add_subparsers(dest='command', required=True)
    run = commands.add_parser('run', help='compile a problem and run it')
    run.add_argument('spec', help='a bundled problem (kalman, least_squares, gls) or a Python '
                     'file defining inputs, outputs and assumptions')
    run.add_argument('--size', action='append', default=[], metavar='DIM=N',
                     help='the size of a symbolic dimension (repeatable), e.g. --size n=2000')
    run.add_argument('--check', action='store_true',
                     help='compare the results with NumPy (sympy.lambdify)')
    run.add_argument('--bench', action='store_true',
                     help='time the program against NumPy (BLAS threads pinned, alternating '
                     'repetitions, medians; needs threadpoolctl)')
    run.add_argument('--repeat', type=_positive, default=5,
                     help='timed repetitions of each contestant for --bench (default 5)')
    run.add_argument('--threads', type=_positive, default=None,
                     help='BLAS threads for --bench (default: as many as the BLAS uses now)')
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


def _positive(text):
    """argparse type: a positive integer."""
    if not text.strip().isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f'wants a positive integer, got {text!r}')
    return int(text)


class UsageError(ComputationsError):
    """A mistake in what the command line was given, reported as one line (exit code 2)."""


class CommandError(ComputationsError):
    """A problem that fails to compile or run, reported as one line (exit code 1)."""


def main(argv=None):
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    A mistake in the arguments (an unknown problem, a missing file or one
    that does not parse, a size for a dimension the problem does not have)
    is one line on stderr, ``computations: error: ...``, and exit code 2, as
    argparse reports its own; a problem that fails to compile or run is one
    such line and exit code 1.

    >>> main(['run', 'no_such_problem'])
    Traceback (most recent call last):
    SystemExit: 2
    """
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _run(args) if args.command == 'run' else _show(args)
    except UsageError as error:
        parser.exit(2, f'{parser.prog}: error: {_one_line(error)}\n')
    except ComputationsError as error:          # CommandError, or a failure while running
        parser.exit(1, f'{parser.prog}: error: {_one_line(error)}\n')
    except BrokenPipeError:                     # `computations ... | head`: stop quietly
        # Python's recipe: point stdout at devnull so its flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _one_line(error):
    """An exception's message on one line."""
    return ' '.join(str(error).split()) or type(error).__name__


def _described(error):
    """``Type: message`` of an exception, on one line."""
    return f'{type(error).__name__}: {_one_line(error)}'


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
            try:
                written = comp.write(path, format=fmt, layers=args.layers,
                                     rankdir=args.rankdir, scalars=not args.hide_scalars)
            except OSError as error:
                raise CommandError(f'cannot write {path}: {error.strerror or error}') from None
            except graphviz.ExecutableNotFound:
                raise CommandError(f'cannot draw {path}: graphviz\'s dot program is not '
                                   'installed (Debian: apt-get install graphviz)') from None
            print(f'wrote {written}')


def _load(spec):
    """The problem ``spec`` names; a :class:`UsageError` if it cannot be read or run."""
    try:
        return load(spec)
    except ProblemError as error:         # load's own: not a problem (the file's code ran)
        raise UsageError(error) from None
    except OSError as error:
        raise UsageError(f'cannot read {spec}: {error.strerror or error}') from None
    except SyntaxError as error:
        raise UsageError(f'cannot parse {spec}: line {error.lineno}: {error.msg}') from None
    except Exception as error:            # the user's file raised: report it, as Python would
        raise UsageError(f'{spec} raised {_described(error)}') from None


def _compiling(problem, make):
    """``make()``; a :class:`CommandError` naming the problem if it does not compile."""
    try:
        return make()
    except (ComputationsError, ValueError, TypeError, NotImplementedError) as error:
        raise CommandError(f'cannot compile {problem.name}: {_described(error)}') from None


def _run(args):
    problem = _load(args.spec)
    sizes = {**problem.sizes, **_sizes(args.size, problem)}
    start = time.perf_counter()
    # The function first: an expression it cannot compute (HadamardProduct) is the
    # problem's error whatever the sizes, and is reported before a missing --size.
    f = _compiling(problem, lambda: function(problem.inputs, problem.outputs,
                                             assumptions=problem.assumptions,
                                             names=problem.names))
    seconds = time.perf_counter() - start
    try:
        data = random_inputs(problem, sizes, seed=args.seed)
    except ValueError as error:                 # a dimension without a size
        raise UsageError(_one_line(error)) from None
    start = time.perf_counter()
    compiled = _compiling(problem, lambda: f.specialize(*data))
    seconds += time.perf_counter() - start
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
        label, reference = _reference(problem, sized)
    if args.check:
        errors = relative_errors(problem, sized, data, f(*data), reference(*data))
        ok = all(e <= 1e-8 for e in errors)
        print(f'check against NumPy ({label}): ' + ', '.join(
            f'{n} relative error {e:.2g}' for n, e in zip(problem.names, errors))
            + (': OK' if ok else ': FAILED (> 1e-8)'))
        status = 0 if ok else 1
    if args.bench:
        threads, times = _bench({'compiled': lambda: f(*data),
                                 'NumPy': lambda: reference(*data)}, args.repeat, args.threads)
        print(f'bench (median of {args.repeat}, alternating, BLAS pinned to {threads} '
              f'thread{"s" if threads != 1 else ""}): compiled {times["compiled"]:.4g} s, '
              f'NumPy ({label}) {times["NumPy"]:.4g} s: '
              f'{times["compiled"] / times["NumPy"]:.2f}x; '
              f'{compiled.flops / times["compiled"] / 1e9:.1f} GFLOP/s')
    _write_pictures(compiled.program, args)
    return status


def _reference(problem, sized):
    """``(label, function)``: the outputs in NumPy, from the inputs' values --
    ``sympy.lambdify`` where it can print them, else the testing kit's evaluator
    (lambdify cannot print a trace of a product, for one)."""
    inputs = [v.xreplace(sized) for v in problem.inputs]
    outputs = [out.xreplace(sized) for out in problem.outputs]
    try:
        return 'lambdify', sympy.lambdify(inputs, outputs, 'numpy')
    except Exception:                        # noqa: BLE001 (SymPy's printers raise anything)
        from ..testing.reference import evaluate

        def evaluated(*values):
            known = dict(zip(inputs, values))
            return [evaluate(out, known) for out in outputs]
        return 'the testing kit\'s evaluator', evaluated


def relative_errors(problem, sized, data, got, want):
    """Each result's relative error against NumPy's (``want``) beyond what rounding at the
    size of the terms it sums explains (:func:`computations.testing.rounding`): an
    output that cancels to about zero is right when it is within that.

    >>> import types
    >>> x, G = sympy.MatrixSymbol('x', 2, 1), sympy.MatrixSymbol('G', 1, 1)
    >>> p = types.SimpleNamespace(inputs=[x, G], outputs=[x + x*G])
    >>> data = [np.array([[1.0], [2.0]]), np.array([[-1.0]])]
    >>> relative_errors(p, {}, data, [np.full((2, 1), 1e-16)], [np.zeros((2, 1))])
    [0.0]
    """
    from ..testing.reference import relative_error, rounding
    known = {var.xreplace(sized): value for var, value in zip(problem.inputs, data)}
    errors = []
    for out, g, w in zip(problem.outputs, got, want):
        try:
            allowed = rounding(out.xreplace(sized), known)
        except NotImplementedError:          # an expression NumPy's evaluator lacks
            allowed = 0.0
        errors.append(relative_error(g, np.reshape(w, np.shape(g)), allowed))
    return errors


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
        if name in sizes and sizes[name] != int(value):
            raise UsageError(f'--size {item}: {name} is given twice ({name}={sizes[name]} '
                             'too)')
        sizes[name] = int(value)
    return sizes


def _bench(contestants, repeat, threads=None):
    """``(threads, {name: median seconds})``: :func:`_alternate` with every BLAS the
    process loaded pinned to ``threads`` threads (default: as many as it uses now).

    threadpoolctl does the pinning; without it, a :class:`CommandError` says so.
    """
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        raise CommandError('--bench needs the package threadpoolctl to pin the BLAS '
                           'threads (pip install threadpoolctl)') from None
    if threads is None:
        threads = max([pool['num_threads'] for pool in threadpool_info()
                       if pool.get('user_api') == 'blas'] or [1])
    with threadpool_limits(limits=threads, user_api='blas'):
        return threads, _alternate(contestants, repeat)


def _alternate(contestants, repeat):
    """Median seconds of each contestant, over ``repeat`` rounds that alternate between them
    (each round in the reverse order of the one before, so that neither always runs first).

    >>> times = _alternate({'a': lambda: None, 'b': lambda: None}, 3)
    >>> sorted(times), all(t >= 0 for t in times.values())
    (['a', 'b'], True)
    """
    for run in contestants.values():   # warm up: compile, allocate, load BLAS threads
        run()
    times = {name: [] for name in contestants}
    order = list(contestants.items())
    for _ in range(repeat):
        for name, run in order:
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
        order.reverse()
    return {name: statistics.median(values) for name, values in times.items()}


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
