"""What a model file written by ``est.save(path)`` may hold, checked before use.

A model file is a zip archive of exactly three members: ``albert_sk.json``
(format, estimator class, parameters, fitted attributes), ``model.keras``
and ``spiece.model`` (``vocab.txt`` in its place for a WordPiece vocabulary,
from a checkpoint that ships one). :func:`albert_sk.load` reads only what passes these
checks, in this order, so a crafted file is refused before anything of it
is read into memory, written to disk, imported or called:

1. the zip directory: member names, sizes and compression ratios;
2. ``albert_sk.json``: format name and version, an estimator class from
   :data:`ESTIMATORS` (nothing else is ever called), its own parameters and
   fitted attributes;
3. ``model.keras``: its own zip directory, and a Keras config that names only
   Keras, keras-hub and albert_sk classes and no ``Lambda`` layer (Keras
   ``safe_mode`` then loads it).

Every problem raises :class:`~albert_sk.exceptions.ModelFileError` naming the
file, what is wrong and the fix. No Keras here.
"""

import json
import os
import zipfile

import numpy as np

from albert_sk import _registry
from albert_sk._version import __version__
from albert_sk.exceptions import InputError, ModelFileError

FORMAT = "albert_sk"
FORMAT_VERSION = 1
MEMBERS = ("albert_sk.json", "model.keras", "spiece.model")
# A WordPiece vocabulary (albert_sk.wordpiece) is saved as vocab.txt instead
# of spiece.model; albert_sk.json's "tokenizer" then says "wordpiece": true.
WORDPIECE_MEMBERS = ("albert_sk.json", "model.keras", "vocab.txt")
# Members only some estimators write (``_extra_members``): the pretrainer's
# head weights, a NumPy ``.npz`` read with ``allow_pickle=False``.
OPTIONAL_MEMBERS = ("heads.npz",)
# The only classes a model file may name, and the module of each
# (albert_sk._registry): loading calls nothing else.
ESTIMATORS = {name: module for name, (module, _) in _registry.ESTIMATORS.items()}
# Largest size (bytes, as the zip directory declares it) of each member. Real
# files: albert_sk.json is a few kB (the history, classes, parameters);
# spiece.model under 1 MB for a 30,000-piece vocabulary; model.keras about
# 4 bytes per parameter plus AdamW's two slots, 2.7 GB for ALBERT-xxlarge
# (223M parameters), the largest ALBERT.
LIMITS = {
    "albert_sk.json": 8 * 2**20,
    "model.keras": 4 * 2**30,
    "spiece.model": 64 * 2**20,
    "vocab.txt": 64 * 2**20,
    "heads.npz": 256 * 2**20,
}
KERAS_CONFIG_LIMIT = 8 * 2**20
# est.save stores members uncompressed (ratio 1); a member over 1 MiB that
# inflates more than this is a zip bomb.
MAX_RATIO = 100
# Packages whose classes a model.keras config may name.
KERAS_PACKAGES = ("keras", "keras_hub", "albert_sk", "builtins")
# Layers (Keras 2 and 3 names) that run Python code held in the file.
CODE_LAYERS = ("Lambda", "TFOpLambda", "__lambda__")

EXPECTED = "an albert_sk model file (a zip archive written by est.save(path))"
CRAFTED_FIX = (
    "albert_sk never writes such a file: load only model files you trust, or "
    "save the model again with est.save(path)."
)


def error(path, problem, fix=CRAFTED_FIX):
    """The ``ModelFileError`` for ``path``: what is expected, what is wrong, fix."""
    return ModelFileError(f"{path!r} is not {EXPECTED}: {problem}. {fix}")


def _is_path_like(name):
    return (
        "/" in name
        or "\\" in name
        or name in ("", ".", "..")
        or os.path.isabs(name)
        or (len(name) > 1 and name[1] == ":")  # a Windows drive
    )


