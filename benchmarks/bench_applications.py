"""The application suite: every problem of ``benchmarks/applications/`` compiled, against
its hand-written SciPy program and lambdified NumPy.

Run with ``./dev bench applications`` (or ``.venv/bin/python
benchmarks/bench_applications.py``); ``--quick`` runs each problem at a
tenth of its sizes with one repetition (a smoke run), ``--problem NAME``
one problem (repeatable), ``--repeat N`` the samples per contestant
(default 7), ``--out DIR`` where the report goes (default
``docs/benchmarks``), ``--no-pin`` leaves the BLAS threads unpinned.  It
prints a table and writes ``DIR/applications.md`` and
``DIR/applications.png``.

The contestants, called on the same Fortran-ordered float64 arrays
(``applications.inputs``, seeded, satisfying the assumptions):

- ``compiled``: ``computations.function(inputs, outputs, assumptions)``,
  specialized to the sizes before timing; its compile time (building the
  function plus specializing it) is reported apart, never in the timings;
- ``hand``: the problem's hand-written ``scipy.linalg.blas``/``lapack``
  program (``Application.hand``);
- ``lambdify``: ``sympy.lambdify`` of the outputs, dimensions bound:
  NumPy products left to right and ``numpy.linalg.inv`` for every inverse.

Before timing, ``compiled`` and ``hand`` are checked against ``lambdify``
(relative error <= 1e-8) and every input against its copy, again after
timing (a contestant that wrote into an input would time another problem
from its second call on).  Timing is the
house style of ``bench_suite.py``, whose helpers this script uses: the
contestants alternate (``_harness.round_robin``), a sample is a batch of
calls lasting at least 20 ms, each figure is a median, and the timing
thread and the OpenBLAS worker threads are pinned to different cores
(``bench_suite.apart``).  ``compiled / hand`` is the median over rounds of
the two times taken in the same round (paired: a drift of this shared
machine falls on both; ratios of medians of two identical programs moved by
up to 15% between runs), with its quartiles; above 1 means the compiler
loses to the hand-written program, and a lower quartile above 1 that it
lost in three rounds of four.  Each problem also runs at half its
sizes (``--no-growth`` skips it), so the table shows how the ratio moves as
the operands grow.
"""
import argparse
import dataclasses
import datetime
import functools
import gc
import os
import pathlib
import statistics
import sys
import time

import bench_suite                           # first: it notes the OpenBLAS threads
import numpy as np

import computations
from _harness import check, round_robin
from applications import APPLICATIONS, inputs
from applications._base import lambdified

CONTESTANTS = ('compiled', 'hand', 'lambdify')
DEFAULT_OUT = bench_suite.DEFAULT_OUT


@dataclasses.dataclass
class Row:
    """One problem at one size: median seconds per contestant, compile seconds, program,
    and per other contestant the compiled time over its time in each round."""
    problem: str
    sizes: dict
    seconds: dict
    compile: float
    routines: tuple
    uses: bool
    paired: dict = dataclasses.field(default_factory=dict)

    @property
    def label(self):
        return ', '.join(f'{d}={v}' for d, v in self.sizes.items())

    def ratio(self, other):
        """The median over rounds of compiled/``other`` (the two timed in the same round,
        so a drift of the machine falls on both)."""
        return statistics.median(self.paired[other])

    def quartiles(self, other):
        """The lower and upper quartiles of the paired ratios compiled/``other``."""
        values = self.paired[other]
        if len(values) < 2:
            return values[0], values[0]
        q1, _, q3 = statistics.quantiles(values, n=4, method='inclusive')
        return q1, q3


def scaled(sizes, factor):
    """``sizes`` times ``factor`` (at least 2 each)."""
    return {d: max(2, int(v * factor)) for d, v in sizes.items()}


