"""Header-only readers for model file formats: they read metadata, never tensors."""
