"""Tests of :mod:`computations.matrices.compiler.canonical`, claim by claim of its docstring.

The canonical form: transposes on symbols only (a symmetric matrix's
transpose is the matrix), inverses of products of squares reversed, scalar
factors outside inverses, no double inverse, integer powers as products;
anything else raises :class:`UnsupportedExpressionError` naming it.  Equal
values should be equal expressions, so several tests compare the canonical
forms of two ways of writing the same value.  Hypothesis checks that the
form is idempotent and keeps the value (``sympy.lambdify`` on random data).
"""
import functools
import operator
import re

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st
from sympy import (HadamardProduct, Identity, ImmutableMatrix, Inverse, MatMul, MatPow,
                   MatrixSymbol, Rational, Symbol, Trace, Transpose, ZeroMatrix)

from sympy.matrices.exceptions import NonInvertibleMatrixError

from computations.matrices.compiler.canonical import (UnsupportedExpressionError, canonicalize, inverse,
                                             transpose)
from computations.matrices.errors import SingularExpressionError

A, B, C = (MatrixSymbol(name, 3, 3) for name in 'ABC')
S, T = MatrixSymbol('S', 3, 3), MatrixSymbol('T', 3, 3)       # symmetric, when the caller says so
W = MatrixSymbol('W', 3, 2)
c = Symbol('c')
n = Symbol('n')
X, Y = MatrixSymbol('X', n, n), MatrixSymbol('Y', n, n)
V = MatrixSymbol('V', n, 2)

SYMMETRIC = {S, T}


def symmetric(expr):
    return True if expr in SYMMETRIC else None


def cases(*triples):
    """Parametrize ``(expr, expected)`` pairs, each with its id."""
    return pytest.mark.parametrize('expr, expected', [t[1:] for t in triples],
                                   ids=[t[0] for t in triples])


def _nodes(expr):
    return list(sympy.preorder_traversal(expr))


# Transposes ---------------------------------------------------------------------

@cases(
    ('(A*B).T', Transpose(A * B), B.T * A.T),
    ('(A+B).T', Transpose(A + B), A.T + B.T),
    ('(2*A*B).T', Transpose(2 * A * B), 2 * B.T * A.T),
    ('(c*A).T', Transpose(c * A), c * A.T),
    ('A.T.T', Transpose(Transpose(A)), A),
    ('(A*(B+C)).T', Transpose(A * (B + C)), (B.T + C.T) * A.T),
    ('(A*B.T*C).T', Transpose(A * B.T * C), C.T * B * A.T),
    ('(A.I).T', Transpose(Inverse(A)), Inverse(A.T)),
    ('((A*B).I).T', Transpose(Inverse(A * B)), Inverse(A.T) * Inverse(B.T)),
    ('(W.T*A).T', Transpose(W.T * A), A.T * W),
    ('I.T', Transpose(Identity(3)), Identity(3)),
    ('0.T', Transpose(ZeroMatrix(3, 2)), ZeroMatrix(2, 3)),
    ('((A+B)*C).T', Transpose((A + B) * C), C.T * (A.T + B.T)),
)
def test_transposes_are_pushed_to_symbols(expr, expected):
    result = canonicalize(expr)
    assert result == expected
    assert all(isinstance(node.arg, MatrixSymbol)
               for node in _nodes(result) if isinstance(node, Transpose))


@cases(
    ('S.T', S.T, S),
    ('(A*S).T', Transpose(A * S), S * A.T),
    ('(S*T).T', Transpose(S * T), T * S),
    ('(S+A).T', Transpose(S + A), S + A.T),
    ('(S.I).T', Transpose(Inverse(S)), Inverse(S)),
    ('(W.T*S*W).T', Transpose(W.T * S * W), W.T * S * W),
    ('S.T*A', S.T * A, S * A),
    ('(A*S.T*B).T', Transpose(A * S.T * B), B.T * S * A.T),
    ('(A*S**2).T', Transpose(A * S ** 2), S ** 2 * A.T),
)
def test_transposes_of_symmetric_matrices_are_dropped(expr, expected):
    assert canonicalize(expr, symmetric) == expected


def test_symmetry_is_the_callers_knowledge():
    # Without the caller's word, S is just a matrix.
    assert canonicalize(S.T) == S.T
    # The callback is asked about compound expressions too: a symmetric sum is its own transpose.
    assert transpose(A + A.T, lambda X: X == A + A.T) == A + A.T
    assert transpose(A + A.T) == A.T + A


