"""``senpai demo`` without the local Discord installed says so in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# None in sys.modules makes `import localdiscord` fail as if it were not installed.
WITHOUT_LOCALDISCORD = (
    "import sys; sys.modules['localdiscord'] = None; "
    "from senpai.cli import main; raise SystemExit(main(['demo']))"
)


def test_the_demo_without_the_local_discord_prints_how_to_install_it():
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_LOCALDISCORD],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("senpai: the demo needs the local Discord")
    assert "pip install -e ./localdiscord" in line
