"""``posetrack weights list/path/download/verify`` through click, against the local server."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from posetrack import zoo
from posetrack.cli import weights  # noqa: F401  (registers the group)
from posetrack.cli.main import cli

from .httpserver import TINY_ARCH, checkpoint_bytes, sha256, tiny_entry


@pytest.fixture
def tiny(server, cache):
    data = checkpoint_bytes(seed=21)
    entry = tiny_entry("tiny-net-coco", (server.add("/w/tiny_cli.pth", data),), sha256(data))
    with zoo.registered(TINY_ARCH, entry):
        yield entry, data


def _run(*args: str):
    return CliRunner().invoke(cli, ["weights", *args])


def test_list_shows_the_table_and_cache_state(tiny):
    entry, _ = tiny
    res = _run("list")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "INPUT", "PARAMS", "GFLOPS", "ACCURACY", "CACHED"]
    row = {ln.split()[0]: ln for ln in lines[1:] if ln.strip()}
    assert row["hrnet-w48-256x192-coco"].split()[1:6] == ["pose-topdown", "256x192", "63.6M", "14.6", "75.6"]
    assert row["higherhrnet-w48-640-coco"].endswith("manual")
    assert row["tiny-net-coco"].endswith(" no")

    assert _run("download", "-q", "tiny-net-coco").exit_code == 0
    assert _run("list", "--kind", "pose-topdown").output.count("tiny-net-coco") == 1
    assert [ln for ln in _run("list").output.splitlines() if ln.startswith("tiny-net-coco")][0].endswith(" yes")


def test_path_prints_the_cache_path_even_before_download(tiny, cache):
    res = _run("path", "tiny-net-coco")
    assert res.exit_code == 0
    assert res.output.strip() == str(cache / "weights" / "tiny_cli.pth")
    assert not (cache / "weights" / "tiny_cli.pth").exists()


def test_download_then_verify_then_detect_corruption(tiny, server):
    entry, data = tiny
    res = _run("download", "tiny-net-coco")
    assert res.exit_code == 0, res.output
    assert entry.cache_path().read_bytes() == data
    assert str(entry.cache_path()) in res.output

    res = _run("verify")
    assert res.exit_code == 0 and "tiny-net-coco: OK" in res.output and "1 cached file(s) checked" in res.output

    corrupt = bytearray(data)
    corrupt[1000] ^= 0xFF
    entry.cache_path().write_bytes(bytes(corrupt))
    res = _run("verify", "tiny-net-coco")
    assert res.exit_code == 2
    err = res.stderr.strip()
    assert "\n" not in err, err  # one line naming the bad file, not a line per file and then an error
    assert err.startswith("posetrack: error: 1 of 1 cached files failed") and "tiny-net-coco" in err
    assert not entry.cache_path().exists()
    assert entry.cache_path().with_name("tiny_cli.pth.corrupt").exists()


def test_download_errors_are_one_line_and_exit_2(server, cache):
    gone = tiny_entry("gone-net-coco", (server.url("/w/gone-0badc0de.pth"),), "0badc0de")
    with zoo.registered(TINY_ARCH, gone):
        res = _run("download", "-q", "gone-net-coco")
    assert res.exit_code == 2
    err = res.stderr.strip()
    assert "\n" not in err and err.startswith("posetrack: error: could not download weights 'gone-net-coco'")
    assert str(gone.cache_path()) in err and "Traceback" not in res.output

    res = _run("download", "no-such-weights")
    assert res.exit_code == 2 and "unknown zoo weights 'no-such-weights'" in res.stderr
    assert _run("download").exit_code == 2  # neither names nor --all


def test_download_all_skips_manual_entries(server, cache, monkeypatch):
    data = checkpoint_bytes(seed=22)
    a = tiny_entry("a-net-coco", (server.add("/w/a.pth", data),), sha256(data))
    manual = zoo.Weights(name="b-net-coco", arch="tiny-net", filename="b.pth", manual="a Drive folder")
    monkeypatch.setattr(zoo, "_WEIGHTS", {a.name: a, manual.name: manual})
    monkeypatch.setattr(zoo, "_ARCHS", {TINY_ARCH.name: TINY_ARCH})
    res = _run("download", "--all", "-q")
    assert res.exit_code == 0, res.output
    assert "skipped b-net-coco: no direct download" in res.output
    assert a.cache_path().read_bytes() == data
