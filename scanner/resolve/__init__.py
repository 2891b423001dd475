"""The network: one HTTP layer (``http``) under the Hugging Face Hub client (``hub``) and the
Python package index client (``package_index``)."""
