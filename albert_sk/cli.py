"""The ``albert-sk`` command line (also ``python -m albert_sk``).

Subcommands live in the ``COMMANDS`` table at the end of this module: each
entry names a function that adds its arguments to an ``argparse`` parser
and a function that runs it (``run(args) -> exit code or None``). To add a
subcommand, write those two functions and add one line to the table.

Errors in what the user passed (a missing file or column, an unknown
parameter, bad data) print one line to stderr and exit with code 2.
"""

import os

# Before anything imports TensorFlow: hide its C++ start-up chatter.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from albert_sk import __version__  # noqa: E402
from albert_sk.exceptions import AlbertSkError  # noqa: E402

PROG = "albert-sk"
TASKS = {"classifier": "AlbertClassifier", "regressor": "AlbertRegressor"}
READERS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet"}


class CommandError(AlbertSkError):
    """A user error on the command line: printed as one line, exit code 2."""


# === Helpers shared by subcommands ===


def read_table(path):
    """A DataFrame from a ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` file."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in READERS:
        raise CommandError(
            f"cannot read {path!r}: expected a .csv, .tsv, .jsonl or .parquet "
            f"file, got {ext or 'no extension'!r}. Convert it or rename it."
        )
    if not os.path.isfile(path):
        raise CommandError(f"no such file: {path!r}. Check the --data path.")
    kind = READERS[ext]
    try:
        if kind in ("csv", "tsv"):
            return pd.read_csv(path, sep="," if kind == "csv" else "\t")
        if kind == "jsonl":
            return pd.read_json(path, lines=True)
        return pd.read_parquet(path)
    except ImportError as err:
        raise CommandError(
            f"reading {path!r} needs a parquet engine ({err}). Install one with: "
            "pip install pyarrow"
        ) from None
    except UnicodeDecodeError:
        from albert_sk.io import utf8_error

        raise CommandError(
            f"cannot read {path!r} as UTF-8 text: {utf8_error(path)} is not "
            "UTF-8. Save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 IN > "
            "OUT`."
        ) from None
    except (ValueError, pd.errors.ParserError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err)
        raise CommandError(f"cannot parse {path!r} as {kind}: {first}") from None


def select_columns(frame, columns, path, flag):
    """``frame[columns]``, or an error that lists the columns the file has."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CommandError(
            f"column {missing[0]!r} is not in {os.fspath(path)!r}, which has "
            f"columns {[str(c) for c in frame.columns]}. Pass {flag} NAME."
        )
    return frame[list(columns)]


def text_columns(frame, columns, path):
    """The text column(s) as strings; empty cells stay missing (and are refused)."""
    X = select_columns(frame, columns, path, "--text-column")
    return X.apply(lambda col: col.map(lambda v: v if pd.isna(v) else str(v)))


