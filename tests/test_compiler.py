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
import re
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
    # GEMV would compute the result's transpose, and an output held transposed costs a
    # copy at the end: a one-row GEMM (the same FLOPs) leaves the row vector as asked.
    (x.T * A, [A, x], [], {'GEMM': 1}),
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


def test_a_symmetric_indefinite_solve_is_sysv_at_half_the_cost_of_lu():
    assert routines([C.I * B], [C, B], [Q.symmetric(C)]) == Counter(SYSV=1)
    assert routines([B * C.I], [C, B], [Q.symmetric(C)])['SYSV'] == 1
    assert routines([C.I * B], [C, B], [Q.symmetric(C), Q.positive_definite(C)]) == \
        Counter(POSV=1)
    assert routines([C.I * B], [C, B]) == Counter(GESV=1)


def test_structure_buys_cheaper_kernels():
    assert routines([L.I], [L], [Q.lower_triangular(L)]) == Counter(TRTRI=1)
    assert routines([A.I * B], [A, B], [Q.orthogonal(A)]) == Counter(GEMM=1)
    assert routines([A.I], [A], [Q.orthogonal(A)]) == Counter(TRANSPOSE=1)
    D, E = MatrixSymbol('D', n, n), MatrixSymbol('E', n, n)
    diagonal = [Q.diagonal(D), Q.diagonal(E)]
    for expr in (D * A, A * D, D.I * A, A * D.I, D * x, D * E, D.I):
        assert routines([expr], [D, E, A, x], diagonal) == Counter(DIAGMM=1), expr
    F = MatrixSymbol('F', n, p)          # rank through products: (A*F).T*(A*F) is definite
    gram = (F.T * A.T * A * F).I * X.T * x
    assert routines([gram], [A, F, X, x], [Q.invertible(A), Q.fullrank(F)])['POSV'] == 1
    kk = Symbol('kk')                    # a bound on a scalar decides definiteness
    bounded = [Q.positive_definite(S), Q.positive_definite(T), Q.gt(kk, 1)]
    assert routines([(kk / (kk - 1) * S + T).I * B], [S, T, B, kk], bounded)['POSV'] == 1
    assert routines([(kk / (kk - 1) * S + T).I * B], [S, T, B, kk], bounded[:2])['SYSV'] == 1
    R, W = MatrixSymbol('R', 5, 6), MatrixSymbol('W', 6, 3)      # trapezoidal: accepted
    assert routines([R * W], [R, W], [Q.upper_triangular(R)]) == Counter(GEMM=1)


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
    # the mean through the covariance's half solve: (L.I*H*Sigma).T*(L.I*(H*mu - data))
    ('kalman', {'GEMV': 2, 'SYMM': 1, 'GEMM': 1, 'POTRF': 1, 'TRSM': 2, 'SYRK': 1}),
    ('least_squares', {'GEMV': 1, 'SYRK': 1, 'POSV': 1}),
    # X.T*Omega.I*X as W.T*W with W = L.I*X (L the Cholesky factor of Omega), and
    # X.T*Omega.I*y as W.T*(L.I*y): whitening X and y
    ('gls', {'POTRF': 1, 'TRSM': 2, 'SYRK': 1, 'GEMV': 1, 'POSV': 1}),
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
            + kk**3 / 3               # POTRF of S
            + kk**2                   # TRSM L.I*(H*mu - data)
            + 2 * kk * nn             # GEMV newmu = mu + W.T*(L.I*(H*mu - data))
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


# Refused when the function is made (issue 17, item 8) ------------------------------------
# Anything the compiler cannot compute is an UnsupportedExpressionError from
# computations.function, naming the node and listing what is supported -- never a program
# that fails when called (exp(A) used to compile into source reading an undefined name A).

