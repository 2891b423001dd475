"""Discovery: turn a target (local folder, Hub repo, HF cache, Python project or environment)
into an inventory of components, relations and issues, using the readers and the network below."""
