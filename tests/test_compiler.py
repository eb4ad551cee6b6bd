"""The compiler's choices: which routines compute which expressions, and in what order.

Each test names the expression, the assumptions and the sizes, and checks
the routines chosen (by class name, with multiplicity) -- the choices the
issue asks for: POSV/POTRF+POTRS for positive definite systems, TRSM for
triangular ones, GESV/GETRF+GETRS otherwise, SYRK for A.T*A, SYMM for a
symmetric factor, GEMV for matrix-vector products, alpha*A*B + beta*C in one
call, matrix chains ordered by cost, no explicit inverse unless the result
is one.  Numeric agreement is tested in test_function.py and
test_function_random.py.
"""
from collections import Counter

import pytest
import sympy
from sympy import Identity, MatrixSymbol, Q, Symbol

from computations.core import Identity as Marks
from computations.matrices import compile_expressions
from computations.matrices.examples.problems import PROBLEMS

n, k, p = (Symbol(s, integer=True, positive=True) for s in 'nkp')
A, B, C = (MatrixSymbol(s, n, n) for s in 'ABC')
S, T = MatrixSymbol('S', n, n), MatrixSymbol('T', n, n)
L, U = MatrixSymbol('L', n, n), MatrixSymbol('U', n, n)
X = MatrixSymbol('X', n, p)
x, y = MatrixSymbol('x', n, 1), MatrixSymbol('y', n, 1)
alpha, beta = Symbol('alpha'), Symbol('beta')
SIZES = {n: 100, k: 50, p: 10}


def routines(outputs, inputs, assumptions=(), dims=SIZES):
    compiled = compile_expressions(outputs, inputs, assumptions, dims)
    return Counter(type(op).__name__ for op in compiled.computation
                   if not isinstance(op, Marks))


@pytest.mark.parametrize('expr, inputs, assumptions, expected', [
    (S.I * x, [S, x], [Q.positive_definite(S)], {'POSV': 1}),
    (A.I * x, [A, x], [], {'GESV': 1}),
    (A.I * x, [A, x], [Q.invertible(A)], {'GESV': 1}),
    (L.I * B, [L, B], [Q.lower_triangular(L)], {'TRSM': 1}),
    (U.T.I * B, [U, B], [Q.upper_triangular(U)], {'TRSM': 1}),
    (B * L.I, [L, B], [Q.lower_triangular(L)], {'TRSM': 1}),
    (X.T * X, [X], [], {'SYRK': 1}),
    (X * X.T, [X], [], {'SYRK': 1}),
    (S * B, [S, B], [Q.symmetric(S)], {'SYMM': 1}),
    (B * S, [S, B], [Q.positive_definite(S)], {'SYMM': 1}),
    (L * B, [L, B], [Q.lower_triangular(L)], {'TRMM': 1}),
    (A * x, [A, x], [], {'GEMV': 1}),
    # GEMV computes the result's transpose; the row vector is a copy of it.
    (x.T * A, [A, x], [], {'GEMV': 1, 'TRANSPOSE': 1}),
    (alpha * A * B + beta * C, [alpha, beta, A, B, C], [], {'GEMM': 1}),
    (A * B - C, [A, B, C], [], {'GEMM': 1}),
    (2 * alpha * A * B, [alpha, A, B], [], {'GEMM': 1, 'SCALAR': 1}),
    (A + B, [A, B], [], {'AXPY': 1}),
    (3 * A, [A], [], {'SCAL': 1}),
    (A * x + y, [A, x, y], [], {'GEMV': 1}),
    (A * x - 2 * y, [A, x, y], [], {'GEMV': 1}),
    (S - A.T * A, [S, A], [Q.symmetric(S)], {'SYRK': 1}),
], ids=lambda v: str(v) if isinstance(v, sympy.Basic) else None)
def test_kernel_choice(expr, inputs, assumptions, expected):
    assert routines([expr], inputs, assumptions) == Counter(expected)


def test_a_chain_ending_in_a_vector_runs_as_matrix_vector_products():
    # A*B*C*x must run as three matrix-vector products, right to left.
    assert routines([A * B * C * x], [A, B, C, x]) == Counter(GEMV=3)
    # and x.T*A*B*C left to right, in three calls of 2 n^2 FLOPs each (a
    # one-row GEMM is a matrix-vector product too, and needs no transposition)
    compiled = compile_expressions([x.T * A * B * C], [A, B, C, x], dims=SIZES)
    assert compiled.flops == 3 * 2 * 100**2 and len(compiled.computation) == 4


def test_chain_order_follows_the_real_shapes():
    P, R, W = MatrixSymbol('P', n, k), MatrixSymbol('R', k, p), MatrixSymbol('W', p, n)
    expr = P * R * W
    # n=100, k=50, p=10: (P*R)*W costs 2*100*50*10 + 2*100*10*100 = 300k;
    # P*(R*W) costs 2*50*10*100 + 2*100*50*100 = 1.1M.
    compiled = compile_expressions([expr], [P, R, W], dims=SIZES)
    assert P * R in compiled.computation.variables
    compiled = compile_expressions([expr], [P, R, W], dims={n: 10, k: 50, p: 100})
    assert R * W in compiled.computation.variables


