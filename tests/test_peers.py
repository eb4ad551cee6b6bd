"""The benchmark suite's peers (benchmarks/peers.py) and its driver (benchmarks/bench_suite.py).

Every peer must compute the problem's outputs, which an independent plain
NumPy evaluation with explicit inverses gives here, and leave the caller's
arrays alone.  The ``jax`` and ``pytensor`` cases exist only where those
libraries are importable (``peers.builders`` leaves them out otherwise).
"""
import os
import pathlib
import sys

import numpy as np
import pytest

from computations.matrices.examples.problems import PROBLEMS, random_inputs

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / 'benchmarks'
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))      # as when the scripts run

import bench_suite
import peers

inv = np.linalg.inv

#: Small sizes, two per problem (observation bigger than the state; tall and near square).
SIZES = {
    'kalman': [{'n': 7, 'k': 4}, {'n': 3, 'k': 5}],
    'least_squares': [{'n': 12, 'p': 4}, {'n': 5, 'p': 5}],
    'gls': [{'n': 9, 'p': 3}, {'n': 4, 'p': 1}],
}


def expected(problem, *args):
    """The outputs written straight from the formulas, with ``numpy.linalg.inv``."""
    if problem == 'kalman':
        mu, Sigma, H, R, data = args
        K = Sigma @ H.T @ inv(R + H @ Sigma @ H.T)
        return mu + K @ (H @ mu - data), Sigma - K @ H @ Sigma
    if problem == 'least_squares':
        X, y = args
        return (inv(X.T @ X) @ X.T @ y,)
    X, Omega, y = args
    W = X.T @ inv(Omega)
    return (inv(W @ X) @ W @ y,)


def relative_error(got, want):
    return np.linalg.norm(got - want) / np.linalg.norm(want)


CASES = [(problem, name, sizes) for problem in PROBLEMS for name in peers.builders(problem)
         for sizes in SIZES[problem]]


def test_every_problem_has_the_required_peers():
    assert set(PROBLEMS) == set(peers.PROBLEM_NAMES) == set(SIZES)
    for problem in PROBLEMS:
        names = set(peers.builders(problem))
        assert {'numpy_solve', 'scipy_hand'} <= names
        for optional in peers.OPTIONAL:
            assert (optional in names) == peers.available(optional)


# PyTensor's default backend compiles with Numba at the first call unless its on-disk cache
# (~/.pytensor) already holds the function, and compiling least squares emits Numba's
# performance hint about a non-contiguous np.dot: with the suite's warnings-as-errors the
# case failed on every machine with a cold cache (a fresh checkout's first run) and passed
# after.  The hint is about the peer's own generated code, not what this test checks.
@pytest.mark.filterwarnings(r'ignore:np\.dot\(\) is faster on contiguous arrays')
@pytest.mark.parametrize('problem, name, sizes', CASES,
                         ids=[f'{p}-{n}-' + '-'.join(f'{d}{v}' for d, v in s.items())
                              for p, n, s in CASES])
def test_peer_agrees_with_numpy_and_leaves_inputs_alone(problem, name, sizes):
    data = random_inputs(PROBLEMS[problem](), sizes, seed=1)
    originals = [a.copy() for a in data]
    want = expected(problem, *originals)
    got = peers.builders(problem)[name]()(*data)
    assert isinstance(got, tuple) and len(got) == len(want)
    for g, w in zip(got, want):
        g = np.asarray(g)
        assert g.shape == w.shape
        assert relative_error(g, w) <= 1e-8
    for before, after in zip(originals, data):
        assert np.array_equal(before, after)


@pytest.mark.parametrize('problem', list(PROBLEMS))
def test_scipy_peer_accepts_c_ordered_inputs(problem):
    data = [np.ascontiguousarray(a) for a in
            random_inputs(PROBLEMS[problem](), SIZES[problem][0], seed=2)]
    originals = [a.copy() for a in data]
    got = peers.builders(problem)['scipy_hand']()(*data)
    for g, w in zip(got, expected(problem, *originals)):
        assert relative_error(g, w) <= 1e-8
    for before, after in zip(originals, data):
        assert np.array_equal(before, after)


def test_scipy_peers_raise_on_an_indefinite_matrix():
    X, Omega, y = random_inputs(PROBLEMS['gls'](), {'n': 4, 'p': 2})
    with pytest.raises(np.linalg.LinAlgError):
        peers.gls_scipy(X, -Omega, y)
    with pytest.raises(np.linalg.LinAlgError):
        peers.least_squares_scipy(np.zeros((4, 2)), y)


def test_plan_sizes_and_repetitions():
    full = bench_suite.plan(repeat=2)
    assert [(c.problem, c.tier) for c in full] == [
        (p, t) for p in PROBLEMS for t in ('small', 'medium', 'large')]
    assert {c.tier: c.repeat for c in full} == {'small': 6, 'medium': 4, 'large': 2}
    assert all(c.sizes == PROBLEMS[c.problem]().sizes for c in full if c.tier == 'large')
    assert {c.tier for c in bench_suite.plan(quick=True)} == {'small'}


