"""Readers of bytes: header-only parsers for model files (``model``) and Python dependency
manifests and lockfiles (``python``). They read metadata, never tensors, and never execute."""
