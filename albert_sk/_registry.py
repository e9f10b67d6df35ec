"""The estimators, in the one table read before their classes are imported.

Importing an estimator class starts TensorFlow, so what must be known
without it lives here: the module of each class (``import albert_sk``'s lazy
names, the classes a model file may name) and its ``--task`` on the command
line. What an estimator does with its head, labels and inputs is a class
attribute (``_hf_head``, ``_head_labels``, ``_json_records``), read from the
estimator at hand. A leaf: no imports.
"""

# Class name -> (module that defines it, its ``albert-sk --task`` or None).
ESTIMATORS = {
    "AlbertClassifier": ("albert_sk.classifier", "classifier"),
    "AlbertRegressor": ("albert_sk.regressor", "regressor"),
    "AlbertTagger": ("albert_sk.tagger", "tagger"),
    "AlbertQA": ("albert_sk.qa", "qa"),
    "AlbertVectorizer": ("albert_sk.vectorizer", None),
    "AlbertPretrainer": ("albert_sk.pretraining", None),
}

# ``albert-sk --task`` -> the class it fits.
TASKS = {task: name for name, (_, task) in ESTIMATORS.items() if task is not None}


def task_of(estimator):
    """The ``--task`` name of an estimator (None for the vectorizer and the
    pretrainer, which the command line does not fit)."""
    entry = ESTIMATORS.get(type(estimator).__name__)
    return entry[1] if entry else None
