"""The report's charts as PNG bytes, drawn with matplotlib's Agg backend (imported on first use).

Each function takes plain numbers (the report's data dict) and returns a PNG; none reads a file.
"""

from __future__ import annotations

import io

import numpy as np

DPI = 100
WIDTH = 11.0  # inches at DPI: 1100 px, the page's content width


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def _colors(track_ids) -> np.ndarray:
    from posetrack.video.render import track_colors

    return track_colors(np.asarray(track_ids, np.int64)) / 255.0


def track_timeline(data: dict) -> bytes:
    """One row per track id, a bar for each run of consecutive frames; gaps stay empty."""
    plt = _pyplot()
    ids = [int(t) for t in data["tracks"]]
    rows = max(1, len(ids))
    fig, ax = plt.subplots(figsize=(WIDTH, min(12.0, 0.9 + 0.22 * rows)))
    colors = _colors(ids) if ids else []
    for row, (tid, color) in enumerate(zip(ids, colors)):
        spans = data["tracks"][str(tid)]["spans"]
        ax.broken_barh([(a - 0.4, b - a + 0.8) for a, b in spans], (row - 0.35, 0.7), facecolors=color)
    ax.set_yticks(range(len(ids)))
    ax.set_yticklabels([str(t) for t in ids], fontsize=8 if rows < 40 else 5)
    ax.set_ylim(max(1, len(ids)) - 0.5, -0.5)
    if not ids:
        ax.text(0.5, 0.5, "no tracks", ha="center", va="center", transform=ax.transAxes)
    frames = data["frame_indices"]
    if frames:
        ax.set_xlim(frames[0] - 0.5, frames[-1] + 0.5)
    ax.set_xlabel("frame")
    ax.set_ylabel("track id")
    ax.set_title("Track timeline")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def people_per_frame(data: dict) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(WIDTH / 2, 3.0))
    ax.step(data["frame_indices"], data["people_per_frame"], where="mid", color="#3465a4")
    ax.set_xlabel("frame")
    ax.set_ylabel("people")
    ax.set_ylim(bottom=0)
    ax.set_title("People per frame")
    ax.grid(alpha=0.3)
    return _png(fig)


def track_lengths(data: dict) -> bytes:
    plt = _pyplot()
    lengths = [t["frames"] for t in data["tracks"].values()]
    fig, ax = plt.subplots(figsize=(WIDTH / 2, 3.0))
    if lengths:
        width = max(1, int(np.ceil(max(lengths) / 25)))
        bins = np.arange(0, max(lengths) + width + 1, width) + 0.5
        ax.hist(lengths, bins=bins, color="#73d216", edgecolor="#4e9a06")
        ax.set_xlim(0, bins[-1])
    ax.set_xlabel("frames in track")
    ax.set_ylabel("tracks")
    ax.set_title("Track length")
    ax.grid(alpha=0.3)
    return _png(fig)


def joint_confidence(data: dict) -> bytes:
    plt = _pyplot()
    names = data["joints"]
    values = [np.nan if v is None else v for v in data["joint_confidence"]]
    fig, ax = plt.subplots(figsize=(WIDTH / 2, 0.6 + 0.2 * len(names)))
    ax.barh(range(len(names)), values, color="#f57900")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("mean keypoint score")
    ax.set_title("Keypoint confidence per joint")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def stage_times(data: dict) -> bytes:
    """Milliseconds per stage per frame, stacked, smoothed over a few frames so the trend shows."""
    plt = _pyplot()
    series = data.get("stage_seconds_per_frame") or {}
    fig, ax = plt.subplots(figsize=(WIDTH / 2, 0.6 + 0.2 * len(data["joints"])))
    x = data["frame_indices"]
    if series and x:
        window = min(len(x), max(5, len(x) // 50))  # per-frame times are noisy (batches, threads)
        kernel = np.ones(window)
        norm = np.convolve(np.ones(len(x)), kernel, mode="same")  # fewer frames near the ends
        ys = [np.convolve(np.asarray(v, np.float64) * 1000, kernel, mode="same") / norm for v in series.values()]
        ax.stackplot(x, ys, labels=list(series), alpha=0.85)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper right", fontsize=8)
        ax.set_xlim(x[0], x[-1] if len(x) > 1 else x[0] + 1)
    else:
        ax.text(0.5, 0.5, "no stage times recorded", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("frame")
    ax.set_ylabel("ms per frame")
    ax.set_title("Time per stage per frame" + (f" ({window}-frame mean)" if series and x and window > 1 else ""))
    ax.grid(alpha=0.3)
    return _png(fig)


def joint_ap(names: list[str], ap: list[float | None]) -> bytes:
    """Per-joint AP bars with the total last, darker."""
    plt = _pyplot()
    values = [np.nan if v is None else v for v in ap]
    fig, ax = plt.subplots(figsize=(WIDTH, 3.2))
    colors = ["#3465a4"] * (len(names) - 1) + ["#204a87"]
    bars = ax.bar(range(len(names)), values, color=colors)
    ax.bar_label(bars, labels=["–" if np.isnan(v) else f"{v:.1f}" for v in values], fontsize=8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=9)
    ax.set_ylim(0, 105)
    ax.set_ylabel("AP (%)")
    ax.set_title("Average precision per joint")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def mota_parts(names: list[str], mota: list[float | None], counts: dict) -> bytes:
    """Per joint: misses, false positives and id switches as % of ground-truth joints (stacked:
    together they are 100 - MOTA), with MOTA itself as a marker."""
    plt = _pyplot()
    objects = np.asarray(counts["objects"], np.float64)
    parts = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for key in ("misses", "false_positives", "switches"):
            per_joint = np.asarray(counts[key], np.float64) / objects * 100
            # the total, like the total MOTA, is the mean over joints that have ground truth
            total = np.nanmean(per_joint) if np.isfinite(per_joint).any() else np.nan
            parts[key] = np.append(per_joint, total)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.4))
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for (key, values), color in zip(parts.items(), ("#cc0000", "#f57900", "#75507b")):
        v = np.nan_to_num(values)
        ax.bar(x, v, bottom=bottom, color=color, label=key.replace("_", " "))
        bottom += v
    m = np.array([np.nan if v is None else v for v in mota], np.float64)
    ax.plot(x, m, "D", color="#2e3436", label="MOTA")
    low = np.nanmin(m) if np.isfinite(m).any() else 0.0
    ax.set_ylim(min(0.0, low) - 2, max(105.0, bottom.max() + 5))  # MOTA can be negative
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=9)
    ax.set_ylabel("% of ground-truth joints")
    ax.set_title("MOTA and its parts per joint (misses + false positives + id switches = 100 - MOTA)")
    ax.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.28))
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)
