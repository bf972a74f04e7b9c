"""Shared material for the Ray tests: synthetic videos with their person boxes, a small checkpoint
(the same weights in every process), a tiny config, and one local Ray instance per module."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from posetrack.synthetic import crossing_scene, write_video

LENGTHS = {"a": 6, "b": 8, "c": 12}  # frames per good video


def tiny_config(root: Path) -> str:
    return f"""\
base: default
device: cpu
detector:
  name: file
  file: {root / "boxes.json"}
flow:
  name: dis
pose:
  model: hrnet-w8-128x96
  weights: {root / "tiny.pth"}
  flip_test: false
output:
  render: false
"""


def make_workspace(root: Path, lengths: dict[str, int]) -> Path:
    """Videos of the crossing scene (their boxes keyed by frame index), weights, config."""
    import torch

    from posetrack.pose import build_model

    longest = crossing_scene(num_frames=max(lengths.values()))
    frames = longest.frames()
    dets = [{"image_id": f.index, "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
             "score": 0.99, "category_id": 1} for f in frames for b in f.boxes]  # fmt: skip
    (root / "boxes.json").write_text(json.dumps(dets))
    images = [f.image for f in frames]
    for name, n in lengths.items():
        write_video(images[:n], root / f"{name}.mp4")
    torch.manual_seed(0)
    torch.save(build_model("hrnet-w8-128x96").state_dict(), root / "tiny.pth")
    (root / "tiny.yaml").write_text(tiny_config(root))
    return root


def result_files(folder: Path) -> dict[str, bytes]:
    """Every file of a run's output folder (hidden temp files included, the run summaries not; the run
    reports only by name: they hold the run's own seconds)."""
    return {p.name: b"" if p.name.endswith(".report.html") else p.read_bytes()
            for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The in-process reference runs use one thread, as each 1-CPU worker does (on 2 busy cores more
    threads only fight each other)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def local_ray():
    """A real local Ray instance (2 CPUs, loopback, its own temp dir), shut down after the module."""
    import shutil
    import tempfile

    import ray

    from posetrack.distributed.cluster import _loopback_only

    names = ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED", "RAY_ADDRESS", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    saved = {k: os.environ.get(k) for k in names}
    os.environ["RAY_AUTH_MODE"] = "disabled"  # a loopback test instance; the two-node test needs the same
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ.pop("RAY_ADDRESS", None)
    _loopback_only(ray)
    temp = tempfile.mkdtemp(prefix="ptray-")  # short: Ray's socket paths live under it
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, _node_ip_address="127.0.0.1",
             _temp_dir=temp, log_to_driver=False, logging_level="ERROR")  # fmt: skip
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