@cases(
    ('A', A, A.T), ('A.T', A.T, A), ('S', S, S), ('A*B', A * B, B.T * A.T),
    ('A*B.I+A', A * B.I + A, Inverse(B.T) * A.T + A.T), ('A.I', A.I, Inverse(A.T)),
    ('S.I', S.I, S.I), ('W', W, W.T), ('A*S**2', A * S ** 2, S ** 2 * A.T),
    ('A**2', A ** 2, A.T ** 2),
)
def test_transpose_helper(expr, expected):
    assert transpose(expr, symmetric) == expected


# Inverses -----------------------------------------------------------------------

@cases(
    ('(A*B).I', Inverse(A * B), B.I * A.I),
    ('(A*B*C).I', Inverse(A * B * C), C.I * B.I * A.I),
    ('(X*Y).I-symbolic', Inverse(X * Y), Y.I * X.I),
    ('(A*(B+C)).I', Inverse(A * (B + C)), Inverse(B + C) * A.I),
    ('(A.T*B).I', Inverse(A.T * B), B.I * Inverse(A.T)),
    ('(W.T*W).I-not-square-factors', Inverse(W.T * W), Inverse(W.T * W)),
    ('(V.T*X*V).I-not-square-factors', Inverse(V.T * X * V), Inverse(V.T * X * V)),
    ('(A+B).I', Inverse(A + B), Inverse(A + B)),
    ('I.I', Inverse(Identity(3)), Identity(3)),
)
def test_inverse_of_a_product_of_squares_is_reversed(expr, expected):
    assert canonicalize(expr) == expected


@cases(
    ('(2*A).I', Inverse(2 * A), Rational(1, 2) * A.I),
    ('(2*A*B).I', Inverse(2 * A * B), Rational(1, 2) * B.I * A.I),
    ('(-A).I', Inverse(-A), -A.I),
    ('(c*A).I', Inverse(c * A), A.I / c),
    ('(3*S*A).I', Inverse(3 * S * A), Rational(1, 3) * A.I * S.I),
    ('(2*W.T*W).I', Inverse(2 * W.T * W), Rational(1, 2) * Inverse(W.T * W)),
    ('(c*V.T*V).I', Inverse(c * V.T * V), Inverse(V.T * V) / c),
)
def test_scalar_factors_leave_inverses(expr, expected):
    assert canonicalize(expr) == expected


@cases(
    ('A.I.I', Inverse(Inverse(A)), A),
    ('(A*B).I.I', Inverse(Inverse(A * B)), A * B),
    ('(W.T*W).I.I', Inverse(Inverse(W.T * W)), W.T * W),
    ('(A.I.T).I', Inverse(Transpose(Inverse(A))), A.T),
    ('((A.I*B).I)', Inverse(Inverse(A) * B), B.I * A),
    ('(2*A.I).I', Inverse(2 * Inverse(A)), Rational(1, 2) * A),
)
def test_double_inverse(expr, expected):
    assert canonicalize(expr) == expected


def test_inverse_helper():
    assert inverse(3 * A * B) == Rational(1, 3) * B.I * A.I
    assert inverse(W.T * W) == Inverse(W.T * W)
    assert inverse(A.I) == A
    assert inverse(Identity(3)) == Identity(3)


# Integer powers -------------------------------------------------------------------
# SymPy itself writes A*A as A**2, so the claim that can hold is: a power and its
# written-out product have the same canonical form (and the same value).

POWERS = [
    ('A**2', MatPow(A, 2), A * A),
    ('A**3', MatPow(A, 3), A * A * A),
    ('A**-2', MatPow(A, -2), A.I * A.I),
    ('A**-1', MatPow(A, -1), A.I),
    ('(A*B)**2', MatPow(A * B, 2), A * B * A * B),
    ('(A*B)**-2', MatPow(A * B, -2), B.I * A.I * B.I * A.I),
    ('(A*B)**-1', MatPow(A * B, -1), B.I * A.I),
    ('(A**2).T', Transpose(MatPow(A, 2)), A.T * A.T),
    ('(A**2).I', Inverse(MatPow(A, 2)), A.I * A.I),
    ('(S*A)**2.T-symmetric', Transpose(MatPow(S * A, 2)), A.T * S * A.T * S),
    ('((A+B)**2).T', Transpose(MatPow(A + B, 2)), (A.T + B.T) * (A.T + B.T)),
]


