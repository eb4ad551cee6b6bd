"""The programs the compiler chooses, printed, to compare before and after a change.

A change to the search, the rules or the cost model can change programs
without failing a test (a test checks a program's kernels, not all of it).
This prints every application's program at its full and small sizes, the
Kalman filter's at five shapes and two gradient programs, with the CPU time
each took to compile; run it on both trees and ``diff`` the files.

Run: ``./dev python benchmarks/compare_programs.py OUT`` (then ``diff`` two OUTs).
"""
import sys
import time

import sympy
from sympy import Determinant, MatrixSymbol, Q, Trace, log

import computations
from applications import APPLICATIONS
from computations.matrices.examples.kalman import kalman

KALMAN_SHAPES = ((1000, 500), (500, 1000), (6, 3), (50, 20), (100, 100))


def gradient_cases():
    """``(inputs, scalar, wrt, assumptions)``: the Kalman covariance's gradients (four
    outputs, joint planning's long case) and the GP likelihood's."""
    S, H, R, V = (MatrixSymbol('S', 4, 4), MatrixSymbol('H', 2, 4), MatrixSymbol('R', 2, 2),
                  MatrixSymbol('V', 4, 4))
    K, y = MatrixSymbol('K', 30, 30), MatrixSymbol('y', 30, 1)
    return [([S, H, R, V], Trace(V.T * (S - S * H.T * (H * S * H.T + R).I * H * S)), [S, H, R],
             [Q.positive_definite(S), Q.positive_definite(R)]),
            ([K, y], (log(Determinant(K)) + Trace(y.T * K.I * y)) / 2, [K],
             [Q.positive_definite(K)])]


def programs():
    """``(title, program text, CPU seconds)`` for every case."""
    for name, app in APPLICATIONS.items():
        for label, sizes in (('full', app.sizes), ('small', app.small)):
            start = time.process_time()
            f = computations.function(app.inputs, app.outputs, app.assumptions,
                                      sizes=dict(sizes))
            yield f'{name} {label} {dict(sizes)}', str(f), time.process_time() - start
    inputs, outputs, assumptions = kalman()
    for n, k in KALMAN_SHAPES:
        start = time.process_time()
        f = computations.function(inputs, outputs, assumptions, sizes={'n': n, 'k': k})
        yield f'kalman n={n} k={k}', str(f), time.process_time() - start
    for inputs, scalar, wrt, assumptions in gradient_cases():
        start = time.process_time()
        gradients = computations.grad(scalar, wrt, assumptions)
        f = computations.function(inputs, [scalar, *gradients], assumptions)
        yield f'gradient of {sympy.sstr(scalar)}', str(f), time.process_time() - start


def main(argv=None):
    out = (argv or sys.argv[1:])[0]
    found = list(programs())
    with open(out, 'w') as file:
        file.write('\n'.join(f'== {title}\n{text}\n' for title, text, _ in found))
    for title, _, seconds in found:
        if seconds > 1:
            print(f'{seconds:6.2f} s CPU  {title[:70]}')
    print(f'{len(found)} programs in {sum(s for _, _, s in found):.2f} s CPU: {out}')


if __name__ == '__main__':
    main()
