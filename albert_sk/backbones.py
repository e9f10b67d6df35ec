"""Resolve ``preset`` / ``backbone`` into a keras-hub ``AlbertBackbone`` + tokenizer.

Three sources, one result ``(backbone, tokenizer)``:

* ``preset=None``: a randomly initialised ALBERT of a named size (or a dict of
  ``AlbertBackbone`` arguments) and a SentencePiece vocabulary trained on the
  ``fit`` texts;
* a keras-hub preset name or a local keras-hub preset directory;
* a local Hugging Face ALBERT checkpoint directory (``config.json`` with
  ``model_type: albert``, ``model.safetensors``, ``spiece.model``), converted
  by keras-hub's transformers loader; a checkpoint with a BERT WordPiece
  ``vocab.txt`` instead of ``spiece.model`` (the published Chinese ALBERTs)
  gets a :class:`~albert_sk.wordpiece.WordPieceTokenizer`;
* a local Hugging Face BERT checkpoint (``model_type: bert``): BERT is an
  ALBERT without cross-layer sharing whose embedding size is the hidden size
  (Lan et al. 2020, the "not-shared" rows), so its weights are renamed into an
  ``AlbertBackbone(num_groups=num_layers, embedding_dim=hidden_dim)`` with the
  embedding projection set to the identity. Its WordPiece vocabulary comes
  from ``vocab.txt`` or, when there is none, ``tokenizer.json``.
"""

import hashlib
import json
import os
import warnings

import numpy as np

from albert_sk._files import atomic_directory
from albert_sk.exceptions import ActivationWarning, InputError, user_stacklevel
from albert_sk.text import Tokenizer, train_sentencepiece
from albert_sk.wordpiece import (
    WordPieceTokenizer,
    has_wordpiece_vocab,
    read_tokenizer_json,
    wordpiece_file,
)

SIZES = {
    # Two layers, 64 wide: whole fits in seconds, for tests and smoke runs.
    "tiny": dict(
        num_layers=2, num_heads=2, embedding_dim=32, hidden_dim=64, intermediate_dim=128
    ),
    # Four layers, 256 wide: the size that trains from scratch on a laptop.
    "small": dict(
        num_layers=4,
        num_heads=4,
        embedding_dim=128,
        hidden_dim=256,
        intermediate_dim=1024,
    ),
    # ALBERT-base shapes (12 shared layers, 768 wide, 128-d embeddings).
    "base": dict(
        num_layers=12,
        num_heads=12,
        embedding_dim=128,
        hidden_dim=768,
        intermediate_dim=3072,
    ),
}

# Written into presets saved by albert_sk, read back when loading them.
NORMALIZATION_FILE = "albert_sk.json"
WEIGHTS_FILE = "model.safetensors"
_BACKBONE_KEYS = {
    "num_layers",
    "num_heads",
    "embedding_dim",
    "hidden_dim",
    "intermediate_dim",
    "num_groups",
    "num_inner_repetitions",
    "dropout",
    "max_sequence_length",
    "num_segments",
}


def configure_devices():
    """Let several processes share one GPU: grow GPU memory on demand (TensorFlow)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised: the setting is fixed by now
            pass


def has_accelerator():
    """True when Keras' backend sees a GPU or TPU."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() in ("gpu", "tpu")
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def backbone_config(backbone, *, vocab_size, max_length, dropout):
    """``AlbertBackbone`` arguments for a named size or a dict of arguments."""
    if isinstance(backbone, str):
        config = dict(SIZES[backbone], dropout=dropout)
    else:
        unknown = sorted(set(backbone) - _BACKBONE_KEYS)
        if unknown:
            raise InputError(
                f"backbone has unknown keys {unknown}. Expected keras_hub "
                f"AlbertBackbone arguments among {sorted(_BACKBONE_KEYS)} "
                "(vocabulary_size comes from the trained vocabulary)."
            )
        config = dict(SIZES["small"], dropout=dropout)
        config.update(backbone)
    config.setdefault("max_sequence_length", max_length)
    if config["max_sequence_length"] < max_length:
        raise InputError(
            f"backbone max_sequence_length={config['max_sequence_length']} is "
            f"shorter than max_length={max_length}. Lower max_length or raise "
            "max_sequence_length."
        )
    config["vocabulary_size"] = vocab_size
    return config


