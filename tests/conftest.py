"""Shared test configuration: hypothesis explores new examples on every run.

Every run of the suite draws a fresh hypothesis seed and prints it in the
header (``hypothesis seed: N (replay: ./dev test --hypothesis-seed=N)``), so
CI tries new examples each time while any failure replays with one command;
pytest-xdist's workers (``./dev test`` runs one per core) all use that seed;
``--hypothesis-seed=N`` given on the command line is used as it is.  With a
seed set, hypothesis keeps no example database, so a failing example, once
found, is added to its test as an ``@example`` (the failure report prints it,
and ``print_blob`` a ``@reproduce_failure`` line).

The machine is shared and noisy, so no example has a deadline nor a too_slow
health check; a failure stops shrinking after :data:`SHRINK_SECONDS` and
reports the smallest example found by then, so a red run says why in seconds,
not minutes.
"""
import secrets

import pytest
from hypothesis import HealthCheck, core, settings
from hypothesis.internal.conjecture import engine

#: Seconds a failing example is shrunk before it is reported (hypothesis: 300).
#: ``MAX_SHRINKING_SECONDS`` is documented in hypothesis as the module constant to
#: monkeypatch for this; there is no setting for it.
SHRINK_SECONDS = 20

# The parent is hypothesis's own 'default' profile, named: with no parent, a
# profile inherits whatever is loaded, and under CI=true hypothesis has already
# loaded its 'ci' profile, which derandomizes (the same examples on every run).
# Timing checks (deadline, too_slow) are off: the machine is shared and noisy.
settings.register_profile('computations', parent=settings.get_profile('default'),
                          derandomize=False, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile('computations')

SEED = pytest.StashKey()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    engine.MAX_SHRINKING_SECONDS = SHRINK_SECONDS
    seed = config.getoption('hypothesis_seed')
    workerinput = getattr(config, 'workerinput', None)
    if workerinput is not None:                  # a pytest-xdist worker: the run's seed
        seed = workerinput['hypothesis_seed']
    elif seed is None:
        seed = secrets.randbelow(2 ** 32)
    else:                                        # hypothesis's plugin sets it the same way
        seed = int(seed) if str(seed).isdigit() else seed
    core.global_force_seed = seed
    config.stash[SEED] = seed


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """Give each pytest-xdist worker the seed the header prints (each would draw its own,
    and the replay command would not replay what the workers ran)."""
    node.workerinput['hypothesis_seed'] = node.config.stash[SEED]


def pytest_report_header(config):
    seed = config.stash[SEED]
    return f'hypothesis seed: {seed} (replay: ./dev test --hypothesis-seed={seed})'
