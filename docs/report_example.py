"""The synthetic run whose report is docs/report.png (ground-truth boxes and poses, 150 frames).

    PYTHONPATH=. python docs/report_example.py /tmp/example
    chromium --headless --no-sandbox --hide-scrollbars --window-size=1280,2000 \\
        --screenshot=report.png file:///tmp/example/out/walkers.report.html

The PNG in docs/ was then reduced to 128 colours (PIL ``quantize``) to stay small.
"""

import os
import sys
from pathlib import Path

import cv2

from posetrack import Pipeline, load_config
from posetrack.runner import process_video
from posetrack.synthetic import FlakyDetector, OraclePoseEstimator, SyntheticScene

root = Path(sys.argv[1])
root.mkdir(parents=True, exist_ok=True)
os.chdir(root)
frames = SyntheticScene.random(seed=3, num_people=5, num_frames=150).frames()
folder = Path("walkers")
folder.mkdir(exist_ok=True)
for f in frames:  # lossless frames, so the oracle finds each one's ground truth
    cv2.imwrite(str(folder / f"{f.index:06d}.png"), cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR))
config = load_config("default", {"device": "cpu", "output.render": False, "detector.name": "none",
                                 "pose.weights": None})
pipeline = Pipeline.from_config(config, detector=FlakyDetector(frames, miss_rate=0.2, seed=1),
                                pose=OraclePoseEstimator(frames))
print(process_video(pipeline, folder, "out", overwrite=True, progress=False).line())
