"""Running the command a run summary's "Try" line prints, as a user would paste it."""

from __future__ import annotations

import subprocess

from leadbridge.paths import REPO_ROOT


def run_try_line(rendered: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the line after "Try …" of a rendered summary in a shell, from the repo root."""
    lines = rendered.splitlines()
    command = lines[next(i for i, line in enumerate(lines) if line.startswith("Try")) + 1]
    return subprocess.run(
        command.strip(),
        shell=True,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
