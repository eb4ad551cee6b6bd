"""The routines called without the GIL (computations.schedulers.released) do what SciPy's
f2py wrappers do -- results, the arrays they overwrite or leave alone, errors -- and
let other threads run meanwhile."""
import threading
import time

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st
from scipy.linalg import blas, lapack

from computations.matrices import GEMM
from computations.schedulers.calls import call_kernel
from computations.schedulers.released import released

ROUTINES = ['gemm', 'symm', 'syrk', 'trsm', 'trmm', 'potrf']


@pytest.fixture(autouse=True, scope='module')
def one_blas_thread():
    """BLAS on one thread, as on a ``distributed`` worker: the released calls release the
    GIL (with more threads and no run dividing them, they leave it to the wrapper:
    :func:`test_with_several_blas_threads_long_calls_keep_the_gil`)."""
    from computations.schedulers import released as module
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, 'blas_threads', lambda: 1)
        yield


def _layout(a, how):
    """``a`` Fortran-ordered, C-ordered, or a strided view of a larger array."""
    if how == 'F':
        return np.asfortranarray(a)
    if how == 'C':
        return np.ascontiguousarray(a)
    big = np.zeros((a.shape[0], 2 * a.shape[1]), dtype=a.dtype, order='F')
    big[:, ::2] = a
    return big[:, ::2]


@st.composite
def calls(draw):
    """A function that makes the same call afresh each time (arrays of the same values and
    layouts): ``(routine, wrapper, args, kwargs, where the array it may overwrite is)``."""
    seed = draw(st.integers(0, 2 ** 32 - 1))
    choices = draw(st.lists(st.integers(0, 5), min_size=13, max_size=13))
    return lambda: _call(seed, choices)


def _call(seed, choices):
    rng = np.random.default_rng(seed)
    choices = iter(choices)

    def draw(options):
        options = list(options)
        return options[next(choices) % len(options)]
    name = draw(ROUTINES)
    typecode = draw('sd')
    dtype = np.float32 if typecode == 's' else np.float64
    m, n, k = (int(x) for x in rng.integers(1, 10, size=3))
    layouts = [draw('FCV') for _ in range(3)]

    def matrix(rows, cols, layout, square=False):
        a = rng.standard_normal((rows, cols))
        if square:                              # well conditioned, positive definite
            a = a @ a.T + rows * np.eye(rows)
        return _layout(a.astype(dtype), layout)

    overwrite = draw([0, 1])
    lib = lapack if name == 'potrf' else blas
    wrapper = getattr(lib, typecode + name)
    if name == 'gemm':
        ta, tb = draw([0, 1, 2]), draw([0, 1, 2])          # 2: conjugate transpose
        a = matrix(*((k, m) if ta else (m, k)), layouts[0])
        b = matrix(*((n, k) if tb else (k, n)), layouts[1])
        c = draw([None, matrix(m, n, layouts[2])])
        args = [draw([1.5, np.float32(1.5), 2]), a, b, draw([0.0, 0.5, np.float64(0.5)]), c]
        kwargs = dict(trans_a=ta, trans_b=tb, overwrite_c=overwrite)
        return name, wrapper, args, kwargs, (None if c is None else 4)
    if name == 'symm':
        side, lower = draw([0, 1]), draw([0, 1])
        a = matrix(*((n, n) if side else (m, m)), layouts[0])
        c = draw([None, matrix(m, n, layouts[2])])
        args = [2.0, a, matrix(m, n, layouts[1]), 0.25, c, side, lower, overwrite]
        return name, wrapper, args, {}, (None if c is None else 4)
    if name == 'syrk':
        trans, lower = draw([0, 1, 2]), draw([0, 1])
        a = matrix(n, k, layouts[0])
        size = k if trans else n
        c = draw([None, matrix(size, size, layouts[2])])
        kwargs = dict(beta=-1.0, c=c, trans=trans, lower=lower, overwrite_c=overwrite)
        return name, wrapper, [0.5, a], kwargs, (None if c is None else 'c')
    if name in ('trsm', 'trmm'):
        side = draw([0, 1])
        a = matrix(*((n, n) if side else (m, m)), layouts[0], square=True)
        kwargs = dict(side=side, lower=draw([0, 1]),
                      trans_a=draw([0, 1, 2]),
                      diag=draw([0, 1]), overwrite_b=overwrite)
        return name, wrapper, [-1.0, a, matrix(m, n, layouts[1])], kwargs, 2
    spd = draw((True, False))
    a = matrix(n, n, layouts[0], square=spd)    # not positive definite: info > 0
    kwargs = dict(lower=draw([0, 1]), clean=draw([0, 1]),
                  overwrite_a=overwrite)
    return name, wrapper, [a], kwargs, 0


