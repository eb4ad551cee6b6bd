"""A probe for tests/test_hypothesis_config.py: each test appends the hypothesis seed in
force in its process to the file ``$SEED_FILE`` (run under pytest-xdist, the tests spread
over the workers)."""
import os

import pytest
from hypothesis import core


@pytest.mark.parametrize('i', range(8))
def test_record(i):
    with open(os.environ['SEED_FILE'], 'a') as file:
        file.write(f'{os.getpid()} {core.global_force_seed}\n')