import numpy as np                                                   # noqa: E402
from hypothesis import given, settings, strategies as st             # noqa: E402
from sympy import (Abs, Adjoint, Determinant, HadamardPower, HadamardProduct,  # noqa: E402
                   ImmutableMatrix, Integral, MatPow, Piecewise, Trace, exp, sin)
from sympy.matrices.expressions.factorizations import QofQR, UofCholesky  # noqa: E402
from sympy.matrices.expressions.matexpr import MatrixElement         # noqa: E402

import computations                                                  # noqa: E402
from computations.matrices.compiler.canonical import UnsupportedExpressionError  # noqa: E402
from computations.matrices.errors import SingularExpressionError     # noqa: E402
from computations.testing import evaluate                         # noqa: E402

A3, B3, T3 = (MatrixSymbol(s, 3, 3) for s in 'ABT')
b3, W3, M2 = MatrixSymbol('b', 3, 1), MatrixSymbol('W', 3, 2), MatrixSymbol('M', 2, 2)
Xn = MatrixSymbol('X', n, n)
yn = MatrixSymbol('y', n, 1)
INPUTS = [A3, B3, Xn, yn, alpha]

#: (id, an unsupported node, a piece of the message naming it).  Matrix nodes are 3x3.
UNSUPPORTED_MATRICES = [
    ('HadamardProduct', HadamardProduct(A3, B3), 'HadamardProduct(A, B)'),
    ('HadamardPower', HadamardPower(A3, 2), 'HadamardPower'),
    ('elementwise-function', A3.applyfunc(sin), 'ElementwiseApplyFunction'),
    ('Abs-of-a-matrix', Abs(A3), '**(1/2)'),
    ('square-root', MatPow(A3, sympy.Rational(1, 2)), 'A**(1/2)'),
    ('symbolic-power', MatPow(A3, alpha), 'A**alpha'),
    ('adjoint', Adjoint(A3), 'Adjoint(A)'),
    ('explicit-matrix', ImmutableMatrix(np.eye(3) + 1), 'Matrix('),
    ('other-factorization', UofCholesky(A3), 'UofCholesky'),
    ('QR-factor', QofQR(A3), 'QofQR'),
]
UNSUPPORTED_SCALARS = [
    ('exp-of-a-matrix', exp(A3), 'exp(A)'),
    ('sin-of-a-matrix', sin(A3 * B3), 'sin(A*B)'),
    ('undefined-function', sympy.Function('f')(Trace(A3)), 'f(Trace(A))'),
    ('real-part', sympy.re(Trace(A3)), 're(Trace(A))'),
    ('bessel', sympy.besselj(1, Trace(A3)), 'besselj'),
    ('polygamma', sympy.polygamma(0, Trace(A3)), 'polygamma'),
    ('complex', sympy.I * Trace(A3), 'I'),
    ('sum-over-an-index', (yn.T * Xn * yn)[0, 0], 'Sum'),
    ('symbolic-position', Xn[n - 1, 0], 'numeric positions'),
    ('integral', Integral(alpha * Trace(A3), (alpha, 0, 1)), 'Integral'),
    ('Hadamard-in-a-trace', Trace(HadamardProduct(A3, B3)), 'HadamardProduct'),
    ('log-determinant-of-Hadamard', sympy.log(Determinant(HadamardProduct(A3, B3))),
     'HadamardProduct'),
]

#: Ways an unsupported node can hide in a supported expression.
MATRIX_CONTEXTS = [lambda M: M, lambda M: B3 + M, lambda M: 2 * B3 * M, lambda M: M.T * B3,
                   lambda M: Trace(M) * B3, lambda M: B3 * (alpha + Trace(M.T * B3)),
                   lambda M: sin(Trace(M))]
SCALAR_CONTEXTS = [lambda s: s, lambda s: s * B3, lambda s: Trace(B3) + 2 * s,
                   lambda s: B3 * sympy.sqrt(1 + s**2), lambda s: sympy.Max(s, Trace(A3)),
                   lambda s: Piecewise((s, Trace(B3) > 0), (0, True)),
                   lambda s: Piecewise((1, s > 0), (0, True)) * A3]


