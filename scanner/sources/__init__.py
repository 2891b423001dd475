"""Where the bytes are: local folders (and, later, Hub repos, the HF cache, Python environments)."""
