"""The on-disk cache of compiled plans (``function(..., plan_cache=DIRECTORY)``)."""
import pickle
import subprocess
import sys

import numpy as np
import pytest
from sympy import MatrixSymbol, Q, Symbol

import computations
from computations.front_door import specialization
from computations.front_door.plan_cache import PlanCache

n, k = Symbol('n'), Symbol('k')
S, B = MatrixSymbol('S', n, n), MatrixSymbol('B', n, k)


def _solve(directory, assumptions=(Q.positive_definite(S),)):
    return computations.function([S, B], S.I * B, list(assumptions), plan_cache=directory)


def _data(rows, columns, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, rows))
    return X @ X.T + rows * np.eye(rows), np.asfortranarray(rng.standard_normal((rows, columns)))


def _no_compiling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError('compiled although the plan was on disk')
    monkeypatch.setattr(specialization, 'compile_expressions', refuse)


def test_a_new_function_loads_the_plan_instead_of_compiling(tmp_path, monkeypatch):
    s, b = _data(6, 2)
    first = _solve(tmp_path)(s, b)
    assert len(list(tmp_path.glob('*.pickle'))) == 1
    _no_compiling(monkeypatch)
    again = _solve(tmp_path)                   # a new function: its own in-memory cache
    np.testing.assert_allclose(again(s, b), np.linalg.solve(s, b), rtol=1e-10)
    np.testing.assert_array_equal(again(s, b), first)
    assert again.specialize(s, b).flops == _solve(tmp_path).specialize(s, b).flops


def test_the_plan_of_a_c_ordered_layout_is_kept_too(tmp_path, monkeypatch):
    s, b = _data(6, 2)
    c = np.ascontiguousarray(b)                  # read transposed: a variant's own plan
    _solve(tmp_path)(s, c)
    assert len(list(tmp_path.glob('*.pickle'))) == 1
    _no_compiling(monkeypatch)
    np.testing.assert_allclose(_solve(tmp_path)(s, c), np.linalg.solve(s, b), rtol=1e-10)


def test_another_process_loads_the_plan(tmp_path):
    s, b = _data(5, 3)
    _solve(tmp_path)(s, b)
    script = f"""
import numpy as np
from sympy import MatrixSymbol, Q, Symbol
import computations
from computations.front_door import specialization
def refuse(*args, **kwargs):
    raise SystemExit('compiled although the plan was on disk')
specialization.compile_expressions = refuse
n, k = Symbol('n'), Symbol('k')
S, B = MatrixSymbol('S', n, n), MatrixSymbol('B', n, k)
f = computations.function([S, B], S.I * B, [Q.positive_definite(S)], plan_cache={str(tmp_path)!r})
s, b = np.load({str(tmp_path / 's.npy')!r}), np.load({str(tmp_path / 'b.npy')!r})
print(float(np.abs(f(s, b) - np.linalg.solve(s, b)).max()))
"""
    np.save(tmp_path / 's.npy', s)
    np.save(tmp_path / 'b.npy', b)
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) < 1e-12


def test_plans_are_kept_per_shape_and_per_assumptions(tmp_path):
    s, b = _data(6, 2)
    f = _solve(tmp_path)
    f(s, b)
    f(*_data(7, 2))
    f(s, b)                                    # the same shape: no new plan
    assert len(list(tmp_path.glob('*.pickle'))) == 2
    g = _solve(tmp_path, assumptions=(Q.invertible(S),))
    np.testing.assert_allclose(g(s, b), np.linalg.solve(s, b), rtol=1e-10)
    assert len(list(tmp_path.glob('*.pickle'))) == 3
    assert 'POSV' in str(f.specialize(s, b).program) and \
            'GESV' in str(g.specialize(s, b).program)


