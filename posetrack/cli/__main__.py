"""``python -m posetrack.cli`` runs the ``posetrack`` command."""

from posetrack.cli.main import main

main()
