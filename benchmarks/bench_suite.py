"""The benchmark suite: the bundled problems at several sizes against every peer.

Run with ``./dev bench suite`` (or ``.venv/bin/python benchmarks/bench_suite.py``);
``--quick`` runs the small sizes only with few repetitions (a smoke run),
``--repeat N`` sets the repetitions (N samples at the large sizes, 2N at the
medium, 3N at the small; default 7), ``--out DIR`` where the report goes
(default ``docs/benchmarks``), ``--problem NAME`` one problem only,
``--no-pin`` leaves the threads unpinned (see below).  It prints a table
and writes ``DIR/suite.md`` (one markdown table per problem) and
``DIR/suite.png`` (one panel per problem).

The problems are those of ``computations.matrices.examples.problems``
(``kalman``, ``least_squares``, ``gls``), on the well-conditioned data of
``random_inputs``, each at three sizes: *small*, where the per-call overhead
of Python and of the wrappers dominates; *medium*; and *large* (the
problem's default sizes), where the BLAS/LAPACK work dominates.  The
contestants, all called on the same Fortran-ordered float64 arrays:

- ``computed``: ``computations.function(inputs, outputs, assumptions)``,
  compiled once per problem and specialized to the sizes before timing;
- ``lambdify``: ``sympy.lambdify(inputs, outputs, 'numpy')`` of the same
  expressions (dimensions bound to the sizes): products left to right and
  ``numpy.linalg.inv`` for every ``.I``;
- ``numpy_solve``, ``scipy_hand``, ``jax``, ``pytensor``: the programs of
  ``benchmarks/peers.py`` (careful NumPy with ``solve``; BLAS/LAPACK by hand;
  the NumPy program under ``jax.jit``; the same graph compiled by PyTensor).
  ``jax`` and ``pytensor`` run only when importable; the report says when
  they were not.

Before anything is timed, every contestant's results are checked against
``lambdify``'s (relative error <= 1e-8; a disagreement stops the suite with
an ``AssertionError``) and the inputs are checked unchanged after each
call.  Then, per size, the calls are timed in one process, alternating
between the contestants (``_harness.round_robin``) with a pause before each
sample so that one library's spinning OpenBLAS threads do not slow the
next; a sample is a batch of calls lasting at least ~20 ms (one call at the
large sizes, hundreds at the small ones) divided by the calls in it.

Pinning: NumPy and SciPy each run their OpenBLAS on the calling thread plus
one worker thread per further core, which spin-wait for each other.  On
this 2-core virtual machine, unpinned runs of the suite had whole rows
5-20x off, at random, with the caller busy in OpenBLAS's
``exec_blas_async_wait`` and the worker in ``blas_thread_server`` (perf):
apparently the scheduler leaves the worker on the caller's core, and each
threaded call then costs scheduler time slices.  Pinning both to one core
reproduces it (a 20 us call took 8 ms, a 44 ms one 0.9 s).  So while
timing, the suite pins the timing thread to the first core and the
OpenBLAS worker threads (found when NumPy and SciPy load, before JAX or
Numba start theirs) to the others; JAX's and Numba's threads stay free,
and single-threaded calls are unaffected.  ``--no-pin`` measures without
it (see ``apart``).

How to read the output: ``median (s)`` is the median seconds of one call;
``vs computed`` is that time divided by ``computed``'s at the same size, so
above 1 means slower than ``computed`` (2.00: takes twice as long) and below
1 faster.  ``peak MB`` is the memory ``tracemalloc`` traced during one call,
above what was traced just before it: the arrays a call allocates and
holds at once, including its outputs.  NumPy reports its arrays to
``tracemalloc``, but ``numpy.linalg`` copies its operands into ``malloc``
buffers it does not report, so ``lambdify``'s and ``numpy_solve``'s figures
are lower bounds (marked ``>=``), and JAX's buffers are invisible to it
(``n/a``).  ``calls/sample`` is the batch size.  The setup line under each
table gives the compile times, outside the timings: ``computed`` (building
the function, at a problem's first size only, plus specializing it to the
sizes), ``jax`` (tracing and XLA compilation at these shapes, plus the
first call) and ``pytensor`` (graph compilation, at the first size only as
the compiled function is shape-generic, plus the first call).
"""
import argparse
import contextlib
import dataclasses
import datetime
import functools
import gc
import math
import os
import pathlib
import platform
import statistics
import sys
import threading
import time
import tracemalloc