def scratch_learning_rate(backbone, table):
    """The from-scratch rate of ``table`` for a named size or a dict backbone."""
    config = backbone if isinstance(backbone, dict) else {}
    size = backbone if isinstance(backbone, str) else "small"
    hidden = config.get("hidden_dim", SIZES[size]["hidden_dim"])
    for width, rate in table:
        if hidden <= width:
            return rate
    return table[-1][1]


def from_scratch(
    texts, *, backbone, vocab_size, max_length, dropout, dtype, seed, lowercase=True
):
    """A random ALBERT and a vocabulary trained on ``texts``.

    ``lowercase=False`` keeps case and accents (a cased vocabulary).
    """
    import keras_hub

    tokenizer = train_sentencepiece(
        texts, vocab_size, lowercase=lowercase, strip_accents=lowercase, seed=seed
    )
    config = backbone_config(
        backbone,
        vocab_size=tokenizer.vocab_size,
        max_length=max_length,
        dropout=dropout,
    )
    return keras_hub.models.AlbertBackbone(**config, dtype=dtype), tokenizer


def is_hf_checkpoint(path):
    """A directory whose ``config.json`` is a Hugging Face config."""
    config = os.path.join(path, "config.json")
    if not os.path.isfile(config):
        return False
    with open(config, encoding="utf-8") as fh:
        return "model_type" in json.load(fh)


# Hugging Face model types albert_sk loads: ALBERT, and BERT as an unshared ALBERT.
HF_MODEL_TYPES = ("albert", "bert")


def _hf_config(path):
    with open(os.path.join(path, "config.json"), encoding="utf-8") as fh:
        return json.load(fh)


def _normalization(preset):
    """How the preset's vocabulary expects text: (lowercase, strip_accents)."""
    if os.path.isdir(preset):
        ours = os.path.join(preset, NORMALIZATION_FILE)
        if os.path.isfile(ours):
            with open(ours, encoding="utf-8") as fh:
                saved = json.load(fh)
            return saved["lowercase"], saved["strip_accents"]
        hf = os.path.join(preset, "tokenizer_config.json")
        if os.path.isfile(hf):
            with open(hf, encoding="utf-8") as fh:
                config = json.load(fh)
            lower = config.get("do_lower_case", True)
            return lower, not config.get("keep_accents", False)
    name = os.path.basename(os.path.normpath(str(preset))).lower()
    cased = "cased" in name and "uncased" not in name
    return not cased, not cased


def _check_preset_dir(preset):
    if is_hf_checkpoint(preset):
        model_type = _hf_config(preset)["model_type"]
        if model_type not in HF_MODEL_TYPES:
            raise InputError(
                f"preset={preset!r} is a Hugging Face '{model_type}' checkpoint; "
                "albert_sk needs model_type 'albert' (or 'bert', loaded as an "
                "ALBERT without cross-layer sharing)."
            )
        if has_wordpiece_vocab(preset):
            needed = []
        else:
            needed = ["spiece.model"] if model_type == "albert" else ["vocab.txt"]
        if not any(
            os.path.isfile(os.path.join(preset, f))
            for f in ("model.safetensors", "model.safetensors.index.json")
        ):
            _refuse_pickled_weights(preset)
            needed.append("model.safetensors")
    else:
        needed = ["config.json", "tokenizer.json", "model.weights.h5"]
    missing = [f for f in needed if not os.path.exists(os.path.join(preset, f))]
    if missing:
        raise InputError(
            f"preset directory {preset!r} is missing {missing}. Expected a keras-hub "
            "preset (config.json, tokenizer.json, model.weights.h5, "
            "assets/tokenizer/vocabulary.spm; write one with save_to_preset) or a "
            "Hugging Face ALBERT checkpoint (config.json, model.safetensors, "
            "spiece.model or a WordPiece vocab.txt) or BERT checkpoint "
            "(config.json, model.safetensors, vocab.txt or a WordPiece "
            "tokenizer.json)."
        )


