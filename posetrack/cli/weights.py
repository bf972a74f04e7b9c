"""``posetrack weights``: list, download, locate and verify the model zoo's checkpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from posetrack import zoo
from posetrack.cli.main import _Group, cli
from posetrack.errors import DownloadError, UserError

if TYPE_CHECKING:
    from posetrack import zoo


@cli.group(name="weights", cls=_Group)
def weights_group() -> None:
    """Model zoo: list named checkpoints, download them into the cache, check them."""


def _fmt_params(n: int | None) -> str:
    return f"{n / 1e6:.1f}M" if n else "-"


_KIND_LABEL = {"topdown": "pose-topdown", "bottomup": "pose-bottomup", "detector": "detector", "flow": "flow"}


def _fmt_input(e: zoo.Weights) -> str:
    """HxW as the publishers write it (the zoo stores (width, height))."""
    prep = e.preprocessing
    if prep.min_size is not None:
        return f">={prep.min_size[1]}x{prep.min_size[0]}"
    if prep.input_size is None:
        return "any"
    w, h = prep.input_size
    return f"{h}x{w}"


def _fmt_acc(e: zoo.Weights) -> str:
    if e.accuracy is None:
        return "-"
    digits = 2 if "EPE" in e.accuracy.metric else 1
    return f"{e.accuracy.value:.{digits}f} {e.accuracy.metric}"


def format_table(rows: list[list[str]]) -> str:
    """Plain fixed-width table (copyable into Markdown docs as a code block)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


@weights_group.command(name="list")
@click.option("--kind", type=click.Choice(list(_KIND_LABEL.values())), default=None,
              help="Only entries of this kind.")
def list_cmd(kind: str | None) -> None:
    """Table of the zoo: name, kind, input, params, GFLOPs, published accuracy, cached or not."""
    rows = [["NAME", "KIND", "INPUT", "PARAMS", "GFLOPS", "ACCURACY", "CACHED"]]
    for e in zoo.entries():
        label = _KIND_LABEL[e.kind]
        if kind is not None and label != kind:
            continue
        cached = "yes" if e.is_cached() else ("manual" if not e.urls else "no")
        rows.append([e.name, label, _fmt_input(e), _fmt_params(e.architecture.num_params),
                     f"{e.gflops:.1f}" if e.gflops else "-", _fmt_acc(e), cached])
    click.echo(format_table(rows))
    click.echo("\nmanual: no direct download; `posetrack weights path NAME` says where to put the file.")


@weights_group.command(name="download")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every entry that has a direct download.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def download_cmd(names: tuple[str, ...], all_: bool, quiet: bool) -> None:
    """Download NAME... (or --all) into the cache, verifying each file's checksum."""
    if all_ == bool(names):
        raise UserError("give zoo names to download, or --all (not both)")
    chosen = zoo.entries() if all_ else [zoo.get_entry(n) for n in names]
    for e in chosen:
        if all_ and not e.urls:
            click.echo(f"skipped {e.name}: no direct download ({e.file_name} -> {e.cache_path()})")
            continue
        path = zoo.ensure_downloaded(e, progress=not quiet)
        click.echo(f"{e.name}: {path}")


@weights_group.command(name="path")
@click.argument("name")
def path_cmd(name: str) -> None:
    """Print where NAME's file lives in the cache (whether or not it is there yet)."""
    click.echo(str(zoo.get_entry(name).cache_path()))


@weights_group.command(name="verify")
@click.argument("names", nargs=-1)
def verify_cmd(names: tuple[str, ...]) -> None:
    """Re-hash cached files (all, or NAME...) against their checksums; bad files are moved aside."""
    from posetrack import download

    chosen = [zoo.get_entry(n) for n in names] if names else zoo.entries()
    failed: list[str] = []
    checked = 0
    for e in chosen:
        path = e.cache_path()
        if not path.is_file():
            if names:
                click.echo(f"{e.name}: not cached ({path})")
            continue
        checked += 1
        if e.sha256 is None:
            click.echo(f"{e.name}: present, no published checksum ({path})")
            continue
        try:
            download.verify_file(path, e.sha256, label=e.name, force=True)
            click.echo(f"{e.name}: OK ({path})")
        except DownloadError as err:
            failed.append(f"{e.name} ({err})")
    if failed:  # the one error line names every bad file (the OK lines went to stdout)
        raise DownloadError(f"{len(failed)} of {checked} cached files failed their checksum: {'; '.join(failed)}")
    click.echo(f"{checked} cached file(s) checked")
