"""The testing kit, ``computations.testing``: its strategies make valid objects, and its
assertions pass on right programs and functions and fail on wrong ones."""
import subprocess
import sys

import networkx
import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import MatrixSymbol, Q

import computations
from computations import Computation, CompositeComputation
from computations.inplace import TokenComputation as T, check, inplace_compile, insert_copies, \
    tokenize
from computations.matrices import GEMM, SCAL
from computations.matrices.compiler.assumptions import check_values
from computations.schedulers import kernel
from computations.testing import (KINDS, Mix, assert_allclose_to_numpy, assert_inplace_safe,
                                  dag_members, matrix_problems, mix_dags, pure_values,
                                  random_matrix, sized_programs)
from computations.testing.reference import evaluate, relative_error
from computations.testing.expressions import MatrixProblem, structure_errors

seeds = st.integers(0, 2**32 - 1)


def vectors(comp, seed):
    rng = np.random.default_rng(seed)
    return {var: rng.uniform(-1, 1, 3) for var in comp.inputs}


# Strategies ----------------------------------------------------------------------

@given(dag_members())
def test_dag_members_form_a_dag(ops):
    comp = CompositeComputation(*ops)
    assert networkx.is_directed_acyclic_graph(comp.to_networkx())
    assert set(comp.toposort()) == set(ops)
    assert all(var.startswith('i') for var in comp.inputs)


@given(mix_dags(), st.booleans())
def test_mix_dags_compile_to_programs_that_pass_check(comp, donate):
    donated = comp.inputs if donate else ()
    for program in (tokenize(comp), insert_copies(comp), inplace_compile(comp, donate=donated)):
        check(program, donate=donated)


@given(sized_programs())
def test_sized_programs_are_checked_programs_with_positive_sizes(case):
    comp, program, sizes, donate = case
    check(program, donate=comp.inputs if donate else ())
    assert all(sizes.nbytes(v.expr) > 0 for v in program.variables)
    assert all(sizes.workspace(op) >= 0 for op in comp.computations)


@given(matrix_problems())
@settings(deadline=None)
def test_matrix_problems_have_data_that_keeps_their_assumptions(p):
    assert not structure_errors(p.outputs)
    values = p.data()
    assert len(values) == len(p.inputs)
    for var, value in zip(p.inputs, values):
        if isinstance(var, MatrixSymbol):
            assert np.shape(value) == p.shape(var)
        else:
            assert isinstance(value, float)
    check_values(p.assumptions, dict(zip(p.inputs, values)))
    assert all(np.all(np.isfinite(r)) for r in p.reference(values))


@pytest.mark.parametrize('kind', [k for k in KINDS if k != 'scalar'])
def test_random_matrix_keeps_its_kind(kind):
    rng = np.random.default_rng()
    shape = (5, 3) if kind in ('general', 'fullrank') else (4, 4)
    A = MatrixSymbol('A', *shape)
    predicates = {'symmetric': Q.symmetric, 'spd': Q.positive_definite,
                  'lower': Q.lower_triangular, 'upper': Q.upper_triangular,
                  'invertible': Q.invertible, 'diagonal': Q.diagonal, 'fullrank': Q.fullrank}
    value = random_matrix(kind, shape, rng)
    assert value.shape == shape
    if kind in predicates:
        check_values([predicates[kind](A)], {A: value})
    if kind in ('spd', 'invertible', 'lower', 'upper', 'diagonal', 'fullrank'):
        assert np.linalg.cond(value) < 1e3


def test_random_matrix_refuses_bad_arguments():
    rng = np.random.default_rng()
    with pytest.raises(ValueError, match='kind must be one of'):
        random_matrix('hermitian', (2, 2), rng)
    with pytest.raises(ValueError, match='a fullrank matrix here is tall'):
        random_matrix('fullrank', (2, 3), rng)
    with pytest.raises(TypeError, match='rng must be a numpy.random.Generator'):
        random_matrix('general', (2, 3), 0)


# assert_inplace_safe -------------------------------------------------------------

@given(mix_dags(), st.booleans(), seeds)
def test_compiled_programs_are_inplace_safe(comp, donate, seed):
    donated = comp.inputs if donate else ()
    inputs = vectors(comp, seed)
    saved = {var: value.copy() for var, value in inputs.items()}
    got = assert_inplace_safe(inplace_compile(comp, donate=donated), inputs, donate=donated)
    assert set(got) == set(comp.outputs)
    for var, value in inputs.items():                        # donated or not: copies were run
        np.testing.assert_array_equal(value, saved[var])


