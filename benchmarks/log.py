"""Progress lines on stderr, with the time: a long run says what it is doing."""

from __future__ import annotations

import sys
import time


def log(text: str) -> None:
    """Print ``text`` to stderr after the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)
