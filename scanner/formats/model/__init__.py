"""Header-only readers of model files and model-folder metadata (configs, cards, GGUF, …)."""