def test_pinning_is_undone():
    cpus = os.sched_getaffinity(0)
    with bench_suite.apart(False) as pinned:
        assert not pinned and os.sched_getaffinity(0) == cpus
    with bench_suite.apart(True) as pinned:
        assert os.sched_getaffinity(0) == ({min(cpus)} if pinned else cpus)
    assert os.sched_getaffinity(0) == cpus
    assert bench_suite.pinning()


def test_suite_driver_writes_a_row_per_contestant_and_size(tmp_path):
    # Two sizes of one problem, one of the others; the sizes of the tests above, so that
    # JAX's compiled programs are reused when they ran first.
    cases = [bench_suite.Case(problem, tier, sizes, repeat=1, pause=0.0, min_sample=0.001)
             for problem in PROBLEMS
             for tier, sizes in zip(('small', 'medium'),
                                    SIZES[problem][:2 if problem == 'kalman' else 1])]
    printed = []
    rows = bench_suite.run_suite(cases, tmp_path, command='test',
                                 echo=lambda *args, **kw: printed.append(' '.join(map(str, args))))
    markdown = (tmp_path / 'suite.md').read_text()
    assert (tmp_path / 'suite.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    for case in cases:
        names = ['computed', 'lambdify'] + list(peers.builders(case.problem))
        for name in names:
            assert markdown.count(f'| {case.label} | {name} |') == 1, (case.label, name)
            assert any(row.problem == case.problem and row.size == case.label
                       and row.contestant == name and row.seconds > 0 for row in rows)
    assert len(rows) == sum(2 + len(peers.builders(c.problem)) for c in cases)
    assert all(row.ratio == 1 == row.paired for row in rows if row.contestant == 'computed')
    assert all(row.paired > 0 for row in rows)
    assert markdown.count('\n## ') == len(PROBLEMS)
    assert 'Generated by `test`' in markdown
    text = '\n'.join(printed)
    assert 'vs computed' in text and 'scipy_hand' in text


def test_batch_driver_gives_every_contestant_a_time_per_target(monkeypatch):
    """``bench_small.batches`` reads ``bench_batches.run_case``'s results: when the latter
    began returning ``(seconds, faults)`` pairs, the former broke unnoticed until a full run
    of the script.  Tiny batches (one size, six targets), JAX left out."""
    import bench_batches
    import bench_small
    monkeypatch.setattr(bench_small, 'BATCH', 6)
    monkeypatch.setattr(bench_small, 'BATCH_SWEEP', (4,))
    monkeypatch.setattr(bench_batches, 'jax_vmap', lambda: None)
    points = bench_small.batches(repeat=1, quick=False)
    assert set(points) == {'compiled', 'numpy stacked', 'scipy loop'}
    for name, found in points.items():
        (n, seconds), = found
        assert n == 4 and 0 < seconds < 1, (name, found)


def test_small_problems_verdict_is_judged_on_the_paired_ratio():
    """``bench_small.verdict`` judges compiled / contestant by the median of per-round
    ratios (``Row.paired`` is contestant / compiled), showing the ratio of medians too."""
    import bench_small
    rows = []
    for problem, sizes in bench_small.CASES:
        label = ', '.join(f'{d}={v}' for d, v in sizes.items())
        for name, seconds, paired in (('computed', 1.0, 1.0), ('scipy_hand', 0.98, 1.25),
                                      ('lambdify', 3.0, 1.9)):
            rows.append(bench_suite.Row(problem, 'small', label, name, seconds,
                                        seconds, 0.0, 1, 1, paired))
    lines = bench_small.verdict(rows).splitlines()
    assert len(lines) == 2 * len(bench_small.CASES)
    assert lines[0] == ('- kalman n=6, k=3: compiled/scipy_hand = 0.80 (1.02 of medians; '
                        'target <= 1.0: met)')
    assert lines[1].endswith('compiled/lambdify = 0.53 (0.33 of medians; target <= 0.5: '
                             'NOT met)')


def test_bench_call_forms_checks_every_form_of_every_case():
    """``bench_call_forms.measure`` checks each form's results against a fresh function's
    (three calls: the full path, the learning call, the hot path) before timing it."""
    import bench_call_forms
    for case, (make, _) in bench_call_forms.CASES.items():
        times = bench_call_forms.measure(make, 4, repeat=1)
        assert {'F, positional', 'C-ordered', 'keywords'} <= set(times) <= \
            set(bench_call_forms.FORMS), case
        assert all(t > 0 for t in times.values()), (case, times)


def test_bench_layouts_measures_every_case_and_checks_the_results():
    """``bench_layouts.measure`` checks each contestant against NumPy before timing it (a
    case whose compiled result is wrong fails here) and times them all: the cases with a
    column vector also with the vectors given 1-D."""
    import bench_layouts
    for case, (make, _) in bench_layouts.CASES.items():
        times = bench_layouts.measure(make, 7, repeat=1)
        vectors = {'compiled, C, 1-D'} if case.startswith(('A*x', 'least', 'Kalman')) else set()
        assert set(times) == {'compiled, F', 'compiled, C', 'compiled, copied to F',
                              'numpy'} | vectors, case
        assert all(t > 0 for t in times.values()), (case, times)