@pytest.mark.parametrize('power, product', [t[1:] for t in POWERS], ids=[t[0] for t in POWERS])
def test_integer_powers_are_written_out(power, product):
    assert canonicalize(power, symmetric) == canonicalize(product, symmetric)


@pytest.mark.parametrize('power', [MatPow(A * B, 2), MatPow(A * B, -2), Transpose(MatPow(A, 2)),
                                   Inverse(MatPow(A, 2))],
                         ids=['(A*B)**2', '(A*B)**-2', '(A**2).T', '(A**2).I'])
def test_no_power_of_a_compound_or_transposed_power_remains(power):
    """A MatPow left in the canonical form has a symbol (or a symbol's transpose) as its base."""
    for node in _nodes(canonicalize(power)):
        if type(node) is MatPow:
            assert isinstance(node.base, (MatrixSymbol, Transpose)), node
        if isinstance(node, (Transpose, Inverse)):
            assert type(node.arg) is not MatPow, node


# Unsupported expressions -------------------------------------------------------------

UNSUPPORTED = [
    ('index-sum-coefficient', (MatrixSymbol('y', n, 1).T * MatrixSymbol('y', n, 1))[0, 0] * B,
     'Sum'),
    ('symbolic-element', A[n, 0] * B, 'numeric positions'),
    ('Hadamard-in-a-trace', Trace(HadamardProduct(A, B)), 'HadamardProduct'),
    ('Hadamard-in-a-log-determinant', sympy.log(sympy.Determinant(HadamardProduct(A, B))),
     'HadamardProduct'),
    ('HadamardProduct', HadamardProduct(A, B), 'HadamardProduct'),
    ('HadamardProduct-in-a-sum', C + HadamardProduct(A, B), 'HadamardProduct'),
    ('ImmutableMatrix', ImmutableMatrix([[1, 2], [3, 4]]), 'Matrix([[1, 2], [3, 4]])'),
    ('ImmutableMatrix-in-a-product', A * ImmutableMatrix(np.eye(3)), 'Matrix('),
    ('symbolic-power', MatPow(A, n), 'A**n'),
    ('symbolic-power-in-a-product', B * MatPow(A, n), 'A**n'),
    ('not-sympy', 3, '3'),
]


@pytest.mark.parametrize('expr, name', [u[1:] for u in UNSUPPORTED],
                         ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_expressions_raise_naming_them(expr, name):
    with pytest.raises(UnsupportedExpressionError) as raised:
        canonicalize(expr)
    assert name in str(raised.value)
    assert isinstance(raised.value, TypeError)


def test_unsupported_expression_error_is_a_type_error():
    assert issubclass(UnsupportedExpressionError, TypeError)


@cases(
    ('I', Identity(3), Identity(3)), ('0', ZeroMatrix(3, 3), ZeroMatrix(3, 3)),
    ('c*A', c * A, c * A), ('A+A', A + A, 2 * A), ('A-A', A - A, ZeroMatrix(3, 3)),
    ('A*I', A * Identity(3), A), ('2*(A+B)', MatMul(2, A + B), 2 * (A + B)),
)
def test_supported_leaves_and_sympy_simplifications(expr, expected):
    assert canonicalize(expr) == expected


# Hypothesis: idempotent and value-preserving ------------------------------------------

MATRICES = [A, B, C, S, T]
SCALARS = [2, -1, Rational(1, 2), c]


@st.composite
def expressions(draw, depth=4):
    """A random 3 x 3 expression of A, B, C, S, T, W, c."""
    ops = ['leaf']
    if depth > 0:
        ops += ['T', 'Transpose', 'I', 'Inverse', 'mul', 'add', 'sub', 'scale', 'power', 'rect']
    op = draw(st.sampled_from(ops))
    sub = lambda: draw(expressions(depth - 1))  # noqa: E731
    if op == 'leaf':
        return draw(st.sampled_from(MATRICES + [Identity(3)]))
    if op == 'T':
        return sub().T
    if op == 'Transpose':
        return Transpose(sub())
    if op in ('I', 'Inverse'):
        inner = sub()
        if inner.has(ZeroMatrix):
            return inner
        try:
            return _regular(inner.I if op == 'I' else Inverse(inner), inner)
        except NonInvertibleMatrixError:        # SymPy saw a zero matrix inside
            return inner
    if op == 'mul':
        return sub() * sub()
    if op == 'add':
        return sub() + sub()
    if op == 'sub':
        return sub() - sub()
    if op == 'scale':
        return draw(st.sampled_from(SCALARS)) * sub()
    if op == 'power':
        inner = sub()
        exponents = [2, 3] if inner.has(ZeroMatrix) else [2, 3, -1, -2]
        return _regular(MatPow(inner, draw(st.sampled_from(exponents))), inner)
    if op == 'rect':                        # through the 3 x 2 W: W*(2 x 2)*W.T or a Gram inverse
        inner = sub()
        if draw(st.booleans()) and not inner.has(ZeroMatrix):
            return _regular(W * Inverse(W.T * inner * W) * W.T, W * W.T + inner)
        return W * W.T + inner
    raise AssertionError(op)


def _regular(expr, otherwise):
    """``expr``, or ``otherwise`` when it inverts a matrix singular for every input, with or
    without the symmetry of S and T (the inverse of a rank-2 product ``W*M*W.T``, of
    ``S - S.T`` with S symmetric), which the canonical form refuses."""
    try:
        canonicalize(expr)
        canonicalize(expr, symmetric)
    except SingularExpressionError:
        return otherwise
    return expr


IDEMPOTENT = [
    ('doc-example', Transpose(A * S) + Inverse(2 * A * B), True),
    ('gram-inverse', W * Inverse(W.T * S * W) * W.T, True),
    ('scaled-transposed-product-with-a-sum', Transpose(2 * B * (A + C)), False),
    ('transposed-product-with-a-symmetric-power', Transpose(A * MatPow(S.T, 2)), True),
    ('nested-negative-power', MatPow(MatPow(B.T * A.T, 2), -2), False),
]


@pytest.mark.parametrize('expr, use_symmetry', [i[1:] for i in IDEMPOTENT],
                         ids=[i[0] for i in IDEMPOTENT])
def test_canonicalize_is_idempotent_on(expr, use_symmetry):
    knowledge = symmetric if use_symmetry else (lambda X: None)
    once = canonicalize(expr, knowledge)
    assert canonicalize(once, knowledge) == once


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), st.booleans())
@example(Transpose(2 * B * (A + C)), False)
def test_canonicalize_is_idempotent(expr, use_symmetry):
    knowledge = symmetric if use_symmetry else (lambda X: None)
    once = canonicalize(expr, knowledge)
    assert canonicalize(once, knowledge) == once


