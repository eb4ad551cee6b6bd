"""C-ordered arrays are read transposed, not copied (``computations.front_door.layouts``).

A call whose arrays are C-ordered (NumPy's default) runs the function's
variant that reads them transposed: same results as Fortran-ordered arrays,
no copy of the inputs, the hot path from the second call on, errors naming
the caller's matrices, the inputs left alone.
"""
import pickle
import tracemalloc

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import MatrixSymbol, Q

import computations
from computations.front_door.layouts import renamed, transposed, views
from computations.matrices import NotPositiveDefiniteError, SingularMatrixError
from computations.matrices.ops.scalars import NotPositiveDeterminantError
from expressions import problems

n, k = sympy.symbols('n k')
seeds = st.integers(0, 2**32 - 1)


def _check(problem, results, values):
    for expr, error in zip(problem.outputs, problem.errors(results, values)):
        assert error <= 1e-8, f'{expr}: relative error {error:.3g}'


def _laid_out(values, inputs, orders):
    """``values`` given as ``orders`` says: C- or Fortran-ordered, or 1-D ('1', for a
    column vector; C-ordered for any other matrix; a scalar as a NumPy float, else a
    float)."""
    return [(np.float64(v) if o == '1' else v) if not isinstance(v, np.ndarray) else
            v.ravel() if o == '1' and x.shape[1] == 1 else np.asarray(v, order=o.strip('1') or 'C')
            for x, v, o in zip(inputs, values, orders)]


@given(problems(), seeds, st.data())
@settings(max_examples=40, deadline=None)
def test_any_mix_of_layouts_gives_the_results_and_leaves_the_inputs(problem, seed, data):
    """C- or Fortran-ordered matrices, column vectors 2-D or 1-D, scalars as floats or
    NumPy floats, by position or keyword: the right results (a
    column vector computed from a 1-D one comes back 1-D), whatever path the call takes
    (full, learned, hot), and the inputs untouched."""
    f = computations.function(problem.inputs, problem.outputs, problem.assumptions)
    values = problem.data(np.random.default_rng(seed))
    orders = data.draw(st.lists(st.sampled_from('CF1'), min_size=len(values),
                                max_size=len(values)), label='orders')
    given_ = _laid_out(values, problem.inputs, orders)
    flat = {x for x, v in zip(problem.inputs, given_) if np.ndim(v) == 1}
    by_name = data.draw(st.booleans(), label='by keyword')
    call = (lambda args: f(**dict(zip(map(str, problem.inputs), args)))) if by_name else \
        (lambda args: f(*args))
    before = [np.copy(v) for v in given_]
    for _ in range(3):                                   # full path, learned, hot path
        _check_shaped(problem, call(given_), values, flat)
    for x, old, new in zip(problem.inputs, before, given_):
        assert np.array_equal(old, new), f'{x} was modified'
    other = problem.data(np.random.default_rng(seed + 1))    # nothing stale carries over
    _check_shaped(problem, call(_laid_out(other, problem.inputs, orders)), other, flat)


def _check_shaped(problem, results, values, flat):
    """The results are right, and those computed from a vector given 1-D are 1-D."""
    results = results if isinstance(results, tuple) else (results,)
    shaped = []
    for out, result in zip(problem.outputs, results):
        if isinstance(out, sympy.MatrixExpr):
            rows = int(out.shape[0].xreplace({d: sympy.Integer(v)
                                              for d, v in problem.dims.items()}))
            vector = out.shape[1] == 1 and out.shape[0] != 1 and out.free_symbols & flat
            assert np.shape(result) == ((rows,) if vector else (rows, np.shape(result)[-1])), \
                (out, np.shape(result))
            result = np.reshape(result, (rows, -1))
        shaped.append(result)
    _check(problem, shaped, values)


