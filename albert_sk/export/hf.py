"""Hugging Face ALBERT checkpoints: export any albert_sk model, import fine-tuned heads.

The weight names and layouts are those of ``transformers``' ALBERT
(``AlbertModel``, ``AlbertForSequenceClassification``, ...), the inverse of
``keras_hub/src/utils/transformers/convert_albert.py``; a directory written by
:func:`export_hf` loads in ``transformers`` and in keras-hub
(``AlbertBackbone.from_preset(dir)``), and every albert_sk estimator accepts it
as ``preset=dir``.
"""

import json
import os
import warnings

import keras
import numpy as np

from albert_sk import backbones
from albert_sk._files import write_directory
from albert_sk._version import __version__
from albert_sk.align import to_iob2
from albert_sk.backbones import WEIGHTS_FILE
from albert_sk.efficiency import find_backbone
from albert_sk.exceptions import (
    ExportWarning,
    InputError,
    NotFittedError,
    user_stacklevel,
)
from albert_sk.pretrained_heads import head_labels


def _numpy(variable):
    return np.ascontiguousarray(keras.ops.convert_to_numpy(variable), dtype=np.float32)


def _dense(layer, name, out):
    """A Keras kernel ``(in, out)`` as a torch ``Linear`` weight ``(out, in)``."""
    kernel = _numpy(layer.kernel)
    out[f"{name}.weight"] = np.ascontiguousarray(kernel.reshape(-1, kernel.shape[-1]).T)
    out[f"{name}.bias"] = _numpy(layer.bias).reshape(-1)


def _norm(layer, name, out):
    out[f"{name}.weight"] = _numpy(layer.gamma)
    out[f"{name}.bias"] = _numpy(layer.beta)


# keras-hub attributes that are not public API, read to export and import
# weights: layer class -> attribute names. tests/test_hf.py checks them on the
# installed keras-hub, and every export checks them before it reads any.
KERAS_HUB_INTERNALS = {
    "TransformerEncoder": (
        "_self_attention_layer",
        "_self_attention_layer_norm",
        "_feedforward_intermediate_dense",
        "_feedforward_output_dense",
        "_feedforward_layer_norm",
    ),
    "MaskedLMHead": ("_intermediate_dense", "_intermediate_layer_norm", "_bias"),
}
_ATTENTION_PARTS = ("query_dense", "key_dense", "value_dense", "output_dense")


def check_keras_hub_internals(layer):
    """Fail loudly, with the fix, when ``layer`` lacks a private attribute we read.

    ``layer`` is a built keras-hub ``TransformerEncoder`` or ``MaskedLMHead``.
    """
    import keras_hub

    kind = type(layer).__name__
    missing = [a for a in KERAS_HUB_INTERNALS[kind] if not hasattr(layer, a)]
    attention = getattr(layer, "_self_attention_layer", None)
    if kind == "TransformerEncoder" and attention is not None:
        missing += [
            f"_self_attention_layer.{a}"
            for a in _ATTENTION_PARTS
            if not hasattr(attention, a)
        ]
    if missing:
        raise RuntimeError(
            f"keras-hub {keras_hub.__version__} moved the {kind} attributes "
            f"{missing} that albert_sk.export.hf reads to convert weights to and "
            "from Hugging Face names. Install the keras-hub version range that "
            "albert_sk's pyproject.toml names, or update albert_sk/export/hf.py "
            "(KERAS_HUB_INTERNALS) to the new layout."
        )


