"""Reading videos and image folders: codecs, order, timestamps, rotation, selection, bad input."""

from __future__ import annotations

import logging
from fractions import Fraction

import numpy as np
import pytest

from posetrack.errors import InputError
from posetrack.video import open_source
from posetrack.video.config import VideoConfig

from ._media import H, W, index_of, make_image_folder, make_video, pattern


@pytest.mark.parametrize(
    "name, codec",
    [("h264.mp4", "libx264"), ("mjpeg.avi", "mjpeg"), ("vp9.mkv", "libvpx-vp9"), ("h264.mov", "libx264")],
)
def test_containers_and_codecs_decode_every_frame_in_order(tmp_path, name, codec):
    path = tmp_path / name
    sent = make_video(path, codec, n=30, fps=25)
    with open_source(path) as src:
        assert (src.width, src.height, src.rotation, src.has_audio) == (W, H, 0, False)
        assert src.fps == pytest.approx(25.0)
        assert src.num_frames == 30
        frames = list(src)
    assert [f.index for f in frames] == list(range(30))
    assert [index_of(f.image) for f in frames] == list(range(30))
    np.testing.assert_allclose([f.timestamp for f in frames], np.arange(30) / 25, atol=1e-6)
    for f in frames:
        assert f.image.dtype == np.uint8 and f.image.shape == (H, W, 3) and f.name == ""
    # lossy, but the picture is the one that went in
    assert np.abs(frames[7].image.astype(int) - sent[7]).mean() < 6


def test_source_is_an_iterator_and_stops_after_close(tmp_path):
    path = tmp_path / "a.mp4"
    make_video(path, n=10)
    src = open_source(path)
    assert next(src).index == 0
    assert next(iter(src)).index == 1  # one stream of frames, not a restart
    src.close()
    assert list(src) == []


def test_close_from_another_thread_ends_iteration_cleanly(tmp_path):
    """The pipeline decodes on a background thread and may close the source from the main one."""
    import threading

    path = tmp_path / "a.mkv"
    make_video(path, "libvpx-vp9", n=40)
    src = open_source(path)
    seen, errors, started = [], [], threading.Event()

    def consume():
        try:
            for frame in src:
                seen.append(frame.index)
                started.set()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    worker = threading.Thread(target=consume)
    worker.start()
    started.wait(10)
    src.close()
    worker.join(10)
    assert not worker.is_alive() and not errors
    assert seen == list(range(len(seen))) and len(seen) >= 1


