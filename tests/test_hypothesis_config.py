"""The suite's hypothesis configuration (tests/conftest.py): every run explores.

Before, CI (CI=true) loaded a derandomized profile that replayed the same
examples on every run, so CI could never find a new bug.
"""
import os
import re
import subprocess
import sys

from hypothesis import core, settings

HERE = os.path.dirname(__file__)


def header_seed(*options, ci=True):
    """The seed a fresh pytest run prints in its header (CI=true by default, as in CI)."""
    env = {**os.environ, 'CI': 'true'} if ci else {k: v for k, v in os.environ.items()
                                                   if k != 'CI'}
    run = subprocess.run([sys.executable, '-m', 'pytest', '--collect-only', *options,
                          os.path.join(HERE, 'test_hypothesis_config.py')],
                         capture_output=True, text=True, env=env, cwd=os.path.dirname(HERE))
    assert run.returncode == 0, run.stdout + run.stderr
    found = re.search(r'^hypothesis seed: (\d+) \(replay: ./dev test --hypothesis-seed=\1\)$',
                      run.stdout, re.MULTILINE)
    assert found, run.stdout
    return int(found.group(1))


def test_each_run_draws_a_new_seed_and_prints_it():
    seeds = {header_seed() for _ in range(3)} | {header_seed(ci=False)}
    assert len(seeds) == 4


def test_a_given_seed_is_used_and_printed():
    assert header_seed('--hypothesis-seed=12345') == 12345


def test_no_profile_derandomizes():
    assert not settings.default.derandomize
    assert settings.default.deadline is None and settings.default.print_blob


def test_no_profile_derandomizes_under_ci():
    """Under CI=true hypothesis loads its own derandomized 'ci' profile at import."""
    probe = os.path.join(HERE, '_print_settings.py')
    for ci in (True, False):
        env = {**os.environ, 'CI': 'true'} if ci else {k: v for k, v in os.environ.items()
                                                       if k != 'CI'}
        run = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                              '-s', probe], capture_output=True, text=True, env=env,
                             cwd=os.path.dirname(HERE))
        assert run.returncode == 0, run.stdout + run.stderr
        assert 'derandomize=False deadline=None print_blob=True' in run.stdout, run.stdout


def test_every_worker_uses_the_printed_seed(tmp_path):
    """Under pytest-xdist (``./dev test`` runs a worker per core) each worker drew a seed
    of its own, so the printed replay command did not replay what the workers ran."""
    record = tmp_path / 'seeds'
    env = {**os.environ, 'CI': 'true', 'SEED_FILE': str(record)}
    run = subprocess.run([sys.executable, '-m', 'pytest', '-n', '2',
                          os.path.join(HERE, '_record_seed.py')],
                         capture_output=True, text=True, env=env, cwd=os.path.dirname(HERE))
    assert run.returncode == 0, run.stdout + run.stderr
    printed = int(re.search(r'^hypothesis seed: (\d+)', run.stdout, re.MULTILINE).group(1))
    lines = [line.split() for line in record.read_text().splitlines()]
    assert len(lines) == 8 and len({pid for pid, _ in lines}) == 2      # both workers ran
    assert {int(seed) for _, seed in lines} == {printed}


def test_the_printed_seed_is_the_one_in_force(pytestconfig):
    from conftest import SEED
    assert core.global_force_seed == pytestconfig.stash[SEED]