def _assert_refused_when_made(expr, name):
    with pytest.raises(UnsupportedExpressionError) as raised:
        computations.function(INPUTS, [expr])
    message = str(raised.value)
    assert name in message, message
    assert 'the compiler supports matrices that are MatrixSymbol' in message   # what is supported


@pytest.mark.parametrize('expr, name', [u[1:] for u in UNSUPPORTED_MATRICES + UNSUPPORTED_SCALARS],
                         ids=[u[0] for u in UNSUPPORTED_MATRICES + UNSUPPORTED_SCALARS])
def test_unsupported_expressions_are_refused_when_the_function_is_made(expr, name):
    _assert_refused_when_made(expr, name)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_an_unsupported_node_is_refused_wherever_it_hides(data):
    """No path lets an unsupported node through: inside sums, products, transposes, traces,
    coefficients, functions and Piecewise branches or conditions."""
    if data.draw(st.booleans(), label='matrix node'):
        _, node, name = data.draw(st.sampled_from(UNSUPPORTED_MATRICES), label='node')
        context = data.draw(st.sampled_from(MATRIX_CONTEXTS), label='context')
    else:
        _, node, name = data.draw(st.sampled_from(UNSUPPORTED_SCALARS), label='node')
        context = data.draw(st.sampled_from(SCALAR_CONTEXTS), label='context')
    try:
        expr = context(node)
    except (TypeError, ValueError, NotImplementedError):    # SymPy refuses to build it
        return
    if not expr.has(node):                   # SymPy evaluated it away (Trace of an explicit matrix)
        return
    _assert_refused_when_made(expr, name)


RNG = np.random.default_rng(17)
VALUES = {A3: RNG.standard_normal((3, 3)) + 3 * np.eye(3), B3: RNG.standard_normal((3, 3)),
          alpha: 0.7}

#: Scalar functions the generated Python evaluates: each compiles and matches NumPy.
SUPPORTED = [
    ('sin', sin(Trace(A3)) * B3),
    ('nested', exp(sympy.cos(Trace(A3 * B3)) / 2) + Trace(B3)),
    ('abs-floor-max-min', sympy.Max(Abs(Trace(B3)), 1) + sympy.floor(Trace(A3))
     - sympy.Min(alpha, Trace(B3))),
    ('erf-and-atan2', sympy.erf(Trace(B3) / 10) + sympy.atan2(Trace(A3), alpha)),
    ('piecewise', Piecewise((Trace(A3), Trace(B3) > 0), (-Trace(A3), True))),
    ('piecewise-coefficient', Piecewise((alpha, Trace(B3) < 0), (2, True)) * A3 + B3),
    ('piecewise-and', Piecewise((1, sympy.And(Trace(A3) > 0, alpha < 1)), (0, True))),
    ('element', MatrixElement(A3 * B3, 0, 1) * A3),
]


@pytest.mark.parametrize('runner', ['source', 'interpret'])
@pytest.mark.parametrize('expr', [s[1] for s in SUPPORTED], ids=[s[0] for s in SUPPORTED])
def test_supported_scalar_functions_match_numpy(expr, runner):
    inputs = [A3, B3, alpha]
    got, = computations.function(inputs, [expr], runner=runner)(*[VALUES[v] for v in inputs])
    np.testing.assert_allclose(got, evaluate(expr, VALUES), rtol=1e-12)


# Degenerate expressions (issue 17, item 9) ------------------------------------------------

