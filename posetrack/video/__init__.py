"""Video in and out: streaming decode (PyAV, image folders), H.264 output, pose rendering.

    with open_source("clip.mp4", VideoConfig(start=2.0, stride=2)) as source:
        writer = AnnotatedVideoWriter("clip.annotated.mp4", source, threshold=0.3)
        for frame in source:                      # Frame: index, timestamp (s), RGB image, name
            writer.submit(frame.image, poses_for(frame), frame.timestamp)
        writer.close()                            # or writer.abort() on failure: no file left

Names are imported on first use, so loading a config (which imports ``posetrack.video.config``)
does not pull in PyAV and OpenCV.
"""

from __future__ import annotations

from posetrack.lazy import lazy_attributes

_EXPORTS = {
    "AnnotatedVideoWriter": "posetrack.video.annotated",
    "open_source": "posetrack.video.reader",
    "draw_poses": "posetrack.video.render",
    "track_colors": "posetrack.video.render",
    "VideoInfo": "posetrack.video.source",
    "VideoSource": "posetrack.video.source",
    "VideoWriter": "posetrack.video.writer",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_attributes(__name__, _EXPORTS)
