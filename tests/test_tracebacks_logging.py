"""Living with the library: tracebacks through generated source, the ``computations``
logger, and the profile table as data (:mod:`computations.schedulers.codegen`,
:mod:`computations.log`, :mod:`computations.matrices.compiler.driver`,
:mod:`computations.schedulers.profile`)."""
import gc
import importlib.util
import linecache
import logging
import subprocess
import sys
import traceback

import numpy as np
import pytest
import sympy
from hypothesis import given, strategies as st
from sympy import Q

import computations
from computations.front_door import specialization
from computations.matrices import NotPositiveDefiniteError
from computations.matrices.compiler import driver
from computations.schedulers.codegen import compile_function
from computations.schedulers.profile import Profile, Row

n = sympy.Symbol('n')
A, B = sympy.MatrixSymbol('A', n, n), sympy.MatrixSymbol('B', n, 1)


def _solve():
    """``A.I*B`` with A positive definite: one POSV call."""
    return computations.function([A, B], A.I * B, assumptions=[Q.positive_definite(A)])


# Tracebacks through generated source ----------------------------------------------

def test_a_traceback_through_a_generated_program_shows_its_line():
    # POSV on -I: LAPACK's info > 0, raised from the generated line that checks it.
    f = _solve()
    with pytest.raises(NotPositiveDefiniteError) as raised:
        f(-np.eye(3), np.ones(3))
    formatted = ''.join(traceback.format_exception(raised.value))
    assert 'File "<computations: program #' in formatted
    assert '    if info: fail(POSV, info)\n' in formatted
    assert 'A is not positive definite' in formatted


def test_the_registered_lines_are_the_generated_source():
    f = _solve()
    generated = f.specialize(np.eye(3), np.ones(3)).generated()
    filename = generated.function.__code__.co_filename
    assert linecache.getlines(filename) == [line + '\n' for line in
                                            generated.source.splitlines()]
    linecache.checkcache()                  # no file behind it: the entry stays
    assert linecache.getline(filename, 1) == generated.source.splitlines()[0] + '\n'


@given(st.lists(st.integers(-10**6, 10**6), min_size=2, max_size=6))
def test_each_generated_program_has_its_own_file_name(constants):
    # The same name and the same source compiled twice are two entries, each its own lines.
    functions = [compile_function(f'def program():\n    return {c}', 'program', {})
                 for c in constants]
    filenames = [f.__code__.co_filename for f in functions]
    assert len(set(filenames)) == len(filenames)
    for f, filename, c in zip(functions, filenames, constants):
        assert f() == c
        assert linecache.getline(filename, 2) == f'    return {c}\n'


def test_the_lines_are_forgotten_when_the_program_dies():
    f = compile_function('def program(x):\n    return 1 / x', 'program', {})
    filename = f.__code__.co_filename
    assert filename in linecache.cache
    del f
    gc.collect()                            # the function and its globals form a cycle
    assert filename not in linecache.cache


def test_compiling_many_programs_leaves_no_lines_behind():
    def registered():
        return sum(key.startswith('<computations: ') for key in linecache.cache)
    before = registered()
    functions = [computations.function([A], A * A) for _ in range(20)]
    for f in functions:
        f(np.eye(2))
    assert registered() >= before + 20                  # one program (at least) each
    del functions, f
    gc.collect()
    assert registered() <= before


# Logging ---------------------------------------------------------------------------

def test_the_compiler_logs_its_decisions_at_debug(caplog):
    f = _solve()
    with caplog.at_level(logging.DEBUG, logger='computations'):
        compiled = f.specialize(np.eye(4), np.ones(4))
    records = [r for r in caplog.records if r.name == 'computations.compiler']
    assert len(records) == 1 and records[0].levelno == logging.DEBUG
    message = records[0].getMessage()
    assert 'compiled 1 output(s) at n=4 in ' in message
    assert f'1 routine call(s), {compiled.flops:.4g} FLOPs' in message
    assert 'out0 = A**(-1)*B' in message
    assert '[POSV]' in message                      # the chosen program, as pseudocode


def test_the_compiler_says_nothing_above_debug(caplog):
    with caplog.at_level(logging.INFO, logger='computations'):
        _solve().specialize(np.eye(4), np.ones(4))
    assert [r for r in caplog.records if r.name.startswith('computations')] == []


