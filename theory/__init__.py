"""raft-verify: the claims of 'Run Away From your Teacher' (Shi et al.), checked."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("raft-verify")
except PackageNotFoundError:
    __version__ = "unknown (not installed)"
