"""The run report page: ``<name>.report.html`` next to a run's result files."""

from __future__ import annotations

import math
from pathlib import Path

from posetrack.report import plots
from posetrack.report.data import KeyFrame, RunRecorder
from posetrack.report.html import data_uri, esc, page, plot_img, write_page


def _key_strip(frames: list[KeyFrame]) -> str:
    if not frames:
        return '<p class="note">No key frames (the frames were not available: rebuild with --video).</p>'
    items = "".join(
        f'<figure><img alt="frame {f.frame_index}" src="{data_uri(f.jpeg, "image/jpeg")}">'
        f"<figcaption>frame {f.frame_index}{'' if math.isnan(f.timestamp) else f' · {f.timestamp:.2f} s'}"
        f" · {esc(f.reason)}</figcaption></figure>"
        for f in frames
    )
    return f'<div class="strip">{items}</div>'


def run_report_html(data: dict, key_frames: list[KeyFrame], title: str) -> str:
    """The page for ``data`` (from :meth:`RunRecorder.data`, plus ``summary`` and ``config``)."""
    stats = (
        f"{data['frames']} frames, {data['num_tracks']} tracks, {data['people']} person detections"
        + (f", {data['dropped_frames']} frames dropped to keep up in real time" if data.get("dropped_frames") else "")
    )
    body = f"""
<h1>{esc(title)}</h1>
<p class="summary">{esc(data.get('summary') or stats)}</p>
<h2>Tracks</h2>
{plot_img(plots.track_timeline(data), 'track timeline')}
<div class="row"><figure>{plot_img(plots.people_per_frame(data), 'people per frame')}</figure>
<figure>{plot_img(plots.track_lengths(data), 'track length histogram')}</figure></div>
<div class="row"><figure>{plot_img(plots.joint_confidence(data), 'keypoint confidence per joint')}</figure>
<figure>{plot_img(plots.stage_times(data), 'time per stage')}</figure></div>
<h2>Key frames</h2>
{_key_strip(key_frames)}
<h2>Config</h2>
<pre class="config">{esc(data.get('config') or 'not recorded')}</pre>
<p class="note">{esc(stats)}. Numbers: the JSON block with id "posetrack-data" in this page.</p>
"""
    return page(title, body, data)


def write_run_report(path: str | Path, recorder: RunRecorder, *, title: str, summary: str = "",
                     config: str = "", extra: dict | None = None, overwrite: bool = True) -> Path:
    """Render the recorded run into ``path`` (atomically)."""
    data = recorder.data()
    data.update({"summary": summary, "config": config, **(extra or {})})
    return write_page(Path(path), run_report_html(data, recorder.key_frames(), title), overwrite)