def _argument(args, kwargs, where):
    return kwargs[where] if isinstance(where, str) else args[where]


@given(calls())
@settings(max_examples=300, deadline=None)
def test_released_call_does_what_the_wrapper_does(make):
    name, wrapper, args, kwargs, written = make()
    _, _, theirs_args, theirs_kwargs, _ = make()
    _, _, before_args, before_kwargs, _ = make()
    expected = wrapper(*theirs_args, **theirs_kwargs)
    got = released(wrapper, minimum=0)(*args, **kwargs)
    if name == 'potrf':
        (expected, expected_info), (got, got_info) = expected, got
        assert got_info == expected_info
    tolerance = 1e-5 if got.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance, equal_nan=True)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    # the array the routine may write is overwritten exactly when the wrapper's is
    if written is not None:
        assert (got is _argument(args, kwargs, written)) == \
            (expected is _argument(theirs_args, theirs_kwargs, written))
    for now, then in zip([*args, *kwargs.values()], [*before_args, *before_kwargs.values()]):
        if isinstance(now, np.ndarray) and not any(now is r for r in (got,)):
            np.testing.assert_array_equal(now, then)        # nothing else is modified


def test_shapes_the_wrapper_rejects_raise_its_error():
    a, b = np.ones((3, 4), order='F'), np.ones((5, 2), order='F')
    with pytest.raises(Exception) as theirs:
        blas.dgemm(1.0, a, b)
    with pytest.raises(type(theirs.value)):
        released(blas.dgemm, minimum=0)(1.0, a, b)
    with pytest.raises(Exception) as theirs:
        lapack.dpotrf(np.ones((3, 4), order='F'))
    with pytest.raises(type(theirs.value)):
        released(lapack.dpotrf, minimum=0)(np.ones((3, 4), order='F'))


def test_other_routines_and_small_calls_are_the_wrappers():
    assert released(blas.dgemv) is blas.dgemv
    assert released(lapack.dgesv) is lapack.dgesv
    called = []
    small = np.ones((4, 4), order='F')

    class Spy:
        __name__, typecode = 'function dgemm', 'd'
        __doc__ = blas.dgemm.__doc__

        def __call__(self, *args, **kwargs):
            called.append(args)
            return blas.dgemm(*args, **kwargs)

    released(Spy())(1.0, small, small)
    assert len(called) == 1                     # below MINIMUM: the wrapper itself


def _gaps_while(run):
    """The longest pause (s) of a thread ticking every millisecond while ``run()`` runs,
    and how long ``run`` took."""
    stop, gaps = threading.Event(), []

    def tick():
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
    ticker = threading.Thread(target=tick)
    ticker.start()
    start = time.perf_counter()
    run()
    took = time.perf_counter() - start
    stop.set()
    ticker.join()
    return max(gaps, default=took), took


def test_a_long_kernel_lets_other_threads_run():
    """A block operation's kernel (what Dask tasks and the threads scheduler call) runs
    without the GIL: a thread ticking every millisecond keeps ticking (with f2py's wrapper
    it stopped for the whole call)."""
    n = 1200
    A = sympy.MatrixSymbol('A', n, n)
    op = GEMM(1, A, sympy.MatrixSymbol('B', n, n))
    values = op.bind([np.asfortranarray(np.random.default_rng(seed).standard_normal((n, n)))
                      for seed in (0, 1)])
    for _ in range(3):                          # a loaded machine may pause the ticker
        gap, took = _gaps_while(lambda: call_kernel(op, values, set()))
        if gap < took / 3:
            break
    assert gap < took / 3, (gap, took)


