"""Reading a report page back: its embedded JSON, its images, and that it fetches nothing."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import cv2
import numpy as np

from posetrack.report.html import read_embedded_data


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.scripts_with_src: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "link" and a.get("href"):
            self.links.append(a["href"])
        if tag == "script" and a.get("src"):
            self.scripts_with_src.append(a["src"])
        if tag == "table":
            self.tables += 1


def parse_page(text: str) -> tuple[dict, list[np.ndarray], _Collect]:
    """(embedded data, decoded images, what the parser saw); asserts the page is self-contained."""
    parser = _Collect()
    parser.feed(text)
    assert not parser.links and not parser.scripts_with_src
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "the page fetches something"
    images = []
    for src in parser.images:
        m = re.fullmatch(r"data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)", src)
        assert m, src[:40]
        image = cv2.imdecode(np.frombuffer(base64.b64decode(m.group(2)), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.size > 0
        images.append(image)
    return read_embedded_data(text), images, parser
