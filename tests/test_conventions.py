"""The conventions of ``computations.function`` a scientific-Python user expects (issue 21).

- its parameters are explicit keywords, documented (numpydoc) and typed; a
  compiled function's ``inspect.signature`` lists its inputs by name;
  ``function``, ``Function``, ``grad`` and ``frobenius_norm`` are public
  names of ``computations`` that load the front door only when first used;
- outputs mirror what was given: one expression, one result; a list or
  tuple, a tuple (named with ``names=``); a dict, a dict;
- 1-D in, 1-D out for column vectors;
- dtypes: float32 and float64 keep their precision, integers and float16 are
  converted to float64, complex, bool and object arrays are refused by name;
- a bounded LRU of shape specializations with ``functools``-like statistics;
- all of it survives pickling.

Numbers are compared with NumPy, never with the library's own output.
"""
import gc
import inspect
import pickle
import pydoc
import subprocess
import sys
import threading
import weakref
from collections import OrderedDict

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import MatrixSymbol, Q, Symbol, Trace

import computations
from computations.front_door import CacheInfo, DtypeError, Function, Results
from computations.matrices.compiler.canonical import UnsupportedExpressionError

n, m = Symbol('n'), Symbol('m')
S, A = MatrixSymbol('S', n, n), MatrixSymbol('A', n, n)
B = MatrixSymbol('B', n, m)
x, y = MatrixSymbol('x', n, 1), MatrixSymbol('y', n, 1)
alpha = Symbol('alpha')


def spd(rng, size):
    X = rng.standard_normal((size, size))
    return X @ X.T / max(size, 1) + np.eye(size)


def close(got, want, rtol=1e-10):
    assert np.shape(got) == np.shape(want), (np.shape(got), np.shape(want))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


# 1. The signature, the docstring, the namespace ------------------------------------------

