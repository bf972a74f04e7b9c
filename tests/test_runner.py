"""posetrack.runner: per-video state, and the `track` loop over poses from a file."""

from __future__ import annotations

import pytest

from posetrack.config import load_config
from posetrack.errors import ConfigError
from posetrack.pipeline import Pipeline
from posetrack.runner import preflight, process_video
from posetrack.synthetic import crossing_scene, write_video


def test_stage_times_are_per_video(tmp_path):
    """The summary of the second video reports its own frames and seconds, not the sum of both."""
    config = load_config("default", {
        "device": "cpu", "detector.name": "hog", "pose.model": "hrnet-w8-128x96", "pose.weights": None,
        "pose.flip_test": False, "output.render": False, "output.formats": ["csv"],
    })  # fmt: skip
    pipeline = Pipeline.from_config(config)
    first = write_video(crossing_scene(num_frames=6).images(), tmp_path / "first.mp4")
    second = write_video(crossing_scene(num_frames=3).images(), tmp_path / "second.mp4")
    a = process_video(pipeline, first, tmp_path / "out", progress=False)
    assert a.frames == 6 and pipeline.times.frames == 6
    b = process_video(pipeline, second, tmp_path / "out", progress=False)
    assert b.frames == 3 and pipeline.times.frames == 3


def test_preflight_refuses_an_encoder_that_does_not_open(tmp_path):
    """output.encoder h264_nvenc without NVENC (no NVIDIA GPU here) fails in the preflight, before a
    model is built; with output.render off, or with auto, the encoder is not in the way."""
    from posetrack.video.writer import encoder_problem

    video = write_video(crossing_scene(num_frames=2).images(), tmp_path / "clip.mp4")
    out = tmp_path / "out"
    nvenc = load_config("default", {"device": "cpu", "output.encoder": "h264_nvenc"})
    if encoder_problem("h264_nvenc") is None:  # a machine with NVENC: nothing to refuse
        preflight(nvenc, [video], out, overwrite=False)
    else:
        with pytest.raises(ConfigError, match="output.encoder: h264_nvenc cannot be used here"):
            preflight(nvenc, [video], out, overwrite=False)
    preflight(load_config("default", {"device": "cpu", "output.encoder": "h264_nvenc", "output.render": False}),
              [video], out, overwrite=False)
    preflight(load_config("default", {"device": "cpu"}), [video], out, overwrite=False)  # auto
    assert not out.exists()