def backbone_weights(backbone, prefix="albert."):
    """The ``AlbertBackbone``'s weights under Hugging Face ALBERT names."""
    out = {}
    emb = f"{prefix}embeddings."
    out[f"{emb}word_embeddings.weight"] = _numpy(backbone.token_embedding.embeddings)
    out[f"{emb}position_embeddings.weight"] = _numpy(
        backbone.position_embedding.position_embeddings
    )
    out[f"{emb}token_type_embeddings.weight"] = _numpy(
        backbone.segment_embedding.embeddings
    )
    _norm(backbone.embeddings_layer_norm, f"{emb}LayerNorm", out)
    _dense(
        backbone.embeddings_projection,
        f"{prefix}encoder.embedding_hidden_mapping_in",
        out,
    )
    hidden = backbone.hidden_dim
    for g in range(backbone.num_groups):
        for i in range(backbone.num_inner_repetitions):
            layer = backbone.get_layer(f"group_{g}_inner_layer_{i}")
            name = f"{prefix}encoder.albert_layer_groups.{g}.albert_layers.{i}."
            check_keras_hub_internals(layer)
            attention = layer._self_attention_layer
            for part in ("query", "key", "value"):
                dense = getattr(attention, f"{part}_dense")
                kernel = _numpy(dense.kernel).reshape(hidden, hidden)
                out[f"{name}attention.{part}.weight"] = np.ascontiguousarray(kernel.T)
                out[f"{name}attention.{part}.bias"] = _numpy(dense.bias).reshape(-1)
            kernel = _numpy(attention.output_dense.kernel).reshape(hidden, hidden)
            out[f"{name}attention.dense.weight"] = np.ascontiguousarray(kernel.T)
            out[f"{name}attention.dense.bias"] = _numpy(attention.output_dense.bias)
            _norm(layer._self_attention_layer_norm, f"{name}attention.LayerNorm", out)
            _dense(layer._feedforward_intermediate_dense, f"{name}ffn", out)
            _dense(layer._feedforward_output_dense, f"{name}ffn_output", out)
            _norm(layer._feedforward_layer_norm, f"{name}full_layer_layer_norm", out)
    _dense(backbone.pooled_dense, f"{prefix}pooler", out)
    return out


def hf_config(backbone, tokenizer, architecture="AlbertModel", **extra):
    """A ``transformers`` ``AlbertConfig`` (as a dict) for ``backbone``."""
    config = {
        "architectures": [architecture],
        "model_type": "albert",
        "vocab_size": backbone.vocabulary_size,
        "embedding_size": backbone.embedding_dim,
        "hidden_size": backbone.hidden_dim,
        "num_hidden_layers": backbone.num_layers,
        "num_hidden_groups": backbone.num_groups,
        "inner_group_num": backbone.num_inner_repetitions,
        "num_attention_heads": backbone.num_heads,
        "intermediate_size": backbone.intermediate_dim,
        "hidden_act": "gelu_new",
        "hidden_dropout_prob": backbone.dropout,
        "attention_probs_dropout_prob": backbone.dropout,
        "classifier_dropout_prob": 0.1,
        "max_position_embeddings": backbone.max_sequence_length,
        "type_vocab_size": backbone.num_segments,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "position_embedding_type": "absolute",
        "pad_token_id": tokenizer.pad_id,
        "bos_token_id": tokenizer.cls_id,
        "eos_token_id": tokenizer.sep_id,
        "torch_dtype": "float32",
        "albert_sk_version": __version__,
    }
    config.update(extra)
    return config


# The special tokens of a SentencePiece (ALBERT) vocabulary, as transformers
# names them.
_SENTENCEPIECE_SPECIAL = {
    "bos_token": "[CLS]",
    "eos_token": "[SEP]",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "[MASK]",
}
WORDPIECE_SPECIAL = {
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "unk_token": "[UNK]",
    "pad_token": "[PAD]",
    "mask_token": "[MASK]",
}


def tokenizer_config(tokenizer, max_length):
    """``tokenizer_config.json`` of ``transformers``' ``AlbertTokenizer``, or of
    its ``BertTokenizer`` for a WordPiece ``vocab.txt`` (the published Chinese
    ALBERT checkpoints' form)."""
    if tokenizer.FILE == "vocab.txt":
        return {
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": tokenizer.lowercase,
            "strip_accents": tokenizer.strip_accents,
            "tokenize_chinese_chars": True,
            "model_max_length": max_length,
            "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
            **WORDPIECE_SPECIAL,
        }
    return {
        "tokenizer_class": "AlbertTokenizer",
        "do_lower_case": tokenizer.lowercase,
        "keep_accents": not tokenizer.strip_accents,
        "remove_space": True,
        "model_max_length": max_length,
        # transformers 5's AlbertTokenizer leaves token_type_ids out by default;
        # the model needs them for text pairs (questions and contexts).
        "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
        **_SENTENCEPIECE_SPECIAL,
    }


