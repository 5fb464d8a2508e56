"""casectl: an IT service desk's cases as YAML files in git."""

__version__ = "0.4.0"
