"""The ``socialpulse`` command line: the composition root where objects are built."""

from socialpulse.cli.main import app

__all__ = ["app"]