def test_a_c_ordered_matrix_is_not_copied():
    A, x = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
    f = computations.function([A, x], A*x)
    a, v = np.random.default_rng(0).standard_normal((1000, 1000)), np.ones((1000, 1))
    assert a.flags.c_contiguous and not a.flags.f_contiguous
    f(a, v)                                              # compiled, out of the measure
    tracemalloc.start()
    try:
        for _ in range(3):
            np.testing.assert_allclose(f(a, v), a @ v, rtol=1e-12)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100_000, f'{peak} bytes: a copy of A is 8 MB'
    assert f.peak_bytes(a, v) == f.peak_bytes(np.asfortranarray(a), v) == 8000
    assert f.peak_bytes(a[::2, ::2], v[::2]) > 2_000_000           # a strided view: copied


def test_the_second_call_takes_the_hot_path_and_a_strided_view_does_not():
    A, B = MatrixSymbol('A', n, k), MatrixSymbol('B', k, n)
    f = computations.function([A, B], A*B)
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 4))
    for _ in range(3):
        np.testing.assert_allclose(f(a, b), a @ b, rtol=1e-12)
    assert f._hot((a, b)) is not computations.front_door.dispatch.MISS   # served
    big = rng.standard_normal((8, 6))
    strided = big[::2, ::2]                      # a's shape, neither C- nor F-ordered
    assert not strided.flags.c_contiguous and not strided.flags.f_contiguous
    for _ in range(2):
        np.testing.assert_allclose(f(strided, b), strided @ b, rtol=1e-12)
    info = f.cache_info()
    assert (info.misses, info.currsize) == (2, 2), info   # the variant's program, and F's


def test_1d_vectors_take_the_hot_path_and_come_back_1d():
    """A 1-D vector given for a column vector goes to the program as an ``n x 1`` view,
    from the second call on by the hot path (it took the full path every call: 180 µs
    for the Kalman update at n = 6 against 11 with ``n x 1`` arrays); a column vector
    computed from it comes back 1-D, a strided vector is copied, a wrong length named."""
    A, x, y = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1), MatrixSymbol('y', n, 1)
    f = computations.function([A, x, y], [A*x + y, x.T*y, A*x*y.T])
    rng = np.random.default_rng(3)
    a, v, w = rng.standard_normal((4, 4)), rng.standard_normal(4), rng.standard_normal(4)
    for order in 'FC':
        args = (np.asarray(a, order=order), v, w)
        for _ in range(3):
            product, inner, outer = f(*args)
            np.testing.assert_allclose(product, a @ v + w, rtol=1e-12)
            np.testing.assert_allclose(inner, [[v @ w]], rtol=1e-12)
            np.testing.assert_allclose(outer, np.outer(a @ v, w), rtol=1e-12)
            assert product.shape == (4,) and inner.shape == (1, 1) and outer.shape == (4, 4)
            assert not any(np.shares_memory(r, i) for r in (product, outer) for i in args)
        assert f._hot(args) is not computations.front_door.dispatch.MISS, order
    strided = rng.standard_normal(8)[::2]
    for _ in range(2):
        np.testing.assert_allclose(f(a, strided, w)[0], a @ strided + w, rtol=1e-12)
    assert f._hot((a, strided, w)) is computations.front_door.dispatch.MISS
    with pytest.raises(ValueError, match='input y'):
        f(a, v, np.ones(5))
    assert f.peak_bytes(a, v, w) == f.peak_bytes(a, v[:, None], w[:, None])


def test_evicted_programs_of_1d_calls_are_not_served():
    """An entry the function's own program serves for 1-D vectors is forgotten with that
    program (cache_size=1): the next call of that layout compiles again, and is right."""
    A, x = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
    f = computations.function([A, x], A*x, cache_size=1)
    rng = np.random.default_rng(6)
    for size in (3, 4, 3):
        a, v = np.asfortranarray(rng.standard_normal((size, size))), rng.standard_normal(size)
        for _ in range(3):
            np.testing.assert_allclose(f(a, v), a @ v, rtol=1e-12)
        assert len(f._dispatch.entries) == 1     # the evicted shape's entry is gone
    assert f.cache_info().misses == 3


