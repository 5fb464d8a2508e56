"""The command line: the only place that knows about Click."""

from .main import cli, main

__all__ = ["cli", "main"]
