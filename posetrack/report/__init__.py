"""HTML reports: a run's tracks, timing and key frames, and an evaluation's charts.

Everything is one self-contained file (plots and thumbnails embedded as data URIs, no network
fetch) that also carries its numbers as JSON in ``<script type="application/json"
id="posetrack-data">``, so tools read the same numbers the plots show. matplotlib is imported only
when a page is rendered, after the run.
"""
