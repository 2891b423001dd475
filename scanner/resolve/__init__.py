"""The network: the Hugging Face Hub client (``hub``) and the Python package index."""
