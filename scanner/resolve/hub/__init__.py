"""The Hugging Face Hub: its records (``types``), wire protocol (``api``), client, the on-disk
cache of its answers, and a seekable file over range reads (``ranged_file``)."""
