"""``python -m computations``: see :mod:`computations.front_door.cli`."""
import sys

from .front_door.cli import main

if __name__ == '__main__':
    sys.exit(main())