def _data(seed):
    rng = np.random.default_rng(seed)
    values = {M: 2 * np.eye(3) + 0.5 * rng.standard_normal((3, 3)) for M in (A, B, C)}
    for M in (S, T):
        G = rng.standard_normal((3, 3))
        values[M] = G + G.T + 4 * np.eye(3)
    values[W] = rng.standard_normal((3, 2))
    values[c] = 1.3
    return values


def _inverse_arguments(expr):
    for node in _nodes(expr):
        if isinstance(node, Inverse):
            yield node.arg
        elif type(node) is MatPow and node.exp < 0:
            yield node.base


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), st.integers(0, 2 ** 32 - 1), st.booleans())
def test_canonicalize_keeps_the_value(expr, seed, use_symmetry):
    values = _data(seed)
    symbols = list(values)
    knowledge = symmetric if use_symmetry else (lambda X: None)
    data = [values[s] for s in symbols]
    for argument in _inverse_arguments(expr):     # the value must exist, and stably so
        try:
            value = sympy.lambdify(symbols, argument, 'numpy')(*data)
        except np.linalg.LinAlgError:             # a singular inverse inside the argument
            assume(False)
        assume(np.linalg.cond(value) < 1e6)
    result = canonicalize(expr, knowledge)
    original = np.asarray(sympy.lambdify(symbols, expr, 'numpy')(*data), dtype=float)
    canonical = np.asarray(sympy.lambdify(symbols, result, 'numpy')(*data), dtype=float)
    scale = max(1.0, np.abs(original).max())
    np.testing.assert_allclose(canonical, original,
                               rtol=1e-8, atol=1e-8 * scale, err_msg=f'{expr} -> {result}')


@pytest.mark.parametrize('expr', [
    Transpose(A * S) + Inverse(2 * A * B), Inverse(W.T * S.T * W), MatPow(A * B, -2),
    Transpose(MatPow(A + S, 2)) * Inverse(Inverse(C)), 3 * Inverse(c * A.T * B) * S.T,
], ids=['doc-example', 'gram-inverse', 'inverse-power', 'transposed-power', 'scaled-inverse'])
def test_canonicalize_keeps_the_value_examples(expr):
    values = _data(0)
    symbols = list(values)
    data = [values[s] for s in symbols]
    result = canonicalize(expr, symmetric)
    original = sympy.lambdify(symbols, expr, 'numpy')(*data)
    np.testing.assert_allclose(sympy.lambdify(symbols, result, 'numpy')(*data), original,
                               rtol=1e-10)


