"""Ground floor: the data model, errors, settings, ids, property names and capped I/O.

Everything else imports from here; nothing here imports another sovscan package."""
