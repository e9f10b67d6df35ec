"""Cheaper fine-tuning and faster prediction: ``lora_rank`` and ``inference_dtype``.

``lora_rank`` fine-tunes through keras-hub's own LoRA support
(``Backbone.enable_lora``): every backbone weight is frozen and the query
and value projections of the attention layers get low-rank adapters
(Keras' ``EinsumDense.enable_lora``: ``W + (alpha / rank) * A @ B``, ``B``
starting at zero, so the first step is the pretrained model). What trains:
the adapters, the query and value biases, and the task head, which sits
outside the backbone. Keras writes a LoRA layer's kernel merged
(``W + scale * A @ B``) and no adapters, so a saved model is a plain model
that predicts as the fitted one (to float32 rounding: the merge is computed
once, not in every step); a pickled one is the same (merged
here, without optimizer state); a ``warm_start`` fit of either starts new
adapters on the merged weights, with a fresh optimizer.

``inference_dtype`` changes prediction only: the fitted float model stays
``model_`` (what ``fit`` trains and ``save`` writes); prediction runs a
converted copy, built on first use and cached until ``fit`` or
``set_params``. ``"int8"`` is Keras' own ``model.quantize("int8")`` (int8
weights with a scale per output channel, activations quantised per row)
of the copy with the adapters merged in.
"""

import gc
import math
from numbers import Integral

import keras
from sklearn.utils._param_validation import Interval, StrOptions

from albert_sk.exceptions import InputError, ParameterError

INFERENCE_DTYPES = ("float32", "bfloat16", "int8")
PARAMETER_CONSTRAINTS = {
    "lora_rank": [Interval(Integral, 1, None, closed="left"), None],
    "inference_dtype": [StrOptions(set(INFERENCE_DTYPES))],
}
# Keras layers whose own ``quantize`` handles int8 (subclasses refuse it).
_QUANTIZABLE = (
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.Embedding,
    keras.layers.ReversibleEmbedding,
)
_CACHE = "_inference_model_cache"
# learning_rate="auto" with a preset and lora_rank: this times the full
# fine-tuning rate. Adapters start at zero and are few; LoRA's own GLUE runs
# used 4e-4 to 5e-4 where full fine-tuning used 1e-5 to 3e-5.
LORA_LEARNING_RATE_FACTOR = 10


def find_backbone(model):
    """The keras-hub ``AlbertBackbone`` inside an estimator's ``model_`` (LoRA
    and ``export_hf`` read it)."""
    import keras_hub

    for layer in model.layers:
        if isinstance(layer, keras_hub.models.AlbertBackbone):
            return layer
    raise InputError(f"The model {model.name!r} holds no keras-hub AlbertBackbone.")


def lora_rank_of(backbone):
    """The rank of the backbone's LoRA adapters, or None when it has none."""
    for layer in backbone._flatten_layers(include_self=False):
        if getattr(layer, "lora_enabled", False):
            return int(layer.lora_rank)
    return None


def preset_learning_rate(rate, lora_rank):
    """``learning_rate="auto"`` with a preset: ``rate``, or with ``lora_rank``
    :data:`LORA_LEARNING_RATE_FACTOR` times it."""
    if lora_rank is None:
        return rate
    return rate * LORA_LEARNING_RATE_FACTOR


def has_lora(model):
    """True when a layer of ``model`` has LoRA adapters."""
    return any(getattr(x, "lora_enabled", False) for x in model._flatten_layers())


def count_trainable(model):
    """Number of trainable parameters of ``model``."""
    return sum(math.prod(v.shape) for v in model.trainable_weights)


def prepare_lora(estimator, warm):
    """Give ``estimator.model_``'s backbone the adapters ``lora_rank`` asks for.

    A fresh model gets them; so does a warm start from a loaded or unpickled
    model (whose adapters were merged into its weights on save), whose
    optimizer state is dropped as it belongs to other variables. A warm
    start cannot change the rank of adapters it continues, nor remove them.
    """
    rank = estimator.lora_rank
    backbone = find_backbone(estimator.model_)
    current = lora_rank_of(backbone)
    if current == rank:
        return
    if current is not None:
        raise ParameterError(
            f"warm_start continues a model fine-tuned with lora_rank={current}, "
            f"but lora_rank is {rank}. Keep lora_rank={current} for a warm "
            "start, or refit with warm_start=False."
        )
    backbone.enable_lora(rank)
    if warm:
        estimator.model_.optimizer = None  # continue_training: a fresh AdamW


