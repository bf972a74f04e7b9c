"""Writing H.264: the annotated round trip keeps frames, timestamps and audio; writes are atomic."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from posetrack.errors import OutputError
from posetrack.keypoints import COCO17
from posetrack.types import Poses
from posetrack.video import AnnotatedVideoWriter, VideoWriter, open_source
from posetrack.video.config import VideoConfig

from ._media import decoded, index_of, make_image_folder, make_video


def _person(cx: float, cy: float, track_id: int, score: float = 0.9) -> Poses:
    rng = np.random.default_rng(track_id + 5)
    kp = np.zeros((1, 17, 3), np.float32)
    kp[0, :, 0] = cx + rng.uniform(-20, 20, 17)
    kp[0, :, 1] = cy + rng.uniform(-25, 25, 17)
    kp[0, :, 2] = score
    box = [[kp[0, :, 0].min(), kp[0, :, 1].min(), kp[0, :, 0].max(), kp[0, :, 1].max()]]
    return Poses(kp, box, [score], COCO17, [track_id])


def _stream_facts(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return {
            "codec": v.codec_context.name,
            "pix_fmt": v.codec_context.pix_fmt,
            "size": (v.codec_context.width, v.codec_context.height),
            "audio": [(a.codec_context.name, float(a.duration * a.time_base)) for a in c.streams.audio],
            "video_seconds": float(v.duration * v.time_base),
        }


def _no_leftovers(folder, keep=()):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def _round_trip(src_path, out_path, config=None):
    with open_source(src_path, config) as src:
        frames = list(src)
        info = src.info
    with AnnotatedVideoWriter(out_path, info, threshold=0.3, crf=18, preset="ultrafast", queue_size=4) as w:
        for f in frames:
            w.submit(f.image, _person(80, 88, track_id=3), f.timestamp)  # below the index band
    return frames, decoded(out_path)


def test_annotated_round_trip_keeps_frames_and_timestamps(tmp_path):
    src = tmp_path / "in.mp4"
    make_video(src, n=30, fps=25)
    out = tmp_path / "out.mp4"
    frames, back = _round_trip(src, out)
    assert len(back) == len(frames) == 30
    np.testing.assert_allclose([t for t, _ in back], [f.timestamp for f in frames], atol=1e-6)
    assert [index_of(img) for _, img in back] == list(range(30))
    facts = _stream_facts(out)
    assert facts["codec"] == "h264" and facts["pix_fmt"] == "yuv420p" and facts["size"] == (160, 120)
    assert facts["video_seconds"] == pytest.approx(30 / 25, abs=1e-3)
    # drawn: the person's pixels differ from the input there, and the rest is the input
    diff = np.abs(back[5][1].astype(int) - frames[5].image).sum(axis=-1)
    assert diff[60:120, 50:110].max() > 100 and np.median(diff[:, :20]) < 10
    # faststart: the index (moov) comes before the media data, so browsers can start playing
    head = out.read_bytes()
    assert head.index(b"moov") < head.index(b"mdat")
    assert _no_leftovers(tmp_path) == ["in.mp4", "out.mp4"]


def test_variable_frame_rate_survives_encoding(tmp_path):
    src = tmp_path / "vfr.mkv"
    pts_ms = [0, 40, 80, 200, 220, 240, 500, 510, 700, 1000]
    make_video(src, "libvpx-vp9", n=len(pts_ms), pts=pts_ms, time_base=Fraction(1, 1000))
    frames, back = _round_trip(src, tmp_path / "vfr_out.mp4")
    assert len(back) == len(pts_ms)
    np.testing.assert_allclose([t for t, _ in back], np.array(pts_ms) / 1000, atol=1e-6)


def test_odd_sized_image_folder_is_padded_to_even(tmp_path):
    folder = tmp_path / "seq"
    make_image_folder(folder, 8, width=75, height=51)
    out = tmp_path / "seq.mp4"
    frames, back = _round_trip(folder, out, VideoConfig(fps=10.0))
    assert _stream_facts(out)["size"] == (76, 52)
    assert len(back) == 8
    np.testing.assert_allclose([t for t, _ in back], np.arange(8) / 10, atol=1e-6)
    # padding repeats the last column/row; the original pixels are where they were
    img = back[2][1]
    assert np.abs(img[:, 75].astype(int) - img[:, 74]).mean() < 6
    assert np.abs(img[:51, :75, :].astype(int)[:, :10] - frames[2].image[:, :10]).mean() < 6


def test_audio_stream_is_copied(tmp_path):
    src = tmp_path / "talk.mp4"
    make_video(src, n=40, fps=25, audio="aac")
    with open_source(src) as s:
        assert s.has_audio and s.audio_path == src
    out = tmp_path / "talk_out.mp4"
    _round_trip(src, out)
    facts = _stream_facts(out)
    assert [name for name, _ in facts["audio"]] == ["aac"]
    assert facts["audio"][0][1] == pytest.approx(40 / 25, abs=0.15)
    with av.open(str(src)) as a, av.open(str(out)) as b:  # copied, not re-encoded: same bytes
        pa = [bytes(p) for p in a.demux(a.streams.audio[0]) if p.size]
        pb = [bytes(p) for p in b.demux(b.streams.audio[0]) if p.size]
    assert len(pb) >= len(pa) - 2 and set(pb) <= set(pa)


def test_start_clip_starts_at_zero_and_keeps_spacing(tmp_path):
    src = tmp_path / "in.mp4"
    make_video(src, n=30, fps=25, audio="aac")
    out = tmp_path / "clip.mp4"
    frames, back = _round_trip(src, out, VideoConfig(start=0.4, stride=2))
    assert [index_of(img) for _, img in back] == [f.index for f in frames] == list(range(10, 30, 2))
    np.testing.assert_allclose([t for t, _ in back], [f.timestamp - 0.4 for f in frames], atol=1e-6)
    assert _stream_facts(out)["audio"][0][1] == pytest.approx(0.8, abs=0.15)


def test_colours_survive_encoding(tmp_path):
    """RGB -> BT.709 yuv420p, tagged, and back: saturated colours come back where they were."""
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (128, 64, 200), (30, 30, 30)]
    image = np.zeros((64, 96, 3), np.uint8)
    for k, c in enumerate(colours):
        image[:, k * 16 : (k + 1) * 16] = c
    out = tmp_path / "colours.mp4"
    with VideoWriter(out, 96, 64, 25, crf=0, preset="ultrafast") as w:
        w.write(image, 0.0)
    (_, back), = decoded(out)
    for k, c in enumerate(colours):
        np.testing.assert_allclose(back[32, k * 16 + 8].astype(int), c, atol=4)


def test_abort_leaves_nothing(tmp_path):
    out = tmp_path / "gone.mp4"
    info = open_source(_tiny(tmp_path)).info
    w = AnnotatedVideoWriter(out, info, queue_size=2)
    for i in range(5):
        w.submit(np.zeros((120, 160, 3), np.uint8), _person(80, 60, i), i / 25)
    w.abort()
    assert not out.exists() and _no_leftovers(tmp_path) == ["tiny.mp4"]

    with pytest.raises(RuntimeError):  # an exception inside the block aborts too
        with VideoWriter(out, 160, 120, 25) as vw:
            vw.write(np.zeros((120, 160, 3), np.uint8), 0.0)
            raise RuntimeError("interrupted")
    assert _no_leftovers(tmp_path) == ["tiny.mp4"]


def test_existing_output_is_replaced_only_at_close(tmp_path):
    out = tmp_path / "v.mp4"
    out.write_bytes(b"previous run")
    w = VideoWriter(out, 160, 120, 25)
    w.write(np.zeros((120, 160, 3), np.uint8), 0.0)
    assert out.read_bytes() == b"previous run"  # untouched while writing
    w.close()
    assert len(decoded(out)) == 1
    with pytest.raises(OutputError, match="already exists"):
        VideoWriter(out, 160, 120, 25, overwrite=False)


def test_worker_error_is_raised_and_no_file_is_left(tmp_path):
    out = tmp_path / "bad.mp4"
    info = open_source(_tiny(tmp_path)).info
    w = AnnotatedVideoWriter(out, info)
    w.submit(np.zeros((50, 50, 3), np.uint8), _person(20, 20, 1), 0.0)  # wrong size for the video
    with pytest.raises(ValueError, match="expected"):
        w.close()
    assert _no_leftovers(tmp_path) == ["tiny.mp4"]


def test_unwritable_output_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError) as info:
        VideoWriter(tmp_path / "no" / "such" / "dir" / "v.mp4", 160, 120, 25)
    assert str(tmp_path / "no" / "such" / "dir" / "v.mp4") in str(info.value)


def _tiny(tmp_path):
    path = tmp_path / "tiny.mp4"
    make_video(path, n=3)
    return path


def test_encoder_auto_falls_back_to_libx264_without_nvenc(tmp_path):
    from posetrack.video.writer import encoder_problem, h264_encoder

    chosen = h264_encoder("auto")
    assert chosen == ("h264_nvenc" if encoder_problem("h264_nvenc") is None else "libx264")
    if "h264_nvenc" not in av.codecs_available:
        assert chosen == "libx264"
    w = VideoWriter(tmp_path / "a.mp4", 64, 48, 25, encoder="auto")
    assert w.encoder == chosen
    for i in range(3):
        w.write(np.full((48, 64, 3), 40 * i, np.uint8), i / 25)
    path = w.close()
    with av.open(str(path)) as c:  # a playable H.264 file: every frame decodes, levels kept
        assert c.streams.video[0].codec_context.name == "h264"
        levels = [f.to_ndarray(format="rgb24").mean() for f in c.decode(video=0)]
    assert len(levels) == 3
    np.testing.assert_allclose(levels, [0, 40, 80], atol=3)


def test_annotated_writer_takes_the_encoder(tmp_path):
    """AnnotatedVideoWriter passes ``encoder`` through: auto writes H.264 that decodes frame for frame."""
    src = _tiny(tmp_path)
    with open_source(src) as source:
        frames = list(source)
        info = source.info
    out = tmp_path / "auto.mp4"
    with AnnotatedVideoWriter(out, info, encoder="auto") as w:
        for f in frames:
            w.submit(f.image, _person(80, 60, 1), f.timestamp)
    assert w._writer.encoder in ("libx264", "h264_nvenc")
    assert _stream_facts(out)["codec"] == "h264"
    assert len(decoded(out)) == len(frames) == 3


def test_unusable_or_unknown_encoder_is_one_config_error_and_no_file(tmp_path):
    from posetrack.errors import ConfigError
    from posetrack.video.writer import encoder_problem

    out = tmp_path / "nv.mp4"
    if encoder_problem("h264_nvenc") is None:  # a machine with NVENC: it is used, not refused
        with VideoWriter(out, 64, 48, 25, encoder="h264_nvenc") as w:
            w.write(np.zeros((48, 64, 3), np.uint8), 0.0)
        assert w.encoder == "h264_nvenc" and _stream_facts(out)["codec"] == "h264"
    else:  # here (no NVIDIA GPU): refused by name, before any file is made
        with pytest.raises(ConfigError) as info:
            VideoWriter(out, 64, 48, 25, encoder="h264_nvenc")
        message = str(info.value)
        assert "h264_nvenc" in message and "output.encoder" in message and "\n" not in message
        assert _no_leftovers(tmp_path) == []
    with pytest.raises(ConfigError, match="unknown H.264 encoder 'x265'"):
        VideoWriter(tmp_path / "x.mp4", 64, 48, 25, encoder="x265")
    assert not (tmp_path / "x.mp4").exists()