@given(matrix_problems(symbolic=False), st.booleans())
@settings(max_examples=30, deadline=None)
def test_compiled_matrix_programs_are_inplace_safe(p, donate):
    f = computations.function(p.inputs, p.outputs, p.assumptions)
    inputs = dict(zip(p.inputs, p.data()))
    donated = [var for var in p.inputs if isinstance(var, MatrixSymbol)] if donate else ()
    program = inplace_compile(f.computation, donate=donated)
    assert_inplace_safe(program, inputs, donate=donated, rtol=1e-12)


A = MatrixSymbol('A', 3, 3)
#: SCAL doubles A in its own buffer; GEMM reads A::
#:
#:     A@A --> [SCAL] => 2*A@A
#:      \---> [GEMM] --> A*A@P       (must run first)
SCAL_A = T(SCAL(2, A), ['A'], ['A'])
GEMM_A = T(GEMM(1, A, A), ['A', 'A'], ['P'])


def test_an_overwrite_before_the_last_reader_fails():
    a = {A: np.random.default_rng().uniform(-1, 1, (3, 3))}
    program = SCAL_A + GEMM_A
    assert_inplace_safe(program, a, donate=[A])            # in the safe order: GEMM first
    with pytest.raises(AssertionError, match="not inplace safe: SCAL overwrites token 'A' "
                                             'holding A, but GEMM still needs it'):
        assert_inplace_safe(program, a, order=[SCAL_A, GEMM_A], donate=[A])
    # Without the checker, the poisoned run itself finds the wrong value.
    with pytest.raises(AssertionError, match=r"output A\*\*2 \(token 'P'\) of the inplace "
                                             "program differs from the pure program's value"):
        assert_inplace_safe(program, a, order=[SCAL_A, GEMM_A], donate=[A], check=False)


def test_overwriting_an_input_that_was_not_donated_fails():
    a = {A: np.random.default_rng().uniform(-1, 1, (3, 3))}
    saved = a[A].copy()
    with pytest.raises(AssertionError, match=r"caller's input"):
        assert_inplace_safe(SCAL_A, a)
    with pytest.raises(AssertionError, match='overwrote input A, which was not donated'):
        assert_inplace_safe(SCAL_A, a, check=False)
    np.testing.assert_array_equal(a[A], saved)


def test_two_outputs_over_one_mix_input_fail():
    """x@x --> [Mix] => y@x ;  x@x --> [Mix] --> z@z   (z read from x after y overwrote it)"""
    first = T(Mix(['x'], ['y'], [(0, 0)]), ['x'], ['x'])
    second = T(Mix(['x'], ['z']), ['x'], ['z'])
    inputs = {'x': np.random.default_rng().uniform(-1, 1, 4)}
    with pytest.raises(AssertionError, match="output z \\(token 'z'\\)"):
        assert_inplace_safe(first + second, inputs, order=[first, second], donate=['x'],
                            check=False)


class Alias(Computation):
    """An operation whose kernel returns its input array itself, without declaring it."""
    __slots__ = ()


@kernel.register(Alias)
def _alias(op, values, overwrite):
    return [values[0]]


def test_a_kernel_that_returns_a_dying_buffer_is_poisoned():
    """x@x --> [Mix] --> t@t --> [Alias] --> y@y  (y *is* t's buffer, which dies)"""
    comp = Mix(['x'], ['t']) + Alias(['t'], ['y'])
    inputs = {'x': np.random.default_rng().uniform(-1, 1, 4)}
    with pytest.raises(AssertionError, match=r"output y \(token 'y'\)[\s\S]*nan"):
        assert_inplace_safe(comp, inputs)


def test_a_kernel_that_writes_where_it_did_not_declare_fails():
    """x@x --> [Alias] --> y ;  x@x --> [Mix] => w@x  (Mix overwrites x, which y shares)"""
    comp = Alias(['x'], ['y']) + Mix(['x'], ['w'], [(0, 0)])
    inputs = {'x': np.random.default_rng().uniform(-1, 1, 4)}
    assert_inplace_safe(comp, inputs)                  # x is the caller's: Mix gets a copy
    with pytest.raises(AssertionError, match=r"output y \(token 'y'\)"):
        assert_inplace_safe(comp, inputs, donate=['x'])