def test_a_triangular_input_read_transposed_is_the_other_triangle():
    R, B = MatrixSymbol('R', n, n), MatrixSymbol('B', n, k)
    f = computations.function([R, B], R.I*B, [Q.upper_triangular(R)])
    variant, back = transposed(f, (0,))
    R_T = MatrixSymbol('R_T', n, n)
    assert variant.assumptions == (Q.lower_triangular(R_T),) and back == {R_T: R.T}
    ops = {type(op).__name__ for op in variant.specialize((5, 5), (5, 2)).computation.computations}
    assert ops & {'TRSM', 'TRTRS'} and not ops & {'GESV', 'GETRF'}, ops
    rng = np.random.default_rng(2)
    r, b = np.triu(rng.standard_normal((5, 5))) + 5 * np.eye(5), rng.standard_normal((5, 2))
    for _ in range(3):
        np.testing.assert_allclose(f(r, b), np.linalg.solve(r, b), rtol=1e-10)


def test_a_rectangular_input_gets_an_input_of_the_transposed_shape():
    X, y = MatrixSymbol('X', n, k), MatrixSymbol('y', n, 1)
    f = computations.function([X, y], (X.T*X).I*X.T*y, [Q.fullrank(X)])
    variant, back = transposed(f, (0,))
    Xt = MatrixSymbol('X_T', k, n)
    assert variant.inputs == (Xt, y) and back == {Xt: X.T}
    assert variant.outputs == ((Xt*Xt.T).I*Xt*y,)
    rng = np.random.default_rng(3)
    x, v = rng.standard_normal((9, 3)), rng.standard_normal((9, 1))
    for _ in range(3):
        np.testing.assert_allclose(f(x, v), np.linalg.lstsq(x, v, rcond=None)[0], rtol=1e-10)


@pytest.mark.parametrize('transpose', [False, True])
def test_errors_name_the_callers_matrices(transpose):
    T, b = MatrixSymbol('T', n, n), MatrixSymbol('b', n, 1)
    f = computations.function([T, b], (T.T if transpose else T).I*b, [Q.lower_triangular(T)])
    t = np.tril(np.ones((3, 3)))
    t[1, 1] = 0
    messages = set()
    for array in (t, np.asfortranarray(t)):
        for _ in range(3):                       # the full path, then the hot path
            with pytest.raises(SingularMatrixError) as caught:
                f(array, np.ones((3, 1)))
            messages.add(str(caught.value))
    assert len(messages) == 1 and 'T is singular' in messages.pop()


@pytest.mark.parametrize('case', ['general', 'spd', 'triangular', 'determinant'])
def test_an_error_is_the_same_whatever_the_layout(case):
    """A failing program raises the same error (type, message, expression, info) on C- or
    Fortran-ordered arrays, with 2-D or 1-D vectors, on the full path and the hot path: a
    variant that fails runs the function's own program instead (a singular C-ordered G
    said ``GETRS: G.T is singular``, its Fortran copy ``GESV: G is singular``)."""
    G, y = MatrixSymbol('G', n, n), MatrixSymbol('y', n, 1)
    outputs, assumptions, g = {
        'general': (G.I*y, [], np.diag([1., 2., 0., 3.]) + np.triu(np.ones((4, 4)), 1)),
        'spd': (G.I*y, [Q.positive_definite(G)], np.diag([1., 2., -3., 4.])),
        'triangular': (G.I*y, [Q.upper_triangular(G)], np.triu(np.ones((4, 4))) - np.eye(4)),
        'determinant': (sympy.log(sympy.Determinant(G))*y, [Q.positive_definite(G)],
                        -np.eye(4)),
    }[case]
    f = computations.function([G, y], outputs, assumptions)
    outcomes = set()
    for array in (g, np.asfortranarray(g)):
        for vector in (np.ones(4), np.ones((4, 1))):
            for _ in range(3):                         # the full path, then the hot path
                with pytest.raises(np.linalg.LinAlgError) as caught:
                    f(array, vector)
                error = caught.value
                outcomes.add((type(error), str(error), error.expression, error.info))
    assert len(outcomes) == 1, outcomes
    assert g.flags.c_contiguous                        # the caller's array, untouched order


