"""Self-contained HTML pages: inline CSS, images as data URIs, the numbers as one JSON block."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from posetrack.atomic import AtomicFile
from posetrack.errors import OutputError

DATA_ID = "posetrack-data"

CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 24px auto; max-width: 1140px;
       color: #2e3436; background: #fff; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.summary { font-family: ui-monospace, monospace; background: #f3f3f1; padding: 8px 10px; border-radius: 4px;
           font-size: 13px; overflow-wrap: anywhere; }
.row { display: flex; gap: 12px; flex-wrap: wrap; } .row > figure { flex: 1 1 540px; margin: 0; }
img.plot { max-width: 100%; height: auto; display: block; }
.strip { display: flex; gap: 10px; flex-wrap: wrap; }
.strip figure { margin: 0; flex: 0 0 auto; max-width: 260px; } .strip img { display: block; border: 1px solid #ccc; }
.strip figcaption, .note { font-size: 12px; color: #555; }
pre.config { background: #f3f3f1; padding: 10px; font-size: 12px; max-height: 420px; overflow: auto; }
table { border-collapse: collapse; font-size: 13px; } th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; }
th { background: #eeeeec; cursor: pointer; user-select: none; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th.sorted-asc::after { content: ' \\25B2'; } th.sorted-desc::after { content: ' \\25BC'; }
"""

# Click a header to sort by that column (numbers numerically, the rest as text); click again to flip.
SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('sorted-asc');
      table.querySelectorAll('th').forEach(function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(row) { var c = row.cells[col], v = c.getAttribute('data-value');
        return v === null ? c.textContent : (v === '' ? NaN : parseFloat(v)); }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b), d;
        if (typeof x === 'number') { if (isNaN(x)) return 1; if (isNaN(y)) return -1; d = x - y; }
        else d = x.localeCompare(y);
        return asc ? d : -d; });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def plot_img(png: bytes, alt: str) -> str:
    return f'<img class="plot" alt="{esc(alt)}" src="{data_uri(png, "image/png")}">'


def json_block(data: dict) -> str:
    """The page's numbers; '<' is escaped so no value can close the script element."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    return f'<script type="application/json" id="{DATA_ID}">{text}</script>'


def page(title: str, body: str, data: dict, script: str = "") -> str:
    js = f"<script>{script}</script>" if script else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head>\n<body>\n{body}\n{json_block(data)}\n{js}\n</body></html>\n"
    )


def write_page(path: Path, text: str, overwrite: bool = True) -> Path:
    """Write the page atomically (complete or absent; ``overwrite=False`` never replaces a file)."""
    try:
        out = AtomicFile(path, overwrite=overwrite)
    except OSError as e:
        raise OutputError(f"{path}: cannot be written ({e.strerror or e})") from None
    try:
        out.file.write(text)
        return out.commit()
    except BaseException:
        out.abort()
        raise


def read_embedded_data(text: str) -> dict:
    """The JSON block of a page written here (for tools and tests)."""
    marker = f'<script type="application/json" id="{DATA_ID}">'
    start = text.index(marker) + len(marker)
    return json.loads(text[start: text.index("</script>", start)])