def test_pure_values_overwrite_nothing():
    comp = Mix(['x'], ['y'], [(0, 0)]) + Mix(['x', 'y'], ['z'], [(0, 1)])
    x = np.linspace(-1, 1, 5)
    out = pure_values(inplace_compile(comp), {'x': x})
    np.testing.assert_array_equal(x, np.linspace(-1, 1, 5))
    assert set(out) == {'z'} and np.all(np.isfinite(out['z']))


def test_assert_inplace_safe_refuses_bad_arguments():
    with pytest.raises(TypeError, match='program must be a Computation'):
        assert_inplace_safe('GEMM', {})
    with pytest.raises(TypeError, match='inputs must be a dict'):
        assert_inplace_safe(Mix(['x'], ['y']), [np.ones(2)])
    with pytest.raises(KeyError, match='no value given for x'):
        assert_inplace_safe(Mix(['x'], ['y']), {})


# assert_allclose_to_numpy --------------------------------------------------------

@given(matrix_problems(), st.sampled_from([np.float64, np.float32]))
@settings(max_examples=40, deadline=None)
def test_compiled_functions_agree_with_numpy(p, dtype):
    f = computations.function(p.inputs, p.outputs, p.assumptions)
    values = [v.astype(dtype) if isinstance(v, np.ndarray) else v for v in p.data()]
    assert_allclose_to_numpy(f, *values)


def test_results_that_cancel_to_zero_are_judged_by_the_size_of_their_terms():
    """``alpha*x + alpha*x*G`` with ``G = [[-1]]`` is exactly 0 in NumPy, and about 1e-16 from
    the compiled GEMV (which factors it as ``alpha*x*(1 + G)``): both are right to rounding
    at the size of ``alpha*x``, so the check compares with that size.  A hypothesis example
    (``alpha = 1.471``) failed the relative check against a zero norm."""
    alpha, x, G = sympy.Symbol('alpha'), MatrixSymbol('x', 3, 1), MatrixSymbol('G', 1, 1)
    f = computations.function([alpha, x, G], [alpha*x + alpha*x*G])
    rng = np.random.default_rng()
    for _ in range(20):
        args = (float(rng.uniform(-3, 3)), rng.standard_normal((3, 1)), np.array([[-1.]]))
        assert_allclose_to_numpy(f, *args)
    # a wrong result is caught still: off by 1e-6 of the terms' size
    wrong = (lambda a, v, g: (a * v * 1e-6,))
    with pytest.raises(AssertionError, match=r'output 0, .*rtol 1e-08'):
        assert_allclose_to_numpy(wrong, *args, inputs=[alpha, x, G], outputs=f.outputs)
    # the problems' own check, which the suite's random-problem tests use, judges alike
    p = MatrixProblem([alpha, x, G], [alpha*x + alpha*x*G], (),
                      [('scalar', None), ('general', (3, 1)), ('invertible', (1, 1))])
    assert max(p.errors(f(*args), args)) <= 1e-8
    assert min(p.errors(wrong(*args), args)) > 1e-8


def kalman():
    n, k = sympy.Symbol('n'), sympy.Symbol('k')
    mu, data = MatrixSymbol('mu', n, 1), MatrixSymbol('data', k, 1)
    Sigma, H, R = MatrixSymbol('Sigma', n, n), MatrixSymbol('H', k, n), MatrixSymbol('R', k, k)
    inputs = [mu, Sigma, H, R, data]
    outputs = [mu + Sigma*H.T*(R + H*Sigma*H.T).I*(H*mu - data),
               Sigma - Sigma*H.T*(R + H*Sigma*H.T).I*H*Sigma]
    rng = np.random.default_rng()
    values = [rng.standard_normal(4), random_matrix('spd', (4, 4), rng),
              rng.standard_normal((2, 4)), random_matrix('spd', (2, 2), rng),
              rng.standard_normal(2)]
    return inputs, outputs, [Q.positive_definite(Sigma), Q.positive_definite(R)], values


def test_a_compiled_kalman_filter_agrees_and_a_wrong_one_does_not():
    inputs, outputs, assumptions, values = kalman()
    f = computations.function(inputs, outputs, assumptions)
    assert_allclose_to_numpy(f, *values)
    assert_allclose_to_numpy(f, *[v.astype(np.float32) for v in values])
    wrong = computations.function(inputs, [outputs[0], outputs[1].T * outputs[1]], assumptions)
    with pytest.raises(AssertionError, match=r'output 1, .*relative error .* > rtol 1e-08'):
        assert_allclose_to_numpy(wrong, *values, outputs=outputs)


