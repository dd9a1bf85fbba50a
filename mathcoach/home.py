"""The one mathcoach home directory: converted models, the response cache, the run index.

Example: ``MATHCOACH_HOME=/tmp/mc mathcoach eval ...`` keeps everything under /tmp/mc (tests do this).
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    path = Path(os.environ.get("MATHCOACH_HOME") or Path.home() / ".mathcoach")
    path.mkdir(parents=True, exist_ok=True)
    return path
