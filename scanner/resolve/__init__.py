"""Resolution against upstream services: the Hub client, its cache and retry policy."""
