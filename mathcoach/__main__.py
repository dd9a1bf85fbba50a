"""Lets ``python -m mathcoach ...`` behave exactly like the ``mathcoach`` console script."""

import sys

from mathcoach.cli import main

sys.exit(main())
