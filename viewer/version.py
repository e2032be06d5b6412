"""RadSight's version (kept equal to pyproject.toml's; a test checks it). Not for diagnostic use."""

VERSION = "0.1.0"
