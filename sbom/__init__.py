"""sovscan's exporters: CycloneDX (JSON, XML) and its integrity checks."""