def test_unaligned_arrays_are_copied_as_the_wrapper_copies_them():
    raw = np.zeros(8 * 36 + 1, dtype=np.uint8)
    a = np.ndarray((6, 6), dtype=np.float64, buffer=raw, offset=1, order='F')
    a[...] = np.arange(36.).reshape(6, 6) + 40 * np.eye(6)
    assert not a.flags.aligned
    expected = blas.dgemm(1.0, a, a)
    np.testing.assert_allclose(released(blas.dgemm, minimum=0)(1.0, a, a), expected)
    before = a.copy()
    got = released(blas.dtrsm, minimum=0)(1.0, before.copy(order='F'), a, overwrite_b=1)
    assert got is not a                       # not written in place: a copy, like f2py's
    np.testing.assert_array_equal(a, before)


def _outcome(call):
    """``call()``'s result (arrays and info), or the type of the error it raises."""
    try:
        result = call()
    except Exception as error:                              # noqa: BLE001 (compared)
        return type(error)
    return result if isinstance(result, tuple) else (result,)


_A = np.asfortranarray(np.random.default_rng(3).standard_normal((5, 5)) + 6 * np.eye(5))
_C = np.asfortranarray(np.random.default_rng(4).standard_normal((5, 5)))

#: Arguments the wrapper converts or refuses (review of the released calls): a flag out of
#: f2py's range or not an int, None for an argument (not given), a scalar that is not a real
#: number, a c that is not an array, an argument given by position and by keyword.
ODD_CALLS = {
    'trans_a=-1': (blas.dgemm, (1.0, _A, _A), {'trans_a': -1}),
    'trans_a=3': (blas.dgemm, (1.0, _A, _A), {'trans_a': 3}),
    'trans_a=2': (blas.dgemm, (1.0, _A, _A), {'trans_a': 2}),
    'lower=2': (lapack.dpotrf, (_A @ _A.T,), {'lower': 2}),
    'lower=-1': (lapack.dpotrf, (_A @ _A.T,), {'lower': -1}),
    'lower=np.True_': (lapack.dpotrf, (_A @ _A.T,), {'lower': np.True_}),
    'lower=True': (lapack.dpotrf, (_A @ _A.T,), {'lower': True}),
    'trans=np.bool_': (blas.dsyrk, (1.0, _A), {'trans': np.bool_(1)}),
    'trans_b=1.0': (blas.dgemm, (1.0, _A, _A), {'trans_b': 1.0}),
    'trans_a=None': (blas.dgemm, (1.0, _A, _A), {'trans_a': None}),
    'beta=None': (blas.dgemm, (1.0, _A, _A), {'beta': None}),
    'syrk c=None': (blas.dsyrk, (1.0, _A, None, _C), {}),
    'c a list': (blas.dgemm, (1.0, _A, _A, 1.0, _C.tolist()), {}),
    'c a float': (blas.dgemm, (1.0, _A, _A, 1.0, 2.0), {}),
    'symm c a list': (blas.dsymm, (1.0, _A, _A, 1.0, _C.tolist()), {}),
    'a twice': (blas.dgemm, (1.0, _A, _A), {'a': _C}),
    'trans_b twice': (blas.dgemm, (1.0, _A, _A, 0.0, None, 0, 0, 0), {'trans_b': 1}),
    'alpha an array': (blas.dgemm, (np.array([2.0]), _A, _A), {}),
    'alpha 2-D': (blas.dgemm, (np.array([[2.0]]), _A, _A), {}),
    'alpha complex': (blas.dgemm, (2 + 0j, _A, _A), {}),
    'alpha a string': (blas.dgemm, ('2.0', _A, _A), {}),
    'alpha np.float32': (blas.dgemm, (np.float32(2.0), _A, _A), {}),
    'alpha an int': (blas.dgemm, (2, _A, _A), {}),
    'beta an array': (blas.dgemm, (1.0, _A, _A, np.ones(1), _C), {}),
    'trsm side=2': (blas.dtrsm, (1.0, _A, _C), {'side': 2}),
    'trmm diag=5': (blas.dtrmm, (1.0, _A, _C), {'diag': 5}),
}


