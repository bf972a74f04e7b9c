"""What the run report costs: the same run with and without it, and the seconds to render it.

A synthetic video (textured walkers who cross, leave and come back) goes through the real loop:
PyAV decode, DIS flow, OKS tracking and the result files, with the scene's ground-truth boxes and
poses standing in for the detector and the pose network (the report's cost does not depend on
them, and this keeps a 1,000-frame run to a minute on a CPU). Each setting runs ``--repeat``
times, alternating, and the best frames/s of each is kept. The recorder (the report's only work
during the run) is then timed alone on the same results.

    python benchmarks/report_cost.py --frames 1000

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from posetrack import Pipeline, load_config
from posetrack.report.data import RunRecorder
from posetrack.runner import process_video
from posetrack.synthetic import (
    FlakyDetector,
    OraclePoseEstimator,
    SyntheticScene,
    write_video,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--people", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    scene = SyntheticScene.random(seed=7, num_people=args.people, num_frames=args.frames)
    frames = scene.frames()
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video([f.image for f in frames], Path(tmp) / "walkers.mp4")
        runs: dict[bool, list] = {False: [], True: []}
        for i in range(args.repeat):
            for report in (False, True):
                config = load_config("default", {"device": "cpu", "output.render": False, "output.report": report})
                pipeline = Pipeline.from_config(config, detector=FlakyDetector(frames, miss_rate=0.1, seed=1),
                                                pose=OraclePoseEstimator(frames))
                t0 = time.perf_counter()
                summary = process_video(pipeline, video, Path(tmp) / f"out{i}{report}", progress=False)
                total = time.perf_counter() - t0
                runs[report].append((summary, total))
        best = {k: max(v, key=lambda r: r[0].fps) for k, v in runs.items()}
        # The recorder alone, on the same results (frames kept in memory): its cost per frame.
        pipeline = Pipeline.from_config(load_config("default", {"device": "cpu"}),
                                        detector=FlakyDetector(frames, miss_rate=0.1, seed=1),
                                        pose=OraclePoseEstimator(frames))
        results = list(pipeline.run(video, keep_images=True))
        recorder = RunRecorder(pipeline.pose.layout, pipeline.times.seconds)
        t0 = time.perf_counter()
        for result in results:
            recorder.add(result)
        recorder.key_frames()
        recorder_ms = (time.perf_counter() - t0) * 1000 / len(results)
        with_report = best[True][0]
        size = with_report.outputs["report"].stat().st_size
        print(json.dumps({
            "frames": args.frames,
            "size": f"{scene.width}x{scene.height}",
            "tracks": with_report.tracks,
            "fps_without_report": round(best[False][0].fps, 1),
            "fps_with_report": round(with_report.fps, 1),
            "fps_runs_without": [round(s.fps, 1) for s, _ in runs[False]],
            "fps_runs_with": [round(s.fps, 1) for s, _ in runs[True]],
            "recorder_ms_per_frame": round(recorder_ms, 3),
            "report_render_seconds": [round(s.report_seconds, 2) for s, _ in runs[True]],
            "report_kib": round(size / 1024),
            "total_seconds_without": round(best[False][1], 2),
            "total_seconds_with": round(best[True][1], 2),
        }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