def test_wrong_dtypes_shapes_and_counts_fail():
    S, x = MatrixSymbol('S', 2, 2), MatrixSymbol('x', 2, 1)
    s, v = np.array([[2., 1.], [1., 2.]]), np.ones((2, 1))
    exact = {'inputs': [S, x], 'outputs': [S * x]}
    assert_allclose_to_numpy(lambda s, v: s @ v, s, v, **exact)
    with pytest.raises(AssertionError, match='the result has dtype float64, but float32'):
        assert_allclose_to_numpy(lambda s, v: (s @ v).astype(np.float64), s.astype(np.float32),
                                 v.astype(np.float32), **exact)
    with pytest.raises(AssertionError, match=r'shape \(1, 2\), expected \(2, 1\)'):
        assert_allclose_to_numpy(lambda s, v: (s @ v).T, s, v, **exact)
    with pytest.raises(AssertionError, match='returned 2 results for 1 outputs'):
        assert_allclose_to_numpy(lambda s, v: (s @ v, v), s, v, **exact)
    with pytest.raises(TypeError, match='give inputs= and outputs='):
        assert_allclose_to_numpy(lambda s, v: s @ v, s, v)
    with pytest.raises(TypeError, match='f takes 2 arguments'):
        assert_allclose_to_numpy(lambda s: s, s, **exact)


def test_results_given_as_a_dict_or_a_single_array_are_compared_in_order():
    S = MatrixSymbol('S', 2, 2)
    s = np.array([[2., 1.], [1., 2.]])
    assert_allclose_to_numpy(lambda s: {'a': s @ s, 'b': s.T}, s, inputs=[S],
                             outputs={'a': S * S, 'b': S.T})
    with pytest.raises(AssertionError, match='output 1, S.T'):
        assert_allclose_to_numpy(lambda s: {'a': s @ s, 'b': 2 * s}, s, inputs=[S],
                                 outputs={'a': S * S, 'b': S.T})


# Loading -------------------------------------------------------------------------