import numpy as np
import scipy
import scipy.linalg


def _blas_workers():
    """The threads other than this one, right after NumPy and SciPy loaded their OpenBLAS
    (which starts its worker threads when it loads); ``None`` when other libraries that
    start threads were already imported, so the threads cannot be told apart."""
    if not hasattr(os, 'sched_setaffinity') or not os.path.isdir('/proc/self/task'):
        return None
    if any(name in sys.modules for name in ('jax', 'numba', 'pytensor', 'torch')):
        return None
    me = threading.get_native_id()
    return frozenset(int(t) for t in os.listdir('/proc/self/task') if int(t) != me)


_BLAS_WORKERS = _blas_workers()

import sympy  # noqa: E402  (after the snapshot: the later imports may start threads)

import computations
from computations.matrices.examples.problems import PROBLEMS, random_inputs

import peers
from _harness import check, round_robin

CONTESTANTS = ('computed', 'lambdify', 'numpy_solve', 'scipy_hand', 'jax', 'pytensor')

#: problem -> tier -> sizes.  Small: per-call overhead dominates; large: the defaults.
SIZES = {
    'kalman': {'small': {'n': 50, 'k': 20}, 'medium': {'n': 500, 'k': 200},
               'large': {'n': 2000, 'k': 1000}},
    'least_squares': {'small': {'n': 100, 'p': 20}, 'medium': {'n': 1000, 'p': 200},
                      'large': {'n': 4000, 'p': 1000}},
    'gls': {'small': {'n': 50, 'p': 10}, 'medium': {'n': 500, 'p': 100},
            'large': {'n': 2000, 'p': 500}},
}

#: tier -> (repetitions per ``--repeat``, pause in seconds before each sample).
TIERS = {'small': (3, 0.12), 'medium': (2, 0.2), 'large': (1, 0.3)}

#: Contestants whose traced peak misses what ``numpy.linalg`` allocates with ``malloc``.
LOWER_BOUND = ('lambdify', 'numpy_solve')
UNTRACED = ('jax',)

DEFAULT_OUT = pathlib.Path(__file__).resolve().parent.parent / 'docs' / 'benchmarks'


@dataclasses.dataclass(frozen=True)
class Case:
    """One problem at one size, and how to time it."""
    problem: str
    tier: str
    sizes: dict
    repeat: int
    pause: float
    min_sample: float = 0.02

    @property
    def label(self):
        return ', '.join(f'{d}={v}' for d, v in self.sizes.items())


def plan(repeat=7, quick=False, problems=tuple(PROBLEMS)):
    """The cases of the suite: every problem at every size (``quick``: small only,
    shorter pauses).  ``repeat`` samples at the large sizes, 2x at the medium, 3x at
    the small ones."""
    tiers = ('small',) if quick else tuple(TIERS)
    return [Case(problem, tier, SIZES[problem][tier], repeat * TIERS[tier][0],
                 0.05 if quick else TIERS[tier][1])
            for problem in problems for tier in tiers]


@dataclasses.dataclass
class Row:
    problem: str
    tier: str
    size: str
    contestant: str
    seconds: float
    ratio: float
    peak_mb: float
    calls: int
    samples: int
    paired: float = None   # the median over rounds of this time / compiled's, same round


def _dims(problem, sizes):
    """The dimension symbols of ``problem``'s inputs -> their integer sizes."""
    symbols = {s for v in problem.inputs for d in getattr(v, 'shape', ())
               for s in sympy.sympify(d).free_symbols}
    return {s: sympy.Integer(sizes[s.name]) for s in symbols if s.name in sizes}


def _results(value):
    return tuple(np.asarray(v) for v in (value if isinstance(value, (list, tuple)) else [value]))


