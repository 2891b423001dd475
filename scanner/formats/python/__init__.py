"""Readers of Python manifests and lockfiles; each returns a ``DependencyDocument``."""
