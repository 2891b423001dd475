"""What loading a file would do, found without loading it: pickle, zip, PyTorch, NumPy, Keras,
chat templates. Readers of bytes; nothing here touches the network or the scan's components."""
