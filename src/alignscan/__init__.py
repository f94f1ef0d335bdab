"""alignscan: measure how far a company's executives and practitioners disagree."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alignscan")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