def test_a_damaged_plan_is_compiled_again(tmp_path):
    s, b = _data(4, 1)
    _solve(tmp_path)(s, b)
    (path,) = tmp_path.glob('*.pickle')
    path.write_bytes(b'not a pickle')
    np.testing.assert_allclose(_solve(tmp_path)(s, b), np.linalg.solve(s, b), rtol=1e-10)
    assert PlanCache(tmp_path).get(path.stem)  # written again, whole
    assert not list(tmp_path.glob('*.tmp'))


def _program(directory):
    A, b = MatrixSymbol('A', n, n), MatrixSymbol('b', n, 1)
    return computations.function([A, b], 2 * A * b + b, plan_cache=directory)


@pytest.mark.parametrize('position', [0, 17, 40, 100, -60, -25, -9, -2])
def test_a_flipped_bit_in_a_stored_plan_costs_a_compile_not_a_wrong_result(tmp_path, position):
    a, b = _data(5, 1, seed=3)
    expected = 2 * a @ b + b
    _program(tmp_path)(a, b)
    (path,) = tmp_path.glob('*.pickle')
    stored = path.read_bytes()
    for bit in range(8):                       # every bit of the byte, one at a time
        damaged = bytearray(stored)
        damaged[position] ^= 1 << bit
        path.write_bytes(bytes(damaged))
        assert PlanCache(tmp_path).get(path.stem) is None
        np.testing.assert_allclose(_program(tmp_path)(a, b), expected, rtol=1e-12)
        assert path.read_bytes() == stored     # compiled again and stored whole


def test_a_plan_that_cannot_be_stored_is_logged_and_the_call_goes_on(tmp_path, monkeypatch,
                                                                      caplog):
    def full_disk(*args, **kwargs):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr('tempfile.mkstemp', full_disk)
    s, b = _data(4, 2)
    with caplog.at_level('WARNING', logger='computations.plan_cache'):
        np.testing.assert_allclose(_solve(tmp_path)(s, b), np.linalg.solve(s, b), rtol=1e-10)
    assert 'not stored' in caplog.text and 'No space left' in caplog.text
    assert not list(tmp_path.iterdir())


def test_a_plan_cache_on_a_path_that_cannot_be_made_is_logged(tmp_path, caplog):
    blocker = tmp_path / 'file'
    blocker.write_text('a file where the directory should go')
    s, b = _data(3, 1)
    with caplog.at_level('WARNING', logger='computations.plan_cache'):
        np.testing.assert_allclose(_solve(blocker / 'plans')(s, b), np.linalg.solve(s, b),
                                   rtol=1e-10)
    assert 'not stored' in caplog.text


def test_a_stored_object_that_is_not_a_plan_is_compiled_again(tmp_path):
    s, b = _data(4, 2)
    f = _solve(tmp_path)
    f(s, b)
    (path,) = tmp_path.glob('*.pickle')
    PlanCache(tmp_path).put(path.stem, 'not a plan')
    np.testing.assert_allclose(_solve(tmp_path)(s, b), np.linalg.solve(s, b), rtol=1e-10)


def test_a_stored_triple_that_is_not_a_plan_is_compiled_again(tmp_path):
    """Three strings unpickled from a file with a good checksum were taken for a plan (a
    TypeError deep in lowering); only a composite, its results and its FLOPs are."""
    s, b = _data(4, 2)
    _solve(tmp_path)(s, b)
    (path,) = tmp_path.glob('*.pickle')
    PlanCache(tmp_path).put(path.stem, ('a', 'b', 'c'))
    np.testing.assert_allclose(_solve(tmp_path)(s, b), np.linalg.solve(s, b), rtol=1e-10)


def test_a_dead_writers_temporary_files_are_swept(tmp_path):
    """A process killed between writing and renaming left its ``.tmp`` file forever; a
    later write removes those older than an hour, never a fresh one (a live writer's)."""
    import os
    import time
    old, fresh = tmp_path / 'dead.tmp', tmp_path / 'live.tmp'
    old.write_bytes(b'half a plan')
    fresh.write_bytes(b'half a plan')
    an_hour_ago = time.time() - 2 * 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    s, b = _data(4, 2)
    _solve(tmp_path)(s, b)
    assert not old.exists() and fresh.exists()


