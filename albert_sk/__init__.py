"""ALBERT text models as scikit-learn estimators, on Keras 3.

Estimators are imported lazily, so ``import albert_sk`` and the numpy-only
modules (``albert_sk.io``, ``albert_sk.text``, ``albert_sk.metrics``) do not
start TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "AlbertClassifier": "albert_sk.classifier",
    "AlbertRegressor": "albert_sk.regressor",
    "AlbertVectorizer": "albert_sk.vectorizer",
    "AlbertTagger": "albert_sk.tagger",
    "AlbertQA": "albert_sk.qa",
    "AlbertPretrainer": "albert_sk.pretraining",
    "load": "albert_sk.base",
    "export_hf": "albert_sk.hf",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'albert_sk' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