def test_a_factorization_serves_every_solve_with_the_same_matrix():
    expr1, expr2 = S.I * x, S.I * B
    assert routines([expr1, expr2], [S, x, B], [Q.positive_definite(S)]) == \
        Counter(POSV=1, POTRS=1)
    assert routines([A.I * x, A.I * B], [A, x, B]) == Counter(GESV=1, GETRS=1)


def test_solves_are_never_explicit_inverses_unless_the_result_is_one():
    counts = routines([S.I * A.I * x], [S, A, x], [Q.positive_definite(S)])
    assert counts == Counter(GESV=1, POSV=1)
    compiled = compile_expressions([S.I], [S], [Q.positive_definite(S)], SIZES)
    ops = [op for op in compiled.computation if not isinstance(op, Marks)]
    # the inverse of an SPD matrix from its factor (2n^3/3 FLOPs), not a solve with I (2n^3)
    assert sorted(type(op).__name__ for op in ops) == ['POTRF', 'POTRI']
    compiled = compile_expressions([A.I], [A], [], SIZES)
    (solve,) = [op for op in compiled.computation if not isinstance(op, Marks)]
    assert type(solve).__name__ == 'GESV' and solve.B == Identity(n)


@pytest.mark.parametrize('name, expected', [
    ('kalman', {'GEMV': 2, 'SYMM': 1, 'GEMM': 1, 'POSV': 1, 'TRSM': 1, 'SYRK': 1}),
    ('least_squares', {'GEMV': 1, 'SYRK': 1, 'POSV': 1}),
    # X.T*Omega.I*X as W.T*W with W = L.I*X (L the Cholesky factor of Omega)
    ('gls', {'POSV': 2, 'TRSM': 1, 'SYRK': 1, 'GEMV': 1}),
])
def test_bundled_problems(name, expected):
    problem = PROBLEMS[name]()
    dims = {Symbol(d, integer=True, positive=True): v for d, v in problem.sizes.items()}
    assert routines(problem.outputs, problem.inputs, problem.assumptions, dims) == \
        Counter(expected)


def test_kalman_program_flops_are_those_of_the_best_known_program():
    problem = PROBLEMS['kalman']()
    compiled = compile_expressions(problem.outputs, problem.inputs, problem.assumptions,
                                   {n: 2000, k: 1000})
    nn, kk = 2000, 1000
    best = (2 * kk * nn * nn          # SYMM H*Sigma
            + 2 * kk * kk * nn        # GEMM S = H*Sigma*H.T + R
            + 2 * kk * nn             # GEMV H*mu - data
            + kk**3 / 3 + 2 * kk**2   # POSV
            + 2 * kk * nn             # GEMV newmu
            + kk * kk * nn            # TRSM W = L.I*H*Sigma
            + nn * (nn + 1) * kk)     # SYRK Sigma - W.T*W
    assert compiled.flops == pytest.approx(best)


def test_the_computation_outputs_are_the_requested_values():
    # The result variables may be spelled differently, but have the same shape
    # and are the outputs of the composite.
    problem = PROBLEMS['kalman']()
    compiled = compile_expressions(problem.outputs, problem.inputs, problem.assumptions,
                                   {n: 20, k: 10})
    assert set(compiled.results) == set(compiled.computation.outputs)
    for result, output in zip(compiled.results, problem.outputs):
        assert result.shape == output.shape


def test_without_sizes_symbolic_costs_are_an_error():
    with pytest.raises(ValueError, match='unbound dimensions'):
        compile_expressions([A * B * x], [A, B, x])


def test_programs_do_not_depend_on_the_hash_seed():
    """Equal-cost plans tie the same way in every process (costs are exact sums, not sums
    in set order): the same program under three hash seeds."""
    import os
    import subprocess
    import sys
    script = '''
from sympy import MatrixSymbol, Q, Symbol, Trace, Determinant, log
import computations
from computations.matrices import LofCholesky, SymmetricLower
n = Symbol('n')
K, B, y = MatrixSymbol('K', n, n), MatrixSymbol('B', n, n), MatrixSymbol('y', n, 1)
L = LofCholesky(K)
nlml = Trace(y.T*K.I*y)/2 + log(Determinant(K))/2
f = computations.function([K, B, y], [L.T.I*SymmetricLower(L.T*B)*B, nlml,
                                      computations.grad(nlml, K)], [Q.positive_definite(K)])
print(f.pseudocode(), f.flops)
'''
    outputs = {subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                              check=True, env={**os.environ, 'PYTHONHASHSEED': seed}).stdout
               for seed in ('0', '1', '2')}
    assert len(outputs) == 1, outputs