def parse_settings(pairs):
    """``["epochs=3", "backbone=tiny"]`` -> ``{"epochs": 3, "backbone": "tiny"}``.

    Values are parsed as JSON when they can be (numbers, true/false/null,
    lists, dicts), and kept as strings otherwise.
    """
    settings = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandError(
                f"--set expects key=value (e.g. --set epochs=3), got {pair!r}."
            )
        try:
            settings[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            settings[key.strip()] = value
    return settings


def make_estimator(task, settings):
    """An estimator for ``task`` with ``settings`` checked against its parameters."""
    import albert_sk

    estimator = getattr(albert_sk, TASKS[task])(verbose=1)
    known = estimator.get_params(deep=False)
    unknown = [key for key in settings if key not in known]
    if unknown:
        raise CommandError(
            f"unknown parameter {unknown[0]!r} for {TASKS[task]}. Known "
            f"parameters: {', '.join(sorted(known))}."
        )
    return estimator.set_params(**settings)


def load_model(path):
    import albert_sk

    if not os.path.isfile(path):
        raise CommandError(
            f"no such model file: {path!r}. Write one with albert-sk fit --out "
            "PATH (or est.save(PATH))."
        )
    estimator = albert_sk.load(path)
    estimator.set_params(verbose=0)
    return estimator


def model_inputs(estimator, frame, args):
    """The text column(s) the model was fitted on (or those named by flags)."""
    if args.text_column:
        columns = [args.text_column] + (
            [args.text_pair_column] if args.text_pair_column else []
        )
    elif getattr(estimator, "feature_names_in_", None) is not None:
        columns = [str(c) for c in estimator.feature_names_in_]
    else:
        columns = ["text"]
    return text_columns(frame, columns, args.data)


# === Subcommands ===


def add_demo_arguments(parser):
    parser.add_argument(
        "--out",
        default="albert_sk_demo",
        help="folder for the model and plots (default: %(default)s)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny model, 1 epoch, a subset of the data (seconds; for tests)",
    )
    parser.add_argument("--epochs", type=int, help="training epochs")
    parser.add_argument(
        "--backbone", choices=["tiny", "small"], help="model size (default: tiny)"
    )


def run_demo(args):
    from albert_sk import demo

    if args.epochs is not None and args.epochs < 1:
        raise CommandError(f"--epochs must be at least 1, got {args.epochs}.")
    demo.run(args.out, quick=args.quick, epochs=args.epochs, backbone=args.backbone)


def add_data_arguments(parser, *, target, text_default=None):
    parser.add_argument(
        "--data", required=True, help="a .csv, .tsv, .jsonl or .parquet file"
    )
    parser.add_argument(
        "--text-column",
        default=text_default,
        help="column holding the texts (default: "
        + ("%(default)s)" if text_default else "the columns used in fit)"),
    )
    parser.add_argument(
        "--text-pair-column", help="column holding the second texts of pairs"
    )
    if target:
        parser.add_argument(
            "--target-column",
            default="label",
            help="column holding the targets (default: %(default)s)",
        )


def add_fit_arguments(parser):
    add_data_arguments(parser, target=True, text_default="text")
    parser.add_argument("--task", choices=sorted(TASKS), default="classifier")
    parser.add_argument("--out", required=True, help="where to save the model")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="estimator parameter, e.g. --set epochs=5 --set backbone=tiny "
        "(values are read as JSON when possible)",
    )


def run_fit(args):
    settings = parse_settings(args.set)
    frame = read_table(args.data)
    columns = [args.text_column] + (
        [args.text_pair_column] if args.text_pair_column else []
    )
    X = text_columns(frame, columns, args.data)
    y = select_columns(frame, [args.target_column], args.data, "--target-column")
    y = y[args.target_column]
    out = os.path.abspath(args.out)
    if not os.path.isdir(os.path.dirname(out)):
        raise CommandError(
            f"cannot save to {out!r}: folder {os.path.dirname(out)!r} does not "
            "exist. Create it first."
        )
    estimator = make_estimator(args.task, settings)
    estimator.fit(X, y)
    path = estimator.save(out)
    print(f"Fitted {type(estimator).__name__} on {len(X):,} rows; saved to {path}")


def add_predict_arguments(parser):
    parser.add_argument("--model", required=True, help="a saved albert_sk model")
    add_data_arguments(parser, target=False)
    parser.add_argument(
        "--out",
        help="write a .jsonl (one JSON object per row) or .csv/.tsv file here "
        "(default: print CSV, or JSON lines for a tagger, to stdout)",
    )
    parser.add_argument(
        "--proba",
        action="store_true",
        help="add one probability column per class (classifiers)",
    )


def _is_tagger(estimator):
    from albert_sk.tagger import AlbertTagger

    return isinstance(estimator, AlbertTagger)


