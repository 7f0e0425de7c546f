"""The official MCP conformance suite, through scripts/conformance.sh (docs/conformance.md).

Opt-in (MCP_MEMORY_TEST_CONFORMANCE=1): it needs Node >= 22 (the script fetches one) and
the suite from npm, so it is neither fast nor offline, and CI does not run it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "conformance.sh"


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("MCP_MEMORY_TEST_CONFORMANCE") != "1",
    reason="opt-in: MCP_MEMORY_TEST_CONFORMANCE=1 (needs npm and the network)",
)
def test_the_conformance_suite_passes_with_its_baseline(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("needs npm")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "MCP_CONFORMANCE_PORT": str(port),
        "MCP_MEMORY_BIN": f"{sys.executable} -m mcp_memory",
        "MCP_MEMORY_MODEL_DIR": str(tmp_path / "no-model"),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "Baseline check passed" in done.stdout


def test_the_conformance_script_is_valid_bash() -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)]).returncode == 0
