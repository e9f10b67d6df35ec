"""The fine-tuned head of a Hugging Face checkpoint, imported into an
estimator's head layer when ``preset`` names such a checkpoint.

Which rows of the checkpoint's head are which of our labels
(:func:`head_labels`, ``id2label``), and the copy itself
(:func:`import_head`); :mod:`albert_sk.export.hf` writes the same heads. numpy
and safetensors: the weights are assigned to Keras variables that exist.
"""

import json
import os
import warnings

import numpy as np

from albert_sk.backbones import WEIGHTS_FILE
from albert_sk.exceptions import user_stacklevel


def head_labels(estimator):
    """The label of each row of the estimator's head, or None (regressor, QA).

    A tagger's head follows ``labels_`` (the tags the model learns), not
    ``classes_`` (the tags in the user's scheme).
    """
    name = estimator._head_labels
    return None if name is None else getattr(estimator, name, None)


def _head_rows(config, classes):
    """Row order of a Hugging Face head for our ``classes``, or None if unknown."""
    id2label = config.get("id2label") or {}
    labels = [id2label.get(str(i), id2label.get(i)) for i in range(len(id2label))]
    # A BIOES/BMES tagger's export names its rows in IOB2 and keeps the tags
    # it learned under "albert_sk_labels" (albert_sk.export.hf).
    labels = config.get("albert_sk_labels") or labels
    if classes is None:
        return list(range(len(labels))) if labels else None
    ours = [str(c) for c in np.asarray(classes).tolist()]
    if len(labels) != len(ours):
        return None
    if sorted(labels) == sorted(ours):
        where = {label: i for i, label in enumerate(labels)}
        return [where[c] for c in ours]
    if all(label == f"LABEL_{i}" for i, label in enumerate(labels)):
        return list(range(len(labels)))
    return None


def import_head(estimator, path):
    """Copy a fine-tuned Hugging Face head from ``path`` into ``estimator.model_``.

    ``classifier.*`` (sequence or token classification) goes to the
    classifier's, regressor's or tagger's output layer when the number of
    labels matches and ``id2label`` names the same classes (reordered to
    ``classes_``, a tagger's to ``labels_``, or ``LABEL_i`` in order; a
    regressor's head is read in target units, as :func:`export_hf` writes
    it, and rescaled to the model's standardised targets); ``qa_outputs.*`` goes to
    ``AlbertQA``'s span layer. Returns the Hugging Face names imported; a head
    that does not fit is left out with a warning and trained from scratch.
    """
    from safetensors import safe_open

    if estimator._hf_head is None:
        return []
    name = type(estimator).__name__  # for the messages
    layer_name, hf_name, _ = estimator._hf_head
    path = os.fspath(path)
    files = [os.path.join(path, WEIGHTS_FILE)]
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as fh:
            weight_map = json.load(fh)["weight_map"]
        files = sorted({os.path.join(path, f) for k, f in weight_map.items()})
    tensors = {}
    for file in files:
        with safe_open(file, framework="np") as fh:
            for key in fh.keys():
                if key in (f"{hf_name}.weight", f"{hf_name}.bias"):
                    tensors[key] = fh.get_tensor(key)
    if len(tensors) < 2:
        return []
    with open(os.path.join(path, "config.json"), encoding="utf-8") as fh:
        config = json.load(fh)
    layer = estimator.model_.get_layer(layer_name)
    weight, bias = tensors[f"{hf_name}.weight"], tensors[f"{hf_name}.bias"]
    kernel_shape = tuple(layer.kernel.shape)
    classes = head_labels(estimator)
    rows = _head_rows(config, classes) if classes is not None else None
    if classes is None:
        rows = list(range(weight.shape[0]))
    if rows is None or weight.shape[::-1] != kernel_shape:
        warnings.warn(
            f"The {hf_name!r} head in {path!r} ({weight.shape[0]} outputs, labels "
            f"{list((config.get('id2label') or {}).values())}) does not match this "
            f"{name} (kernel {kernel_shape}); it is trained from scratch.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return []
    weight, bias = weight[rows], bias[rows]
    if hasattr(estimator, "y_scale_"):  # targets in their units -> our z-scores
        scale = np.asarray(estimator.y_scale_, dtype=np.float64)
        mean = np.asarray(estimator.y_mean_, dtype=np.float64)
        weight = (weight / scale[:, None]).astype(np.float32)
        bias = ((bias - mean) / scale).astype(np.float32)
    layer.kernel.assign(weight.T)
    layer.bias.assign(bias)
    return sorted(tensors)
