"""sovscan: supply-chain provenance scanner for AI models."""

__version__ = "0.1.0"
