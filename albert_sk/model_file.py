"""What a model file written by ``est.save(path)`` may hold, checked before use.

A model file is a zip archive of exactly three members: ``albert_sk.json``
(format, estimator class, parameters, fitted attributes), ``model.keras``
and ``spiece.model``. :func:`albert_sk.load` reads only what passes these
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

from albert_sk import __version__
from albert_sk.exceptions import ModelFileError

FORMAT = "albert_sk"
FORMAT_VERSION = 1
MEMBERS = ("albert_sk.json", "model.keras", "spiece.model")
# The only classes a model file may name, and the module of each: loading
# imports nothing else and calls nothing else.
ESTIMATORS = {
    "AlbertClassifier": "albert_sk.classifier",
    "AlbertRegressor": "albert_sk.regressor",
    "AlbertTagger": "albert_sk.tagger",
    "AlbertQA": "albert_sk.qa",
    "AlbertVectorizer": "albert_sk.vectorizer",
}
# Largest size (bytes, as the zip directory declares it) of each member. Real
# files: albert_sk.json is a few kB (the history, classes, parameters);
# spiece.model under 1 MB for a 30,000-piece vocabulary; model.keras about
# 4 bytes per parameter plus AdamW's two slots, 2.7 GB for ALBERT-xxlarge
# (223M parameters), the largest ALBERT.
LIMITS = {
    "albert_sk.json": 8 * 2**20,
    "model.keras": 4 * 2**30,
    "spiece.model": 64 * 2**20,
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


def check_directory(infos, path, *, limits, allowed=None, label="the archive"):
    """Refuse path-like, repeated, missing or extra names, and oversized members.

    Reads nothing but the zip directory (``infos``, a ``ZipFile.infolist()``).
    ``limits`` maps member names to their largest size, or is one number for
    every member and their total; ``allowed`` is the exact member list.
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
        extra = [n for n in names if n not in allowed]
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
    if set(tokenizer) != {"lowercase", "strip_accents"} or not all(
        isinstance(v, bool) for v in tokenizer.values()
    ):
        raise error(
            path,
            f"albert_sk.json's 'tokenizer' is {tokenizer!r:.80}, expected "
            "{'lowercase': bool, 'strip_accents': bool}",
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