def test_nothing_is_formatted_when_debug_is_off(monkeypatch):
    def costly(*args):
        raise AssertionError('the log message was made with DEBUG off')
    monkeypatch.setattr(driver, '_log', costly)
    logger = logging.getLogger('computations')
    monkeypatch.setattr(logger, 'level', logging.WARNING)
    f = _solve()
    x = f(2 * np.eye(3), np.ones(3))
    assert x.shape == (3,) and np.allclose(x, np.full(3, 0.5))


def test_the_library_adds_a_null_handler_and_configures_nothing():
    code = ('import logging, numpy as np, sympy, computations, computations.matrices\n'
            'A = sympy.MatrixSymbol("A", 2, 2)\n'
            'computations.function([A], A*A)(np.eye(2))\n'
            'handlers = logging.getLogger("computations").handlers\n'
            'print([type(h).__name__ for h in handlers], logging.getLogger().handlers,\n'
            '      logging.getLogger("computations").level)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["['NullHandler']", '[]', '0']
    assert out.stderr == ''


# The profile table as data ---------------------------------------------------------

@pytest.fixture
def profile(monkeypatch):
    """A profiled run of ``A.I*B`` (A: 30 x 30, positive definite), against a DGEMM rate
    of 10 GFLOP/s (measuring the machine's takes seconds)."""
    monkeypatch.setattr(specialization, 'dgemm_rate', lambda: 10.0)
    rng = np.random.default_rng()
    m = rng.standard_normal((30, 30))
    return _solve().profile(m @ m.T + 30 * np.eye(30), rng.standard_normal(30))


COLUMNS = ['operation', 'routine', 'computes', 'seconds', 'share', 'flops', 'gflops']


def test_a_profile_is_a_list_of_records(profile):
    records = profile.to_records()
    assert len(records) == len(profile.rows) >= 1
    for record, row in zip(records, profile.rows):
        assert list(record) == COLUMNS
        assert (record['operation'], record['routine'], record['computes'],
                record['seconds'], record['flops'], record['gflops']) == \
            (row.operation, row.routine, row.computes, row.seconds, row.flops, row.gflops)
    assert [r['operation'] for r in records] == ['POSV']
    assert sum(r['share'] for r in records) == pytest.approx(1.0)
    records[0]['seconds'] = -1.0                    # the records are the caller's
    assert profile.rows[0].seconds >= 0


def test_a_profile_prints_as_a_table(profile):
    text = str(profile)
    assert text.splitlines()[0].split() == ['#', 'operation', 'routine', 'seconds', 'share',
                                            'GFLOP', 'GFLOP/s', 'computes']
    assert 'POSV' in text and "of DGEMM's 10.0 GFLOP/s" in text


@given(st.lists(st.tuples(st.floats(1e-6, 10), st.integers(0, 10**12)), max_size=5))
def test_records_follow_the_rows(calls):
    table = Profile([Row(f'OP{i}', 'routine', f'X{i}', s, f) for i, (s, f) in enumerate(calls)])
    records = table.to_records()
    assert [(r['seconds'], r['flops']) for r in records] == calls
    assert all((r['gflops'] is None) == (r['flops'] == 0) for r in records)
    if calls:
        assert sum(r['share'] for r in records) == pytest.approx(1.0)


def test_to_pandas_without_pandas_says_what_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pandas', None)     # import pandas raises ImportError
    table = Profile([Row('GEMM', 'dgemm', 'A*B', 0.5, 2 * 10**9)])
    with pytest.raises(ImportError, match=r'to_pandas needs pandas.*pip install pandas'):
        table.to_pandas()


def test_to_pandas(profile):
    if importlib.util.find_spec('pandas') is None:
        with pytest.raises(ImportError, match='to_pandas needs pandas'):
            profile.to_pandas()
        return
    frame = profile.to_pandas()
    assert list(frame.columns) == COLUMNS and len(frame) == len(profile.rows)
    assert frame['operation'].tolist() == [r.operation for r in profile.rows]
    assert np.allclose(frame['seconds'], [r.seconds for r in profile.rows])
    assert frame['gflops'].dtype == np.float64
