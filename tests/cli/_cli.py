"""Running the ``posetrack`` CLI in tests: in-process (CliRunner) or as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

import posetrack.cli.commands  # noqa: F401  (registers the subcommands)
from posetrack.cli.main import cli

REPO = Path(__file__).resolve().parents[2]

TINY = """\
base: default
device: cpu
detector:
  name: hog
flow:
  name: dis
pose:
  model: hrnet-w8-128x96
  weights: null
  flip_test: false
"""


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr

    def error_lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


def posetrack(*args, cwd) -> Result:
    """The CLI in-process (as a subprocess would see it: exit code, stdout, stderr)."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        r = CliRunner().invoke(cli, [str(a) for a in args], prog_name="posetrack")
    finally:
        os.chdir(old)
    stderr = r.stderr
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        stderr += f"Traceback: {r.exception!r}"
    return Result(r.exit_code, r.stdout, stderr)


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def spawn(*args, cwd, **kw) -> subprocess.Popen:
    """``python -m posetrack.cli ARGS`` as a real process (signals, resource limits)."""
    return subprocess.Popen([sys.executable, "-m", "posetrack.cli", *map(str, args)], cwd=cwd,
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def one_line_error(r: Result, *words: str, code: int = 2) -> str:
    """Assert the run ended with exactly one stderr line (no traceback) holding ``words``."""
    lines = r.error_lines()
    assert r.returncode == code, r.stderr
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]