@pytest.mark.parametrize('case', sorted(ODD_CALLS))
def test_odd_arguments_have_the_wrappers_outcome(case):
    """Whatever f2py converts (np.True_, 1.0, None, a list, a 1-element array) the released
    call converts alike, and whatever it refuses (trans_a=3, an argument given twice) it
    refuses with the same error: such calls go to the wrapper (the released call had
    computed A.T*B for trans_a=-1, raised IndexError for 3 and AttributeError for a list)."""
    wrapper, args, kwargs = ODD_CALLS[case]
    copies = lambda: ([np.array(a, order='F') if isinstance(a, np.ndarray) else a  # noqa: E731
                       for a in args],
                      {k: np.array(v, order='F') if isinstance(v, np.ndarray) else v
                       for k, v in kwargs.items()})
    theirs_args, theirs_kwargs = copies()
    mine_args, mine_kwargs = copies()
    expected = _outcome(lambda: wrapper(*theirs_args, **theirs_kwargs))
    got = _outcome(lambda: released(wrapper, minimum=0)(*mine_args, **mine_kwargs))
    if isinstance(expected, type):
        assert got is expected, (case, got, expected)
    else:
        assert not isinstance(got, type), (case, got)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


def test_the_programs_calls_take_the_released_route(monkeypatch):
    """What the executor passes (int flags, float scalars, Fortran arrays) is what the
    released calls take as it is: every routine of a compiled program above the minimum
    work runs through its Fortran pointer, not the wrapper."""
    import computations
    from computations.schedulers import released as module
    called = []
    fortran = module._fortran

    def recording(library, name, count):
        called.append(name[1:])
        return fortran(library, name, count)
    monkeypatch.setattr(module, '_fortran', recording)
    n, k = 200, 200                 # S's POTRF (k^3/3) above the minimum too
    mu, data = sympy.MatrixSymbol('mu', n, 1), sympy.MatrixSymbol('data', k, 1)
    Sigma, H = sympy.MatrixSymbol('Sigma', n, n), sympy.MatrixSymbol('H', k, n)
    R = sympy.MatrixSymbol('R', k, k)
    S = R + H*Sigma*H.T
    f = computations.function([mu, Sigma, H, R, data],
                              [mu + Sigma*H.T*S.I*(H*mu - data), Sigma - Sigma*H.T*S.I*H*Sigma],
                              [sympy.Q.positive_definite(Sigma), sympy.Q.positive_definite(R)],
                              runner='interpret')
    rng = np.random.default_rng(5)
    x, h = rng.standard_normal((n, n)), rng.standard_normal((k, n))
    y = rng.standard_normal((k, k))
    f(rng.standard_normal((n, 1)), x @ x.T / n + np.eye(n), h, y @ y.T / k + np.eye(k),
      rng.standard_normal((k, 1)))
    level3 = {type(op).__name__.lower() for op in f.specialize(
        (n, 1), (n, n), (k, n), (k, k), (k, 1)).computation} & set(ROUTINES)
    assert level3 and level3 <= set(called), (level3, called)


def test_routines_exported_otherwise_are_left_to_the_wrapper(monkeypatch):
    """A SciPy whose Cython BLAS took 64-bit integers would be read past its arguments:
    the signature in the exported capsule's name is checked first."""
    from computations.schedulers import released as module
    assert module._passes_as_expected('blas', 'dgemm')
    assert module._passes_as_expected('lapack', 'spotrf')
    monkeypatch.setattr(module, '_signature', lambda capsule: ['char *', 'int64_t *'])
    module._released.cache_clear()
    try:
        assert released(blas.dsyrk) is blas.dsyrk
    finally:
        module._released.cache_clear()


def test_with_several_blas_threads_long_calls_keep_the_gil(monkeypatch):
    """Each BLAS call then uses every core, and two at once oversubscribe them (the
    Kalman update on dask arrays took 0.43 s on Dask's thread pool with the GIL released,
    0.31 s one call at a time): the wrapper runs it, unless a run has divided the BLAS
    threads among its threads (dask_graph's thread pool)."""
    from computations.schedulers import released as module
    called = []
    fortran = module._fortran
    monkeypatch.setattr(module, '_fortran', lambda *key: called.append(key) or fortran(*key))
    monkeypatch.setattr(module, 'blas_threads', lambda: 4)
    a = np.asfortranarray(np.random.default_rng(6).standard_normal((200, 200)))
    expected = blas.dgemm(1.0, a, a)
    np.testing.assert_array_equal(released(blas.dgemm)(1.0, a, a), expected)
    assert not called
    monkeypatch.setitem(module.DIVIDING, 'runs', 1)
    np.testing.assert_array_equal(released(blas.dgemm)(1.0, a, a), expected)
    assert called
