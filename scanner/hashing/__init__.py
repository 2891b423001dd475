"""SHA-256 of every file, streaming and in parallel, with an on-disk cache keyed by file stat."""