def measure(name, sizes, repeat, pin, pause):
    """Check and time the three contestants on problem ``name`` at ``sizes``; a :class:`Row`."""
    app = APPLICATIONS[name]
    data = inputs(app, sizes, seed=0)
    originals = [np.array(a, copy=True) for a in data]
    start = time.perf_counter()
    f = computations.function(app.inputs, app.outputs, app.assumptions, names=app.names)
    specialization = f.specialize(*data)
    compile_seconds = time.perf_counter() - start
    routines = tuple(type(op).__name__ for op in specialization.computation.toposort()
                     if type(op).__name__ != 'Identity')
    functions = {'compiled': f, 'hand': app.hand, 'lambdify': lambdified(app, sizes)}
    calls = {c: (lambda function=functions[c]: function(*data)) for c in CONTESTANTS}
    expected = tuple(np.asarray(v) for v in calls['lambdify']())
    for c in ('compiled', 'hand'):
        check(f'{name} at {sizes}: {c}', calls[c](), expected)
        for var, before, after in zip(app.inputs, originals, data):
            assert np.array_equal(before, after), f'{name}: {c} modified its input {var}'
    gc.collect()
    with bench_suite.apart(pin):
        batch = {c: bench_suite.calls_per_sample(call, 0.02) for c, call in calls.items()}
        times = round_robin({c: bench_suite.batched(call, batch[c]) for c, call in calls.items()},
                            repeat, pause=pause)
    for var, before, after in zip(app.inputs, originals, data):     # and after timing
        assert np.array_equal(before, after), f'{name}: a contestant modified {var} in a run'
    per_call = {c: [t / batch[c] for t in values] for c, values in times.items()}
    seconds = {c: statistics.median(values) for c, values in per_call.items()}
    paired = {other: [c / o for c, o in zip(per_call['compiled'], per_call[other])]
              for other in CONTESTANTS[1:]}
    return Row(name, dict(sizes), seconds, compile_seconds, routines, app.uses(routines),
               paired)


# --- reporting ------------------------------------------------------------------

HEADER = ('problem', 'sizes', 'compiled (s)', 'hand (s)', 'lambdify (s)', 'compiled/hand',
          'quartiles', 'compiled/lambdify', 'compile (s)', 'structure')


def _cells(row):
    return (row.problem, row.label, f"{row.seconds['compiled']:.3g}",
            f"{row.seconds['hand']:.3g}", f"{row.seconds['lambdify']:.3g}",
            f"{row.ratio('hand'):.2f}", '{:.2f}-{:.2f}'.format(*row.quartiles('hand')),
            f"{row.ratio('lambdify'):.2f}", f'{row.compile:.3f}',
            'yes' if row.uses else 'MISSED')


def text_table(rows):
    """The rows as an aligned plain-text table."""
    lines = [HEADER] + [_cells(row) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    return '\n'.join('  '.join(cell.ljust(w) if i < 2 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(line, widths))).rstrip()
                     for line in lines)


def summary(rows):
    """Lines on the largest size of each problem: median ratio, losses, worst."""
    largest = {}
    for row in rows:                         # the last row of a problem is its largest size
        largest[row.problem] = row
    ratios = {name: row.ratio('hand') for name, row in largest.items()}
    losses = sorted((r, name) for name, r in ratios.items() if r > 1.0)
    clear = sorted((largest[name].quartiles('hand')[0], name) for name in ratios
                   if largest[name].quartiles('hand')[0] > 1.0)
    worst = max(ratios, key=ratios.get)
    return [f'{len(ratios)} problems at their largest size: median compiled/hand '
            f'{statistics.median(ratios.values()):.2f}, median compiled/lambdify '
            f'{statistics.median(r.ratio("lambdify") for r in largest.values()):.2f}; '
            f'{len(losses)} slower than hand-written (ratio > 1), the worst {worst} at '
            f'{ratios[worst]:.2f}; median compile time '
            f'{statistics.median(r.compile for r in largest.values()):.3f} s',
            'slower than hand-written: ' + (', '.join(f'{name} {r:.2f}' for r, name
                                                      in reversed(losses)) or 'none'),
            'slower in three rounds of four (lower quartile of compiled/hand above 1): '
            + (', '.join(f'{name} {q:.2f}' for q, name in reversed(clear)) or 'none')]