# Refusals: shapes, singular inverses, what the generated code cannot evaluate (issue 17) ---

m = Symbol('m')
R = MatrixSymbol('R', n, m)


@pytest.mark.parametrize('expr, error, message', [
    (Trace(R), sympy.matrices.exceptions.NonSquareMatrixError,
     'Trace(R): R is n x m, and a trace of a non-square matrix is undefined'),
    (X * Transpose(R) * X, sympy.ShapeError, 'X is n x n and R.T is m x n'),
    (X + R, sympy.ShapeError, 'R is n x m and X is n x n, which cannot be added'),
    (Inverse(R) * X, sympy.matrices.exceptions.NonSquareMatrixError, 'R**(-1): R is n x m'),
    (Trace(X * MatPow(R, 2)), sympy.matrices.exceptions.NonSquareMatrixError,
     'R**2: R is n x m, and a power'),
], ids=['trace', 'product', 'sum', 'inverse', 'power-in-a-trace'])
def test_shapes_that_do_not_fit_raise_naming_the_innermost_node(expr, error, message):
    with pytest.raises(error) as raised:
        canonicalize(expr)
    assert message in str(raised.value)


@pytest.mark.parametrize('expr, written', [
    (Inverse(T - T.T), 'T - T.T'),
    (MatPow(MatPow(T.T - T, -2), 3), '-T + T.T'),
    (A * Inverse(W * W.T), 'W*W.T'),
    (Transpose(Inverse(S - S.T) * A), 'S - S.T'),
], ids=['inverse', 'negative-power', 'rank-2-product', 'under-a-transpose'])
def test_inverses_of_matrices_singular_for_every_input_raise(expr, written):
    with pytest.raises(SingularExpressionError, match='is singular whatever the inputs') as raised:
        canonicalize(expr, symmetric)
    assert str(raised.value.matrix) == written


def test_piecewise_scalars_are_canonical_inside():
    """Branches and conditions canonical; arithmetic on a Piecewise folded into it."""
    expr = 2 * sympy.Piecewise((Trace(A.T) / 2, Trace(Transpose(A * B).T) > 0), (0, True))
    assert canonicalize(expr) == sympy.Piecewise((Trace(A), Trace(A * B) > 0), (0, True))
    assert canonicalize(canonicalize(expr)) == canonicalize(expr)


@pytest.mark.parametrize('expr, name', [
    (sympy.exp(A), 'exp(A) (exp) is not supported: it applies exp to the matrix A'),
    (sympy.Function('g')(Trace(A)), 'the generated Python code cannot evaluate g'),
    (sympy.Function('g')(c), 'the generated Python code cannot evaluate g'),
    (sympy.I * c, 'I (ImaginaryUnit) is not supported: it is not a real number'),
    (sympy.Piecewise((A, c > 0), (B, True)), 'its values must be scalars'),
], ids=['function-of-a-matrix', 'unknown-function', 'unknown-function-of-a-symbol', 'complex',
        'matrix-piecewise'])
def test_scalars_the_generated_code_cannot_evaluate_raise(expr, name):
    with pytest.raises(UnsupportedExpressionError, match=re.escape(name)):
        canonicalize(expr)


def test_a_sum_evaluates_its_canonical_terms_once_not_at_every_addition(monkeypatch):
    """``+`` evaluated every term again at each addition, into a Piecewise coefficient's
    conditions: 405 evaluations for a sum of 16 terms, 4 of the 4.4 s of the gradient of
    ``Min(log(det S), Max(...))``.  The sum is made at once from its canonical terms; like
    terms' Piecewise coefficients are combined and folded as before (the form is the one
    the addition gave, and canonical again)."""
    x = Symbol('x')
    pieces = [sympy.Piecewise((k, x > k), (x, True)) for k in range(16)]
    matrices = [MatrixSymbol(f'M{k}', 3, 3) for k in range(16)]
    evaluated = []
    original = sympy.Piecewise.doit

    def counted(self, **hints):
        evaluated.append(self)
        return original(self, **hints)
    with monkeypatch.context() as patch:
        patch.setattr(sympy.Piecewise, 'doit', counted)
        canonicalize(sympy.MatAdd(*[p * M for p, M in zip(pieces, matrices)]))
    assert len(evaluated) <= 3 * len(pieces)            # a few a term, not 405
    terms = [pieces[0] * A, pieces[1] * B, pieces[2] * A, c * A.T * B]
    form = canonicalize(sympy.MatAdd(*terms))
    combined = sympy.piecewise_fold(pieces[0] + pieces[2])
    assert isinstance(combined, sympy.Piecewise)
    assert set(form.args) == {c * A.T * B, pieces[1] * B, combined * A}
    assert form == canonicalize(functools.reduce(operator.add, terms))   # as by +
    assert canonicalize(form) == form
    alone = canonicalize(sympy.MatAdd(pieces[0] * A, pieces[2] * A))    # one term left
    assert alone == combined * A == canonicalize(pieces[0] * A + pieces[2] * A)


