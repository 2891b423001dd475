"""The Hugging Face Hub: its wire types, client and the on-disk cache of its answers."""
