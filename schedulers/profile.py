"""Where a program's time goes: per-operation wall time, FLOPs and GFLOP/s.

:class:`Profile` holds one row per routine call of a run (timed inside the
generated source, :func:`computations.schedulers.codegen.generate` with ``profile``) and
prints as a table, with the total against the rate this machine reaches
on a large DGEMM (:func:`dgemm_rate`, measured once per process), the
usual yardstick of what the hardware and BLAS can do.

>>> rows = [Row('GEMM', 'dgemm', 'A*B', 0.5, 2 * 10**9), Row('Copy', 'copy', 'C', 0.1, 0)]
>>> print(Profile(rows, dgemm=8.0))
  #  operation  routine   seconds  share   GFLOP  GFLOP/s  computes
  1  GEMM       dgemm    0.500000  83.3%   2.000      4.0  A*B
  2  Copy       copy     0.100000  16.7%   0.000        -  C
     total               0.600000         2.000      3.3  (42% of DGEMM's 8.0 GFLOP/s)
"""
import dataclasses
import functools
import time

import numpy as np
from scipy.linalg import blas

__all__ = ['Row', 'Profile', 'rows', 'dgemm_rate']


@dataclasses.dataclass(frozen=True)
class Row:
    """One routine call: the operation's name, its routine, what it computes, its time and FLOPs."""
    operation: str
    routine: str
    computes: str
    seconds: float
    flops: int

    @property
    def gflops(self):
        """Achieved GFLOP/s (None for a call that does no floating-point work)."""
        return self.flops / self.seconds / 1e9 if self.flops and self.seconds > 0 else None


@dataclasses.dataclass(frozen=True)
class Profile:
    """The rows of one profiled run, and the machine's DGEMM rate to compare with."""
    rows: tuple
    dgemm: float = None

    def __post_init__(self):
        object.__setattr__(self, 'rows', tuple(self.rows))

    @property
    def seconds(self):
        """Total wall time of the routine calls."""
        return sum(row.seconds for row in self.rows)

    @property
    def flops(self):
        """Total FLOPs of the routine calls."""
        return sum(row.flops for row in self.rows)

    @property
    def gflops(self):
        """Achieved GFLOP/s over the whole run."""
        return self.flops / self.seconds / 1e9 if self.seconds > 0 else 0.0

    @property
    def efficiency(self):
        """The whole run's GFLOP/s as a fraction of the machine's DGEMM rate."""
        return self.gflops / self.dgemm if self.dgemm else None

    def __str__(self):
        total = self.seconds or 1.0
        wide = max([9, *(len(row.operation) for row in self.rows)])       # names' widths
        routine = max([7, *(len(row.routine) for row in self.rows)])
        lines = [f"{'#':>3}  {'operation':<{wide}}  {'routine':<{routine}} {'seconds':>9}  "
                 f"{'share':>5}  {'GFLOP':>6}  {'GFLOP/s':>7}  computes"]
        for i, row in enumerate(self.rows, 1):
            rate = f'{row.gflops:7.1f}' if row.gflops is not None else f"{'-':>7}"
            lines.append(f'{i:>3}  {row.operation:<{wide}}  {row.routine:<{routine}} '
                         f'{row.seconds:9.6f}  {row.seconds / total:5.1%}  '
                         f'{row.flops / 1e9:6.3f}  {rate}  {row.computes}')
        versus = (f'  ({self.efficiency:.0%} of DGEMM\'s {self.dgemm:.1f} GFLOP/s)'
                  if self.dgemm else '')
        lines.append(f"{'':>3}  {'total':<{wide}}  {'':<{routine}} {self.seconds:9.6f}  "
                     f"{'':>5}  {self.flops / 1e9:6.3f}  {self.gflops:7.1f}{versus}")
        return '\n'.join(lines)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))

    def to_records(self):
        """One dict per routine call, in the order they ran: the table's columns as data.

        Keys: ``operation``, ``routine``, ``computes``, ``seconds``, ``share`` (of
        the total time, a fraction), ``flops`` and ``gflops`` (None for a call
        that does no floating-point work).

        >>> table = Profile([Row('GEMM', 'dgemm', 'A*B', 0.5, 2 * 10**9),
        ...                  Row('Copy', 'copy', 'C', 0.5, 0)])
        >>> table.to_records()[0]
        {'operation': 'GEMM', 'routine': 'dgemm', 'computes': 'A*B', 'seconds': 0.5, \
'share': 0.5, 'flops': 2000000000, 'gflops': 4.0}
        >>> table.to_records()[1]['gflops'] is None
        True
        """
        total = self.seconds
        return [{'operation': row.operation, 'routine': row.routine,
                 'computes': row.computes, 'seconds': row.seconds,
                 'share': row.seconds / total if total > 0 else 0.0,
                 'flops': row.flops, 'gflops': row.gflops} for row in self.rows]

    def to_pandas(self):
        """The rows as a :class:`pandas.DataFrame`, one per routine call (the columns of
        :meth:`to_records`; ``gflops`` is NaN for a call without floating-point work).

        pandas is not a dependency of the library: without it, this raises an
        ``ImportError`` that says so.

        >>> table = Profile([Row('GEMM', 'dgemm', 'A*B', 0.5, 2 * 10**9)])
        >>> try:
        ...     frame = table.to_pandas()
        ... except ImportError as error:
        ...     print('pandas' in str(error))
        ... else:
        ...     print(list(frame.columns) == list(table.to_records()[0]))
        True
        """
        try:
            import pandas
        except ImportError as error:
            raise ImportError('Profile.to_pandas needs pandas, which is not installed '
                              '(pip install pandas); Profile.to_records() gives the same '
                              'rows as a list of dicts') from error
        columns = ['operation', 'routine', 'computes', 'seconds', 'share', 'flops', 'gflops']
        frame = pandas.DataFrame.from_records(self.to_records(), columns=columns)
        return frame.astype({'seconds': float, 'share': float, 'flops': float,
                             'gflops': float})


def rows(steps, seconds, binding):
    """One :class:`Row` per step of a profiled run: ``steps`` are the token nodes that ran
    (``Generated.steps``), ``seconds`` their times, and ``binding`` (a
    :class:`computations.sizes.Binding`) sizes their FLOPs.

    >>> import sympy
    >>> from computations.matrices import GEMM
    >>> from computations.inplace import inplace_compile
    >>> from computations.sizes import Binding
    >>> n = sympy.Symbol('n')
    >>> A = sympy.MatrixSymbol('A', n, n)
    >>> rows(inplace_compile(GEMM(1, A, A)).toposort(), [0.5], Binding({n: 1000}))
    [Row(operation='GEMM', routine='gemm', computes='A**2', seconds=0.5, flops=2000000000.0)]
    """
    return [Row(type(node.comp).__name__, getattr(node.comp, 'routine', None)
                or type(node.comp).__name__.lower(), ', '.join(map(str, node.comp.outputs)),
                time, binding.flops(node.comp))
            for node, time in zip(steps, seconds)]


@functools.cache
def dgemm_rate(n=2000, repeat=3):
    """This machine's DGEMM rate in GFLOP/s: the best of ``repeat`` n x n products
    (measured once per process and argument)."""
    rng = np.random.default_rng(0)
    a, b = (np.asfortranarray(rng.standard_normal((n, n))) for _ in range(2))
    blas.dgemm(1.0, a, b)                       # warm up: threads, pages
    best = min(_timed(blas.dgemm, 1.0, a, b) for _ in range(repeat))
    return 2 * n ** 3 / best / 1e9


def _timed(f, *args):
    start = time.perf_counter()
    f(*args)
    return time.perf_counter() - start