@pytest.mark.parametrize('expr, singular, reason', [
    ((T3 - T3.T).I * b3, 'T - T.T', 'the zero matrix'),
    (((T3.T - T3)**-2)**3 * b3, '-T + T.T', 'the zero matrix'),
    (sympy.Inverse(A3 - A3), '0', 'the zero matrix'),
    (sympy.Inverse(sympy.OneMatrix(3, 3)), '1', 'rank 1'),
    ((W3 * W3.T).I * b3, 'W*W.T', 'rank at most 2 < 3'),
    (Trace((W3 * M2 * W3.T)**-1), 'W*M*W.T', 'rank at most 2 < 3'),
], ids=['inverse-of-T-T.T', 'negative-power', 'inverse-of-A-A', 'ones', 'rank-2-product',
        'rank-2-in-a-trace'])
def test_an_inverse_of_a_matrix_singular_for_every_input_is_refused_when_made(expr, singular,
                                                                               reason):
    """(T - T.T).I with T symmetric used to compile (and fail in every call); its square
    raised SymPy's NonInvertibleMatrixError from deep inside the canonical form."""
    inputs = sorted(expr.free_symbols & {T3, b3, A3, W3, M2}, key=str)
    with pytest.raises(SingularExpressionError,
                       match=f'{re.escape(singular)}.* is singular whatever the inputs '
                             f'.*{re.escape(reason)}'):
        computations.function(inputs, [expr], [Q.symmetric(T3)] if T3 in inputs else [])
    assert issubclass(SingularExpressionError, np.linalg.LinAlgError)
    assert issubclass(SingularExpressionError, ValueError)


def test_an_inverse_that_is_regular_for_some_inputs_still_compiles():
    T, b = VALUES[A3] + VALUES[A3].T, np.ones((3, 1))
    f = computations.function([T3, b3], [(T3 + T3.T).I * b3], [Q.symmetric(T3)])
    np.testing.assert_allclose(f(T, b)[0], np.linalg.solve(2 * T, b))


m = Symbol('m', integer=True, positive=True)
Y = MatrixSymbol('Y', n, m)


@pytest.mark.parametrize('expr, message', [
    (Trace(Y), 'Trace(Y): Y is n x m, and a trace of a non-square matrix is undefined'),
    (Determinant(Y), 'Determinant(Y): Y is n x m, and a determinant'),
    (sympy.log(Determinant(Y)), 'Determinant(Y): Y is n x m'),
    (Y.I, 'Y**(-1): Y is n x m, and an inverse'),
    (Y * Y, 'Y**2: Y is n x m, and a power'),
    (Y + Y.T, 'Y is n x m and Y.T is m x n, which cannot be added'),
    (Trace(Y * Xn), 'Y is n x m and X is n x n, which cannot be multiplied'),
], ids=['trace', 'determinant', 'log-determinant', 'inverse', 'square', 'sum', 'product'])
def test_shapes_that_do_not_fit_are_refused_when_made(expr, message):
    """SymPy checks only numeric shapes: Trace(Y) of an n x m Y was accepted."""
    with pytest.raises(sympy.ShapeError, match=re.escape(message)):
        computations.function([Y, Xn], [expr])


def test_an_element_outside_its_matrix_is_named():
    f = computations.function([Xn], [Xn[5, 0]])
    assert f(np.arange(36.).reshape(6, 6))[0] == 30.0
    with pytest.raises(IndexError, match=r'X\[5, 0\]: row 5 is outside X, which has 3 rows'):
        f(np.ones((3, 3)))


# Long chains: the search splits them where the matrix-chain order says ------------

def _optimal_chain_flops(dims):
    """The fewest FLOPs (2mkn per product) of any order of a chain of ``dims[i] x dims[i+1]``
    matrices, by brute-force recursion over every split (memoized)."""
    import functools

    @functools.lru_cache(maxsize=None)
    def best(i, j):
        if j - i == 1:
            return 0
        return min(best(i, s) + best(s, j) + 2 * dims[i] * dims[s] * dims[j]
                   for s in range(i + 1, j))
    return best(0, len(dims) - 1)


