"""ALBERT text models as scikit-learn estimators, on Keras 3.

Estimators are imported lazily, so ``import albert_sk`` and the numpy-only
modules (``albert_sk.io``, ``albert_sk.text``, ``albert_sk.metrics``) do not
start TensorFlow.

The first estimator taken from here (``from albert_sk import
AlbertClassifier``) loads TensorFlow. On a machine without an NVIDIA GPU it
sets ``TF_CPP_MIN_LOG_LEVEL=3`` first, unless the environment already has a
value (``os.environ.setdefault``: the user's own setting wins): TensorFlow's
C++ log would otherwise print ``E0000 ... failed call to cuInit`` there, an
error line about a GPU the machine does not have. Nothing else global changes.
"""

import importlib
import os
import sys

from albert_sk._registry import ESTIMATORS
from albert_sk._version import __version__ as __version__  # re-export

# Name -> the module it is imported from on first use.
_LAZY = {name: module for name, (module, _) in ESTIMATORS.items()}
_LAZY["export_hf"] = "albert_sk.export.hf"

__all__ = sorted([*_LAZY, "load"])


def _quiet_tensorflow_on_cpu():
    """``TF_CPP_MIN_LOG_LEVEL=3`` by default, before TensorFlow loads on a CPU
    machine (see the module description)."""
    if "tensorflow" in sys.modules:
        return  # too late to matter: change nothing
    if any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg")):
        return  # a GPU machine: TensorFlow's notes on its devices are news
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def load(path):
    """Load any albert_sk estimator saved with ``est.save(path)``.

    The file names its estimator class, so the caller need not know it;
    ``AlbertClassifier.load(path)`` does the same and also checks the class.

    Examples
    --------
    With ``clf`` fitted as in the class example of
    :class:`~albert_sk.AlbertClassifier`:

    >>> import os, tempfile
    >>> import albert_sk
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = clf.save(os.path.join(folder, "sentiment.albert"))
    ...     model = albert_sk.load(path)
    >>> type(model).__name__, model.classes_.tolist()
    ('AlbertClassifier', [0, 1])
    """
    _quiet_tensorflow_on_cpu()
    for module, _ in ESTIMATORS.values():
        importlib.import_module(module)  # the class the file names is one
    from albert_sk.base import AlbertEstimator

    return AlbertEstimator.load(path)


def __getattr__(name):
    if name in _LAZY:
        _quiet_tensorflow_on_cpu()
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'albert_sk' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
