"""What loading a file would do, found without loading it: pickle, zip, PyTorch, NumPy, Keras,
chat templates. Readers of bytes; nothing here touches the network or the scan's components.

``dispatch`` decides by content which analyser reads a model file and is what callers use, with
the records of ``load_risk``. Below it: the per-format analysers (``torch_archive``,
``keras_archive``, ``numpy_file``, ``seven_zip``, ``pickle.scan``), the zip reader
(``zip_archive``, ``zip_members``), the ``pickle`` package, and ``builder``.
"""
