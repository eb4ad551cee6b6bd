"""The hot path of calls (computations.front_door.dispatch): a layout seen before goes
straight to the program, and nothing else changes -- results, named errors, untouched
inputs, the shape cache's statistics and its least-recently-used order."""
import pickle

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from sympy import MatrixSymbol, Q

import computations
from computations.front_door.cache import ShapeCache
from computations.front_door.dispatch import MAX_LAYOUTS, MISS, Dispatch
from test_bad_input import MUTATIONS, PROBLEMS, REFUSED, COMPUTED, _good_value, _mutate

n, m = sympy.Symbol('n'), sympy.Symbol('m')
S_, B_, C_, L_ = (PROBLEMS['congruence'][0][0], PROBLEMS['spd solve'][0][1],
                  PROBLEMS['congruence'][0][2], PROBLEMS['triangular'][0][0])
LEARNED = {}


def _outcome(f, args):
    """What a call gives: ('result', values) or ('error', type, message)."""
    try:
        got = f(*args)
    except Exception as error:  # noqa: BLE001 -- the outcome is compared, whatever it is
        return ('error', type(error), str(error))
    return ('result', [np.array(r, copy=True) if isinstance(r, np.ndarray) else r
                       for r in (got if isinstance(got, tuple) else (got,))])


@given(name=st.sampled_from(sorted(PROBLEMS)), n_=st.integers(1, 6), m_=st.integers(1, 4),
       mutations=st.lists(st.sampled_from(MUTATIONS + ('flat', 'int')), min_size=4,
                          max_size=4),
       dtypes=st.lists(st.sampled_from(REFUSED + COMPUTED), min_size=4, max_size=4),
       seed=st.integers(0, 2 ** 32 - 1), by_name=st.booleans())
@settings(max_examples=60, deadline=None)
def test_a_learned_layout_changes_no_outcome(name, n_, m_, mutations, dtypes, seed, by_name):
    """After a function has learned the layout of good Fortran-ordered arguments (two
    calls), any call -- the same layout again, or a bad or odd version of it (also a matrix
    given 1-D, a scalar given as an int; by position or by keyword) -- gives what a fresh
    function (which has learned nothing) gives: the same results or the same named error,
    and the caller's arrays untouched."""
    inputs, outputs, assumptions = PROBLEMS[name]
    if name not in LEARNED:
        LEARNED[name] = computations.function(inputs, outputs, assumptions)
    f, fresh = LEARNED[name], computations.function(inputs, outputs, assumptions)
    rng = np.random.default_rng(seed)
    kinds = {'spd': {S_} if name in ('spd solve', 'scalars') else set(),
             'symmetric': {S_, C_} if name == 'congruence' else set(), 'lower': {L_}}
    good = [_good_value(var, {n: n_, m: m_}, rng, kinds) for var in inputs]
    good = [np.asfortranarray(v) if isinstance(v, np.ndarray) else v for v in good]
    f(*good)
    first = _outcome(f, good)                         # the hot path, from here on
    assert f._dispatch.call(tuple(good)) is not MISS
    assert first[0] == 'result'
    args = [_odd(v, mutation, dtype, rng) for v, mutation, dtype in zip(good, mutations, dtypes)]
    before = pickle.dumps(args)
    if by_name:
        names = [str(var) for var in inputs]
        got, want = (_outcome(lambda *a: g(**dict(zip(names, a))), args) for g in (f, fresh))
    else:
        got, want = _outcome(f, args), _outcome(fresh, args)
    assert got[0] == want[0], (got, want)
    if got[0] == 'error':
        assert got[1:] == want[1:]
    else:
        for a, b in zip(got[1], want[1]):
            np.testing.assert_array_equal(a, b)
    assert pickle.dumps(args) == before               # nothing the caller gave was changed


def _odd(value, mutation, dtype, rng):
    """``value`` made bad or odd by ``mutation`` (:func:`test_bad_input._mutate`'s, or
    ``'flat'``: an array given 1-D, ``'int'``: a scalar given as an int)."""
    if mutation == 'flat':
        return np.ravel(value) if np.ndim(value) == 2 else value
    if mutation == 'int':
        return int(round(value)) or 1 if np.ndim(value) == 0 else value
    return _mutate(value, mutation, dtype, rng)[0]


def test_hot_calls_count_as_cache_hits_and_keep_their_program_recent():
    A, x = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
    f = computations.function([A, x], A * x, cache_size=2)
    args = {size: (np.asfortranarray(np.eye(size)), np.ones((size, 1), order='F'))
            for size in (2, 3, 4)}
    for _ in range(5):
        np.testing.assert_array_equal(f(*args[2]), np.ones((2, 1)))
    assert f.cache_info().hits == 4 and f.cache_info().misses == 1
    f(*args[3])
    f(*args[2])                    # hot: 2 is now the most recent, 3 the least
    f(*args[4])                    # evicts 3, not 2
    assert list(f._cache) == [(2,), (4,)]
    info = f.cache_info()
    f(*args[2])
    assert f.cache_info().hits == info.hits + 1 and f.cache_info().misses == info.misses


