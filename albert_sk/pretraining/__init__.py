"""Pretraining ALBERT on the user's own text, and what serves it alone.

:class:`AlbertPretrainer` (``estimator``) trains a SentencePiece vocabulary
and n-gram MLM + SOP on a corpus; ``corpus`` reads documents from lists,
files and streams, ``masking`` builds sentence-order pairs and n-gram
masks, ``examples`` turns a corpus into seeded batches, and ``loop`` holds
the resumable training loop and its checkpoints.
"""

from albert_sk.pretraining.estimator import AlbertPretrainer

__all__ = ["AlbertPretrainer"]
