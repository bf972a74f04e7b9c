"""Downloads against a real local HTTP server: progress, cache, resume, checksums, errors, locks."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from posetrack import zoo
from posetrack.download import RetryPolicy, download_file
from posetrack.errors import ConfigError, DownloadError, InputError

from .httpserver import FAST, TINY_ARCH, checkpoint_bytes, sha256, tiny_entry

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_download_shows_progress_then_hits_the_cache(server, cache, capsys):
    data = checkpoint_bytes()
    url = server.add("/w/tiny.pth", data)
    entry = tiny_entry("tiny-net-coco", (url,), sha256(data))

    path = zoo.ensure_downloaded(entry, progress=True, retry=FAST)

    assert path == cache / "weights" / "tiny.pth"
    assert path.read_bytes() == data
    assert torch.equal(_load(path)["final_layer.bias"], torch.load(io.BytesIO(data))["final_layer.bias"])
    err = capsys.readouterr().err
    assert "tiny.pth" in err and "100%" in err  # the tqdm bar ran to completion
    assert not path.with_name("tiny.pth.part").exists()
    assert len(server.gets()) == 1

    again = zoo.ensure_downloaded(entry, progress=True, retry=FAST)
    assert again == path
    assert len(server.gets()) == 1  # no request for a cached file


def test_cut_connection_is_resumed_with_a_range_request(server, cache):
    data = checkpoint_bytes(seed=1)
    url = server.add("/w/cut.pth", data)
    server.state.cut_next = [100_000]
    entry = tiny_entry("tiny-net-coco", (url,), sha256(data))

    path = zoo.ensure_downloaded(entry, progress=False, retry=FAST)

    assert path.read_bytes() == data
    assert server.gets() == [("/w/cut.pth", None), ("/w/cut.pth", "bytes=100000-")]


def test_partial_file_from_an_earlier_run_is_resumed(server, cache):
    data = checkpoint_bytes(seed=2)
    url = server.add("/w/later.pth", data)
    server.state.cut_next = [65_536]
    entry = tiny_entry("tiny-net-coco", (url,), sha256(data))
    once = RetryPolicy(attempts=1, backoff=0.0, timeout=5.0)

    with pytest.raises(DownloadError, match="connection closed after 65536 of"):
        zoo.ensure_downloaded(entry, progress=False, retry=once)
    part = entry.cache_path().with_name("later.pth.part")
    assert part.stat().st_size == 65_536 and not entry.cache_path().exists()

    path = zoo.ensure_downloaded(entry, progress=False, retry=once)
    assert path.read_bytes() == data
    assert server.gets()[-1] == ("/w/later.pth", "bytes=65536-")
    assert not part.exists()


def test_server_that_ignores_range_restarts_from_zero(server, cache):
    data = checkpoint_bytes(seed=3)
    url = server.add("/w/norange.pth", data)
    server.state.ignore_range = True
    server.state.cut_next = [50_000]
    entry = tiny_entry("tiny-net-coco", (url,), sha256(data))

    path = zoo.ensure_downloaded(entry, progress=False, retry=FAST)

    assert path.read_bytes() == data  # the 200 reply replaced the partial file, not appended to it
    assert [r for _, r in server.gets()] == [None, "bytes=50000-"]


def test_stale_part_longer_than_the_file_restarts_after_416(server, cache):
    data = checkpoint_bytes(seed=14)
    url = server.add("/w/stale.pth", data)
    entry = tiny_entry("tiny-net-coco", (url,), sha256(data))
    part = entry.cache_path().with_name("stale.pth.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(data + b"left over from another version")

    assert zoo.ensure_downloaded(entry, progress=False, retry=FAST).read_bytes() == data
    assert [r for _, r in server.gets()] == [f"bytes={len(data) + 30}-", None]


def test_checksum_mismatch_rejects_the_file(server, cache):
    data = checkpoint_bytes(seed=4)
    url = server.add("/w/bad.pth", data)
    entry = tiny_entry("tiny-net-coco", (url,), sha256(b"something else"))

    with pytest.raises(DownloadError) as ei:
        zoo.ensure_downloaded(entry, progress=False, retry=FAST)

    msg = str(ei.value)
    assert "failed the checksum" in msg and "deleted" in msg and str(entry.cache_path()) in msg
    assert not entry.cache_path().exists()
    assert not entry.cache_path().with_name("bad.pth.part").exists()


def test_hash_prefix_in_the_file_name_is_verified(server, cache):
    data = checkpoint_bytes(seed=5)
    prefix = sha256(data)[:8]
    good = server.add(f"/mmpose/tiny_coco_64x48-{prefix}_20200708.pth", data)
    entry = tiny_entry("tiny-net-coco", (good,), prefix)
    assert zoo.ensure_downloaded(entry, progress=False, retry=FAST).read_bytes() == data

    wrong = "0" * 8 if prefix != "0" * 8 else "1" * 8
    other = server.add(f"/mmpose/tiny_coco_64x48-{wrong}_20200708.pth", data)
    with pytest.raises(DownloadError, match="failed the checksum"):
        zoo.ensure_downloaded(tiny_entry("tiny-net-coco", (other,), wrong), progress=False, retry=FAST)


def test_404_fails_at_once_with_the_manual_fallback(server, cache):
    url = server.url("/w/missing-1234abcd.pth")
    entry = tiny_entry("tiny-net-coco", (url,), "1234abcd")

    with pytest.raises(DownloadError) as ei:
        zoo.ensure_downloaded(entry, progress=False, retry=RetryPolicy(attempts=4, backoff=0.0))

    msg = str(ei.value)
    assert len(server.gets()) == 1  # no retry for 404
    assert "HTTP 404" in msg and "'tiny-net-coco'" in msg and url in msg
    assert "missing-1234abcd.pth" in msg and str(entry.cache_path()) in msg
    assert "\n" not in msg


def test_500_is_retried_then_succeeds(server, cache):
    data = checkpoint_bytes(seed=6)
    url = server.add("/w/flaky.pth", data)
    server.state.fail_500 = 1
    entry = tiny_entry("tiny-net-coco", (url,), sha256(data))

    assert zoo.ensure_downloaded(entry, progress=False, retry=FAST).read_bytes() == data
    assert len(server.gets()) == 2


def test_persistent_500_gives_up_after_the_configured_attempts(server, cache):
    url = server.add("/w/down.pth", b"x")
    server.state.fail_500 = 10
    entry = tiny_entry("tiny-net-coco", (url,), None)

    with pytest.raises(DownloadError, match=r"HTTP 500 .*after 3 attempts"):
        zoo.ensure_downloaded(entry, progress=False, retry=FAST)
    assert len(server.gets()) == 3


def test_second_url_is_used_when_the_first_is_gone(server, cache):
    data = checkpoint_bytes(seed=7)
    mirror = server.add("/mirror/tiny.pth", data)
    entry = tiny_entry("tiny-net-coco", (server.url("/gone/tiny.pth"), mirror), sha256(data))

    assert zoo.ensure_downloaded(entry, progress=False, retry=FAST).read_bytes() == data
    assert [p for p, _ in server.gets()] == ["/gone/tiny.pth", "/mirror/tiny.pth"]


def test_server_down_names_the_cache_path(cache, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/w/tiny-abcdef01.pth"
    entry = tiny_entry("tiny-net-coco", (url,), "abcdef01")

    with pytest.raises(DownloadError) as ei:
        zoo.ensure_downloaded(entry, progress=False, retry=RetryPolicy(attempts=2, backoff=0.0))

    msg = str(ei.value)
    assert "ConnectionRefusedError" in msg and url in msg
    assert f"place it at {entry.cache_path()}" in msg
    assert not entry.cache_path().exists()


def test_corrupt_cached_file_is_moved_aside_and_never_used(server, cache):
    data = checkpoint_bytes(seed=8)
    url = server.add("/w/trunc.pth", data)
    entry = tiny_entry("tiny-net-coco", (url,), sha256(data))
    dest = entry.cache_path()
    dest.parent.mkdir(parents=True)
    dest.write_bytes(data[: len(data) // 2])  # e.g. a truncated copy placed by hand

    with pytest.raises(DownloadError, match="failed its checksum.*moved aside") as ei:
        zoo.ensure_downloaded(entry, progress=False, retry=FAST)
    assert str(dest.with_name("trunc.pth.corrupt")) in str(ei.value)
    assert not dest.exists() and server.gets() == []

    assert zoo.ensure_downloaded(entry, progress=False, retry=FAST).read_bytes() == data


def test_file_changed_after_verification_is_checked_again(server, cache):
    data = checkpoint_bytes(seed=9)
    url = server.add("/w/changed.pth", data)
    entry = tiny_entry("tiny-net-coco", (url,), sha256(data))
    path = zoo.ensure_downloaded(entry, progress=False, retry=FAST)

    path.write_bytes(data[:-10] + b"0123456789")  # same size, different bytes, new mtime
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with pytest.raises(DownloadError, match="failed its checksum"):
        zoo.ensure_downloaded(entry, progress=False, retry=FAST)


def test_entry_without_url_says_where_to_get_and_put_the_file(cache, tmp_path):
    entry = zoo.Weights(name="tiny-official", arch="tiny-net",
                         filename="pose_tiny.pth", manual="the authors' Drive folder")
    with pytest.raises(DownloadError) as ei:
        zoo.ensure_downloaded(entry)
    msg = str(ei.value)
    assert "no direct download" in msg and "the authors' Drive folder" in msg
    assert f"place it at {cache / 'weights' / 'pose_tiny.pth'}" in msg

    entry.cache_path().parent.mkdir(parents=True)
    entry.cache_path().write_bytes(checkpoint_bytes(seed=10))
    assert zoo.ensure_downloaded(entry) == entry.cache_path()


def test_resolve_weights(server, cache, tmp_path):
    data = checkpoint_bytes(seed=11)
    url = server.add("/w/resolve.pth", data)
    entry = tiny_entry("tiny-net-coco", (url,), sha256(data))
    local = tmp_path / "mine.pth"
    local.write_bytes(data)
    with zoo.registered(TINY_ARCH, entry):
        assert zoo.resolve_weights(None, "tiny-net") is None
        assert zoo.default_entry_for_model("tiny-net") is entry
        path = zoo.resolve_weights("zoo", "tiny-net", progress=False, retry=FAST)
        assert path == entry.cache_path() and path.read_bytes() == data
        assert zoo.resolve_weights("tiny-net-coco", "tiny-net", progress=False) == path
        assert zoo.resolve_weights(str(local), "tiny-net") == local
        with pytest.raises(ConfigError, match="are for model 'tiny-net', not 'hrnet-w32-256x192'"):
            zoo.resolve_weights("tiny-net-coco", "hrnet-w32-256x192")
        with pytest.raises(ConfigError, match="unknown architecture 'no-such-net'"):
            zoo.resolve_weights("zoo", "no-such-net")
        with pytest.raises(ConfigError, match="no weights for model 'hrnet-w8-128x96'"):
            zoo.resolve_weights("zoo", "hrnet-w8-128x96")
        with pytest.raises(InputError, match="weights file not found: tiny-net-coc .*did you mean"):
            zoo.resolve_weights("tiny-net-coc", "tiny-net")
    assert "tiny-net-coco" not in {e.name for e in zoo.entries()}  # registered() cleaned up
    assert len(server.gets()) == 1


_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from posetrack.download import RetryPolicy, download_file
    p = download_file(sys.argv[1], Path(sys.argv[2]), sha256=sys.argv[3], label="tiny",
                      progress=False, retry=RetryPolicy(attempts=2, backoff=0.0))
    print(p)
    """
)


