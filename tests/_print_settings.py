"""Prints the hypothesis settings in force under the suite's conftest (a probe for
tests/test_hypothesis_config.py; its name keeps pytest from collecting it on its own)."""
from hypothesis import settings


def test_print():
    s = settings.default
    print(f'derandomize={s.derandomize} deadline={s.deadline} print_blob={s.print_blob}')
