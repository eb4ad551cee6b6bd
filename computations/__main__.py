"""``python -m computations``: see :mod:`computations.front_door.cli`."""
import sys

from .front_door.cli import main

sys.exit(main())