def test_a_failing_compound_matrix_is_named_as_written():
    A, S, b = MatrixSymbol('A', n, k), MatrixSymbol('S', n, n), MatrixSymbol('b', n, 1)
    f = computations.function([A, S, b], (S + A*A.T).I*b, [Q.positive_definite(S)])
    a, s = np.ones((3, 2)), -np.eye(3)     # S + A*A.T: 1s on the diagonal, 2s off it
    messages = set()
    for array in (a, np.asfortranarray(a)):
        for _ in range(3):
            with pytest.raises(NotPositiveDefiniteError) as caught:
                f(array, s, np.ones((3, 1)))
            messages.add(str(caught.value).split(':')[1])
    assert messages == {' A*A.T + S is not positive definite (its leading minor of order 2 is '
                        'not positive)'}, messages


def test_renamed_keeps_the_error_and_prefers_fewer_transposes():
    A, At = MatrixSymbol('A', 3, 2), MatrixSymbol('A_T', 2, 3)
    error = renamed(NotPositiveDefiniteError('POTRF', At.T*At, 2), {At: A.T})
    assert type(error) is NotPositiveDefiniteError and error.info == 2
    assert error.expression == A*A.T
    assert renamed(SingularMatrixError('TRSM', At, 1), {At: A.T}).expression == A
    assert renamed(SingularMatrixError('GETRF', At, 1), {At: A.T}).expression == A.T
    T, T_T = MatrixSymbol('T', 3, 3), MatrixSymbol('T_T', 3, 3)
    error = renamed(NotPositiveDeterminantError('LU_DETERMINANT', sympy.Determinant(T_T),
                                                -6.0), {T_T: T.T})
    assert error.expression == sympy.Determinant(T) and str(error) == (
        'LU_DETERMINANT: log(Determinant(T)) is undefined: the determinant is -6, not positive')


def test_symmetric_c_ordered_inputs_need_no_variant():
    S, b = MatrixSymbol('S', n, n), MatrixSymbol('b', n, 1)
    f = computations.function([S, b], S.I*b, [Q.positive_definite(S)])
    s = np.array([[4., 1., 0.], [1., 3., 1.], [0., 1., 2.]])
    for _ in range(3):
        np.testing.assert_allclose(f(s, np.ones((3, 1))), np.linalg.solve(s, np.ones((3, 1))))
    assert f.cache_info().currsize == 1          # one program: S's own


def test_a_variant_input_takes_a_name_no_input_has():
    A, A_T = MatrixSymbol('A', n, k), MatrixSymbol('A_T', k, n)
    f = computations.function([A, A_T], A*A_T)
    variant, back = transposed(f, (0, 1))
    assert [str(x) for x in variant.inputs] == ['A_T1', 'A_T_T']
    a, b = np.ones((2, 3)), np.arange(6.).reshape(3, 2)
    for _ in range(3):
        np.testing.assert_allclose(f(a, b), a @ b)


def test_views_finds_c_ordered_arrays_and_refuses_others():
    a = np.ones((2, 3))
    assert views((a, np.asfortranarray(a), 1.0), (True, True, False)) == ((0,), (), ())
    assert views((np.ones((3, 1)),), (True,)) == ((), (), ())    # both orders: as it is
    assert views((a[:, ::2],), (True,)) is None
    assert views((a.tolist(),), (True,)) is None
    assert views((np.ones(3),), (True,)) is None             # 1-D, not for a column vector
    assert views((np.ones(3), a), (True, True), (True, False)) == ((1,), (0,), ())
    assert views((2, np.float32(1), 1.0), (False,) * 3) == ((), (), (0, 1))
    assert views((True,), (False,)) is None and views((np.array(1.0),), (False,)) is None
    assert views((np.ones(6)[::2],), (True,), (True,)) is None  # strided: copied
    assert views((np.ones((3, 1, 1)),), (True,), (True,)) is None


