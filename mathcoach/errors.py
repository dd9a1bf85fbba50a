"""The one base class for mistakes a person can fix, so the CLI can tell them from bugs in mathcoach.

Example: ``raise DataError(f"{path}:{n}: not valid JSON")`` -> the CLI prints one line and exits 2.

Every error meant for the user (a bad flag, a missing or malformed input file, an unknown model, an output that
cannot be written) derives from ``UserError``; the CLI catches exactly that. Anything else -- a ``ValueError``
or ``KeyError`` from our own code -- is a bug, and ends with its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix; str(e) is one line that says what and how."""


class DataError(UserError, ValueError):
    """An input file that cannot be read as it should; the message names the file (and line)."""
