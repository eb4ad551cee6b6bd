"""C-ordered arrays (NumPy's default) against Fortran-ordered ones, as sizes grow.

A compiled function reads a C-ordered array as the Fortran-ordered array
``a.T`` transposed (``computations.front_door.layouts``) instead of copying
it to Fortran order.  The contestants, on the same data:

``compiled, F``
    the compiled function on Fortran-ordered arrays;
``compiled, C``
    the same function on C-ordered arrays (the layout variant);
``compiled, copied to F``
    C-ordered arrays each copied to Fortran order before the call
    (``np.asfortranarray``): the copies a call made before the variants,
    without the full call path's own overhead (about 0.15 ms more a call);
``compiled, C, 1-D``
    the C-ordered arrays with the column vectors given 1-D, as NumPy users have
    them (cases with vectors only; such calls took the full path every time
    before the 1-D view went to the program);
``numpy``
    the expression in NumPy on the C-ordered arrays (``@``, ``solve``,
    ``einsum``): what the caller would write instead.

Cases: ``A*x`` (a GEMV: the copy of A costs as much as the product), the
trace ``Trace(A*B)`` (an inner product), the sum ``A + B`` and the
triangular solve ``L.I*B`` (whose variants compute the transposed result and
transpose it at the end: the cases they lose), least squares
``(X.T*X).I*X.T*y``, and the Kalman update (``Sigma`` symmetric: only ``H`` is C-ordered for
the variant), each over growing sizes.  BLAS on one thread, the contestants
alternating (``_harness.round_robin``), a sample a loop of calls lasting at
least 10 ms, medians of ``--repeat`` samples.

Run: ``./dev bench layouts [--repeat 7] [--quick] [--tree PATH]``.
"""
import _tree

_tree.switch()                        # before anything imports computations

import numpy as np
import sympy
from sympy import MatrixSymbol, Q
from threadpoolctl import threadpool_limits

from _harness import check, per_call, shaped, table_arguments

import computations
from computations.matrices.examples.kalman import kalman

n, k = sympy.symbols('n k')


def gemv(size, rng):
    A, x = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
    args = rng.standard_normal((size, size)), rng.standard_normal((size, 1))
    return computations.function([A, x], A*x), args, lambda a, v: a @ v


def trace(size, rng):
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, n)
    args = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    return (computations.function([A, B], sympy.Trace(A*B)), args,
            lambda a, b: np.einsum('ij,ji->', a, b))


def matrix_sum(size, rng):
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, n)
    args = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    return computations.function([A, B], A + B), args, lambda a, b: a + b


def triangular_solve(size, rng):
    L, B = MatrixSymbol('L', n, n), MatrixSymbol('B', n, k)
    lower = np.tril(rng.standard_normal((size, size))) + np.sqrt(size) * np.eye(size)
    args = lower, rng.standard_normal((size, size // 2))
    return (computations.function([L, B], L.I*B, [Q.lower_triangular(L)]), args,
            lambda a, b: np.linalg.solve(a, b))


def least_squares(size, rng):
    X, y = MatrixSymbol('X', n, k), MatrixSymbol('y', n, 1)
    args = rng.standard_normal((size, size // 5)), rng.standard_normal((size, 1))
    return (computations.function([X, y], (X.T*X).I*X.T*y, [Q.fullrank(X)]), args,
            lambda x, v: np.linalg.solve(x.T @ x, x.T @ v))


def kalman_update(size, rng):
    inputs, outputs, assumptions = kalman()
    m = max(1, size * 2 // 5)
    X, Y = rng.standard_normal((size, size)), rng.standard_normal((m, m))
    args = (rng.standard_normal((size, 1)), X @ X.T / size + np.eye(size),
            rng.standard_normal((m, size)) / np.sqrt(size), Y @ Y.T / m + np.eye(m),
            rng.standard_normal((m, 1)))

    def numpy_kalman(mu, Sigma, H, R, data):
        X = H @ Sigma
        solved = np.linalg.solve(X @ H.T + R, np.concatenate([H @ mu - data, X], axis=1))
        return mu + X.T @ solved[:, :1], Sigma - X.T @ solved[:, 1:]
    return computations.function(inputs, outputs, assumptions), args, numpy_kalman


CASES = {'A*x': (gemv, (100, 500, 2000, 4000)),
         'Trace(A*B)': (trace, (100, 500, 2000)),
         'A + B': (matrix_sum, (100, 500, 2000)),
         'L.I*B (L lower, k = n/2)': (triangular_solve, (100, 500, 2000)),
         'least squares (p = n/5)': (least_squares, (100, 500, 2000, 4000)),
         'Kalman (k = 2n/5)': (kalman_update, (6, 50, 200, 1000))}


def measure(make, size, repeat):
    f, args, numpy_version = make(size, np.random.default_rng(size))
    c_args = tuple(np.ascontiguousarray(a) for a in args)
    f_args = tuple(np.asfortranarray(a) for a in args)
    contestants = {'compiled, F': lambda: f(*f_args),
                   'compiled, C': lambda: f(*c_args),
                   'compiled, copied to F': lambda: f(*(np.asfortranarray(a) for a in c_args)),
                   'numpy': lambda: numpy_version(*c_args)}
    v_args = tuple(a.ravel() if x.shape[1] == 1 else a for x, a in zip(f.inputs, c_args))
    if any(a.ndim == 1 for a in v_args):
        contestants['compiled, C, 1-D'] = lambda: f(*v_args)
    want = numpy_version(*c_args)
    want = want if isinstance(want, tuple) else (want,)
    for name, call in contestants.items():
        got = call()
        got = got if isinstance(got, tuple) else (got,)
        check(name, shaped(f, got, want, v_args if name == 'compiled, C, 1-D' else c_args),
              want)
    return per_call(contestants, repeat)


def main(argv=None):
    args = table_arguments(__doc__, argv, 'the two smallest sizes only')
    print('| case | n | compiled, F | compiled, C | C / F | copied to F / C | numpy / C '
          '| C, 1-D / C |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|')
    with threadpool_limits(1):
        for case, (make, sizes) in CASES.items():
            for size in sizes[:2] if args.quick else sizes:
                t = measure(make, size, args.repeat)
                c = t['compiled, C']
                print(f'| {case} | {size} | {t["compiled, F"] * 1e6:.1f} µs | {c * 1e6:.1f} µs | '
                      f'{c / t["compiled, F"]:.2f} | {t["compiled, copied to F"] / c:.2f} | '
                      f'{t["numpy"] / c:.2f} | ' + (f'{t["compiled, C, 1-D"] / c:.2f} |'
                                                     if 'compiled, C, 1-D' in t else '- |'),
                      flush=True)


if __name__ == '__main__':
    main()