def test_the_cache_size_holds_for_each_layout_and_evicted_layouts_are_forgotten():
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, n)
    f = computations.function([A, B], A*B, cache_size=1)
    rng = np.random.default_rng(4)
    for size in (3, 4, 3, 5, 3):
        a, b = rng.standard_normal((size, size)), rng.standard_normal((size, size))
        for _ in range(3):
            np.testing.assert_allclose(f(a, b), a @ b, rtol=1e-12)
        assert f.cache_info().currsize == 1
    assert len(f._dispatch.entries) <= 1         # evicted programs are not served
    f.cache_clear()
    assert f.cache_info() == (0, 0, 1, 0)
    a = rng.standard_normal((3, 3))
    np.testing.assert_allclose(pickle.loads(pickle.dumps(f))(a, a), a @ a, rtol=1e-12)


def test_float32_c_ordered_arrays():
    A, x = MatrixSymbol('A', n, k), MatrixSymbol('x', k, 1)
    f = computations.function([A, x], A*x)
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    for _ in range(3):
        got = f(a, np.ones((3, 1), np.float32))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, a.sum(axis=1, keepdims=True))


def test_a_variant_that_fails_leaves_the_copies_and_says_so(monkeypatch, caplog):
    from computations.front_door import layouts

    def broken(function, flipped):
        raise RuntimeError('a bug')
    monkeypatch.setattr(layouts, 'transposed', broken)
    A, B = MatrixSymbol('A', n, k), MatrixSymbol('B', k, n)
    f = computations.function([A, B], A*B)
    a, b = np.arange(6.).reshape(2, 3), np.arange(6.).reshape(3, 2)
    with caplog.at_level('WARNING', logger='computations'):
        for _ in range(3):
            np.testing.assert_allclose(f(a, b), a @ b)
    assert [r.getMessage() for r in caplog.records] == [
        'the variant of Function((A, B) -> A*B) reading inputs (0, 1) transposed failed; '
        'C-ordered arrays will be copied']


def test_a_callers_mistake_with_c_ordered_arrays_keeps_the_variant(caplog):
    """A shape that breaks an assumption failed the variant's compile too: that is the
    caller's mistake, named by the full path, not a reason to copy C-ordered arrays from
    then on (found by fuzzing)."""
    from computations.matrices.compiler.assumptions import AssumptionError
    Y, x = MatrixSymbol('Y', n, k), MatrixSymbol('x', k, 1)
    f = computations.function([Y, x], Y*x, [Q.invertible(Y)])
    with caplog.at_level('WARNING', logger='computations'):
        with pytest.raises(AssumptionError, match='Y'):
            f(np.ones((2, 3)), np.ones((3, 1)))
        y = np.eye(3) + 1
        for _ in range(3):
            np.testing.assert_allclose(f(y, np.ones((3, 1))), y @ np.ones((3, 1)))
    assert not caplog.records
    assert f._hot((y, np.ones((3, 1)))) is not computations.front_door.dispatch.MISS


def test_an_lu_error_names_the_matrix_whose_factor_has_the_zero():
    """An LU factor's zero moves with the pivoting: an error from the factor of A.T names
    A.T, with that factor's position (naming A, it gave A.T's position)."""
    from scipy.linalg import lapack
    A, B = MatrixSymbol('A', n, n), MatrixSymbol('B', n, k)
    f = computations.function([A, B], A.I*B)
    a = np.array([[0., 0.], [1., 1.]])
    for array in (np.asfortranarray(a), a):
        with pytest.raises(SingularMatrixError) as caught:
            f(array, np.ones((2, 1)))
        named = {A: a, A.T: a.T}[caught.value.expression]
        assert lapack.dgetrf(named)[2] == caught.value.info


def test_profile_and_peak_bytes_name_the_callers_matrices():
    K = MatrixSymbol('K', n, n)
    g = computations.function([K], sympy.log(sympy.Determinant(K)))
    with pytest.raises(NotPositiveDeterminantError, match=r'Determinant\(K\)\)'):
        g.profile(np.array([[0., 2., 1.], [1., 0., 0.], [0., 0., 3.]]))   # det = -6
    A, B = MatrixSymbol('A', n, k), MatrixSymbol('B', k, n)
    with pytest.raises(ValueError, match=r'input B has 4 rows, but k = 2 \(bound by A\)'):
        computations.function([A, B], A*B).peak_bytes(np.ones((3, 2)), np.ones((4, 3)))
    assert 'A_T' in str(computations.function([A, B], A*B).profile(np.ones((3, 2)),
                                                                    np.ones((2, 3))))