PICKLED_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def _refuse_pickled_weights(preset):
    """A checkpoint whose weights are only a pickled ``pytorch_model.bin``."""
    found = [f for f in PICKLED_WEIGHTS if os.path.isfile(os.path.join(preset, f))]
    if found:
        raise InputError(
            f"preset={preset!r} holds its weights in {found[0]}, a pickle, which "
            "albert_sk does not load (unpickling can run any code); expected "
            "model.safetensors. Convert it once where you trust the file: "
            "transformers.AutoModel.from_pretrained(path).save_pretrained(path, "
            "safe_serialization=True) writes model.safetensors beside it."
        )


# Hugging Face ``hidden_act`` values keras-hub's ALBERT computes: its encoder
# always uses the tanh approximation of GELU.
TANH_GELU = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")
EXACT_GELU = ("gelu", "gelu_python")
# Measured against transformers' BertModel (docs/portability.md).
BERT_GELU_FIGURE = (
    "on all-MiniLM-L6-v2, a trained 6-layer BERT, hidden states differ from "
    "transformers' by at most 4e-3 (mean 4e-4, for states of mean size 0.3) and "
    "mean-pooled sentence embeddings keep a cosine similarity above 0.99999"
)


def check_activation(config, preset):
    """Warn or refuse when ``hidden_act`` is not what keras-hub computes.

    keras-hub's ``AlbertBackbone`` has no activation argument: it always
    computes the tanh GELU (``gelu_new``, ALBERT v2's). An exact GELU
    checkpoint (``"gelu"``: albert-base-v1 style, and nearly every BERT) loads
    with an :class:`~albert_sk.exceptions.ActivationWarning`; any other
    activation would give a different model and is refused.
    """
    bert = config.get("model_type") == "bert"
    act = config.get("hidden_act", "gelu" if bert else "gelu_new")
    if act in TANH_GELU:
        return
    if act in EXACT_GELU and bert:
        warnings.warn(
            f"preset={preset!r} is a BERT checkpoint with hidden_act={act!r} "
            "(exact erf GELU), but keras-hub's AlbertBackbone computes the tanh "
            f"approximation (gelu_new): {BERT_GELU_FIGURE}. Fine-tuning absorbs "
            "the difference; docs/portability.md gives the figures.",
            ActivationWarning,
            stacklevel=user_stacklevel(),
        )
        return
    if act in EXACT_GELU:
        warnings.warn(
            f"preset={preset!r} uses hidden_act={act!r} (exact erf GELU), but "
            "keras-hub's AlbertBackbone always computes the tanh approximation "
            "(gelu_new): hidden states differ from transformers' by about 1e-4 "
            "on random weights, more on trained ones. Fine-tuning absorbs the "
            "difference; to compare outputs with transformers exactly, load the "
            "checkpoint there with hidden_act='gelu_new'.",
            ActivationWarning,
            stacklevel=user_stacklevel(),
        )
        return
    raise InputError(
        f"preset={preset!r} uses hidden_act={act!r}, but keras-hub's "
        f"AlbertBackbone computes only the tanh GELU ({', '.join(TANH_GELU)}; "
        f"{', '.join(EXACT_GELU)} load with a warning). Use a checkpoint with one "
        "of these activations."
    )