def test_the_directory_is_made_when_missing(tmp_path):
    directory = tmp_path / 'plans' / 'kalman'
    s, b = _data(3, 2)
    _solve(directory)(s, b)
    assert len(list(directory.glob('*.pickle'))) == 1


def test_bad_plan_cache_arguments_are_named(tmp_path):
    with pytest.raises(TypeError, match='plan_cache must be a directory path'):
        _solve(3)
    (tmp_path / 'file').write_text('')
    with pytest.raises(NotADirectoryError, match='plan_cache .* is not a directory'):
        _solve(tmp_path / 'file')


def test_a_function_pickles_with_its_plan_cache(tmp_path, monkeypatch):
    s, b = _data(5, 2)
    f = _solve(str(tmp_path))
    f(s, b)
    g = pickle.loads(pickle.dumps(f))
    assert g.plan_cache.directory == tmp_path
    _no_compiling(monkeypatch)
    np.testing.assert_array_equal(g(s, b), f(s, b))


def test_keys_differ_with_what_the_plan_depends_on():
    A = MatrixSymbol('A', n, n)
    base = PlanCache.key((A * A,), (A,), (), {n: 3})
    assert base == PlanCache.key((A * A,), (A,), (), {n: 3})
    assert len({base, PlanCache.key((A * A,), (A,), (), {n: 4}),
                PlanCache.key((A * A.T,), (A,), (), {n: 3}),
                PlanCache.key((A * A,), (A,), (Q.symmetric(A),), {n: 3})}) == 4


def test_a_plan_made_by_other_code_is_not_loaded(tmp_path, monkeypatch):
    """The key held the library's version, which a development install keeps across
    changes: a plan chosen by older code was loaded as the running code's.  It holds a
    digest of the code now; other code (here: another digest) compiles afresh."""
    from computations.front_door import plan_cache
    s, b = _data(5, 2)
    _solve(tmp_path)(s, b)
    monkeypatch.setattr(plan_cache, 'code_digest', lambda: '0.1.0.dev0 other code')
    compiled = []
    original = specialization.compile_expressions

    def counting(*args, **kwargs):
        compiled.append(True)
        return original(*args, **kwargs)
    monkeypatch.setattr(specialization, 'compile_expressions', counting)
    np.testing.assert_allclose(_solve(tmp_path)(s, b), np.linalg.solve(s, b), rtol=1e-10)
    assert compiled and len(list(tmp_path.glob('*.pickle'))) == 2


def test_the_code_digest_changes_with_any_module(tmp_path):
    import sympy
    from computations.front_door.plan_cache import code_digest, source_digest
    assert code_digest().startswith(f'{computations.__version__} sympy-{sympy.__version__} ')
    (tmp_path / 'compiler').mkdir()
    (tmp_path / 'compiler' / 'search.py').write_text('COST = 1\n')
    (tmp_path / 'rules.py').write_text('RULES = ()\n')
    (tmp_path / 'notes.txt').write_text('not code')
    first = source_digest(tmp_path)
    (tmp_path / 'notes.txt').write_text('still not code')
    assert source_digest(tmp_path) == first
    (tmp_path / 'compiler' / 'search.py').write_text('COST = 2\n')
    changed = source_digest(tmp_path)
    (tmp_path / 'new.py').write_text('')
    assert len({first, changed, source_digest(tmp_path)}) == 3


def test_a_plan_that_cannot_be_pickled_is_logged_not_raised(tmp_path, caplog):
    from computations.front_door.plan_cache import PlanCache
    with caplog.at_level('WARNING', logger='computations'):
        PlanCache(tmp_path).put('ab' * 32, lambda: None)
    assert 'cannot be pickled' in caplog.text and not list(tmp_path.iterdir())
