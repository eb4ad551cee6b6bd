"""The application suite (benchmarks/applications/): correctness and kernel choice, never time.

For every problem: the compiled function agrees with the hand-written SciPy
program and with lambdified NumPy (relative error <= 1e-8, on data that
satisfies the assumptions, at sizes hypothesis grows from the problem's
small ones), none of the three modifies the caller's arrays, and the
compiled program calls the kernels a property-aware program must
(``Application.uses``).
"""
import doctest
import functools
import pathlib
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import computations

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / 'benchmarks'
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))      # as when the scripts run

import applications  # noqa: E402
from applications import APPLICATIONS, inputs  # noqa: E402
from applications._base import lambdified  # noqa: E402
from _harness import relative_error  # noqa: E402

NAMES = list(APPLICATIONS)

@functools.lru_cache(maxsize=None)
def compiled(name):
    app = APPLICATIONS[name]
    return computations.function(app.inputs, app.outputs, app.assumptions, names=app.names)


def routines(name, data):
    """The op names of the program compiled for these arrays."""
    return {type(op).__name__ for op in compiled(name).specialize(*data).computation.toposort()}


def test_the_suite_has_twenty_problems_each_declared_in_full():
    assert len(APPLICATIONS) >= 20
    for app in APPLICATIONS.values():
        assert app.kernels and app.structure and app.sizes and app.small, app.name
        assert set(app.small) == set(app.sizes), app.name
        assert 500 <= max(app.sizes.values()) <= 2000, app.name


@pytest.mark.parametrize('module', [applications._base, applications.regression,
                                    applications.estimation, applications.optimization,
                                    applications.inversion, applications.beamforming],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and not result.failed


@pytest.mark.parametrize('name', NAMES)
@settings(max_examples=4)
@given(grow=st.integers(0, 4), seed=st.integers(0, 2**16))
def test_compiled_agrees_with_hand_written_and_numpy_and_keeps_inputs(name, grow, seed):
    app = APPLICATIONS[name]
    sizes = {d: v + grow for d, v in app.small.items()}   # keeps n >= p where it matters
    data = inputs(app, sizes, seed)
    originals = [np.array(a, copy=True) for a in data]
    want = lambdified(app, sizes)(*data)
    for label, program in (('compiled', compiled(name)), ('hand', app.hand)):
        got = program(*data)
        assert len(got) == len(want), label
        for out, g, w in zip(app.names, got, want):
            g, w = np.asarray(g), np.asarray(w)
            assert g.shape == w.shape, f'{label} {out}: shape {g.shape}, want {w.shape}'
            assert relative_error(g, w) <= 1e-8, f'{label} {out}: {relative_error(g, w):.1e}'
        for var, before, after in zip(app.inputs, originals, data):
            assert np.array_equal(before, after), f'{label} modified its input {var}'
    for g, h in zip(compiled(name)(*data), app.hand(*data)):
        assert relative_error(g, h) <= 1e-8


@pytest.mark.parametrize('name', NAMES)
def test_compiled_program_uses_the_structure(name):
    app = APPLICATIONS[name]
    for sizes in (app.small, app.sizes):     # shapes only: nothing runs at the large sizes
        shapes = inputs(app, app.small)       # the small data fixes the scalars
        shapes = [tuple(sizes[str(d)] if str(d) in sizes else int(d) for d in var.shape)
                  if hasattr(var, 'shape') else value
                  for var, value in zip(app.inputs, shapes)]
        found = routines(name, shapes)
        assert app.uses(found), (f'{name} at {sizes}: {sorted(found)}; wants one of '
                                 f'{[sorted(k) for k in app.kernels]}, none of '
                                 f'{sorted(app.forbidden)}')


def test_uses_requires_one_alternative_and_no_forbidden_routine():
    app = APPLICATIONS['ols']
    assert app.uses({'SYRK', 'POTRF', 'POTRS', 'GEMV'})
    assert not app.uses({'GEMM', 'POSV'})
    assert not app.uses({'SYRK', 'POSV', 'GESV'})
