"""Per-call cost by the form of the arguments: every common form on the hot path.

A compiled function's hot path (``computations.front_door.dispatch``) serves a
call whose argument layout it has seen before straight from the generated
program.  Until 2026-12-07 only positional Fortran- or C-ordered 2-D arrays
and float scalars took it; 1-D vectors, keywords, scalars given as ints or
NumPy numbers, and functions with a dimension declared as an expression
(``(n + 1) x n``) took the full path on every call (checks, conversion,
binding: about 0.1-0.35 ms).  The forms, on the same values:

``F, positional``      Fortran-ordered 2-D arrays by position (the reference);
``C-ordered``          NumPy's default order (the layout variant);
``1-D vectors``        column vectors as 1-D arrays (results 1-D too);
``keywords``           every argument by name;
``NumPy scalar``       a scalar given as ``np.float64`` (problems with a scalar);
``int scalar``         a scalar given as an ``int``.

What the forms cost before is measured by running this script on an older
checkout: ``git worktree add /tmp/base 777c4c5``, then ``./dev bench
call_forms --tree /tmp/base`` (:mod:`_tree`).

Problems: the Kalman update (``k = n/2``), ``alpha*A*x + y`` and ``B*x`` with
``B`` of ``(n + 1) x n``, each at growing n: the overhead is a fixed cost, so
its share falls as the routines' work grows.  BLAS on one thread, the forms
alternating (``_harness.round_robin``), a sample a loop of calls lasting at
least 10 ms, medians of ``--repeat`` samples; the table gives microseconds a
call and each form's time over the reference's.

Run: ``./dev bench call_forms [--repeat 7] [--quick] [--tree PATH]``.
"""
import _tree

_tree.switch()                        # before anything imports computations

import numpy as np
import sympy
from sympy import MatrixSymbol
from threadpoolctl import threadpool_limits

from _harness import check, per_call, shaped, table_arguments

import computations
from computations.matrices.examples.kalman import kalman

n = sympy.Symbol('n')


def kalman_update(size, rng):
    """The Kalman update's function and Fortran-ordered arguments (no scalar)."""
    m = max(1, size // 2)
    X, Y = rng.standard_normal((size, size)), rng.standard_normal((m, m))
    args = (rng.standard_normal((size, 1)), X @ X.T / size + np.eye(size),
            rng.standard_normal((m, size)) / np.sqrt(size), Y @ Y.T / m + np.eye(m),
            rng.standard_normal((m, 1)))
    return computations.function(*kalman()), args


def scaled_product(size, rng):
    """``alpha*A*x + y``: a scalar and two vectors."""
    alpha, A = sympy.Symbol('alpha'), MatrixSymbol('A', n, n)
    x, y = MatrixSymbol('x', n, 1), MatrixSymbol('y', n, 1)
    args = (0.5, rng.standard_normal((size, size)), rng.standard_normal((size, 1)),
            rng.standard_normal((size, 1)))
    return computations.function([alpha, A, x, y], alpha*A*x + y), args


def derived_dimension(size, rng):
    """``B*x`` with ``B`` declared ``(n + 1) x n``."""
    B, x = MatrixSymbol('B', n + 1, n), MatrixSymbol('x', n, 1)
    args = rng.standard_normal((size + 1, size)), rng.standard_normal((size, 1))
    return computations.function([B, x], B*x), args


CASES = {'Kalman (k = n/2)': (kalman_update, (6, 50, 500)),
         'alpha*A*x + y': (scaled_product, (6, 50, 500)),
         'B*x, B (n + 1) x n': (derived_dimension, (6, 50, 500))}


def forms(f, args):
    """``(calls, int scalars)``: the argument forms of the module for ``f``'s arguments
    (name -> a call of no argument and the arguments it passes by position), and the
    arguments with the scalars as ints (None without a scalar)."""
    fortran = tuple(np.asfortranarray(a) if isinstance(a, np.ndarray) else a for a in args)
    names = [str(x) for x in f.inputs]
    matrix = [isinstance(x, sympy.MatrixExpr) for x in f.inputs]
    column = [m and x.shape[1] == 1 for x, m in zip(f.inputs, matrix)]
    c_order = tuple(np.ascontiguousarray(a) if m else a for a, m in zip(fortran, matrix))
    flat = tuple(a.ravel() if c else a for a, c in zip(fortran, column))
    keywords = dict(zip(names, fortran))
    calls = {'F, positional': (lambda: f(*fortran), fortran),
             'C-ordered': (lambda: f(*c_order), c_order),
             '1-D vectors': (lambda: f(*flat), flat),
             'keywords': (lambda: f(**keywords), fortran)}
    if not any(column):
        del calls['1-D vectors']
    scalars = [i for i, m in enumerate(matrix) if not m]
    if scalars:
        numpy_scalar = tuple(np.float64(a) if i in scalars else a for i, a in enumerate(fortran))
        int_scalar = tuple(int(round(a)) or 1 if i in scalars else a
                           for i, a in enumerate(fortran))
        calls['NumPy scalar'] = (lambda: f(*numpy_scalar), numpy_scalar)
        calls['int scalar'] = (lambda: f(*int_scalar), int_scalar)
    return calls, int_scalar if scalars else None


def measure(make, size, repeat):
    """Seconds a call of each form (medians), after checking every form's results."""
    f, args = make(size, np.random.default_rng(size))
    calls, int_scalar = forms(f, args)
    reference = computations.function(f.inputs, f.outputs, f.assumptions)
    for name, (call, given) in calls.items():
        want = reference(*(int_scalar if name == 'int scalar' else args))
        want = want if isinstance(want, tuple) else (want,)
        for _ in range(3):                            # the full path, learned, the hot path
            got = call()
            got = got if isinstance(got, tuple) else (got,)
            check(name, shaped(f, got, want, given), want)
    return per_call({name: call for name, (call, _) in calls.items()}, repeat)


FORMS = ('F, positional', 'C-ordered', '1-D vectors', 'keywords', 'NumPy scalar',
         'int scalar')


def main(argv=None):
    args = table_arguments(__doc__, argv, 'the smallest size only',
                           '; µs a call (form / F, positional)')
    print('| case | n | ' + ' | '.join(FORMS) + ' |')
    print('|---|---:|' + '---:|' * len(FORMS))
    with threadpool_limits(1):
        for case, (make, sizes) in CASES.items():
            for size in sizes[:1] if args.quick else sizes:
                t = measure(make, size, args.repeat)
                base = t['F, positional']
                cells = [f'{t[form] * 1e6:.1f}' + ('' if form == 'F, positional' else
                                                    f' ({t[form] / base:.2f})')
                         if form in t else '-' for form in FORMS]
                print(f'| {case} | {size} | ' + ' | '.join(cells) + ' |', flush=True)


if __name__ == '__main__':
    main()