def _peak_mb(call):
    """MB traced at the peak of one ``call()``, above what was traced just before."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = call()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        tracemalloc.stop()
    return (peak - before) / 1e6


def calls_per_sample(call, min_sample):
    """How many calls make a sample of at least ``min_sample`` seconds."""
    start = time.perf_counter()
    call()
    once = time.perf_counter() - start
    if once >= min_sample:
        return 1
    tries = max(1, min(50, int(min_sample / max(once, 1e-7) / 4)))
    batches = []
    for _ in range(3):                       # the fastest of three: a preempted batch is slow
        start = time.perf_counter()
        for _ in range(tries):
            call()
        batches.append((time.perf_counter() - start) / tries)
    return max(1, math.ceil(min_sample / max(min(batches), 1e-9)))


def batched(call, calls):
    """``call`` made ``calls`` times in a row: one timed sample."""
    def run():
        for _ in range(calls):
            call()
    return run


@contextlib.contextmanager
def apart(enabled=True):
    """While it lasts, pin the calling thread to one core and NumPy's and SciPy's OpenBLAS
    worker threads to the others; yields whether it did.

    Without this, the scheduler apparently sometimes leaves an OpenBLAS worker on the
    core of the thread that called BLAS, where both spin-wait for each other: each
    threaded call then costs scheduler time slices (pinning both to one core turns a
    20 us call into 8 ms, a 44 ms one into 0.9 s).  Threads of other libraries (JAX's,
    Numba's) are left free; new threads started meanwhile inherit the caller's core.
    """
    cpus = os.sched_getaffinity(0) if hasattr(os, 'sched_getaffinity') else set()
    workers = [t for t in (_BLAS_WORKERS or ()) if os.path.exists(f'/proc/self/task/{t}')]
    if not (enabled and workers and len(cpus) >= 2):
        yield False
        return
    mine = min(cpus)
    before = {}
    try:
        for tid in workers:
            before[tid] = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, cpus - {mine})
        os.sched_setaffinity(0, {mine})
        yield True
    finally:
        os.sched_setaffinity(0, cpus)
        for tid, allowed in before.items():
            with contextlib.suppress(OSError):     # the thread may have ended
                os.sched_setaffinity(tid, allowed)


def pinning():
    """A sentence on what :func:`apart` does on this machine."""
    if not _BLAS_WORKERS:
        return 'not available here (no OpenBLAS worker threads found, or no affinity API)'
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return 'not possible on one core'
    return (f'the timing thread on core {cpus[0]}, the {len(_BLAS_WORKERS)} OpenBLAS worker '
            f'threads of NumPy and SciPy on core{"s" if len(cpus) > 2 else ""} '
            f'{",".join(map(str, cpus[1:]))} '
            '(JAX and Numba threads free)')


def measure(case, compiled, pin=False):
    """Check and time every contestant on ``case``; returns ``(rows, setup seconds)``.

    ``compiled`` caches ``computations.function`` per problem (name -> function).
    ``pin``: time inside :func:`apart`.
    """
    problem = PROBLEMS[case.problem]()
    data = random_inputs(problem, case.sizes, seed=0)
    originals = [np.array(a, copy=True) for a in data]
    setup = {}

    build = 0.0
    if case.problem not in compiled:
        start = time.perf_counter()
        compiled[case.problem] = computations.function(
            problem.inputs, problem.outputs, problem.assumptions, names=problem.names)
        build = time.perf_counter() - start
    f = compiled[case.problem]
    start = time.perf_counter()
    f.specialize(*data)
    setup['computed'] = build + time.perf_counter() - start
    dims = _dims(problem, case.sizes)
    lambdified = sympy.lambdify([v.xreplace(dims) for v in problem.inputs],
                                [out.xreplace(dims) for out in problem.outputs], 'numpy')
    functions = {'computed': f, 'lambdify': lambdified}
    for name, build_peer in peers.builders(case.problem).items():
        start = time.perf_counter()
        function = build_peer()
        function(*data)                      # JAX traces and compiles here, per shape
        if name in ('jax', 'pytensor'):
            setup[name] = time.perf_counter() - start
        functions[name] = function
    calls = {name: (lambda function=function: function(*data))
             for name, function in functions.items()}

    expected = _results(calls['lambdify']())
    for name, call in calls.items():
        check(f'{case.problem} at {case.label}: {name}', _results(call()), expected)
        for var, before, after in zip(problem.inputs, originals, data):
            assert np.array_equal(before, after), \
                f'{case.problem} at {case.label}: {name} modified its input {var}'

    gc.collect()                             # once: a collection takes ~0.15 s here
    peaks = {name: _peak_mb(call) for name, call in calls.items()}
    with apart(pin):
        batch = {name: calls_per_sample(call, case.min_sample) for name, call in calls.items()}
        times = round_robin({name: batched(call, batch[name]) for name, call in calls.items()},
                            case.repeat, pause=case.pause)
    for var, before, after in zip(problem.inputs, originals, data):
        assert np.array_equal(before, after), f'{case.problem}: input {var} was modified'
    seconds = {name: statistics.median(t / batch[name] for t in values)
               for name, values in times.items()}
    paired = {name: statistics.median(t / batch[name] / (c / batch['computed'])
                                      for t, c in zip(values, times['computed']))
              for name, values in times.items()}
    rows = [Row(case.problem, case.tier, case.label, name, seconds[name],
                seconds[name] / seconds['computed'], peaks[name], batch[name], case.repeat,
                paired[name])
            for name in CONTESTANTS if name in seconds]
    return rows, setup


# --- reporting ------------------------------------------------------------------

def _seconds(value):
    return f'{value:.3g}'


def _peak(row):
    if row.contestant in UNTRACED:
        return 'n/a'
    return ('>=' if row.contestant in LOWER_BOUND else '') + f'{row.peak_mb:.2f}'


def _cells(row):
    return (row.size, row.contestant, _seconds(row.seconds), f'{row.ratio:.2f}',
            _peak(row), str(row.calls))


HEADER = ('size', 'contestant', 'median (s)', 'vs computed', 'peak MB', 'calls/sample')


def text_table(rows):
    """The rows as an aligned plain-text table, problems separated by a blank line."""
    header = ('problem',) + HEADER
    lines = [(row.problem,) + _cells(row) for row in rows]
    widths = [max(len(r[i]) for r in lines + [header]) for i in range(len(header))]
    out = []
    for i, line in enumerate([header] + lines):
        if i > 1 and line[0] != lines[i - 2][0]:
            out.append('')
        out.append('  '.join(cell.ljust(w) if j < 3 else cell.rjust(w)
                             for j, (cell, w) in enumerate(zip(line, widths))).rstrip())
    return '\n'.join(out)


def machine():
    """Lines describing the machine and libraries."""
    lines = []
    model = ''
    try:
        with open('/proc/cpuinfo') as f:
            model = next((line.split(':', 1)[1].strip() for line in f
                          if line.startswith('model name')), '')
    except OSError:
        pass
    lines.append(f'{os.cpu_count()} cores{f" ({model})" if model else ""}, '
                 f'{platform.system()} {platform.machine()}, Python {platform.python_version()}')
    libraries = [f'NumPy {np.__version__}', f'SciPy {scipy.__version__}',
                 f'SymPy {sympy.__version__}']
    for name in peers.OPTIONAL:
        if peers.available(name):
            module = __import__(name)
            libraries.append(f'{name} {module.__version__}')
        else:
            libraries.append(f'{name} not installed')
    lines.append(', '.join(libraries))
    lines.append('BLAS: ' + blas_info())
    threads = {v: os.environ[v] for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS',
                                          'MKL_NUM_THREADS') if v in os.environ}
    if threads:
        lines.append('environment: ' + ', '.join(f'{k}={v}' for k, v in threads.items()))
    return lines


def blas_info():
    """Which BLAS NumPy and SciPy use (threadpoolctl when installed, else their build config)."""
    try:
        from threadpoolctl import threadpool_info
        pools = [f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads, "
                 f"{pathlib.Path(p.get('filepath', '')).name})" for p in threadpool_info()
                 if p.get('user_api') == 'blas']
        if pools:
            return '; '.join(pools)
    except ImportError:
        pass
    parts = []
    for name, module in (('NumPy', np), ('SciPy', scipy)):
        try:
            blas = module.show_config(mode='dicts')['Build Dependencies']['blas']
            parts.append(f"{name}: {blas.get('name')} {blas.get('version', '')}".strip())
        except (AttributeError, KeyError, TypeError, ValueError) as error:  # older show_config
            parts.append(f'{name}: unknown ({type(error).__name__})')
    return '; '.join(parts) + ' (build configuration; threadpoolctl not installed)'


def markdown(rows, setups, cases, command, seconds, started, load=None, pinned=None):
    """The report as markdown: a header, then one table per problem."""
    repeats = sorted({(c.tier, c.repeat, c.pause) for c in cases},
                     key=lambda t: list(TIERS).index(t[0]))
    lines = ['# Benchmark suite: compiled programs against their peers', '',
             (f'Generated by `{command}` on {started:%Y-%m-%d %H:%M} '
              f'(suite ran in {seconds:.0f} s).'), '']
    lines += [f'- {line}' for line in machine()]
    lines.append('- repetitions (samples per contestant, alternating) and pause before each: '
                 + ', '.join(f'{tier} {repeat} x {pause:g} s' for tier, repeat, pause in repeats))
    lines.append('- threads while timing: ' + (f'pinned, {pinned}' if pinned else
                                               'not pinned (`--no-pin`)'))
    if load is not None:
        lines.append(f'- load average (1 min) {load[0]:.2f} before the suite, {load[1]:.2f} '
                     'after it (the suite itself keeps about one core busy)')
    missing = [name for name in peers.OPTIONAL if not peers.available(name)]
    if missing:
        lines.append(f'- not installed, so not run: {", ".join(missing)}')
    lines += ['', ('How to read: `median (s)` is one call; `vs computed` is that time over '
                   "`computed`'s at the same size (above 1: slower than `computed`).  "
                   '`peak MB` is what `tracemalloc` traced during one call above what was '
                   'traced before it; `>=` marks a lower bound (`numpy.linalg` copies its '
                   'operands into buffers that it does not report to `tracemalloc`), `n/a` '
                   'JAX, whose buffers it does not see.  `calls/sample`: calls timed together '
                   'in each sample.  See the docstrings of `benchmarks/bench_suite.py` and '
                   '`benchmarks/peers.py` for the contestants.'), '',
              '![time relative to computed](suite.png)', '']
    for problem in dict.fromkeys(row.problem for row in rows):
        description = PROBLEMS[problem]().description
        lines += [f'## {problem}' + (f': {description}' if description else ''), '',
                  '| ' + ' | '.join(HEADER) + ' |', '|---|---|' + '---:|' * (len(HEADER) - 2)]
        lines += ['| ' + ' | '.join(_cells(row)) + ' |' for row in rows if row.problem == problem]
        lines.append('')
        for case in cases:
            if case.problem == problem and (problem, case.label) in setups:
                setup = setups[problem, case.label]
                lines.append(f'- setup at {case.label}: ' + ', '.join(
                    f'{name} {value:.2f} s' for name, value in setup.items()))
        lines.append('')
    return '\n'.join(lines)


def plot(rows, path):
    """One panel per problem: time relative to ``computed`` per size (log scale), one bar
    per other contestant, drawn from 1 (``computed``) up (slower) or down (faster)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    problems = list(dict.fromkeys(row.problem for row in rows))
    names = [c for c in CONTESTANTS[1:] if any(row.contestant == c for row in rows)]
    fig, axes = plt.subplots(1, len(problems), figsize=(4.6 * len(problems), 4.4),
                             squeeze=False)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    width = 0.8 / max(1, len(names))
    for ax, problem in zip(axes[0], problems):
        mine = [row for row in rows if row.problem == problem]
        sizes = list(dict.fromkeys(row.size for row in mine))
        ratios = [row.ratio for row in mine]
        for i, name in enumerate(names):
            xs, ys = [], []
            for j, size in enumerate(sizes):
                for row in mine:
                    if row.size == size and row.contestant == name:
                        xs.append(j - 0.4 + width * (i + 0.5))
                        ys.append(row.ratio)
            color = colors[(i + 1) % len(colors)]
            ax.bar(xs, [y - 1 for y in ys], width, bottom=1, label=name, color=color)
            # A cap at the value, so that a ratio near 1 still shows.
            ax.hlines(ys, [x - width / 2 for x in xs], [x + width / 2 for x in xs],
                      colors=color, linewidth=2.5)
        ax.axhline(1.0, color='black', linewidth=1)
        ax.set_yscale('log')
        ax.set_ylim(min(ratios + [1]) / 1.5, max(ratios + [1]) * 1.5)
        plain = matplotlib.ticker.FuncFormatter(lambda value, _: f'{value:g}')
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.set_xticks(range(len(sizes)))
        ax.set_xticklabels([s.replace(', ', '\n') for s in sizes])
        ax.set_title(problem)
        ax.grid(axis='y', which='both', alpha=0.3)
    axes[0][0].set_ylabel('time / computed (log scale; computed = 1)\n'
                          'above 1: slower than computed')
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=len(names), frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_suite(cases, out=DEFAULT_OUT, command='./dev bench suite', echo=None, pin=False):
    """Run ``cases``, print the table with ``echo`` (default: ``print``), write
    ``out/suite.md`` and ``out/suite.png``; returns the rows.  ``pin``: time with
    the OpenBLAS workers kept off the timing thread's core (:func:`apart`)."""
    echo = echo or functools.partial(print, flush=True)
    started = datetime.datetime.now()
    load = [os.getloadavg()[0]] if hasattr(os, 'getloadavg') else None
    if load and load[0] > 1.0:
        echo(f'warning: load average {load[0]:.2f} before the suite: another process is '
             'busy, and the timings will be noisy (OpenBLAS threads wait for each other)')
    start = time.perf_counter()
    compiled, rows, setups = {}, [], {}
    for case in cases:
        echo(f'{case.problem} at {case.label} ({case.repeat} samples)...')
        case_rows, setup = measure(case, compiled, pin)
        rows += case_rows
        setups[case.problem, case.label] = setup
    seconds = time.perf_counter() - start
    if load:
        load.append(os.getloadavg()[0])
    echo()
    echo(text_table(rows))
    echo()
    for (problem, label), setup in setups.items():
        echo(f'setup {problem} at {label}: ' + ', '.join(
            f'{name} {value:.2f} s' for name, value in setup.items()))
    missing = [name for name in peers.OPTIONAL if not peers.available(name)]
    if missing:
        echo(f'not installed, so not run: {", ".join(missing)}')
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'suite.md').write_text(markdown(rows, setups, cases, command, seconds, started,
                                           load, pinning() if pin else None))
    plot(rows, out / 'suite.png')
    echo(f'\nwrote {out / "suite.md"} and {out / "suite.png"}; suite ran in {seconds:.0f} s')
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeat', type=int, default=None,
                        help='samples per contestant at the large sizes (2x at the medium, '
                             '3x at the small ones); default 7, 1 with --quick')
    parser.add_argument('--quick', action='store_true',
                        help='small sizes only, few repetitions: a smoke run')
    parser.add_argument('--out', default=str(DEFAULT_OUT),
                        help='where suite.md and suite.png go (default docs/benchmarks)')
    parser.add_argument('--no-pin', action='store_true',
                        help="leave NumPy's and SciPy's OpenBLAS threads free to share the "
                             "timing thread's core (see apart())")
    parser.add_argument('--problem', action='append', choices=list(PROBLEMS),
                        help='only this problem (repeatable)')
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 7)
    if repeat < 1:
        parser.error('--repeat wants a positive number')
    command = ' '.join(['./dev bench suite'] + list(sys.argv[1:] if argv is None else argv))
    run_suite(plan(repeat, args.quick, tuple(args.problem or PROBLEMS)), args.out, command,
              pin=not args.no_pin)
    return 0


if __name__ == '__main__':
    sys.exit(main())