def _weight_files(preset):
    index = os.path.join(preset, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as fh:
            names = sorted(set(json.load(fh)["weight_map"].values()))
        return [os.path.join(preset, name) for name in names]
    return [os.path.join(preset, "model.safetensors")]


def _load_hf_backbone(preset, dtype):
    """keras-hub's conversion of a Hugging Face checkpoint, whatever its head.

    keras-hub's loader needs the ``albert.`` prefix of the task models and a
    pooler. ``AlbertModel.save_pretrained`` writes no prefix, and
    ``AlbertForTokenClassification`` / ``AlbertForQuestionAnswering`` have no
    pooler (their heads read the token states): such weights are loaded from a
    prefixed copy, with a pooler initialised as ALBERT's (normal, std 0.02).
    """
    import tempfile

    import keras_hub
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import save_file

    files = _weight_files(preset)
    config = _hf_config(preset)
    bert = config["model_type"] == "bert"
    keys = set()
    for name in files:
        with safe_open(name, framework="np") as fh:
            keys.update(fh.keys())
    head = "bert." if bert else "albert."
    prefix = head if any(k.startswith(head) for k in keys) else ""
    if not bert and prefix and f"{prefix}pooler.weight" in keys:
        return keras_hub.models.AlbertBackbone.from_preset(preset, dtype=dtype)
    tensors = {}
    for name in files:
        with safe_open(name, framework="np") as fh:
            for key in fh.keys():
                if key.startswith(prefix):
                    tensors[f"{head}{key[len(prefix) :]}"] = fh.get_tensor(key)
    if bert:
        config, tensors = bert_as_albert(config, tensors, preset)
    if "albert.pooler.weight" not in tensors:
        hidden = config["hidden_size"]
        rng = np.random.default_rng(0)
        weight = rng.normal(0.0, 0.02, (hidden, hidden)).astype("float32")
        tensors["albert.pooler.weight"] = weight
        tensors["albert.pooler.bias"] = np.zeros(hidden, "float32")
    with tempfile.TemporaryDirectory() as scratch:
        save_file(tensors, os.path.join(scratch, "model.safetensors"), {"format": "pt"})
        with open(os.path.join(scratch, "config.json"), "w", encoding="utf-8") as fh:
            json.dump(config, fh)
        return keras_hub.models.AlbertBackbone.from_preset(scratch, dtype=dtype)


# BERT layer weight -> ALBERT layer weight (after ``encoder.layer.{i}.`` and
# ``encoder.albert_layer_groups.{i}.albert_layers.0.``).
_BERT_LAYER = {
    "attention.self.query": "attention.query",
    "attention.self.key": "attention.key",
    "attention.self.value": "attention.value",
    "attention.output.dense": "attention.dense",
    "attention.output.LayerNorm": "attention.LayerNorm",
    "intermediate.dense": "ffn",
    "output.dense": "ffn_output",
    "output.LayerNorm": "full_layer_layer_norm",
}
_BERT_EMBEDDINGS = (
    "word_embeddings.weight",
    "position_embeddings.weight",
    "token_type_embeddings.weight",
    "LayerNorm.weight",
    "LayerNorm.bias",
)


def _bert_weight(tensors, name, missing):
    """``bert.<name>``, also under the TF-era LayerNorm names gamma / beta."""
    for key in (
        name,
        name.replace(".weight", ".gamma"),
        name.replace(".bias", ".beta"),
    ):
        if f"bert.{key}" in tensors:
            return tensors[f"bert.{key}"]
    missing.append(f"bert.{name}")
    return None


def bert_as_albert(config, tensors, preset="BERT"):
    """A BERT checkpoint's config and weights as an unshared ALBERT's.

    ``config`` is BERT's ``config.json``; ``tensors`` its weights under the
    ``bert.`` prefix. Each BERT layer becomes a group of one layer
    (``num_hidden_groups = num_hidden_layers``), the embeddings keep BERT's
    width (``embedding_size = hidden_size``) and the projection from
    embeddings to the encoder, which BERT lacks, is the identity. The pooler
    is kept when there is one. Returns ``(albert_config, albert_tensors)``.
    """
    kind = config.get("position_embedding_type", "absolute")
    if kind != "absolute":
        raise InputError(
            f"preset={preset!r} is a BERT with position_embedding_type={kind!r}; "
            "ALBERT has learned absolute positions only. Expected 'absolute'."
        )
    hidden, layers = config["hidden_size"], config["num_hidden_layers"]
    missing, out = [], {}
    for name in _BERT_EMBEDDINGS:
        out[f"albert.embeddings.{name}"] = _bert_weight(
            tensors, f"embeddings.{name}", missing
        )
    out["albert.encoder.embedding_hidden_mapping_in.weight"] = np.eye(
        hidden, dtype="float32"
    )
    out["albert.encoder.embedding_hidden_mapping_in.bias"] = np.zeros(hidden, "float32")
    for i in range(layers):
        ours = f"albert.encoder.albert_layer_groups.{i}.albert_layers.0."
        for theirs, name in _BERT_LAYER.items():
            for end in ("weight", "bias"):
                out[f"{ours}{name}.{end}"] = _bert_weight(
                    tensors, f"encoder.layer.{i}.{theirs}.{end}", missing
                )
    if "bert.pooler.dense.weight" in tensors:
        out["albert.pooler.weight"] = tensors["bert.pooler.dense.weight"]
        out["albert.pooler.bias"] = tensors["bert.pooler.dense.bias"]
    if missing:
        raise InputError(
            f"preset={preset!r} is a BERT checkpoint without the weights "
            f"{missing[:4]}{' ...' if len(missing) > 4 else ''} "
            f"({len(missing)} missing). Expected BertModel's weights, as "
            "save_pretrained writes them."
        )
    albert = {
        "model_type": "albert",
        "vocab_size": config["vocab_size"],
        "embedding_size": hidden,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_hidden_groups": layers,
        "inner_group_num": 1,
        "num_attention_heads": config["num_attention_heads"],
        "intermediate_size": config["intermediate_size"],
        "hidden_act": config.get("hidden_act", "gelu"),
        "hidden_dropout_prob": config.get("hidden_dropout_prob", 0.1),
        "attention_probs_dropout_prob": config.get("attention_probs_dropout_prob", 0.1),
        "max_position_embeddings": config["max_position_embeddings"],
        "type_vocab_size": config.get("type_vocab_size", 2),
        "layer_norm_eps": config.get("layer_norm_eps", 1e-12),
    }
    return albert, {k: np.ascontiguousarray(v, "float32") for k, v in out.items()}


def from_preset(preset, *, dtype, max_length):
    """Backbone and tokenizer of a keras-hub preset or a Hugging Face checkpoint."""
    import keras_hub

    preset = os.fspath(preset)
    known = keras_hub.models.AlbertBackbone.presets
    if os.path.isdir(preset):
        _check_preset_dir(preset)
        if is_hf_checkpoint(preset):
            with open(os.path.join(preset, "config.json"), encoding="utf-8") as fh:
                check_activation(json.load(fh), preset)
    elif preset not in known and "://" not in preset:
        raise InputError(
            f"preset={preset!r} is neither a local directory nor a keras-hub "
            f"ALBERT preset name. Known names: {sorted(known)}; or pass a "
            "directory written by save_to_preset / AlbertPretrainer, or a Hugging "
            "Face ALBERT or BERT checkpoint directory."
        )
    if os.path.isdir(preset) and is_hf_checkpoint(preset):
        backbone = _load_hf_backbone(preset, dtype)
    else:
        backbone = keras_hub.models.AlbertBackbone.from_preset(preset, dtype=dtype)
    if os.path.isdir(preset) and has_wordpiece_vocab(preset):
        tokenizer = _wordpiece_tokenizer(preset)
    else:
        tokenizer = _sentencepiece_tokenizer(preset)
    if tokenizer.vocab_size > backbone.vocabulary_size:
        raise InputError(
            f"preset={preset!r} has a vocabulary of {tokenizer.vocab_size} tokens "
            f"but an embedding of {backbone.vocabulary_size} rows. Use the "
            "checkpoint's own vocabulary file."
        )
    if backbone.max_sequence_length < max_length:
        raise InputError(
            f"max_length={max_length} is longer than the preset's "
            f"max_sequence_length={backbone.max_sequence_length}. Lower max_length."
        )
    return backbone, tokenizer


def _wordpiece_tokenizer(preset):
    """The WordPiece vocabulary of a checkpoint, normalised as ``BertTokenizer``
    reads it.

    The vocabulary is ``vocab.txt``, or without one the ``model.vocab`` of a
    WordPiece ``tokenizer.json``. Lower-casing and accent stripping are
    ``tokenizer_config.json``'s ``do_lower_case`` and ``strip_accents``, which
    ``BertTokenizer`` and ``BertTokenizerFast`` apply over ``tokenizer.json``'s
    own normaliser; without a ``do_lower_case`` there, a ``tokenizer.json``'s
    normaliser decides (a ``vocab.txt`` alone: uncased, BERT's default).
    """
    config = {}
    path = os.path.join(preset, "tokenizer_config.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            config = json.load(fh)
    lowercase, strip_accents = True, None
    if wordpiece_file(preset) == "tokenizer.json":
        with open(os.path.join(preset, "tokenizer.json"), encoding="utf-8") as fh:
            vocab, lowercase, strip_accents = read_tokenizer_json(json.load(fh))
    else:
        with open(os.path.join(preset, "vocab.txt"), "rb") as fh:
            vocab = fh.read()
    if "do_lower_case" in config:
        lowercase = config["do_lower_case"]
        strip_accents = config.get("strip_accents")
    return WordPieceTokenizer(vocab, lowercase=lowercase, strip_accents=strip_accents)


# Where a local preset keeps its SentencePiece model: keras-hub's layout, then
# a Hugging Face checkpoint's.
_VOCABULARY_FILES = (
    os.path.join("assets", "tokenizer", "vocabulary.spm"),
    "spiece.model",
)


def _sentencepiece_tokenizer(preset):
    proto = None
    if os.path.isdir(preset):
        # Read here: keras-hub's reader leaves the file open (a ResourceWarning
        # when it is collected), and filtering that inside fit is not ours to do.
        for name in _VOCABULARY_FILES:
            if os.path.isfile(os.path.join(preset, name)):
                with open(os.path.join(preset, name), "rb") as fh:
                    proto = fh.read()
                break
    if proto is None:  # a hub preset: keras-hub downloads and reads it
        import keras_hub

        proto = keras_hub.models.AlbertTokenizer.from_preset(preset).proto
        if isinstance(proto, str):
            with open(proto, "rb") as fh:
                proto = fh.read()
    lowercase, strip_accents = _normalization(preset)
    return Tokenizer(proto, lowercase=lowercase, strip_accents=strip_accents)


def save_preset(backbone, tokenizer, path):
    """Write ``backbone`` and ``tokenizer`` as a keras-hub preset directory at ``path``.

    The whole folder is built in a temporary sibling and swapped into place
    (:func:`albert_sk.io.atomic_directory`), so a crash never leaves a
    half-written preset and files of an earlier preset never survive. A
    non-empty folder without ``config.json`` is refused.
    """
    import keras_hub

    if tokenizer.FILE != "spiece.model":
        raise InputError(
            "A keras-hub ALBERT preset holds a SentencePiece vocabulary, but this "
            "model has a WordPiece vocab.txt. Write it as a Hugging Face "
            "checkpoint with albert_sk.export_hf(estimator, path), which keeps "
            "the vocab.txt and loads back with preset=path."
        )
    with atomic_directory(path, marker="config.json") as folder:
        backbone.save_to_preset(folder)
        keras_hub.models.AlbertTokenizer(proto=tokenizer.proto).save_to_preset(folder)
        with open(os.path.join(folder, NORMALIZATION_FILE), "w") as fh:
            json.dump(
                {
                    "lowercase": tokenizer.lowercase,
                    "strip_accents": tokenizer.strip_accents,
                    "vocabulary_sha256": hashlib.sha256(tokenizer.proto).hexdigest(),
                },
                fh,
                indent=1,
            )
    return os.path.abspath(os.fspath(path))
