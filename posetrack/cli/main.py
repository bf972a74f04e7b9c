"""The ``posetrack`` command: a click group whose subcommands live in sibling modules.

Every way a command can end on the user's side ends the same way: one line on stderr and a
non-zero exit code, no traceback.

* a :class:`~posetrack.errors.UserError` (bad input, config, output...): its message, exit code 2;
* a click usage error (unknown option, ``--stride two``, a missing argument): click's message
  without its usage block, exit code 2;
* SIGINT, SIGTERM or SIGHUP: the signal becomes :class:`Interrupted` in the main thread, every
  writer's ``except BaseException`` cleanup removes what it had started, and the process exits
  with 128 + the signal's number. A second signal during that cleanup is ignored.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Iterator

import click

from posetrack.errors import UserError

HANDLED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Interrupted(BaseException):
    """A signal asked the process to stop (a BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` swallows it and every cleanup runs)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum

    def __str__(self) -> str:
        return f"interrupted by {signal.Signals(self.signum).name}; no partial output left"


class _SignalsRaise:
    """While active (main thread only), the handled signals raise :class:`Interrupted` once."""

    def __enter__(self) -> _SignalsRaise:
        import threading

        self._saved: dict[int, object] = {}
        if threading.current_thread() is not threading.main_thread():
            return self
        self._fired = False
        for signum in HANDLED_SIGNALS:
            self._saved[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame) -> None:
        if self._fired:  # already stopping: let the cleanup finish
            return
        self._fired = True
        raise Interrupted(signum)

    def __exit__(self, *exc) -> None:
        for signum, previous in self._saved.items():
            signal.signal(signum, previous)


@contextlib.contextmanager
def _scoped_logging() -> Iterator[None]:
    """The logging set-up a command makes (-q, -v) lasts for that command only (matters when the
    CLI is called in-process, e.g. from tests or a notebook)."""
    logger = logging.getLogger("posetrack")
    saved = logger.level, logger.handlers[:]
    try:
        yield
    finally:
        logger.setLevel(saved[0])
        logger.handlers[:] = saved[1]


def _fail(message: str, code: int) -> None:
    click.echo(f"posetrack: error: {message}", err=True)
    sys.exit(code)


class _Group(click.Group):
    """Turns a UserError into one line on stderr and exit code 2 (no traceback).

    ``lazy`` maps a subcommand name to the module that registers it: the module is imported only
    when that subcommand runs (or for the group's --help), so ``posetrack eval posetrack`` loads
    none of the other commands' modules."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str):
        if name not in self.commands and name in self.lazy:
            import importlib

            importlib.import_module(self.lazy[name])  # registers itself on this group
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as e:
            _fail(str(e), e.exit_code)


class _Root(_Group):
    """The top-level group: also turns click's usage errors and signals into one line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            with _SignalsRaise(), _scoped_logging():
                rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as e:  # usage errors, bad parameter values, missing arguments
            _fail(e.format_message(), 2)
        except Interrupted as e:
            _fail(str(e), e.exit_code)
        except click.exceptions.Abort:  # Ctrl-C outside our handler (e.g. at a prompt)
            _fail("interrupted", 130)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)  # rv is the exit code of --help / --version


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        # looked up only for --version: importlib.metadata is slow to import
        from posetrack import __version__

        click.echo(f"posetrack, version {__version__}")
        ctx.exit()


_COMMANDS = {
    "benchmark": "posetrack.cli.benchmark", "config": "posetrack.cli.config_cmd", "report": "posetrack.cli.report",
    "run": "posetrack.cli.run", "track": "posetrack.cli.track", "train": "posetrack.cli.train",
    "weights": "posetrack.cli.weights",
}  # fmt: skip
_EVAL_COMMANDS = {
    "coco": "posetrack.cli.eval_coco", "posetrack": "posetrack.cli.eval_posetrack",
    "posetrack21": "posetrack.cli.eval_posetrack21",
}  # fmt: skip


@click.group(cls=_Root, lazy=_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and exit.")
def cli() -> None:
    """Multi-person pose tracking in video: detect, estimate poses, track, evaluate."""


@cli.group(name="eval", cls=_Group, lazy=_EVAL_COMMANDS)
def eval_group() -> None:
    """Evaluate predictions: PoseTrack mAP/MOTA, PoseTrack21 HOTA/mAP, COCO keypoint AP."""


def main() -> None:
    cli(prog_name="posetrack")  # subcommand modules are imported (and register) when used