@pytest.mark.parametrize('order', [np.asfortranarray, np.ascontiguousarray])
def test_the_hot_path_keeps_a_program_recently_used(order):
    """Uses on the hot path count in the cache of the program they run: a variant's
    program used last is not the one evicted (it was, and compiled again: fuzzing)."""
    P, R = MatrixSymbol('P', n, k), MatrixSymbol('R', k, n)
    f = computations.function([P, R], P*R, cache_size=2)

    def arrays(size):
        return order(np.ones((size, size + 1))), order(np.ones((size + 1, size)))
    for size in (2, 3):
        for _ in range(3):
            f(*arrays(size))
    for _ in range(5):
        f(*arrays(2))                              # hot: 2 is the most recently used
    f(*arrays(4))                                  # evicts 3
    misses = f.cache_info().misses
    f(*arrays(2))
    assert f.cache_info().misses == misses


def test_profile_and_peak_bytes_name_a_mistake_in_the_callers_symbols():
    """A shape that breaks an assumption, or a complex array, is named as a call names it,
    not in the variant's symbols (``Y_T``: review)."""
    from computations.front_door.dtypes import DtypeError
    from computations.matrices.compiler.assumptions import AssumptionError
    Y, x = MatrixSymbol('Y', n, k), MatrixSymbol('x', k, 1)
    f = computations.function([Y, x], Y*x, [Q.invertible(Y)])
    for method in (f.peak_bytes, f.profile):
        with pytest.raises(AssumptionError, match=r'input Y is declared Q.invertible\(Y\), but '
                                                  r'it is 2 x 3'):
            method(np.ones((2, 3)), np.ones((3, 1)))
        with pytest.raises(DtypeError, match='input Y is complex'):
            method(np.ones((3, 3), dtype=complex), np.ones((3, 1)))


def test_about_renames_the_matrix_not_the_operation():
    """``P`` is also in ``POTRF``: the message's matrix is renamed, after the operation."""
    P = MatrixSymbol('P', 3, 3)
    error = NotPositiveDefiniteError('POTRF', P, 2).about(P.T)
    assert str(error) == ('POTRF: P.T is not positive definite (its leading minor of order 2 '
                          'is not positive)') and error.expression == P.T and error.info == 2
    R = MatrixSymbol('R', 3, 3)
    assert str(SingularMatrixError('GETRF', R, 2).about(R.T)).startswith('GETRF: R.T is')


def test_with_every_matrix_c_ordered_the_results_come_back_c_ordered_without_a_transpose():
    """``A + B`` on C-ordered arrays is ``A_T + B_T`` transposed: computed so, and given
    back as the transposed view (C-ordered, as NumPy's ``a + b`` is), not copied out of a
    transpose; with one Fortran-ordered matrix among them, the results are Fortran's."""
    A, B, x = MatrixSymbol('A', n, k), MatrixSymbol('B', n, k), MatrixSymbol('x', k, 1)
    f = computations.function([A, B, x], [A + B, (A + B)*x, A, sympy.Trace(A.T*B)])
    rng = np.random.default_rng(5)
    a, b, v = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), np.ones((3, 1))
    for _ in range(3):
        total, product, same, trace = f(a, b, v)
        np.testing.assert_allclose(total, a + b)
        np.testing.assert_allclose(product, (a + b) @ v)
        np.testing.assert_array_equal(same, a)
        assert np.isclose(trace, np.sum(a * b))
        assert total.flags.c_contiguous and not total.flags.f_contiguous
        assert not any(np.shares_memory(r, i) for r in (total, product, same) for i in (a, b, v))
    variant, _ = transposed(f, (0, 1), results=(0, 1, 2))
    ops = {type(op).__name__ for op in variant.specialize((3, 4), (3, 4), (3, 1)).computation.
           computations}
    assert 'TRANSPOSE' not in ops, ops
    total, *_ = f(a, np.asfortranarray(b), v)            # mixed: Fortran-ordered results
    assert total.flags.f_contiguous
    np.testing.assert_allclose(total, a + b)
