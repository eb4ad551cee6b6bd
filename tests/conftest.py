"""Shared test configuration: hypothesis profiles.

The machine is shared and noisy, so no example has a deadline.  CI (CI=true)
derandomizes, so a red CI run can be reproduced exactly.
"""
import os

from hypothesis import settings

settings.register_profile('dev', deadline=None)
settings.register_profile('ci', deadline=None, derandomize=True, print_blob=True)
settings.load_profile('ci' if os.environ.get('CI') else 'dev')
