"""Config presets load into typed dataclasses; unknown keys and bad values name key and file."""

from __future__ import annotations

import pytest

from posetrack.config import PipelineConfig, dump_config, load_config, preset_names
from posetrack.errors import ConfigError


def test_every_preset_loads_and_round_trips(tmp_path):
    names = preset_names()
    assert "default" in names
    for name in names:
        cfg = load_config(name)
        assert isinstance(cfg, PipelineConfig)
        dumped = tmp_path / f"{name}.yaml"
        dumped.write_text(dump_config(cfg))
        assert load_config(str(dumped)) == cfg


def test_default_recipe_is_the_papers():
    cfg = load_config("default")
    assert cfg.detector.name == "fasterrcnn-r50-fpn-v2"
    assert cfg.flow.name == "dis"
    assert cfg.pose.model == "hrnet-w48-256x192"
    assert cfg.tracker.matching == "greedy"


def test_unknown_key_names_key_and_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("pose:\n  flip_tset: true\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*unknown config key 'pose\.flip_tset'"):
        load_config(str(path))


@pytest.mark.parametrize(
    "text, key",
    [
        ("pose:\n  flip_test: maybe\n", "pose.flip_test"),
        ("detector:\n  score_threshold: 1.5\n", "detector.score_threshold"),
        ("flow:\n  name: lucas-kanade\n", "flow.name"),
        ("video:\n  stride: 0\n", "video.stride"),
        ("video:\n  start: 5\n  end: 2\n", "video.end"),
        ("device: gpu7\n", "device"),
        ("output:\n  formats: [posetrack, xml]\n", "output.formats[1]"),
        ("tracker: 3\n", "tracker"),
        ("output:\n  encoder: h265_nvenc\n", "output.encoder"),
    ],
)
def test_invalid_values_name_the_key(tmp_path, text, key):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    assert f"'{key}'" in str(info.value)
    assert "bad.yaml" in str(info.value)


def test_base_inheritance_and_overrides(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("base: default\ntracker:\n  memory: 2\n")
    cfg = load_config(str(path), {"pose.flip_test": False, "video.stride": 3})
    assert cfg.tracker.memory == 2
    assert cfg.tracker.matching == "greedy"  # inherited
    assert cfg.pose.flip_test is False and cfg.video.stride == 3
    assert cfg.name == "mine"


def test_base_file_next_to_the_config(tmp_path, monkeypatch):
    (tmp_path / "parent.yaml").write_text("base: default\ntracker:\n  memory: 7\n")
    (tmp_path / "child.yaml").write_text("base: parent.yaml\npose:\n  flip_test: false\n")
    monkeypatch.chdir("/")  # the sibling is found whatever the working directory
    cfg = load_config(str(tmp_path / "child.yaml"))
    assert cfg.tracker.memory == 7 and cfg.pose.flip_test is False
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="refers back to itself"):
        load_config(str(tmp_path / "loop.yaml"))


def test_override_to_null():
    cfg = load_config("default", {"pose.weights": None, "video.end": None})
    assert cfg.pose.weights is None and cfg.video.end is None


def test_unknown_preset_and_missing_file():
    with pytest.raises(ConfigError, match="unknown config 'nope'"):
        load_config("nope")
    with pytest.raises(ConfigError, match="missing.yaml: config file not found"):
        load_config("missing.yaml")


def test_invalid_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("pose: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_config(str(path))


def test_every_preset_names_a_known_model_with_zoo_weights():
    from posetrack.pose.models import model_spec
    from posetrack.zoo import default_entry_for_model

    for name in preset_names():
        cfg = load_config(name)
        spec = model_spec(cfg.pose.model)
        assert (cfg.detector.name == "none") == (spec.kind == "bottomup"), name
        if cfg.pose.weights == "zoo":
            entry = default_entry_for_model(cfg.pose.model)
            assert entry is not None and entry.fits(cfg.pose.model), name


def test_output_encoder_choices():
    assert load_config("default").output.encoder == "auto"
    for name in ("auto", "libx264", "h264_nvenc"):  # accepted at load; whether it opens is the run's check
        assert load_config("default", {"output.encoder": name}).output.encoder == name
    with pytest.raises(ConfigError, match=r"invalid value 'nvenc' for 'output\.encoder'.*'h264_nvenc'"):
        load_config("default", {"output.encoder": "nvenc"})