@pytest.mark.parametrize("ccw", [90, -90, 180])
def test_rotation_metadata_is_applied(tmp_path, ccw):
    path = tmp_path / f"rot{ccw}.mp4"
    sent = make_video(path, n=5, rotation=ccw)
    expected = np.rot90(sent[3], k=ccw // 90)  # players turn the stored frame counter-clockwise
    with open_source(path) as src:
        assert (src.width, src.height) == (expected.shape[1], expected.shape[0])
        if ccw != 180:
            assert (src.width, src.height) == (H, W)
        assert src.rotation == (-ccw) % 360  # clockwise degrees
        frames = list(src)
    image = frames[3].image
    assert image.shape == expected.shape and image.flags.c_contiguous
    assert np.abs(image.astype(int) - expected).mean() < 6
    # the planted corner marker is where the upright picture has it, not anywhere else
    marker = (expected == 255).all(axis=-1)
    assert image[marker].mean() > 230 and image[~marker].mean() < 200


def test_variable_frame_rate_timestamps_come_from_pts(tmp_path):
    path = tmp_path / "vfr.mp4"
    pts_ms = [0, 40, 80, 200, 220, 240, 500, 510, 700, 1000]
    make_video(path, n=len(pts_ms), pts=pts_ms, time_base=Fraction(1, 1000))
    with open_source(path) as src:
        frames = list(src)
    assert [index_of(f.image) for f in frames] == list(range(len(pts_ms)))
    np.testing.assert_allclose([f.timestamp for f in frames], np.array(pts_ms) / 1000, atol=1e-6)


def test_start_end_stride_select_frames_by_time(tmp_path):
    path = tmp_path / "a.mp4"
    make_video(path, n=40, fps=25)
    cfg = VideoConfig(start=0.4, end=1.2, stride=3)  # frames 10..29, every third
    with open_source(path, cfg) as src:
        assert src.num_frames == 7 and src.total_frames == 40
        frames = list(src)
    expected = list(range(10, 30, 3))
    assert [f.index for f in frames] == expected
    assert [index_of(f.image) for f in frames] == expected
    np.testing.assert_allclose([f.timestamp for f in frames], np.array(expected) / 25, atol=1e-6)


@pytest.mark.parametrize(
    "name, codec, pts_ms, seeks",
    [
        ("gop.mp4", "libx264", None, True),  # B-frames, a keyframe every 10 frames
        ("intra.avi", "mjpeg", None, True),  # every frame a keyframe
        ("vfr.mp4", "libx264", None, False),
    ],
)
def test_start_jumps_by_keyframe_but_frames_match_a_full_decode(tmp_path, name, codec, pts_ms, seeks):
    path = tmp_path / name
    if name == "vfr.mp4":  # a 0.5 s pause: no constant rate to check a jump against, so none is made
        pts_ms = [40 * i + (500 if i >= 20 else 0) for i in range(40)]
        make_video(path, codec, n=40, pts=pts_ms, time_base=Fraction(1, 1000), gop=5)
        starts = (0.5, 1.45, 1.7)
    else:
        make_video(path, codec, n=40, fps=25, gop=10)
        starts = (0.5, 0.85, 1.3)
    every = list(open_source(path))
    for start in starts:
        cfg = VideoConfig(start=start, end=start + 0.3)
        with open_source(path, cfg) as src:
            got = list(src)
            if start == starts[-1]:  # far enough from the first keyframe for a jump to be worth it
                assert (src._index0 > 0) == seeks
        want = [f for f in every if start - 1e-6 <= f.timestamp < start + 0.3 - 1e-6]
        assert [f.index for f in got] == [f.index for f in want] and len(want) >= 5
        assert [f.timestamp for f in got] == [f.timestamp for f in want]
        assert [index_of(f.image) for f in got] == [f.index for f in want]
    with open_source(path, VideoConfig(start=starts[-1], seek=False)) as src:
        assert [f.index for f in src][:3] == [f.index for f in every if f.timestamp >= starts[-1]][:3]
        assert src._index0 == 0


def test_image_folder_is_read_in_numeric_order(tmp_path):
    folder = tmp_path / "seq"
    sent = make_image_folder(folder, 12)
    (folder / "notes.txt").write_text("not an image")
    with open_source(folder, VideoConfig(fps=10.0)) as src:
        assert (src.width, src.height, src.fps, src.num_frames, src.has_audio) == (W, H, 10.0, 12, False)
        frames = list(src)
    assert [f.name for f in frames] == [f"frame{i + 1}.png" for i in range(12)]
    assert all(np.array_equal(f.image, s) for f, s in zip(frames, sent))  # PNG is lossless
    np.testing.assert_allclose([f.timestamp for f in frames], np.arange(12) / 10)

    with open_source(folder, VideoConfig(fps=10.0, start=0.25, end=1.0, stride=2)) as src:
        assert [f.index for f in src] == [3, 5, 7, 9]


def test_truncated_video_yields_what_decodes_and_warns_once(tmp_path, caplog):
    for name, codec, opts in [
        ("cut.mp4", "libx264", {"movflags": "+faststart"}),
        ("cut.mkv", "libvpx-vp9", None),
        ("cut.avi", "mjpeg", None),
    ]:
        full = tmp_path / name
        make_video(full, codec, n=30, noise=True, options=opts)
        data = full.read_bytes()
        cut = tmp_path / f"short_{name}"
        cut.write_bytes(data[: len(data) * 6 // 10])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="posetrack"):
            with open_source(cut) as src:
                frames = list(src)
        warnings = [r for r in caplog.records if r.name == "posetrack" and r.levelno == logging.WARNING]
        assert len(warnings) == 1, (name, [r.getMessage() for r in warnings])
        assert str(cut) in warnings[0].getMessage() and "truncated" in warnings[0].getMessage()
        assert 5 <= len(frames) < 30, name
        assert [index_of(f.image) for f in frames] == list(range(len(frames))), name

        caplog.clear()  # the intact file does not warn
        with caplog.at_level(logging.WARNING, logger="posetrack"):
            assert len(list(open_source(full))) == 30
        assert not caplog.records


def _bad(tmp_path):
    missing = tmp_path / "missing.mp4"
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    audio_only = tmp_path / "tone.m4a"
    _audio_only(audio_only)
    undecodable = tmp_path / "zeroed.mp4"
    _undecodable(tmp_path / "good.mp4", undecodable)
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    (empty_dir / "readme.txt").write_text("no images here")
    return [
        (missing, "no such file"),
        (empty, "empty file"),
        (text, "not a video"),
        (audio_only, "no video stream"),
        (undecodable, "no decodable video frame"),
        (empty_dir, "no images"),
    ]


def _audio_only(path):
    import av

    with av.open(str(path), "w") as out:
        a = out.add_stream("aac", rate=16000)
        a.layout = "mono"
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for p in a.encode(frame):
                out.mux(p)
        for p in a.encode():
            out.mux(p)


def _undecodable(good, bad):
    """A real MP4 (index intact, at the front) whose coded picture data are all zero bytes."""
    make_video(good, n=10, options={"movflags": "+faststart"})
    data = bytearray(good.read_bytes())
    mdat = data.index(b"mdat") + 4
    data[mdat:] = bytes(len(data) - mdat)
    bad.write_bytes(bytes(data))


def test_bad_inputs_raise_input_error_naming_the_path(tmp_path, caplog):
    for path, words in _bad(tmp_path):
        with caplog.at_level(logging.WARNING, logger="posetrack"):
            with pytest.raises(InputError) as info:
                open_source(path)
        message = str(info.value)
        assert str(path) in message and words in message, message
        assert "\n" not in message
    assert not caplog.records  # the error says it all: no "truncated" warning before it


@pytest.mark.parametrize("ccw", [0, 90, 180, -90])
@pytest.mark.parametrize("hflip, vflip", [(True, False), (False, True)])
def test_mirrored_display_matrices_match_what_players_show(tmp_path, ccw, hflip, vflip):
    """All eight EXIF-style orientations: rotate counter-clockwise, then mirror (PyAV's meaning of
    set_display_rotation, and what FFmpeg's autorotate shows)."""
    import av

    image = np.zeros((48, 64, 3), np.uint8)
    image[:8, :16] = 255
    image[40:, 56:] = 128
    image[:, 30:32, 1] = 200
    path = tmp_path / "mirror.mkv"
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt, s.options = 64, 48, "yuv420p", {"crf": "0"}
        s.set_display_rotation(ccw, hflip=hflip, vflip=vflip)
        for packet in [*s.encode(av.VideoFrame.from_ndarray(image, format="rgb24")), *s.encode()]:
            out.mux(packet)
    expected = np.rot90(image, ccw // 90)
    expected = expected[:, ::-1] if hflip else expected[::-1]
    with open_source(path) as src:
        got = next(src).image
        assert (src.height, src.width) == expected.shape[:2]
    assert np.abs(got.astype(int) - expected).mean() < 3


def test_image_folder_jpegs_skip_unreadable_and_reject_odd_sizes(tmp_path, caplog):
    import cv2

    folder = tmp_path / "000342_mpii_test"  # PoseTrack layout: zero-padded JPEGs
    folder.mkdir()
    for i in range(6):
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), cv2.cvtColor(pattern(i), cv2.COLOR_RGB2BGR))
    (folder / "000003.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with caplog.at_level(logging.WARNING, logger="posetrack"):
        frames = list(open_source(folder))
    assert [f.index for f in frames] == [0, 1, 2, 4, 5]
    assert [index_of(f.image) for f in frames] == [0, 1, 2, 4, 5]
    assert [f.name for f in frames][:2] == ["000000.jpg", "000001.jpg"]
    assert len(caplog.records) == 1 and "000003.jpg" in caplog.records[0].getMessage()

    cv2.imwrite(str(folder / "000006.jpg"), np.zeros((60, 80, 3), np.uint8))
    with pytest.raises(InputError, match="000006.jpg"):
        list(open_source(folder))
