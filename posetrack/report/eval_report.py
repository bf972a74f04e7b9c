"""The evaluation report: per-joint AP, MOTA and its parts, and a sortable per-sequence table."""

from __future__ import annotations

import math
from pathlib import Path

from posetrack.report import plots
from posetrack.report.html import SORT_JS, esc, page, plot_img, write_page

_COLUMNS = (("sequence", "Sequence"), ("frames", "Frames"), ("ap", "AP"), ("mota", "MOTA"),
            ("misses", "Misses"), ("false_positives", "False pos."), ("switches", "ID switches"),
            ("precision", "Precision"), ("recall", "Recall"))  # fmt: skip


def sequence_rows(metrics: dict) -> list[dict]:
    """One row per sequence, worst MOTA first (sequences without a MOTA last)."""
    rows = []
    for name, seq in (metrics.get("sequences") or {}).items():
        counts = seq["counts"]
        rows.append({
            "sequence": name, "frames": seq["num_frames"], "ap": seq["ap"][-1], "mota": seq["mota"][-1],
            "misses": sum(counts["misses"]), "false_positives": sum(counts["false_positives"]),
            "switches": sum(counts["switches"]),
            "precision": seq["mot_precision"][-1], "recall": seq["mot_recall"][-1],
        })  # fmt: skip
    return sorted(rows, key=lambda r: (r["mota"] is None, r["mota"] if r["mota"] is not None else 0.0, r["sequence"]))


def _cell(key: str, value) -> str:
    if key == "sequence":
        return f"<td>{esc(value)}</td>"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td class="num" data-value="">–</td>'
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    return f'<td class="num" data-value="{value}">{text}</td>'


def _table(rows: list[dict]) -> str:
    if not rows:
        return '<p class="note">No per-sequence results.</p>'
    head = "".join(f"<th>{esc(title)}</th>" for _, title in _COLUMNS)
    body = "\n".join("<tr>" + "".join(_cell(k, r[k]) for k, _ in _COLUMNS) + "</tr>" for r in rows)
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.1f}"


def eval_report_html(metrics: dict, title: str) -> str:
    """The page for ``metrics`` (:meth:`PoseTrackResult.to_dict`, embedded unchanged)."""
    names = metrics["names"]
    s = metrics["summary"]
    line = (f"AP {_fmt(s.get('ap_total'))} · MOTA {_fmt(s.get('mota_total'))} · MOTP {_fmt(s.get('motp_total'))}"
            f" · precision {_fmt(s.get('mot_precision_total'))} · recall {_fmt(s.get('mot_recall_total'))}"
            f" · {metrics['num_frames']} labeled frames")
    rows = sequence_rows(metrics)
    worst = ", ".join(f"{esc(r['sequence'])} (MOTA {_fmt(r['mota'])})" for r in rows[:5])
    body = f"""
<h1>{esc(title)}</h1>
<p class="summary">{esc(line)}</p>
<h2>Average precision</h2>
{plot_img(plots.joint_ap(names, metrics['ap']), 'AP per joint')}
<h2>Tracking</h2>
{plot_img(plots.mota_parts(names, metrics['mota'], metrics['counts']), 'MOTA parts per joint')}
<h2>Sequences</h2>
{f'<p>Worst first: {worst}.</p>' if rows else ''}
<p class="note">Click a column header to sort.</p>
{_table(rows)}
<p class="note">All numbers (as <code>--json</code> writes them): the JSON block with id "posetrack-data".</p>
"""
    return page(title, body, metrics, SORT_JS)


def write_eval_report(path: str | Path, metrics: dict, title: str = "posetrack evaluation") -> Path:
    return write_page(Path(path), eval_report_html(metrics, title))