@st.composite
def cyclic_products(draw):
    """``(factors, data)``: 2-5 factors whose product is square (the dimensions a cycle of
    2-4 sizes), each a symbol, its transpose or (square) its inverse, several drawn from
    the same symbols; ``data`` the symbols' values (well-conditioned squares)."""
    count = draw(st.integers(2, 5))
    sizes = draw(st.lists(st.integers(1, 4), min_size=count, max_size=count))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    symbols, factors, data = {}, [], {}
    for i in range(count):
        rows, columns = sizes[i], sizes[(i + 1) % count]
        transposed = draw(st.booleans())
        shape = (columns, rows) if transposed else (rows, columns)
        name = f'F{draw(st.integers(0, 2))}_{shape[0]}x{shape[1]}'       # repeats are the point
        symbol = symbols.setdefault(name, MatrixSymbol(name, *shape))
        if symbol not in data:
            value = rng.standard_normal(shape) + 3 * np.eye(*shape)
            data[symbol] = value + value.T if name.startswith('F0') and rows == columns \
                else value                                   # F0s square: symmetric
        factor = symbol.T if transposed else symbol
        if rows == columns and draw(st.booleans()):
            factor = factor.I
        factors.append(factor)
    return factors, data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cyclic_products(), st.integers(0, 4), st.booleans())
def test_a_trace_is_one_canonical_trace_for_every_rotation_and_transposition(case, shift,
                                                                              flip):
    """``Trace`` of a product is the same canonical scalar for every cyclic rotation of its
    factors and for the transposed product's (so ``Trace(A*B) + Trace(B*A)`` is computed
    once), keeps the value, and writes no symmetric matrix (the square ``F0``) transposed."""
    factors, data = case
    shift %= len(factors)
    turned = factors[shift:] + factors[:shift]
    if flip:
        turned = [f.T for f in reversed(turned)]
    symmetric_ = {s for s in data if s.name.startswith('F0') and s.rows == s.cols}

    def knowledge(X):
        return True if X in symmetric_ else None
    first = canonicalize(Trace(MatMul(*factors)), knowledge)
    assert first == canonicalize(Trace(MatMul(*turned)), knowledge)
    assert not any(isinstance(node, Transpose) and node.arg in symmetric_
                   for node in _nodes(first))              # a symmetric one untransposed
    symbols = list(data)
    want = np.trace(functools.reduce(np.matmul, [
        np.linalg.inv(data[f.arg]) if isinstance(f, Inverse) and not isinstance(f.arg, Transpose)
        else np.linalg.inv(data[f.arg.arg]).T if isinstance(f, Inverse)
        else data[f.arg].T if isinstance(f, Transpose) else data[f] for f in factors]))
    values = [data[s] for s in symbols]
    got = float(first.replace(lambda e: isinstance(e, Trace), lambda e: sympy.Float(
        np.trace(np.atleast_2d(sympy.lambdify(symbols, e.arg, 'numpy')(*values))))))
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8)


def test_a_rotated_trace_keeps_a_symmetric_matrix_untransposed():
    """The transposed rotations of a trace are canonical too: with S symmetric, no ``S.T``
    (a fuzzing run found programs reading ``LofCholesky(LofCholesky(P.T))`` when a
    rotation wrote ``P.T**(-1)`` for a positive definite P)."""
    R = MatrixSymbol('R', 3, 2)
    trace = canonicalize(sympy.Trace(S.I * (S + R * R.T).I), symmetric)
    assert not any(isinstance(node, Transpose) and node.arg == S for node in _nodes(trace))
    assert canonicalize(sympy.Trace(A * S), symmetric) == \
        canonicalize(sympy.Trace(S * A.T), symmetric)