def merged_copy(model, dtype=None):
    """A copy of ``model`` without adapters: LoRA kernels merged
    (``W + scale * A @ B``), every layer in ``dtype`` (None: as ``model``)."""
    config = keras.saving.serialize_keras_object(model)
    if dtype is not None:
        config = _with_dtype(config, dtype)
    copy = keras.saving.deserialize_keras_object(config)
    merged = {}
    for layer in model._flatten_layers():
        if getattr(layer, "lora_enabled", False):
            merged[layer._kernel.path] = layer.kernel
    source = [v for v in model.weights if "lora_kernel" not in v.path]
    if [v.path for v in source] != [v.path for v in copy.weights]:
        raise RuntimeError(
            f"Rebuilding {model.name!r} for inference_dtype gave other weights "
            f"({len(copy.weights)} instead of {len(source)}). Predict with "
            "inference_dtype='float32'."
        )
    for variable, target in zip(source, copy.weights, strict=True):
        target.assign(keras.ops.cast(merged.get(variable.path, variable), target.dtype))
    copy.jit_compile = model.jit_compile
    return copy


def _with_dtype(node, dtype):
    """A serialised Keras config with every ``DTypePolicy`` set to ``dtype``."""
    if isinstance(node, dict):
        if node.get("class_name") == "DTypePolicy":
            return {**node, "config": {**node["config"], "name": dtype}}
        return {k: _with_dtype(v, dtype) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_dtype(v, dtype) for v in node]
    return node


def quantized_int8(model):
    """A merged copy of ``model`` with Keras' ``quantize("int8")`` applied."""
    copy = merged_copy(model)
    # Keras' Layer.__delattr__ runs gc.collect() for every kernel it swaps
    # for an int8 one: about 1 s each in a process holding TensorFlow's
    # objects. Frozen objects are not traversed, so each collect is quick.
    gc.freeze()
    try:
        copy.quantize("int8", filters=lambda layer: type(layer) in _QUANTIZABLE)
    finally:
        gc.unfreeze()
    return copy


def inference_model(model, dtype):
    """``model`` converted for ``inference_dtype=dtype`` (float32: itself)."""
    if dtype == "float32":
        return model
    if dtype == "bfloat16":
        return merged_copy(model, "bfloat16")
    return quantized_int8(model)


class EfficiencyMixin:
    """The estimator side of ``lora_rank`` and ``inference_dtype`` (mixed into
    :class:`albert_sk.finetuning.FineTunedEstimator`): adapters set up before
    each fit, and a converted copy of ``model_`` for prediction, cached until
    ``fit`` or ``set_params``."""

    def _inference_model(self):
        """The model prediction runs: ``model_``, or its ``inference_dtype`` copy."""
        dtype = self.inference_dtype
        if dtype == "float32":
            return self.model_
        cached = self.__dict__.get(_CACHE)
        if cached is None or cached[0] != dtype or cached[1] is not self.model_:
            cached = (dtype, self.model_, inference_model(self.model_, dtype))
            self.__dict__[_CACHE] = cached
        return cached[2]

    def _prepare_fit_model(self, warm):
        """Before compiling in ``fit``: drop the inference copy, set up LoRA."""
        self.__dict__.pop(_CACHE, None)
        prepare_lora(self, warm)

    def set_params(self, **params):
        """Set the estimator's parameters, as scikit-learn's ``set_params``.

        Besides setting them, it frees the cached ``inference_dtype`` copy of
        the fitted model (bfloat16 or int8), so no stale converted model is
        kept in memory; the next ``predict`` converts again if it needs to.

        Parameters
        ----------
        **params : dict
            Parameter names and their new values (``name=value``, or
            ``step__name=value`` inside a Pipeline).

        Returns
        -------
        self : estimator
            The estimator itself.

        Examples
        --------
        >>> from albert_sk import AlbertClassifier
        >>> model = AlbertClassifier(epochs=3).set_params(epochs=5, batch_size=8)
        >>> model.get_params()["epochs"], model.get_params()["batch_size"]
        (5, 8)
        """
        self.__dict__.pop(_CACHE, None)
        return super().set_params(**params)

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop(_CACHE, None)
        model = state.get("model_")
        if model is not None and has_lora(model):
            # Keras pickles a model with its optimizer; unpickled, a LoRA model
            # is a plain one (as after ``load``) that the adapters' AdamW
            # state does not fit. Pickle it merged, as ``save`` writes it.
            state["model_"] = merged_copy(model)
        return state
