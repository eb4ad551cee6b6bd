"""``python -m computations``: see :mod:`computations.cli`."""
import sys

from .cli import main

sys.exit(main())
