"""Running ``gkwatch`` as a user does: a subprocess of this interpreter, from the checkout's root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def gkwatch(config: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``gkwatch <args> --config <config>``, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args, "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