def check_directory(
    infos, path, *, limits, allowed=None, optional=(), label="the archive"
):
    """Refuse path-like, repeated, missing or extra names, and oversized members.

    Reads nothing but the zip directory (``infos``, a ``ZipFile.infolist()``).
    ``limits`` maps member names to their largest size, or is one number for
    every member and their total; ``allowed`` is the member list every file
    has, ``optional`` the names it may have besides.
    """
    names = [info.filename for info in infos]
    odd = [n for n in names if _is_path_like(n)]
    if odd:
        raise error(path, f"{label} has member names that are paths: {odd[:5]}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise error(path, f"{label} holds {repeated} more than once")
    if allowed is not None:
        missing = [n for n in allowed if n not in names]
        if missing:
            raise error(
                path,
                f"it lacks {missing}",
                "It may be another kind of zip file; save the model again with "
                "est.save(path).",
            )
        extra = [n for n in names if n not in allowed and n not in optional]
        if extra:
            raise error(
                path, f"{label} holds {extra} besides {list(allowed)}", CRAFTED_FIX
            )
    total = 0
    for info in infos:
        limit = limits[info.filename] if isinstance(limits, dict) else limits
        total += info.file_size
        if info.flag_bits & 0x1:
            raise error(path, f"{info.filename!r} in {label} is encrypted")
        if info.file_size > limit:
            raise error(
                path,
                f"{label} declares {info.filename!r} as {info.file_size:,} bytes, "
                f"more than the {limit:,} any real model needs",
            )
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise error(
                path,
                f"{info.filename!r} in {label} inflates from "
                f"{info.compress_size:,} to {info.file_size:,} bytes (a zip bomb; "
                "est.save stores members uncompressed)",
            )
    if not isinstance(limits, dict) and total > limits:
        raise error(
            path,
            f"{label}'s members declare {total:,} bytes in all, more than the "
            f"{limits:,} any real model needs",
        )


def read_meta(archive, path):
    """``albert_sk.json`` as a dict, with format, version and sections checked."""
    try:
        meta = json.loads(archive.read("albert_sk.json"))
    except (ValueError, RecursionError) as err:  # bad UTF-8, JSON or numbers
        raise error(
            path,
            f"albert_sk.json is damaged (not valid JSON: {type(err).__name__}: {err})",
            "It was cut short or edited; save the model again.",
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise error(
            path,
            f"albert_sk.json has format {got!r}, expected {FORMAT!r}",
            "It was written by another program; save the model again with "
            "est.save(path).",
        )
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise error(path, f"albert_sk.json has format_version {version!r}, expected 1")
    if version > FORMAT_VERSION:
        writer = meta.get("albert_sk_version")
        writer = writer if isinstance(writer, str) else "a newer version"
        raise ModelFileError(
            f"{path!r} was written by albert_sk {writer:.40} (model format "
            f"version {version}); this albert_sk {__version__} reads format "
            f"version {FORMAT_VERSION} and older. Upgrade albert_sk: "
            "pip install -U albert_sk."
        )
    name = meta.get("estimator")
    if name not in ESTIMATORS:
        raise error(
            path,
            f"albert_sk.json names the estimator {name!r:.80}, expected one of "
            f"{sorted(ESTIMATORS)}",
        )
    for section in ("params", "fitted", "tokenizer"):
        if not isinstance(meta.get(section), dict):
            raise error(
                path,
                f"albert_sk.json's {section!r} is "
                f"{type(meta.get(section)).__name__}, expected an object",
            )
    tokenizer = meta["tokenizer"]
    if set(tokenizer) - {"wordpiece"} != {"lowercase", "strip_accents"} or not all(
        isinstance(v, bool) for v in tokenizer.values()
    ):
        raise error(
            path,
            f"albert_sk.json's 'tokenizer' is {tokenizer!r:.80}, expected "
            "{'lowercase': bool, 'strip_accents': bool} (and 'wordpiece': true "
            "for a vocab.txt)",
        )
    return meta


def check_params(estimator_cls, meta, path):
    """The file's ``params`` and ``fitted`` names, checked against the class."""
    name = estimator_cls.__name__
    known = estimator_cls._get_param_names()
    unknown = sorted(set(meta["params"]) - set(known))
    if unknown:
        raise error(
            path,
            f"albert_sk.json sets {unknown} for {name}, which has no such "
            f"parameters (it has {known})",
            f"If it was written by a newer albert_sk "
            f"({meta.get('albert_sk_version')!r:.40}), upgrade albert_sk; "
            "otherwise save the model again.",
        )
    allowed = estimator_cls._saved_attributes + ("pairs_",)
    odd = sorted(set(meta["fitted"]) - set(allowed))
    if odd:
        raise error(
            path,
            f"albert_sk.json sets fitted attributes {odd} that {name} does not "
            f"save (it saves {list(allowed)})",
        )


def check_keras_config(config, path):
    """Refuse a ``model.keras`` config naming a Lambda layer or a foreign class."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        stack.extend(node.values())
        class_name = node.get("class_name")
        if not isinstance(class_name, str):
            continue
        module = node.get("module")
        if class_name in CODE_LAYERS:
            raise error(
                path,
                f"model.keras holds a {class_name} layer, which runs arbitrary "
                "Python code when loaded; Keras safe_mode and albert_sk refuse it",
            )
        if module is not None and (
            not isinstance(module, str) or module.split(".", 1)[0] not in KERAS_PACKAGES
        ):
            raise error(
                path,
                f"model.keras names the class {class_name!r:.80} from module "
                f"{module!r:.80}, not from {' / '.join(KERAS_PACKAGES)}",
            )


def extract_model(archive, path, folder):
    """Extract ``model.keras`` into ``folder`` after checking what it holds."""
    target = archive.extract("model.keras", folder)
    try:
        with zipfile.ZipFile(target) as inner:
            check_directory(
                inner.infolist(),
                path,
                limits=LIMITS["model.keras"],
                label="model.keras",
            )
            names = inner.namelist()
            if "config.json" not in names:
                raise error(path, "model.keras has no config.json")
            if inner.getinfo("config.json").file_size > KERAS_CONFIG_LIMIT:
                raise error(
                    path,
                    f"model.keras's config.json is over {KERAS_CONFIG_LIMIT:,} bytes",
                )
            config = json.loads(inner.read("config.json"))
    except ModelFileError:
        raise  # a refusal above, already said with its fix
    except (zipfile.BadZipFile, ValueError) as err:  # ValueError: bad JSON
        raise error(
            path,
            f"its model.keras is damaged ({type(err).__name__}: {err})",
            "It was cut short or edited; save the model again.",
        ) from None
    except RecursionError:
        raise error(path, "model.keras's config.json is nested too deeply") from None
    check_keras_config(config, path)
    return target


# === Writing and reading ===


def _to_json(value):
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _from_json(value):
    if isinstance(value, dict) and "__ndarray__" in value:
        return np.asarray(value["__ndarray__"], dtype=value["dtype"])
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    return value


def saved_params(estimator):
    """The parameters ``save`` writes: live objects (callbacks, validation data,
    a strategy) are not written, paths become strings."""
    params = estimator.get_params(deep=False)
    for live in ("callbacks", "validation_data"):  # live objects: not written
        if live in params:
            params[live] = None
    if not isinstance(params.get("distribution", "auto"), str):
        params["distribution"] = "auto"  # a strategy object: not written
    return {
        k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in params.items()
    }


def describe(estimator):
    """What a fitted estimator is, as JSON values: one set of keys for
    ``albert-sk info --json`` (which adds the file's) and ``GET /info`` of
    ``albert-sk serve`` (which adds its endpoints and limits).

    ``albert_sk_version`` is this albert_sk's; ``params`` are those ``save``
    writes. ``classes``, ``labels``, ``input_columns``, ``multilabel``,
    ``pairs``, ``null_score_threshold`` and ``n_features_out`` appear where
    the estimator has them.

    Examples
    --------
    With ``clf`` fitted as in the class example of
    :class:`~albert_sk.AlbertClassifier`:

    >>> from albert_sk.model_file import describe
    >>> info = describe(clf)
    >>> info["estimator"], info["task"], info["classes"], info["params"]["max_length"]
    ('AlbertClassifier', 'classifier', [0, 1], 48)
    """
    from albert_sk._files import to_json

    history = getattr(estimator, "history_", None) or {}
    info = {
        "estimator": type(estimator).__name__,
        "task": _registry.task_of(estimator),
        "albert_sk_version": __version__,
        "vocabulary_size": int(estimator.tokenizer_.vocab_size),
        "lowercase": bool(estimator.tokenizer_.lowercase),
        "parameters": int(estimator.model_.count_params()),
        "epochs_run": len(history.get("loss", [])),
        "final": {k: float(v[-1]) for k, v in history.items() if v},
        "params": to_json(saved_params(estimator)),
    }
    for name in ("classes_", "labels_"):
        if hasattr(estimator, name):
            info[name.rstrip("_")] = to_json(list(getattr(estimator, name)))
    if getattr(estimator, "feature_names_in_", None) is not None:
        info["input_columns"] = [str(c) for c in estimator.feature_names_in_]
    for name in ("multilabel_", "pairs_", "null_score_threshold_", "n_features_out_"):
        if hasattr(estimator, name):
            info[name.rstrip("_")] = to_json(getattr(estimator, name))
    return info


def write(estimator, path):
    """Write the fitted ``estimator`` to ``path`` atomically (see ``save``)."""
    import tempfile

    from albert_sk._files import atomic_write

    path = os.path.abspath(os.fspath(path))
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "albert_sk_version": __version__,
        "estimator": type(estimator).__name__,
        "params": saved_params(estimator),
        "fitted": {
            name: _to_json(getattr(estimator, name))
            for name in estimator._saved_attributes + ("pairs_",)
            if hasattr(estimator, name)
        },
        "tokenizer": {
            "lowercase": estimator.tokenizer_.lowercase,
            "strip_accents": estimator.tokenizer_.strip_accents,
        },
    }
    vocabulary = estimator.tokenizer_.FILE  # spiece.model or vocab.txt
    if vocabulary == "vocab.txt":
        meta["tokenizer"]["wordpiece"] = True
    with atomic_write(path) as fh, tempfile.TemporaryDirectory() as scratch:
        keras_file = os.path.join(scratch, "model.keras")
        estimator._model_to_save().save(keras_file)
        with zipfile.ZipFile(fh, "w") as archive:
            archive.writestr("albert_sk.json", json.dumps(meta, indent=1))
            archive.write(keras_file, "model.keras")
            archive.writestr(vocabulary, estimator.tokenizer_.proto)
            for name, data in estimator._extra_member_data().items():
                archive.writestr(name, data)
    return path


def read(path, cls):
    """The estimator saved at ``path``, which must be a ``cls`` (see ``load``)."""
    import tempfile

    from albert_sk.text import Tokenizer
    from albert_sk.wordpiece import WordPieceTokenizer

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No saved model at {path!r}.")
    if not zipfile.is_zipfile(path):
        raise error(
            path,
            "it may be truncated or a different kind of file",
            "Save the model again.",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            wordpiece = "vocab.txt" in archive.namelist()
            members = WORDPIECE_MEMBERS if wordpiece else MEMBERS
            check_directory(
                archive.infolist(),
                path,
                limits=LIMITS,
                allowed=members,
                optional=OPTIONAL_MEMBERS,
            )
            meta = read_meta(archive, path)
            if meta["tokenizer"].get("wordpiece", False) != wordpiece:
                raise error(
                    path,
                    f"albert_sk.json's 'tokenizer' is {meta['tokenizer']!r:.80} "
                    f"but the archive holds {members[-1]}",
                )
            estimator_cls = _estimator_class(meta["estimator"], cls)
            if estimator_cls is None:
                raise ModelFileError(
                    f"{path!r} holds an {meta['estimator']}, not an "
                    f"{cls.__name__}. Load it with {meta['estimator']}.load(path) "
                    "or albert_sk.load(path)."
                )
            extras = {
                n: archive.read(n) for n in archive.namelist() if n not in members
            }
            if set(extras) != set(estimator_cls._extra_members):
                raise error(
                    path,
                    f"an {meta['estimator']} file holds {sorted(extras)} besides "
                    f"{list(members)}, expected {list(estimator_cls._extra_members)}",
                )
            check_params(estimator_cls, meta, path)
            estimator = _estimator_from_params(estimator_cls, meta, path)
            proto = archive.read(members[-1])
            with tempfile.TemporaryDirectory() as scratch:
                model = _load_keras_model(extract_model(archive, path, scratch), path)
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise ModelFileError(
            f"{path!r} is damaged ({err}): it is not readable as "
            f"{EXPECTED}; save the model again."
        ) from None
    options = {k: v for k, v in meta["tokenizer"].items() if k != "wordpiece"}
    try:
        if wordpiece:
            estimator.tokenizer_ = WordPieceTokenizer(proto, **options)
        else:
            estimator.tokenizer_ = Tokenizer(proto, **options)
    except (RuntimeError, ValueError, TypeError, InputError) as err:
        kind = "a WordPiece vocabulary" if wordpiece else "a SentencePiece model"
        raise error(
            path,
            f"its {members[-1]} is not {kind} ({err})",
            "Save the model again.",
        ) from None
    try:
        estimator._restore_model(model, extras)
        for name, value in meta["fitted"].items():
            setattr(estimator, name, _from_json(value))
        estimator._after_load()
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        raise error(
            path,
            f"albert_sk.json's fitted attributes do not fit "
            f"{type(estimator).__name__} ({type(err).__name__}: {err})",
        ) from None
    return estimator


def _estimator_class(name, cls):
    """The class ``name`` of :data:`ESTIMATORS` if it is ``cls`` or one of its
    subclasses, else None (the file holds another estimator).

    Found among the classes already imported, so loading imports nothing
    (``albert_sk.load``, the one caller that names no class, imports the
    estimator modules first): ``model_file`` sits below the estimators and
    never imports them.
    """
    module = ESTIMATORS[name]
    seen, stack = set(), [cls]
    while stack:
        candidate = stack.pop()
        if candidate in seen:
            continue
        seen.add(candidate)
        defined_in = candidate.__module__
        if candidate.__name__ == name and (
            defined_in == module or defined_in.startswith(module + ".")
        ):
            return candidate
        stack.extend(candidate.__subclasses__())
    return None


def _estimator_from_params(estimator_cls, meta, path):
    """``estimator_cls(**params)``, its parameters validated as in ``fit``."""
    from sklearn.utils._param_validation import InvalidParameterError

    estimator = estimator_cls(**{**estimator_cls._former_defaults, **meta["params"]})
    try:
        estimator._validate_params()
    except InvalidParameterError as err:
        raise error(
            path, f"albert_sk.json holds an invalid parameter ({err})"
        ) from None
    return estimator


def _load_keras_model(model_path, path):
    """The Keras model at ``model_path`` (safe_mode), or ``ModelFileError``."""
    import keras

    try:
        return keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        first = " ".join(str(err).split())
        raise error(
            path,
            f"Keras cannot rebuild its model.keras safely "
            f"({type(err).__name__}: {first:.300})",
        ) from None