def test_function_takes_explicit_keyword_parameters_with_type_hints():
    signature = inspect.signature(computations.function)
    kinds = {p.kind for p in signature.parameters.values()}
    assert inspect.Parameter.VAR_KEYWORD not in kinds          # no **options
    keywords = [name for name, p in signature.parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert set(keywords) == {'names', 'sizes', 'runner', 'blocksize', 'low_memory',
                             'check_assumptions', 'donate', 'cache_size', 'plan_cache'}
    init = inspect.signature(Function.__init__).parameters
    assert set(keywords) == {name for name, p in init.items()
                             if p.kind is inspect.Parameter.KEYWORD_ONLY}
    for name in keywords:                                    # the same defaults
        assert signature.parameters[name].default == init[name].default, name
    assert all(p.annotation is not inspect.Parameter.empty
               for p in signature.parameters.values())
    assert signature.return_annotation is not inspect.Signature.empty


def test_function_has_a_numpydoc_docstring_documenting_every_parameter():
    doc = inspect.getdoc(computations.function)
    for section in ('Parameters\n----------', 'Returns\n-------', 'Raises\n------',
                    'Examples\n--------'):
        assert section in doc
    for name in inspect.signature(computations.function).parameters:
        assert f'\n{name} : ' in doc, f'{name} is not documented'
    assert '>>> ' in doc.split('Examples')[1]


def test_a_compiled_function_shows_its_inputs_as_its_signature():
    f = computations.function([S, x, alpha], [alpha * S * x])
    signature = inspect.signature(f)
    assert list(signature.parameters)[:3] == ['S', 'x', 'alpha']
    assert str(signature) == '(S, x, alpha, *, scheduler=None, check_assumptions=None)'
    bound = signature.bind(np.eye(2), alpha=2.0, x=np.ones((2, 1)))   # as a call binds
    by_name = f(**bound.arguments)
    close(by_name[0], 2 * np.ones((2, 1)))
    close(f(np.eye(2), np.ones((2, 1)), 2.0)[0], by_name[0])
    assert 'f(S, x, alpha, *, scheduler=None' in pydoc.render_doc(f, renderer=pydoc.plaintext)
    assert inspect.signature(Function).parameters['outputs']      # the class is untouched


def test_a_compiled_functions_help_is_made_when_read_and_the_class_keeps_its_own():
    """Printing the outputs for ``help(f)`` took 0.35 s of ``function()`` for four
    gradients: it is made when first read, once."""
    f = computations.function([S, x, alpha], [alpha * S * x])
    assert '__doc__' not in vars(f)
    doc = f.__doc__
    assert doc.startswith('f(S, x, alpha, *, scheduler=None') and 'alpha*S*x' in doc
    assert vars(f)['__doc__'] is doc is f.__doc__
    assert Function.__doc__.startswith('A compiled function: call it with arrays')


def test_inputs_whose_names_are_not_identifiers_show_a_variadic_signature():
    odd = MatrixSymbol('A^T', 2, 2)
    f = computations.function([odd, MatrixSymbol('lambda', 2, 2)], [odd])
    assert str(inspect.signature(f)) == '(*args, scheduler=None, check_assumptions=None)'
    close(f(np.eye(2), np.eye(2))[0], np.eye(2))


@pytest.mark.parametrize('name', ['function', 'Function', 'grad', 'frobenius_norm'])
def test_the_public_names_are_listed_and_load_on_use(name):
    assert name in computations.__all__
    assert name in dir(computations)
    assert callable(getattr(computations, name))


def test_every_name_in_all_exists():
    assert all(hasattr(computations, name) for name in computations.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'functoin'"):
        computations.functoin


def test_importing_computations_loads_neither_the_front_door_nor_the_lower_layers():
    code = ('import sys, computations\n'
            'names = dir(computations)\n'
            'assert "function" in names and "grad" in names\n'
            'loaded = [m for m in sys.modules if m.startswith(("computations.front_door", '
            '"computations.inplace", "computations.schedulers", "computations.matrices"))]\n'
            'assert not loaded, loaded\n'
            'computations.function\n'
            'assert "computations.front_door" in sys.modules\n')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# 2. Outputs mirror what was given ----------------------------------------------------------

def test_a_single_expression_gives_a_single_result():
    f = computations.function([S, x], S.I * x, [Q.positive_definite(S)])
    rng = np.random.default_rng()
    s, v = spd(rng, 4), rng.standard_normal((4, 1))
    got = f(s, v)
    assert isinstance(got, np.ndarray)
    close(got, np.linalg.solve(s, v))
    trace = computations.function([S], Trace(S))
    assert trace(s) == pytest.approx(np.trace(s)) and isinstance(trace(s), float)


@pytest.mark.parametrize('container', [list, tuple])
def test_a_list_or_tuple_gives_a_tuple(container):
    f = computations.function([S, x], container([S * x, Trace(S)]))
    rng = np.random.default_rng()
    s, v = rng.standard_normal((3, 3)), rng.standard_normal((3, 1))
    got = f(s, v)
    assert type(got) is tuple and len(got) == 2
    close(got[0], s @ v)
    assert got[1] == pytest.approx(np.trace(s))


def test_a_dict_gives_a_dict_with_the_same_names_in_order():
    outputs = {'solution': S.I * x, 'logdet': sympy.log(sympy.Determinant(S)), 'Sx': S * x}
    f = computations.function([S, x], outputs, [Q.positive_definite(S)])
    assert f.names == ('solution', 'logdet', 'Sx')
    assert str(f).startswith('function(S, x) -> solution, logdet, Sx')
    rng = np.random.default_rng()
    s, v = spd(rng, 5), rng.standard_normal((5, 1))
    got = f(s, v)
    assert type(got) is dict and list(got) == ['solution', 'logdet', 'Sx']
    close(got['solution'], np.linalg.solve(s, v))
    close(got['Sx'], s @ v)
    assert got['logdet'] == pytest.approx(np.linalg.slogdet(s)[1])
    assert list(outputs) == ['solution', 'logdet', 'Sx']       # the caller's dict untouched


def test_names_name_the_results():
    f = computations.function([S, x], [S * x, Trace(S)], names=['product', 'trace'])
    s, v = np.diag([1., 2.]), np.ones((2, 1))
    got = f(s, v)
    assert isinstance(got, tuple) and isinstance(got, Results)
    product, trace = got                                      # still unpacks
    assert got.product is product and got['trace'] == trace == 3.0
    assert got._asdict() == {'product': product, 'trace': trace}
    assert repr(got).startswith('Results(product=array(')
    with pytest.raises(AttributeError, match="no output named 'sum'"):
        got.sum
    with pytest.raises(KeyError, match="no output named 'sum'"):
        got['sum']
    again = pickle.loads(pickle.dumps(got))
    assert isinstance(again, Results) and type(again) is type(got)     # one class per names
    assert again.product.tolist() == product.tolist()
    assert str(f).startswith('function(S, x) -> product, trace')


@pytest.mark.parametrize('outputs, names, error, message', [
    ({'a': S}, ['b'], ValueError, 'the outputs are a dict, whose keys name them'),
    ([S, S * S], ['a'], ValueError, 'names: 1 names for 2 outputs'),
    ([S, S * S], ['a', 'a'], ValueError, 'names: a given more than once'),
    ([S], [1], TypeError, 'names must be non-empty strings, got 1'),
    ([S], 'a', TypeError, 'names must be a list of strings'),
    ({1: S}, None, TypeError, 'outputs: dict keys must be non-empty strings'),
    ({}, None, ValueError, 'an empty dict'),
    ([], None, ValueError, 'outputs: an empty list; give at least one output'),  # IndexError
    ((), ['a'], ValueError, 'outputs: an empty tuple'),                           # at the call
    ((o for o in ()), None, ValueError, 'outputs: an empty generator'),
    # a mutable Matrix was a sequence of its entries: two scalar outputs
    (sympy.Matrix([[1, 2]]), None, UnsupportedExpressionError,
     r'Matrix\(\[\[1, 2\]\]\) \(ImmutableDenseMatrix\) is not supported'),
    (5, None, TypeError, 'outputs must be a SymPy expression, a list or tuple of them, or a '
                         'dict'),
    ('S', None, TypeError, 'outputs must be a SymPy expression'),
])
def test_bad_output_structures_are_refused_by_name(outputs, names, error, message):
    with pytest.raises(error, match=message):
        computations.function([S], outputs, names=names)


STRUCTURES = {
    'single': lambda exprs: exprs[0],
    'list': list,
    'tuple': tuple,
    'named': list,
    'dict': lambda exprs: {f'r{i}': e for i, e in enumerate(exprs)},
}


def _unpack(kind, got, count):
    """The flat results of a call, after checking their structure."""
    if kind == 'single':
        assert not isinstance(got, (tuple, dict))
        return [got]
    if kind == 'dict':
        assert type(got) is dict and list(got) == [f'r{i}' for i in range(count)]
        return list(got.values())
    assert isinstance(got, tuple) and len(got) == count
    assert isinstance(got, Results) == (kind == 'named')
    return list(got)


POOL = [(lambda a, s, v: a @ s, A * S), (lambda a, s, v: a.T @ v, A.T * x),
        (lambda a, s, v: np.trace(a), Trace(A)), (lambda a, s, v: np.linalg.solve(s, v),
                                                  S.I * x)]


@settings(max_examples=30)
@given(kind=st.sampled_from(sorted(STRUCTURES)),
       chosen=st.lists(st.sampled_from(range(len(POOL))), min_size=1, max_size=4),
       size=st.integers(1, 5),
       how=st.sampled_from(['fast', 'converted', 'interpret', 'sync', 'pickled']))
def test_every_structure_on_every_path_matches_numpy(kind, chosen, size, how):
    if kind == 'single':
        chosen = chosen[:1]
    exprs = [POOL[i][1] for i in chosen]
    names = [f'r{i}' for i in range(len(exprs))] if kind == 'named' else None
    f = computations.function([A, S, x], STRUCTURES[kind](exprs), [Q.positive_definite(S)],
                              names=names, runner='interpret' if how == 'interpret'
                              else 'source')
    if how == 'pickled':
        f = pickle.loads(pickle.dumps(f))
    rng = np.random.default_rng()
    a, s, v = rng.standard_normal((size, size)), spd(rng, size), rng.standard_normal((size, 1))
    args = [np.asfortranarray(z) for z in (a, s, v)] if how == 'fast' else [a.tolist(), s, v]
    got = f(*args, scheduler='sync') if how == 'sync' else f(*args)
    for result, i in zip(_unpack(kind, got, len(exprs)), chosen):
        close(result, POOL[i][0](a, s, v))


def test_dask_arrays_come_back_in_the_same_structure():
    import dask.array as da
    f = computations.function([A, x], {'Ax': A * x, 'AA': A * A})
    a, v = np.arange(16.).reshape(4, 4), np.arange(4.)
    got = f(da.from_array(a, chunks=2), da.from_array(v, chunks=2))
    assert type(got) is dict and list(got) == ['Ax', 'AA']
    assert got['Ax'].shape == (4,)                            # 1-D in, 1-D out, lazily
    close(got['Ax'].compute(), a @ v)
    close(got['AA'].compute(), a @ a)


# 3. 1-D in, 1-D out ----------------------------------------------------------------------

VECTOR_OUTPUTS = {
    'A*x': (A * x, lambda a, b, u, w: a @ u, {x}),
    'B.T*y': (B.T * y, lambda a, b, u, w: b.T @ w, {y}),
    'A*x + y': (A * x + y, lambda a, b, u, w: a @ u + w, {x, y}),
    'x.T*y': (x.T * y, lambda a, b, u, w: u.T @ w, None),             # 1 x 1: stays 2-D
    'A*B': (A * B, lambda a, b, u, w: a @ b, None),                     # a matrix
}
VECTOR_FUNCTION = computations.function([A, B, x, y], [e for e, _, _ in
                                                        VECTOR_OUTPUTS.values()])


@settings(max_examples=40)
@given(n_=st.integers(0, 6), m_=st.integers(1, 4), flat_x=st.booleans(), flat_y=st.booleans(),
       runner=st.sampled_from(['source', 'interpret', 'sync']))
def test_column_vectors_given_1d_give_1d_results(n_, m_, flat_x, flat_y, runner):
    """The rule: an output declared ``k x 1`` (``k`` not the number 1) comes back ``(k,)``
    when it reads a column-vector input given 1-D; every other output keeps two
    dimensions."""
    rng = np.random.default_rng()
    a, b = rng.standard_normal((n_, n_)), rng.standard_normal((n_, m_))
    u, w = rng.standard_normal((n_, 1)), rng.standard_normal((n_, 1))
    given = {x: flat_x, y: flat_y}
    args = [a, b, u[:, 0] if flat_x else u, w[:, 0] if flat_y else w]
    got = VECTOR_FUNCTION(*args, scheduler='sync') if runner == 'sync' else \
        VECTOR_FUNCTION(*args)
    for (name, (expr, numpy, reads)), result in zip(VECTOR_OUTPUTS.items(), got):
        want = numpy(a, b, u, w)
        if reads and any(given[v] for v in reads):
            want = want[:, 0]
        close(result, want)


def test_a_numeric_column_vector_and_a_list_follow_the_rule():
    v = MatrixSymbol('v', 3, 1)
    M = MatrixSymbol('M', 3, 3)
    f = computations.function([M, v], M * v)
    assert f(np.eye(3), [1., 2., 3.]).shape == (3,)
    assert f(np.eye(3), [[1.], [2.], [3.]]).shape == (3, 1)


# 4. Dtypes -------------------------------------------------------------------------------

DTYPE_FUNCTION = computations.function([S, x, alpha], [alpha * S.I * x, sympy.log(
    sympy.Determinant(S))], [Q.positive_definite(S)])


@pytest.mark.parametrize('dtype, rtol', [(np.float64, 1e-11), (np.float32, 2e-4)])
def test_float64_and_float32_keep_their_precision(dtype, rtol):
    rng = np.random.default_rng()
    s, v = spd(rng, 6), rng.standard_normal((6, 1))
    solution, logdet = DTYPE_FUNCTION(s.astype(dtype), v.astype(dtype), 0.5)
    assert solution.dtype == dtype and type(logdet) is (float if dtype == np.float64
                                                        else np.float32)
    s64, v64 = s.astype(dtype).astype(float), v.astype(dtype).astype(float)
    close(solution, 0.5 * np.linalg.solve(s64, v64), rtol)
    assert logdet == pytest.approx(np.linalg.slogdet(s64)[1], rel=rtol, abs=rtol)


@pytest.mark.parametrize('dtype, rtol', [('>f8', 1e-11), ('>f4', 2e-4), ('<f4', 2e-4)])
@pytest.mark.parametrize('batch', [(), (3,)])
def test_either_byte_order_keeps_its_precision(dtype, rtol, batch):
    """Big-endian float32 is float32 too (computed natively, returned native)."""
    rng = np.random.default_rng()
    s = np.stack([spd(rng, 4) for _ in range(3)])[0 if not batch else slice(None)]
    v = rng.standard_normal(batch + (4, 1))
    solution, logdet = DTYPE_FUNCTION(s.astype(dtype), v.astype(dtype), 0.5)
    assert solution.dtype == np.dtype(dtype).newbyteorder('=')
    s64, v64 = s.astype(dtype).astype(float), v.astype(dtype).astype(float)
    close(solution, 0.5 * np.linalg.solve(s64, v64), rtol)
    close(logdet, np.linalg.slogdet(s64)[1], rtol)


def test_float64_is_not_computed_in_single_precision():
    f = computations.function([S], S * S)
    s = np.full((2, 2), 1 + 2.0 ** -40)                      # below float32's resolution
    assert f(s)[0, 0] - 2.0 == pytest.approx(4 * 2.0 ** -40, rel=1e-3)


def test_mixed_float32_and_float64_run_in_float64():
    got, _ = DTYPE_FUNCTION(np.eye(2, dtype=np.float32), np.ones((2, 1)), 1.0)
    assert got.dtype == np.float64


@pytest.mark.parametrize('dtype', [np.int8, np.int32, np.int64, np.uint8, np.float16])
def test_integer_and_half_arrays_are_converted_to_float64(dtype):
    f = computations.function([S, x], S * x)
    s, v = (np.arange(4) % 3).reshape(2, 2).astype(dtype), np.array([1, 2], dtype=dtype)
    got = f(s, v)
    assert got.dtype == np.float64
    close(got, s.astype(float) @ v.astype(float))


@pytest.mark.parametrize('value, argument, message', [
    (np.eye(2, dtype=np.complex64), 0, 'input S is complex .complex64.'),
    (np.eye(2, dtype=np.complex128), 0, 'input S is complex .complex128.'),
    (np.ones(2, dtype=complex), 1, 'input x is complex'),
    ([[1j, 0], [0, 1]], 0, 'input S is complex'),
    (1 + 2j, 2, 'input alpha is complex'),
    (np.complex64(1), 2, 'input alpha is complex'),
    (np.eye(2).astype(object), 0, 'input S is an object array'),
    (np.eye(2, dtype=bool), 0, 'input S is a bool array'),
    (np.array([['a', 'b'], ['c', 'd']]), 0, 'input S must hold real numbers, got dtype <U1'),
])
def test_complex_object_and_bool_are_refused_naming_the_argument(value, argument, message):
    args = [np.eye(2), np.ones((2, 1)), 1.0]
    args[argument] = value
    kept = np.array(value, copy=True)
    with pytest.raises(DtypeError, match=message) as error:
        DTYPE_FUNCTION(*args)
    assert isinstance(error.value, TypeError) and isinstance(error.value, ValueError)
    assert np.array_equal(np.asarray(value), kept)
    again = pickle.loads(pickle.dumps(error.value))
    assert type(again) is DtypeError and str(again) == str(error.value)


def test_a_complex_dask_array_is_refused_without_computing_it():
    import dask
    import dask.array as da

    def never(*_):
        raise AssertionError('computed')
    lazy = da.map_blocks(never, da.ones((2, 2), chunks=1, dtype=complex), dtype=complex)
    with dask.config.set(scheduler='sync'):
        with pytest.raises(DtypeError, match='input S is complex'):
            DTYPE_FUNCTION(lazy, np.ones((2, 1)), 1.0)


# 5. The LRU of shape specializations -----------------------------------------------------

def test_cache_info_counts_like_functools():
    f = computations.function([A], A * A, cache_size=2)
    assert f.cache_info() == CacheInfo(hits=0, misses=0, maxsize=2, currsize=0)
    info = f.cache_info()
    assert (info.hits, info.misses, info.maxsize, info.currsize) == (0, 0, 2, 0)
    for size in (2, 3, 2, 2, 4, 3):                         # 3 is evicted by 4, then again
        close(f(np.ones((size, size), order='F')), np.full((size, size), float(size)))
    assert f.cache_info() == CacheInfo(hits=2, misses=4, maxsize=2, currsize=2)
    f.cache_clear()
    assert f.cache_info() == CacheInfo(0, 0, 2, 0)


def test_the_default_size_and_unbounded():
    assert computations.function([A], A).cache_info().maxsize == 128
    f = computations.function([A], A * A, cache_size=None)
    for size in range(1, 6):
        f.specialize((size, size))
    assert f.cache_info() == CacheInfo(0, 5, None, 5)


def test_a_program_evicted_while_a_call_makes_its_runner_is_not_kept():
    """Another thread evicts the program between the cache's answer and the fast path's
    memo of its generated function: the memo was stored anyway, and served the evicted
    program ever after (cache_size=1 held three or four programs under three threads).
    The eviction is made to happen there, in this thread."""
    f = computations.function([A], A * A, cache_size=1)
    close(f(np.ones((2, 2), order='F')), np.full((2, 2), 2.0))
    original = computations.front_door.specialization.Specialization.generated
    evicted = []

    def generated(self, dtype):
        if self.dims and 3 in self.dims.values() and not evicted:
            evicted.append(True)
            f.specialize((4, 4))                     # another shape: the cache drops n = 3
        return original(self, dtype)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(computations.front_door.specialization.Specialization, 'generated',
                      generated)
        close(f(np.ones((3, 3), order='F')), np.full((3, 3), 3.0))
    assert evicted and f.cache_info().currsize == 1
    cached = {key for key in f._cache._data}
    assert {key for _, key in f._runners} <= cached
    if f._dispatch is not None:
        assert {entry.key for entry in f._dispatch.entries.values()} <= cached


@pytest.mark.parametrize('size, error', [(0, ValueError), (-3, ValueError), (2.5, TypeError),
                                         (True, TypeError), ('8', TypeError)])
def test_a_bad_cache_size_is_refused_by_name(size, error):
    with pytest.raises(error, match='cache_size must be a positive integer or None'):
        computations.function([A], A, cache_size=size)


@settings(max_examples=25)
@given(maxsize=st.integers(1, 4),
       calls=st.lists(st.tuples(st.integers(1, 6), st.sampled_from(['fast', 'converted',
                                                                     'specialize'])),
                      min_size=1, max_size=12))
def test_the_cache_behaves_as_an_lru_of_shape_signatures(maxsize, calls):
    f = computations.function([A, x], A * x, cache_size=maxsize)
    model, hits, misses = OrderedDict(), 0, 0
    for size, how in calls:
        if size in model:
            hits += 1
            model.move_to_end(size)
        else:
            misses += 1
            model[size] = True
            if len(model) > maxsize:
                model.popitem(last=False)
        a, v = np.eye(size), np.arange(float(size)).reshape(size, 1)
        if how == 'specialize':
            assert f.specialize((size, size), (size, 1)).dims == {n: size}
        else:
            call = (np.asfortranarray(a), np.asfortranarray(v)) if how == 'fast' \
                else (a.tolist(), v)
            close(f(*call), v)
        assert f.cache_info() == CacheInfo(hits, misses, maxsize, len(model))


def test_an_evicted_program_is_released():
    f = computations.function([A], A * A, cache_size=1)
    f(np.ones((3, 3), order='F'))                            # kept by the fast path's memo too
    generated = weakref.ref(f.specialize((3, 3)).generated(np.float64))
    for size in (4, 5):
        f(np.ones((size, size), order='F'))
    gc.collect()
    assert generated() is None


def test_concurrent_calls_of_many_shapes_stay_within_the_bound():
    f = computations.function([A, x], A * x, cache_size=3)
    errors = []

    def work():
        rng = np.random.default_rng()
        try:
            for _ in range(20):
                size = int(rng.integers(1, 8))
                a, v = rng.standard_normal((size, size)), rng.standard_normal((size, 1))
                close(f(np.asfortranarray(a), np.asfortranarray(v)), a @ v)
                assert f.cache_info().currsize <= 3
        except Exception as error:  # reported below, in the main thread
            errors.append(error)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert f.cache_info().currsize <= 3


# 6. Pickling -----------------------------------------------------------------------------

def test_a_pickled_single_output_keeps_its_name():
    """``function([S], S*S, names=['square'])``: the name is in ``print(f)``, the source and
    pictures; unpickled, the output was called ``out0`` again."""
    f = computations.function([S], S * S, names=['square'])
    g = pickle.loads(pickle.dumps(f))
    assert g.names == f.names == ('square',)
    assert g.pseudocode() == f.pseudocode() and 'square' in g.pseudocode()


@pytest.mark.parametrize('kind', sorted(STRUCTURES))
def test_a_pickled_function_keeps_its_structure_and_options(kind):
    names = ['r0', 'r1'] if kind == 'named' else None
    exprs = [S * x] if kind == 'single' else [S * x, Trace(S)]
    f = computations.function([S, x], STRUCTURES[kind](exprs), [Q.symmetric(S)], names=names,
                              cache_size=7)
    g = pickle.loads(pickle.dumps(f))
    assert g.cache_info().maxsize == 7 and g.names == f.names
    assert str(inspect.signature(g)) == str(inspect.signature(f))
    s, v = np.array([[2., 1.], [1., 2.]]), np.array([1., 2.])
    want, got = f(s, v), g(s, v)
    assert type(got) is type(want)
    for a, b in zip(_unpack(kind, got, len(exprs)), _unpack(kind, want, len(exprs))):
        close(a, b)