def test_an_evicted_program_is_not_served_by_the_hot_path():
    A, x = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
    f = computations.function([A, x], A * x, cache_size=1)
    small = (np.asfortranarray(2 * np.eye(2)), np.ones((2, 1), order='F'))
    f(*small), f(*small)
    assert f._dispatch.entries
    f(np.asfortranarray(np.eye(3)), np.ones((3, 1), order='F'))      # evicts n = 2
    assert all(entry.key == (3,) for entry in f._dispatch.entries.values())
    np.testing.assert_array_equal(f(*small), 2 * np.ones((2, 1)))
    assert f.cache_info().misses == 3
    f.cache_clear()
    assert not f._dispatch.entries and f.cache_info().currsize == 0


@pytest.mark.parametrize('options', [dict(donate=['x']), dict(check_assumptions=True),
                                     dict(runner='interpret')])
def test_functions_whose_calls_do_more_have_no_hot_path(options):
    A, x = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
    f = computations.function([A, x], A.I * x, [Q.positive_definite(A)], **options)
    a, v = np.asfortranarray(4 * np.eye(2)), np.ones((2, 1), order='F')
    for _ in range(3):
        np.testing.assert_allclose(f(a, v.copy(order='F')), v / 4)
    assert f._hot((a, v)) is MISS
    if options.get('check_assumptions'):
        with pytest.raises(ValueError, match='positive definite'):
            f(np.asfortranarray(-np.eye(2)), v)


def test_the_hot_path_packs_every_output_structure():
    A = MatrixSymbol('A', n, n)
    a = np.asfortranarray(np.diag([1., 2.]))
    for outputs, names, check in [
            (A.T, None, lambda r: r.shape == (2, 2)),
            ([A.T, 2 * A], None, lambda r: isinstance(r, tuple) and len(r) == 2),
            ({'t': A.T, 'd': 2 * A}, None, lambda r: sorted(r) == ['d', 't']),
            ([A.T, 2 * A], ['t', 'd'], lambda r: r.d[1, 1] == 4)]:
        f = computations.function([A], outputs, names=names)
        cold, hot = f(a), f(a)
        assert check(cold) and check(hot) and type(cold) is type(hot)


def test_keyword_calls_take_the_hot_path_and_name_bad_keywords(monkeypatch):
    """Keywords are put in the inputs' order first, so a keyword call of a layout seen
    before goes straight to the program (it took the full path every call: 350 µs for
    the Kalman update at n = 6, against 19 by position); bad keywords are named as
    before."""
    A, x = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
    f = computations.function([A, x], A * x)
    a, v = np.asfortranarray(np.diag([1., 2.])), np.ones((2, 1), order='F')
    for _ in range(2):
        np.testing.assert_allclose(f(x=v, A=a), a @ v)
    monkeypatch.setattr(f, '_fast', lambda args: pytest.fail('the full path ran'))
    monkeypatch.setattr(f, '_one', lambda *args: pytest.fail('the full path ran'))
    np.testing.assert_allclose(f(a, x=v), a @ v)
    for kwargs, message in [(dict(x=v, B=a), "unexpected keyword argument 'B'"),
                            (dict(x=v), 'missing A'),
                            (dict(A=a, x=v, y=v), "unexpected keyword argument 'y'")]:
        with pytest.raises(TypeError, match=message):
            f(**kwargs)
    with pytest.raises(TypeError, match="multiple values for argument 'A'"):
        f(a, A=a)


@pytest.mark.parametrize('number', [2, np.float64(2), np.float32(2), np.int64(2), np.uint8(2),
                                    np.float16(2)])
def test_scalars_given_as_other_numbers_take_the_hot_path(number):
    """A scalar given as an int or a NumPy number goes as a float on the hot path (such
    calls took the full path every time: 104 µs against 4 for ``alpha*A*x`` at n = 6);
    the results are those of a float, a scalar result a Python float; an int too large,
    a bool or a 0-d array of the wrong shape are named as before."""
    alpha = sympy.Symbol('alpha')
    A, x = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
    f = computations.function([alpha, A, x], [alpha * A * x, alpha * sympy.Trace(A)])
    a, v = np.asfortranarray(np.diag([1., 2.])), np.ones((2, 1), order='F')
    want = f(2.0, a, v)
    for _ in range(3):
        product, trace = f(number, a, v)
        np.testing.assert_array_equal(product, want[0])
        assert trace == want[1] and type(trace) is float
    assert f._hot((number, a, v)) is not MISS
    for bad, message in [(10 ** 400, 'input alpha is an int too large for a float64'),
                         (10 ** 5000, r'too large for a float64 \(it has about 5001 digits'),
                         (True, 'input alpha is a scalar; give it a number'),
                         (np.ones(2), 'input alpha is a scalar; give it a number')]:
        with pytest.raises(ValueError, match=message):
            f(bad, a, v)
    assert f(np.array(3.0), a, v)[1] == 9.0                  # a 0-d array: the full path


