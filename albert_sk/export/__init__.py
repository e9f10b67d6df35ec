"""Writing a fitted model in other libraries' formats.

- :mod:`albert_sk.export.hf`: Hugging Face ALBERT checkpoints (``export_hf``,
  and the weight and config conversions ``preset=`` reads back); a leaf that
  nothing in the core imports.
- :mod:`albert_sk.export.savedmodel`: a TensorFlow SavedModel with the
  tokenizer inside (``AlbertClassifier.export_serving``).

Importing this package imports neither: each module loads its libraries
(Keras, TensorFlow, ``tensorflow_text``) when imported itself.
"""
