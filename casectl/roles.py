"""The roles an agent can hold [seed 002]: the one list the command line,
casectl.yaml's schema and (later) the permission table use."""

from __future__ import annotations

ROLES = ("receiver", "handler", "admin", "permission-admin", "auditor")