def test_dimensions_declared_as_expressions_take_the_hot_path():
    """A shape such as ``(n + 1) x n`` is bound by solving for n, once per shape signature
    (such functions took the full path every call: 155 µs against 6 at n = 6); a shape
    that contradicts the declaration is named as before."""
    B, x = MatrixSymbol('B', n + 1, n), MatrixSymbol('x', n, 1)
    f = computations.function([B, x], [B * x, B.T * B])
    rng = np.random.default_rng(4)
    b, v = np.asfortranarray(rng.standard_normal((7, 6))), np.ones((6, 1), order='F')
    for _ in range(3):
        product, gram = f(b, v)
        np.testing.assert_allclose(product, b @ v)
        np.testing.assert_allclose(gram, b.T @ b)
    assert f._hot((b, v)) is not MISS
    for bad in (np.asfortranarray(rng.standard_normal((6, 6))), np.ones((3, 1), order="F")):
        for _ in range(2):
            with pytest.raises(ValueError, match=r'input B has \d+ rows, but it is declared '
                                                 r'\(n \+ 1\) x n'):
                f(bad, v[:bad.shape[1]])


def test_empty_matrices_take_the_hot_path_too():
    # found by test_conventions' hypothesis: an empty-matrix program is a plain function
    A, x = MatrixSymbol('A', n, n), MatrixSymbol('x', n, 1)
    f = computations.function([A, x], [A * x, x.T * x])
    empty = (np.zeros((0, 0), order='F'), np.zeros((0, 1), order='F'))
    for _ in range(3):
        product, square = f(*empty)
        assert product.shape == (0, 1) and square == 0.0
    assert f._hot(empty) is not MISS


def test_dispatch_on_its_own():
    d = Dispatch(['A', 'lambda'], [True, False], 'tuple')    # names may be keywords
    a = np.asfortranarray(np.eye(2))
    assert d(a, 2.0) is MISS and d(a) is MISS and d(a, 2.0, 3.0) is MISS
    d.learn((a, 2.0), lambda A, k: (k * A, A), 'key')
    assert d(a, 2.0)[0][0, 0] == 2.0
    assert d(a, 2) is MISS                                   # an int: not the layout learned
    assert d(np.eye(2, dtype='float32', order='F'), 2.0) is MISS
    assert d(np.ones((2, 2)), 2.0) is MISS                   # C order
    c = np.ones((2, 2))
    d.learn((c, 2.0), lambda A, k: (A, A), 'c')
    assert d(c, 2.0) is not MISS
    assert d(np.ones((4, 4))[::2, ::2], 2.0) is MISS         # its shape, other strides
    assert d(a.view(type('Sub', (np.ndarray,), {})), 2.0) is MISS      # a subclass
    assert d([[1., 0.], [0., 1.]], 2.0) is MISS
    for i in range(MAX_LAYOUTS + 1):                         # bounded
        d.learn((np.ones((1, i + 1), order='F'), 1.0), lambda A, k: (A,), i)
    assert len(d.entries) <= MAX_LAYOUTS
    assert Dispatch([], [], 'tuple')() is MISS


def test_a_function_of_no_inputs_is_called_again_and_again():
    """The second call of ``function([], [2*Identity(3)])`` learned a layout the dispatch
    of no inputs never made: AttributeError (review)."""
    f = computations.function([], [2 * sympy.Identity(3)])
    for _ in range(3):
        (got,) = f()
        np.testing.assert_array_equal(got, 2 * np.eye(3))


def test_an_entry_counts_its_uses_in_the_cache_it_was_learned_with():
    own, other = ShapeCache(), ShapeCache()
    other.get('k', str)
    d = Dispatch(['A'], [True], 'single', cache=own)
    a = np.eye(2, order='F')
    d.learn((a,), lambda A: (A,), 'k', cache=other, tag='t')
    for _ in range(3):
        d(a)
    assert other.info().hits == 3 and own.info().hits == 0
    d.forget('k')
    assert d(a) is not MISS                         # known by its tag, not its key
    d.forget('t')
    assert d(a) is MISS
