"""The ``posetrack`` command line (click): one module per subcommand, registered in ``commands``."""