def test_two_processes_download_one_file_once(server, cache, tmp_path):
    data = checkpoint_bytes(seed=12, n=100_000)  # ~400 KB, trickled out over ~0.6 s
    url = server.add("/w/shared.pth", data)
    server.state.chunk_delay = 0.025
    dest = tmp_path / "hub" / "shared.pth"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", _CHILD, url, str(dest), sha256(data)]

    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]

    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o[0].strip() for o in outs] == [str(dest), str(dest)]
    assert dest.read_bytes() == data
    assert len(server.gets()) == 1  # the second process waited on the lock, then found the file
    assert any("waiting for another process" in o[1] for o in outs)
    assert not dest.with_name("shared.pth.part").exists()


def test_download_file_into_torch_hub_dir(server, cache, tmp_path):
    data = checkpoint_bytes(seed=13)
    prefix = sha256(data)[:8]
    url = server.add(f"/models/tinynet_coco-{prefix}.pth", data)
    entry = tiny_entry("tinynet-coco", (url,), prefix, store="torch-hub")

    path = zoo.ensure_downloaded(entry, progress=False, retry=FAST)

    assert path == tmp_path / "torch-home" / "hub" / "checkpoints" / f"tinynet_coco-{prefix}.pth"
    # torchvision's own loader finds and accepts the same file without a request
    sd = torch.hub.load_state_dict_from_url(url, progress=False, check_hash=True, weights_only=True)
    assert set(sd) == {"conv1.weight", "final_layer.bias"}
    assert len(server.gets()) == 1
    assert download_file(url, path, sha256=prefix, label="x") == path  # cached: still no request
    assert len(server.gets()) == 1