def _labels_config(estimator):
    classes = head_labels(estimator)
    if classes is None:
        return {}
    learned = [str(c) for c in np.asarray(classes).tolist()]
    names, extra = learned, {}
    scheme = getattr(estimator, "tag_scheme_", None)
    if scheme in ("BIOES", "BMES"):
        # transformers' pipelines group entities by B-/I- names only: a tagger
        # that learned where entities end is exported with IOB2 names (S-X as
        # B-X; M-X and E-X as I-X), which they group into the same entities;
        # the tags it learned stay in "albert_sk_labels" for albert_sk to read.
        names = [to_iob2([name], scheme)[0] for name in learned]
        extra = {"albert_sk_labels": learned}
    label2id = {}
    for i, name in enumerate(names):
        label2id.setdefault(name, i)
    return {
        "id2label": {str(i): name for i, name in enumerate(names)},
        "label2id": label2id,
        **extra,
    }


def _parts(source):
    """(backbone, tokenizer, head weights, config extras) of what is exported."""
    name = type(source).__name__
    if isinstance(source, (str, os.PathLike)):
        backbone, tokenizer = backbones.from_preset(
            os.fspath(source), dtype=None, max_length=8
        )
        return backbone, tokenizer, {}, {}
    if not hasattr(source, "get_params"):
        raise InputError(
            "export_hf expects a fitted albert_sk estimator or a preset (name or "
            f"directory), but got {name}."
        )
    if not hasattr(source, "model_"):
        raise NotFittedError(
            f"This {name} instance is not fitted yet; fit it before export_hf."
        )
    from albert_sk.pretraining import AlbertPretrainer

    if isinstance(source, AlbertPretrainer):
        return source.backbone_, source.tokenizer_, *_pretraining_head(source)
    lost = source._export_loss()
    if lost:
        warnings.warn(lost, ExportWarning, stacklevel=user_stacklevel())
    backbone = find_backbone(source.model_)
    heads, extra = {}, {}
    head = source._hf_head
    if head is not None and source._mean_pooled():
        raise InputError(
            f"export_hf writes {head[2]}, whose head reads the [CLS] "
            f"pooler, but this {name} pools the mean of its token vectors "
            "(pooling='mean', the from-scratch default). Refit it with "
            "pooling='cls' to export it."
        )
    if head is not None:
        layer_name, hf_name, architecture = head
        layer = source.model_.get_layer(layer_name)
        _dense(layer, hf_name, heads)
        extra = {"architectures": [architecture], **_labels_config(source)}
        extra["num_labels"] = int(heads[f"{hf_name}.bias"].shape[0])
        problem = source._hf_problem_type()
        if problem is not None:
            extra["problem_type"] = problem
        if problem == "regression":
            _to_target_units(source, heads, hf_name)
    return backbone, source.tokenizer_, heads, extra


def _to_target_units(regressor, heads, hf_name):
    """Fold the regressor's target standardisation into its exported head.

    The model predicts z-scores; ``predict`` maps them back with
    ``y * y_scale_ + y_mean_``. The exported head does that itself, so
    ``AlbertForSequenceClassification`` outputs targets in their own units.
    """
    scale = np.asarray(regressor.y_scale_, dtype=np.float64)
    mean = np.asarray(regressor.y_mean_, dtype=np.float64)
    weight, bias = heads[f"{hf_name}.weight"], heads[f"{hf_name}.bias"]
    heads[f"{hf_name}.weight"] = (weight * scale[:, None]).astype(np.float32)
    heads[f"{hf_name}.bias"] = (bias * scale + mean).astype(np.float32)


