"""Task metrics and their scikit-learn scorers (numpy only, no Keras).

* entity-level F1 in the strict IOB2 sense (``AlbertTagger``);
* SQuAD exact match and F1 (``AlbertQA``).
"""