def _words_or_text(value):
    """A cell as the tagger takes it: a word list (.jsonl/.parquet) or a text."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    return value if pd.isna(value) else str(value)


def tag_table(estimator, frame, args):
    """One row per input: the input, its words (raw texts) and one tag per word."""
    from albert_sk.align import split_words

    if args.text_pair_column:
        raise CommandError(
            f"--text-pair-column does not apply to {args.model!r}, an AlbertTagger "
            "(it tags one text or word list per row). Drop --text-pair-column."
        )
    column = args.text_column or "text"
    X = select_columns(frame, [column], args.data, "--text-column")[column]
    X = X.map(_words_or_text)
    rows = []
    for value, tags in zip(X, estimator.predict(X), strict=True):
        row = {column: value}
        if isinstance(value, str):
            row["words"] = split_words(value)[0]
        row["tags"] = tags
        rows.append(row)
    return pd.DataFrame(rows)


def write_result(result, out, default_kind):
    """``result`` as JSON lines (``.jsonl``) or CSV/TSV, to ``out`` or stdout."""
    ext = os.path.splitext(out)[1].lower() if out else ""
    kind = "jsonl" if ext == ".jsonl" else "tsv" if ext == ".tsv" else "csv"
    kind = kind if out else default_kind
    if kind == "jsonl":
        text = result.to_json(orient="records", lines=True, force_ascii=False)
        text = text if text.endswith("\n") or not text else text + "\n"
    else:  # lists (tags, words) become JSON in their cell
        cells = result.map(
            lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
        )
        text = cells.to_csv(index=False, sep="\t" if kind == "tsv" else ",")
    if not out:
        sys.stdout.write(text)
        return
    from albert_sk.io import atomic_write

    with atomic_write(out, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"Wrote {len(result):,} predictions to {out}")


def run_predict(args):
    from sklearn.base import is_classifier

    estimator = load_model(args.model)
    if args.proba and not is_classifier(estimator):
        raise CommandError(
            f"--proba needs a classifier, but {args.model!r} holds an "
            f"{type(estimator).__name__}. Drop --proba."
        )
    frame = read_table(args.data)
    if _is_tagger(estimator):
        write_result(tag_table(estimator, frame, args), args.out, "jsonl")
        return
    X = model_inputs(estimator, frame, args)
    result = X.copy()
    predictions = estimator.predict(X)
    if predictions.ndim == 1:
        result["prediction"] = predictions
    else:
        names = [str(c) for c in getattr(estimator, "classes_", [])] or [
            str(i) for i in range(predictions.shape[1])
        ]
        for j, name in enumerate(names):
            result[f"prediction_{name}"] = predictions[:, j]
    if args.proba:
        proba = estimator.predict_proba(X)
        for j, name in enumerate(estimator.classes_):
            result[f"proba_{name}"] = proba[:, j].round(6)
    write_result(result, args.out, "csv")


def add_evaluate_arguments(parser):
    parser.add_argument("--model", required=True, help="a saved albert_sk model")
    add_data_arguments(parser, target=True)


def run_evaluate(args):
    from sklearn.base import is_classifier, is_regressor

    estimator = load_model(args.model)
    frame = read_table(args.data)
    X = model_inputs(estimator, frame, args)
    y = select_columns(frame, [args.target_column], args.data, "--target-column")
    score = estimator.score(X, y[args.target_column])
    name = (
        "accuracy"
        if is_classifier(estimator)
        else "R^2"
        if is_regressor(estimator)
        else "score"
    )
    print(f"{name}: {score:.4f} ({type(estimator).__name__}, {len(X):,} rows)")


# === The table of subcommands ===


def add_pretrain_arguments(parser):
    parser.add_argument(
        "--corpus", required=True, help="UTF-8 text file of unlabelled documents"
    )
    parser.add_argument(
        "--out", required=True, help="folder to write the keras-hub preset to"
    )
    parser.add_argument(
        "--doc-sep",
        choices=["blank_line", "line"],
        default="blank_line",
        help="documents are blank-line separated blocks (default) or lines",
    )
    parser.add_argument("--preset", help="continue pretraining this preset")
    parser.add_argument("--backbone", default="small", help="tiny, small or base")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, help="train exactly this many steps")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--checkpoint-dir", help="resume a killed run from here")
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--hf", metavar="DIR", help="also export a Hugging Face copy")
    parser.add_argument("--seed", type=int, help="random_state")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="any other AlbertPretrainer parameter, e.g. --set optimizer=lamb",
    )


def run_pretrain(args):
    import time

    from albert_sk import AlbertPretrainer

    out = os.path.abspath(args.out)
    if not os.path.isdir(os.path.dirname(out)):
        raise CommandError(
            f"cannot write the preset to {out!r}: folder "
            f"{os.path.dirname(out)!r} does not exist. Create it first."
        )
    params = dict(
        preset=args.preset,
        backbone=args.backbone,
        vocab_size=args.vocab_size,
        max_length=args.max_length,
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        doc_sep=args.doc_sep,
        checkpoint_dir=args.checkpoint_dir,
        checkpoint_every=args.checkpoint_every,
        random_state=args.seed,
        verbose=1,
    )
    params.update(parse_settings(args.set))
    start = time.perf_counter()
    pre = AlbertPretrainer(**params).fit(args.corpus)
    path = pre.save_preset(out)
    history = pre.history_
    lines = [
        f"Pretrained ALBERT for {pre.n_steps_:,} steps in "
        f"{time.perf_counter() - start:,.0f} s"
        + (f" (resumed at step {pre.resumed_from_})" if pre.resumed_from_ else ""),
        f"  vocabulary      {pre.tokenizer_.vocab_size:,} pieces",
        f"  MLM accuracy    {history['mlm_accuracy'][0]:.3f} -> "
        f"{history['mlm_accuracy'][-1]:.3f}",
    ]
    if "sop_accuracy" in history:
        lines.append(
            f"  SOP accuracy    {history['sop_accuracy'][0]:.3f} -> "
            f"{history['sop_accuracy'][-1]:.3f}"
        )
    lines.append(f"  keras-hub preset {path}")
    if args.hf:
        from albert_sk import export_hf

        lines.append(f"  Hugging Face    {export_hf(pre, args.hf)}")
    lines.append(f"Fine-tune it with: AlbertClassifier(preset={path!r})")
    print("\n".join(lines))


def add_serve_arguments(parser):
    parser.add_argument("--model", required=True, help="a saved albert_sk model")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s, this machine only; "
        "0.0.0.0 listens on every interface)",
    )
    parser.add_argument("--port", type=int, default=8000, help="default: %(default)s")
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=32,
        help="inputs of concurrent requests run together, up to this many "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--max-wait-ms",
        type=float,
        default=5.0,
        help="how long the first request of a batch waits for others "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--max-request-bytes",
        type=int,
        default=2**20,
        help="larger request bodies get 413 (default: %(default)s)",
    )
    parser.add_argument(
        "--max-inputs",
        type=int,
        default=1024,
        help="requests with more inputs get 413 (default: %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level (default: %(default)s)",
    )


def run_serve(args):
    from albert_sk import serve

    serve.require_fastapi()  # before the model loads: fail fast without the extra
    limits = serve.Limits(
        max_batch_size=args.max_batch_size,
        max_wait_ms=args.max_wait_ms,
        max_request_bytes=args.max_request_bytes,
        max_inputs=args.max_inputs,
    ).check()
    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port must be in [0, 65535], got {args.port}.")
    estimator = load_model(args.model)
    serve.serve(
        estimator,
        host=args.host,
        port=args.port,
        limits=limits,
        log_level=args.log_level,
    )


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], "int | None"]


COMMANDS = {
    "demo": Command(
        "fine-tune ALBERT from scratch on the shipped sentiment sentences and "
        "compare with TF-IDF",
        add_demo_arguments,
        run_demo,
    ),
    "fit": Command(
        "fit an estimator on a table and save it", add_fit_arguments, run_fit
    ),
    "predict": Command(
        "predict with a saved model", add_predict_arguments, run_predict
    ),
    "evaluate": Command(
        "print a saved model's score on a labelled table",
        add_evaluate_arguments,
        run_evaluate,
    ),
    "pretrain": Command(
        "pretrain ALBERT (own vocabulary, n-gram MLM + SOP) on a text file and "
        "write a keras-hub preset",
        add_pretrain_arguments,
        run_pretrain,
    ),
    "serve": Command(
        "serve a saved model over HTTP (JSON; FastAPI + uvicorn)",
        add_serve_arguments,
        run_serve,
    ),
}


# === Entry point ===


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="ALBERT text models as scikit-learn estimators.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(child)
        child.set_defaults(run=command.run)
    return parser


def _user_errors():
    """Exception types that mean bad input, not a bug: one line, exit code 2."""
    from sklearn.utils._param_validation import InvalidParameterError

    return (AlbertSkError, InvalidParameterError, FileNotFoundError, FileExistsError)


def main(argv=None):
    """Run ``albert-sk`` with ``argv`` (default: command line); return exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error (2)
        return done.code
    try:
        return args.run(args) or 0
    except _user_errors() as err:
        message = " ".join(str(err).split())
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