def test_the_kit_loads_only_when_imported_and_its_assertions_need_no_hypothesis():
    code = '''
import sys
sys.modules['hypothesis'] = None            # as if it were not installed
import computations, computations.matrices
assert 'computations.testing' not in sys.modules
import numpy as np, computations.testing as kit
kit.assert_inplace_safe(kit.Mix(['x'], ['y'], [(0, 0)]), {'x': np.ones(2)})
exec('from computations.testing import *', {})      # names only what loads
try:
    kit.mix_dags
except ImportError as error:
    print(error)
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == ('computations.testing.mix_dags needs hypothesis, which is not '
                           'installed: pip install computations[testing]')


def test_the_public_names_are_documented():
    import computations.testing as kit
    for name in kit.__all__:
        obj = getattr(kit, name)
        if callable(obj):
            assert obj.__doc__ and '>>>' in (obj.__doc__ + sys.modules[obj.__module__].__doc__), \
                name


# Review J: checks that could not fail -----------------------------------------------------

def test_a_function_that_overwrites_its_argument_fails_and_a_donating_one_passes():
    """The reference was computed after the call, on the caller's own array: a function that
    zeroed its input and returned zeros passed, and a correct donating function failed."""
    import sympy
    import computations
    from computations.testing import assert_allclose_to_numpy
    A = sympy.MatrixSymbol('A', 3, 3)
    a = np.asfortranarray(np.random.default_rng(0).uniform(-1, 1, (3, 3)))

    def wrong(A_):
        A_[:] = 0
        return (np.zeros((3, 3)),)
    with pytest.raises(AssertionError, match='f modified its argument A'):
        assert_allclose_to_numpy(wrong, a.copy(order='F'), inputs=[A], outputs=[A.T * A + 2 * A])
    donating = computations.function([A], [2 * A], donate=[A])
    assert_allclose_to_numpy(donating, a.copy(order='F'))


def test_fractional_powers_and_complex_values_are_not_truncated():
    """``evaluate(A**(1/2))`` gave the identity (the exponent truncated) and ``relative_error``
    dropped imaginary parts: both let a wrong answer through."""
    import sympy
    from computations.testing import assert_allclose_to_numpy, evaluate, relative_error
    A = sympy.MatrixSymbol('A', 2, 2)
    with pytest.raises(NotImplementedError, match='integer powers only'):
        evaluate(sympy.MatPow(A, sympy.Rational(1, 2)), {A: np.eye(2)})
    with pytest.raises(ValueError, match='complex'):
        relative_error(np.array([[1 + 5j]]), np.array([[1.0]]))
    with pytest.raises(AssertionError, match='the result is complex'):
        assert_allclose_to_numpy(lambda A_: ((2 * A_ + 5j).tolist(),), np.eye(2), inputs=[A],
                                 outputs=[2 * A])


def test_dtypes_of_list_results_are_checked_and_no_outputs_is_an_error():
    import sympy
    from computations.testing import assert_allclose_to_numpy
    A = sympy.MatrixSymbol('A', 2, 2)
    a32 = np.eye(2, dtype=np.float32)
    with pytest.raises(AssertionError, match='the result has dtype float64, but float32'):
        assert_allclose_to_numpy(lambda A_: ((np.asarray(A_, np.float64) * 2).tolist(),), a32,
                                 inputs=[A], outputs=[2 * A])
    with pytest.raises(TypeError, match='outputs: none given'):
        assert_allclose_to_numpy(lambda A_: (), a32, inputs=[A], outputs=[])


@pytest.mark.parametrize('kind, shape', [('spd', (2.7, 2.2)), ('spd', (True, True)),
                                         ('general', ('2', 2)), ('scalar', 'garbage'),
                                         ('scalar', (2, 2))])
def test_random_matrix_refuses_shapes_that_are_not_integers(kind, shape):
    """Non-integer and boolean shapes were truncated, and a scalar ignored any shape."""
    from computations.testing import random_matrix
    with pytest.raises(ValueError, match='shape'):
        random_matrix(kind, shape, np.random.default_rng(0))
    # integers of any kind are shapes: a SymPy Integer (a MatrixSymbol's .shape), NumPy's
    assert random_matrix('spd', (sympy.Integer(2), np.int64(2)),
                         np.random.default_rng(0)).shape == (2, 2)


def test_an_invertible_matrix_is_far_from_singular():
    """A 1x1 one was u + 1, u in [-1, 1): as small as 6e-4 over 3000 seeds.  Strictly
    diagonally dominant by 1 or orthogonal: every singular value is at least 1 (up to
    rounding)."""
    from computations.testing import random_matrix
    for seed in range(1000):
        for n in (1, 2, 3, 5):
            a = random_matrix('invertible', (n, n), np.random.default_rng(seed))
            assert np.linalg.svd(a, compute_uv=False).min() >= 1 - 1e-12


def test_assert_inplace_safe_takes_donated_names_lists_and_names_a_cycle():
    """``donate=['B']`` read as nothing donated ('overwrote input B, which was not donated'),
    a list for a hand-built input failed inside its kernel, and a program with no safe order
    raised OverwriteCycleError instead of an AssertionError."""
    import sympy
    from computations.inplace import TokenComputation as T
    from computations.matrices import GEMM, SCAL
    from computations.testing import Mix, assert_inplace_safe
    B = sympy.MatrixSymbol('B', 2, 2)
    scal, gemm = T(SCAL(2, B), ['B'], ['B']), T(GEMM(1, B, B), ['B', 'B'], ['P'])
    got = assert_inplace_safe(scal + gemm, {B: np.eye(2)}, order=[gemm, scal], donate=['B'],
                              check=False)
    np.testing.assert_array_equal(got[B * B], np.eye(2))
    got = assert_inplace_safe(Mix(['x'], ['y'], [(0, 0)]) + Mix(['x', 'y'], ['z']),
                              {'x': [1.0, 2.0]})
    assert set(got) >= {'z'}
    # each node overwrites what the other reads: no order is safe
    cycle = (T(Mix(['a', 'b'], ['c'], [(0, 0)]), ['a', 'b'], ['a'])
             + T(Mix(['a', 'b'], ['d'], [(0, 1)]), ['a', 'b'], ['b']))
    with pytest.raises(AssertionError, match='not inplace safe'):
        assert_inplace_safe(cycle, {'a': np.ones(2), 'b': np.ones(2)}, donate=['a', 'b'],
                            check=False)


def test_triangular_matrices_stay_well_conditioned_as_they_grow():
    """Entries of size 1 below a diagonal in [1, 2] gave condition numbers growing as 2^n
    (4e7 at n = 200); the docs promise well-conditioned data of every kind."""
    rng = np.random.default_rng()
    for kind in ('lower', 'upper'):
        for n in (1, 6, 50, 200):
            a = random_matrix(kind, (n, n), rng)
            assert np.linalg.cond(a) < 10, (kind, n, np.linalg.cond(a))


def test_a_nan_or_an_infinity_is_an_infinite_error_unless_matched():
    """``max`` over errors passes over a NaN (``max([0.0, nan]) == 0.0``), so a NaN in a
    later output passed the suite's checks."""
    assert max([relative_error([[1.]], [[1.]]), relative_error([[np.nan]], [[1.]])]) == np.inf
    assert relative_error([[1., np.inf]], [[1., 2.]]) == np.inf
    assert relative_error([[1., 2.]], [[1., np.inf]]) == np.inf
    assert relative_error([[np.nan, 2.]], [[np.inf, 2.]]) == np.inf
    assert relative_error([[np.nan, 1.]], [[np.nan, 1.]]) == 0.0
    assert relative_error([[np.inf, 1. + 1e-9]], [[np.inf, 1.]]) == pytest.approx(1e-9)


def test_the_reference_refuses_a_value_of_the_wrong_shape():
    """NumPy's broadcasting made ``x + y`` of two 3x1 symbols 3x3 when y was given 1x3."""
    x, y, A = MatrixSymbol('x', 3, 1), MatrixSymbol('y', 3, 1), MatrixSymbol('A', 3, 3)
    with pytest.raises(ValueError, match=r'value of y has shape \(1, 3\), its symbol 3 x 1'):
        evaluate(x + y, {x: np.ones((3, 1)), y: np.ones((1, 3))})
    with pytest.raises(ValueError, match=r'value of x has shape \(3,\)'):
        evaluate(A*x, {A: np.eye(3), x: np.ones(3)})
    n = sympy.Symbol('n')
    z = MatrixSymbol('z', n, 1)
    assert evaluate(z.T*z, {z: np.ones((4, 1))}).shape == (1, 1)
    with pytest.raises(ValueError, match='value of z'):
        evaluate(z, {z: np.ones((4, 2))})


def test_the_reference_knows_the_ones_matrix():
    x = MatrixSymbol('x', 3, 1)
    f = computations.function([x], [sympy.OneMatrix(3, 3)*x])
    assert_allclose_to_numpy(f, np.arange(3.)[:, None])
    assert evaluate(sympy.OneMatrix(2, 3), {}).tolist() == [[1.] * 3] * 2


def test_scalars_that_cancel_are_judged_by_the_size_of_what_they_add_up():
    """``log(det S)`` with det 1 and ``Trace(A*B)`` with A symmetric, B antisymmetric are 0
    in exact arithmetic; the allowance was |value|, about 0, so right results failed."""
    n = sympy.Symbol('n', integer=True, positive=True)
    S = MatrixSymbol('S', n, n)
    f = computations.function([S], [sympy.log(sympy.Determinant(S))], [Q.positive_definite(S)])
    rng = np.random.default_rng()
    q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    s = (q * [4., 1/4, 3., 1/3, 5., 1/5, 7., 1/7]) @ q.T
    assert_allclose_to_numpy(f, (s + s.T) / 2)
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, n)
    g = computations.function([A, B], [sympy.Trace(A*B)])
    a, b = rng.standard_normal((2, 50, 50))
    assert_allclose_to_numpy(g, a + a.T, b - b.T)
    # and wrong ones are caught still: off by 1e-6 of the size of the terms
    sizes = np.abs(a + a.T) * np.abs(b - b.T).T
    wrong = (lambda a, b: (np.trace(a @ b) + 1e-6 * sizes.sum(),))
    with pytest.raises(AssertionError, match='output 0'):
        assert_allclose_to_numpy(wrong, a + a.T, b - b.T, inputs=[A, B], outputs=g.outputs)
    wrong = (lambda s: (np.linalg.slogdet(s)[1] + 1e-6,))
    with pytest.raises(AssertionError, match='output 0'):
        assert_allclose_to_numpy(wrong, (s + s.T) / 2, inputs=[S], outputs=f.outputs)


@given(matrix_problems(symbolic=True))
@settings(max_examples=30, deadline=None)
def test_forced_symbolic_problems_have_a_symbolic_dimension(p):
    assert p.dims