def _chain(dims):
    d = sympy.symbols(f'd0:{len(dims)}', integer=True, positive=True)
    factors = [MatrixSymbol(f'M{i}', d[i], d[i + 1]) for i in range(len(dims) - 1)]
    return factors, sympy.MatMul(*factors), dict(zip(d, dims))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(2, 60), min_size=3, max_size=16))
def test_a_chain_is_ordered_at_the_fewest_flops(dims):
    """Short chains (all splits searched) and long ones (split where the matrix-chain
    order on their sizes says): the program's FLOPs are the brute-force optimum, and
    every operation is a product of two factors."""
    factors, product, sizes = _chain(dims)
    compiled = compile_expressions([product], factors, (), sizes)
    assert compiled.flops == _optimal_chain_flops(tuple(dims))
    ops = [op for op in compiled.computation if not isinstance(op, Marks)]
    assert len(ops) == len(factors) - 1 + sum(type(op).__name__ == 'TRANSPOSE' for op in ops)


def test_a_chain_agrees_with_numpy_multi_dot():
    """The order's FLOPs equal numpy's multi_dot order, and the program computes the product."""
    import numpy as np
    import computations
    rng = np.random.default_rng(7)
    dims = [int(v) for v in rng.integers(3, 40, 13)]
    factors, product, sizes = _chain(dims)
    compiled = compile_expressions([product], factors, (), sizes)
    assert compiled.flops == _optimal_chain_flops(tuple(dims))
    arrays = [rng.standard_normal((dims[i], dims[i + 1])) for i in range(len(factors))]
    got, = computations.function(factors, [product])(*arrays)
    want = np.linalg.multi_dot(arrays)
    assert np.linalg.norm(got - want) <= 1e-10 * np.linalg.norm(want)


@pytest.mark.parametrize('square', [False, True])
def test_a_long_chain_compiles(square):
    """60 factors (the exhaustive search took minutes at 40): one product per split."""
    import random
    rng = random.Random(3)
    dims = [8] * 61 if square else [rng.randint(2, 300) for _ in range(61)]
    factors, product, sizes = _chain(dims)
    compiled = compile_expressions([product], factors, (), sizes)
    assert compiled.flops == _optimal_chain_flops(tuple(dims))
    assert sum(not isinstance(op, Marks) for op in compiled.computation) >= 59


# Products whose factors cancel (review E, 2026-12-05) -------------------------------------

def test_products_of_a_cholesky_factor_with_the_inverse_it_cancels():
    """``S.I*L*B`` (L = chol(S)) is ``L.-T*B``: the half solve ``L.I*(L*B)`` put together by
    the solve rule multiplied ``L.I*L`` out into an operation reading the identity (an
    internal ValueError), and ``L.-T*(L.T*B)`` recomputed the input B (a cycle).  Each
    compiles and equals NumPy's, the gradient through ``S.I*L*B`` as well."""
    from computations.matrices import LofCholesky as Chol
    K, R = MatrixSymbol('K', n, n), MatrixSymbol('R', n, 2)
    chol = Chol(K)
    rng = np.random.default_rng()
    g = rng.standard_normal((5, 5))
    k, r, a = g @ g.T + 5 * np.eye(5), rng.standard_normal((5, 2)), rng.standard_normal((5, 5))
    c, inv = np.linalg.cholesky(k), np.linalg.inv(k)
    cases = [(K.I * chol * R, inv @ c @ r), (R.T * chol.T * K.I, r.T @ c.T @ inv),
             (K.I * chol * chol.T * R, r), (K.I * chol * A, inv @ c @ a),
             (K.I * chol * chol * R, inv @ c @ c @ r), (chol.T * (chol.T).I * R, r),
             (computations.grad(Trace(R.T * K.I * chol * R), R),
              (inv @ c + c.T @ inv) @ r)]
    for expr, want in cases:
        f = computations.function([K, A, R], expr, [Q.positive_definite(K)])
        np.testing.assert_allclose(f(k, a, r), want, rtol=1e-9, atol=1e-12, err_msg=str(expr))
