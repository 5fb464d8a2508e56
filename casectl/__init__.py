"""casectl: an IT service desk's cases as YAML files in git."""

__version__ = "0.5.0"