def markdown(rows, command, seconds, started, repeat, pinned):
    """The report: how it was measured, the table, the plot, each compiled program."""
    lines = ['# Application suite: compiled against hand-written SciPy and NumPy', '',
             f'Generated by `{command}` on {started:%Y-%m-%d %H:%M} (ran in {seconds:.0f} s).',
             '']
    lines += [f'- {line}' for line in bench_suite.machine()]
    lines += [f'- {repeat} alternating samples per contestant; medians; `compiled/hand` and '
              '`compiled/lambdify` are medians over rounds of the ratio of the two times '
              'taken in the same round, `quartiles` those of compiled/hand',
              '- threads while timing: ' + (f'pinned, {pinned}' if pinned else 'not pinned'),
              '', 'The problems, their statements, data and hand-written programs are in '
              '`benchmarks/applications/`; `compiled/hand` above 1 means the compiler loses.  '
              '`structure`: whether the compiled program calls the kernels the problem '
              'requires (`Application.uses`).  Compile time is building the function plus '
              'specializing it to the sizes.', '']
    first, *rest = summary(rows)
    lines += [f'**{first}**', '']
    for line in rest:
        lines += [line, '']
    lines += ['', '![compiled time over hand-written and lambdify](applications.png)', '',
              '| ' + ' | '.join(HEADER) + ' |', '|---|---|' + '---:|' * 7 + '---|']
    lines += ['| ' + ' | '.join(_cells(row)) + ' |' for row in rows]
    lines += ['', '## The programs', '',
              '| problem | structure | compiled program (largest size) | hand-written |',
              '|---|---|---|---|']
    largest = {row.problem: row for row in rows}
    for name, row in largest.items():
        app = APPLICATIONS[name]
        hand = (app.hand.__doc__ or '').strip().split('\n\n')[0]
        hand = ' '.join(hand.split()).replace('|', '\\|')
        lines.append(f'| {name} | {app.structure} | {" ".join(row.routines)} | {hand} |')
    return '\n'.join(lines) + '\n'


def plot(rows, path):
    """compiled/hand and compiled/lambdify per problem (largest size), log scale."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    largest = list({row.problem: row for row in rows}.values())
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(largest) + 2), 4.8))
    xs = np.arange(len(largest))
    for offset, other in ((-0.2, 'hand'), (0.2, 'lambdify')):
        ratios = [row.ratio(other) for row in largest]
        ax.bar(xs + offset, [r - 1 for r in ratios], 0.4, bottom=1,
               label=f'compiled / {other}')
    ax.axhline(1.0, color='black', linewidth=1)
    ax.set_yscale('log')
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f'{value:g}')
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.set_xticks(xs)
    ax.set_xticklabels([row.problem for row in largest], rotation=60, ha='right')
    ax.set_ylabel('compiled time / other (log)\nabove 1: the compiler loses')
    ax.grid(axis='y', which='both', alpha=0.3)
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(names, repeat, quick, growth, out, command, pin=True):
    """Measure ``names``, print the table, write the report; return the rows."""
    echo = functools.partial(print, flush=True)
    started, start = datetime.datetime.now(), time.perf_counter()
    if hasattr(os, 'getloadavg') and os.getloadavg()[0] > 1.0:
        echo(f'warning: load average {os.getloadavg()[0]:.2f}: the timings will be noisy')
    rows = []
    for name in names:
        sizes = APPLICATIONS[name].sizes
        for factor in ((0.1,) if quick else (0.5, 1.0) if growth else (1.0,)):
            at = scaled(sizes, factor)
            echo(f'{name} at {at}...')
            rows.append(measure(name, at, repeat, pin, 0.05 if quick else 0.3))
    seconds = time.perf_counter() - start
    echo()
    echo(text_table(rows))
    echo()
    for line in summary(rows):
        echo(line)
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'applications.md').write_text(markdown(rows, command, seconds, started, repeat,
                                                  bench_suite.pinning() if pin else None))
    plot(rows, out / 'applications.png')
    echo(f'\nwrote {out / "applications.md"} and {out / "applications.png"} '
         f'({seconds:.0f} s)')
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='a tenth of the sizes, one repetition: a smoke run')
    parser.add_argument('--problem', action='append', choices=list(APPLICATIONS),
                        help='only this problem (repeatable)')
    parser.add_argument('--repeat', type=int, default=None,
                        help='samples per contestant (default 7, 1 with --quick)')
    parser.add_argument('--no-growth', action='store_true',
                        help='only the full sizes, not also half of them')
    parser.add_argument('--out', default=str(DEFAULT_OUT),
                        help='where applications.md and .png go (default docs/benchmarks)')
    parser.add_argument('--no-pin', action='store_true', help='leave the BLAS threads free')
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 7)
    if repeat < 1:
        parser.error('--repeat wants a positive number')
    command = ' '.join(['./dev bench applications']
                       + list(sys.argv[1:] if argv is None else argv))
    run(args.problem or list(APPLICATIONS), repeat, args.quick, not args.no_growth, args.out,
        command, pin=not args.no_pin)
    return 0


if __name__ == '__main__':
    sys.exit(main())