def _pretraining_head(pretrainer):
    """MLM head (``predictions.*``) and SOP head of an ``AlbertPretrainer``."""
    head = pretrainer.model_.get_layer("mlm_head")
    check_keras_hub_internals(head)
    out = {}
    _dense(head._intermediate_dense, "predictions.dense", out)
    _norm(head._intermediate_layer_norm, "predictions.LayerNorm", out)
    bias = _numpy(head._bias)
    out["predictions.bias"] = bias
    out["predictions.decoder.bias"] = bias.copy()
    out["predictions.decoder.weight"] = _numpy(
        pretrainer.backbone_.token_embedding.embeddings
    )
    architecture = "AlbertForMaskedLM"
    if pretrainer.sop:
        _dense(pretrainer.model_.get_layer("sop"), "sop_classifier.classifier", out)
        architecture = "AlbertForPreTraining"
    return out, {"architectures": [architecture]}


def export_hf(estimator_or_preset, path):
    """Write a Hugging Face ALBERT checkpoint directory.

    Parameters
    ----------
    estimator_or_preset : fitted albert_sk estimator, or preset name / directory
        The backbone is always written. A fitted ``AlbertClassifier`` or
        ``AlbertRegressor`` adds its head as ``AlbertForSequenceClassification``
        (``classifier.*``, with ``id2label``/``label2id``; a regressor's head
        outputs targets in their own units), an ``AlbertTagger`` as
        ``AlbertForTokenClassification`` (``id2label`` are its ``labels_``;
        a BIOES or BMES tagger's in IOB2 names, ``S-X`` as ``B-X`` and
        ``M-X``/``E-X`` as ``I-X``, which transformers' pipelines group into
        entities, with its own tags under ``albert_sk_labels``; the
        transitions ``predict`` decodes with are not exported: a tagger
        trained as a CRF, the default from scratch, warns with an
        :class:`~albert_sk.exceptions.ExportWarning`), an
        ``AlbertQA`` as
        ``AlbertForQuestionAnswering`` (``qa_outputs.*``), an
        ``AlbertPretrainer`` its MLM and SOP heads as ``AlbertForPreTraining``.
    path : str or path
        Directory to write (created; its parent must exist). The files are
        written to a temporary sibling folder and moved in at the end.

    Returns
    -------
    path : str
        The directory, holding ``config.json``, ``model.safetensors``,
        ``spiece.model``, ``tokenizer_config.json`` and
        ``special_tokens_map.json``.

    Examples
    --------
    >>> import tempfile, keras_hub
    >>> from albert_sk import AlbertClassifier, export_hf
    >>> from albert_sk.io import load_sentiment_sentences
    >>> reviews = load_sentiment_sentences()
    >>> short = reviews[reviews.text.str.len() <= 60].iloc[:120]
    >>> clf = AlbertClassifier(backbone="tiny", vocab_size=300, max_length=64,
    ...                        epochs=15, pooling="cls", random_state=0)
    >>> clf = clf.fit(short.text, short.label)
    >>> out = export_hf(clf, tempfile.mkdtemp() + "/hf")
    >>> keras_hub.models.AlbertBackbone.from_preset(out).num_layers
    2
    """
    from safetensors.numpy import save_file

    backbone, tokenizer, heads, extra = _parts(estimator_or_preset)
    tensors = backbone_weights(backbone)
    tensors.update(heads)
    architecture = extra.pop("architectures", ["AlbertModel"])[0]
    config = hf_config(backbone, tokenizer, architecture, **extra)
    special = dict(_SENTENCEPIECE_SPECIAL)
    if tokenizer.FILE == "vocab.txt":
        special = dict(WORDPIECE_SPECIAL)

    def write(folder):
        save_file(
            tensors, os.path.join(folder, WEIGHTS_FILE), metadata={"format": "pt"}
        )
        for name, content in (
            ("config.json", config),
            (
                "tokenizer_config.json",
                tokenizer_config(tokenizer, backbone.max_sequence_length),
            ),
            ("special_tokens_map.json", special),
        ):
            with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
                json.dump(content, fh, indent=2)
        with open(os.path.join(folder, tokenizer.FILE), "wb") as fh:
            fh.write(tokenizer.proto)  # spiece.model, or a WordPiece vocab.txt

    return write_directory(path, write, marker="config.json")
