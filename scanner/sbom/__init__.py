"""Exporters: CycloneDX (JSON, XML), SARIF, Markdown and the terminal summary of a ScanResult."""
