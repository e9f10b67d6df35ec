"""The ``albert-sk`` command line (also ``python -m albert_sk``).

Subcommands live in the ``COMMANDS`` table at the end of this module: each
entry names a function that adds its arguments to an ``argparse`` parser
and a function that runs it (``run(args) -> exit code or None``). To add a
subcommand, write those two functions and add one line to the table; the
larger ones have a module each (:mod:`albert_sk.cli.pretrain`,
:mod:`albert_sk.cli.serve`), and the options several share are
:mod:`albert_sk.cli.options`'.

Errors in what the user passed (a missing file or column, an unknown
parameter, bad data) print one line to stderr and exit with code 2.

Progress (Keras bars: epochs and steps in ``fit``, rows in ``predict``) goes
to stderr, and only when stderr is a terminal, so pipes, files and CI logs
stay clean; ``--verbose`` and ``--quiet`` override that. Files in and out
are :mod:`albert_sk.cli.data`'s, reports and ``info`` :mod:`albert_sk.cli.report`'s,
what else goes to stderr (one-line warnings and errors that name file lines,
Ctrl-C, TensorFlow's start-up lines left out) :mod:`albert_sk.cli.console`'s.
"""

import argparse
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from albert_sk._registry import TASKS
from albert_sk._version import __version__
from albert_sk.cli import pretrain as pretrain_command
from albert_sk.cli import serve as serve_command
from albert_sk.cli.console import (
    interrupted,
    load_tensorflow_quietly,
    name_lines,
    one_line_warnings,
)
from albert_sk.cli.data import (  # noqa: F401  (read_table, text_columns: API)
    CommandError,
    load_model,
    read_table,
    select_columns,
    text_columns,
    write_result,
)
from albert_sk.cli.options import (  # noqa: F401  (parse_settings: API)
    add_plots_argument,
    add_progress_arguments,
    parse_settings,
    plots_folder,
    progress_to_stderr,
    show_progress,
)
from albert_sk.exceptions import AlbertSkError

PROG = "albert-sk"


# === Helpers shared by subcommands ===


def make_estimator(task, settings):
    """An estimator for ``task`` with ``settings`` checked against its parameters."""
    import albert_sk

    estimator = getattr(albert_sk, TASKS[task])()
    known = estimator.get_params(deep=False)
    unknown = [key for key in settings if key not in known]
    if unknown:
        raise CommandError(
            f"unknown parameter {unknown[0]!r} for {TASKS[task]}. Known "
            f"parameters: {', '.join(sorted(known))}."
        )
    return estimator.set_params(**settings)


def model_task(estimator, path, command):
    """The ``--task`` of a loaded model, or an error for one ``command`` cannot use."""
    from albert_sk._registry import task_of

    task = task_of(estimator)
    if task is None:
        raise CommandError(
            f"{command} needs a model of one of the tasks {sorted(TASKS)}, but "
            f"{path!r} holds an {type(estimator).__name__}. Use it from Python "
            "(est.transform(X))."
        )
    return task


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
    add_progress_arguments(parser)


def run_demo(args):
    from albert_sk.cli import demo

    if args.epochs is not None and args.epochs < 1:
        raise CommandError(f"--epochs must be at least 1, got {args.epochs}.")
    demo.run(
        args.out,
        quick=args.quick,
        epochs=args.epochs,
        backbone=args.backbone,
        progress=show_progress(args),
    )


def add_data_arguments(parser, *, target):
    parser.add_argument(
        "--data",
        required=True,
        metavar="FILE",
        help="a .csv, .tsv, .jsonl or .parquet table; a tagger also reads CoNLL "
        "(.conll, .bio, .iob, .iob2), question answering SQuAD (.json)",
    )
    parser.add_argument(
        "--text-column",
        metavar="NAME",
        help="column holding the texts (default: text, or the columns used in "
        "fit; a tagger: text, or tokens if the table has no text column)",
    )
    parser.add_argument(
        "--text-pair-column",
        metavar="NAME",
        help="column holding the second texts of pairs",
    )
    if target:
        parser.add_argument(
            "--target-column",
            metavar="NAME",
            help="column holding the targets (default: label; a tagger: tags, "
            "question answering: answers)",
        )
    group = parser.add_argument_group("tagger and question answering input")
    group.add_argument(
        "--conll-columns",
        metavar="WORD,TAG",
        help="columns of the word and the tag in a CoNLL file (default: 0,-1, "
        "the first and the last; 0,3 for CoNLL-2003)",
    )
    group.add_argument(
        "--question-column",
        metavar="NAME",
        help="column holding the questions (default: question)",
    )
    group.add_argument(
        "--context-column",
        metavar="NAME",
        help="column holding the context passages (default: context)",
    )
    group.add_argument(
        "--id-column",
        metavar="NAME",
        help="column holding the question ids for the predictions (default: id "
        "if the table has it, else the row number)",
    )


def add_fit_arguments(parser):
    add_data_arguments(parser, target=True)
    parser.add_argument("--task", choices=list(TASKS), default="classifier")
    parser.add_argument("--out", required=True, help="where to save the model")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="estimator parameter, e.g. --set epochs=5 --set backbone=tiny "
        "(values are read as JSON when possible)",
    )
    add_plots_argument(parser, "the learning curves")
    add_progress_arguments(parser)


def _trained(estimator):
    losses = (getattr(estimator, "history_", None) or {}).get("loss") or []
    if not losses:
        return ""
    epochs = f"{len(losses)} epoch{'s' * (len(losses) != 1)}"
    return f" ({epochs}, final loss {losses[-1]:.4f})"


def run_fit(args):
    from albert_sk.cli.data import read_data
    from albert_sk.cli.report import plot_learning_curves

    settings = parse_settings(args.set)
    data = read_data(args.task, args, target=True)
    out = os.path.abspath(args.out)
    if not os.path.isdir(os.path.dirname(out)):
        raise CommandError(
            f"cannot save to {out!r}: folder {os.path.dirname(out)!r} does not "
            "exist. Create it first."
        )
    folder = plots_folder(args)
    estimator = make_estimator(args.task, settings)
    with progress_to_stderr(estimator, show_progress(args)):
        estimator.fit(data.X, data.y)
    path = estimator.save(out)
    print(
        f"Fitted {type(estimator).__name__} on {len(data):,} rows"
        f"{_trained(estimator)}; saved to {path}"
    )
    if folder:
        curve = plot_learning_curves(estimator, folder)
        print(f"Plots: {curve}" if curve else "Plots: no training history to draw")


def add_predict_arguments(parser):
    parser.add_argument("--model", required=True, help="a saved albert_sk model")
    add_data_arguments(parser, target=False)
    parser.add_argument(
        "--out",
        help="a .csv, .tsv or .jsonl file; a tagger also writes .conll, question "
        "answering .json (the official SQuAD predictions: id -> answer). Default: "
        "CSV to stdout (JSON lines for a tagger)",
    )
    parser.add_argument(
        "--proba",
        action="store_true",
        help="add one probability column per class (classifiers)",
    )
    parser.add_argument(
        "--entities",
        action="store_true",
        help="tagger: one row per entity (row, text, label, start, end) instead "
        "of one row per input",
    )
    add_progress_arguments(parser)


def run_predict(args):
    from albert_sk.cli import data as cli_data

    estimator = load_model(args.model)
    task = model_task(estimator, args.model, "predict")
    name = type(estimator).__name__
    if args.proba and task != "classifier":
        raise CommandError(
            f"--proba needs a classifier, but {args.model!r} holds an {name}. "
            "Drop --proba."
        )
    if args.entities and task != "tagger":
        raise CommandError(
            f"--entities needs a tagger, but {args.model!r} holds an {name}. "
            "Drop --entities."
        )
    tables = (".csv", ".tsv", ".jsonl")
    allowed = {"tagger": cli_data.CONLL + tables, "qa": cli_data.SQUAD + tables}
    cli_data.check_output(args.out, allowed.get(task, tables), name)
    data = cli_data.read_data(task, args, target=False, estimator=estimator)
    progress = show_progress(args)
    if task == "tagger":
        with progress_to_stderr(estimator, progress):
            tags = estimator.predict(data.X)
        rows = cli_data.tagger_rows(data, tags, estimator.scheme)
        cli_data.write_tagger_predictions(rows, args.out, entities_table=args.entities)
        return
    if task == "qa":
        with progress_to_stderr(estimator, progress):
            spans = estimator.predict_spans(data.X)
        cli_data.write_qa_predictions(cli_data.qa_rows(data, spans), args.out)
        return
    result = data.frame.copy()
    with progress_to_stderr(estimator, progress):
        predictions = estimator.predict(data.X)
        proba = estimator.predict_proba(data.X) if args.proba else None
    if predictions.ndim == 1:
        result["prediction"] = predictions
    else:
        names = [str(c) for c in getattr(estimator, "classes_", [])] or [
            str(i) for i in range(predictions.shape[1])
        ]
        for j, label in enumerate(names):
            result[f"prediction_{label}"] = predictions[:, j]
    if proba is not None:
        for j, label in enumerate(estimator.classes_):
            result[f"proba_{label}"] = proba[:, j].round(6)
    write_result(result, args.out, "csv")


def add_evaluate_arguments(parser):
    parser.add_argument("--model", required=True, help="a saved albert_sk model")
    add_data_arguments(parser, target=True)
    add_plots_argument(
        parser,
        "the learning curves and a confusion matrix (classifier), F1 per entity "
        "type (tagger) or predictions against targets (regressor)",
    )
    add_progress_arguments(parser)


def run_evaluate(args):
    from albert_sk.cli import report as cli_report
    from albert_sk.cli.data import read_data

    estimator = load_model(args.model)
    task = model_task(estimator, args.model, "evaluate")
    data = read_data(task, args, target=True, estimator=estimator)
    folder = plots_folder(args)
    with progress_to_stderr(estimator, show_progress(args)):
        evaluation = cli_report.evaluate(estimator, data)
    print(evaluation.headline(estimator))
    if evaluation.report:
        print("\n" + evaluation.report)
    if folder:
        written = [
            cli_report.plot_learning_curves(estimator, folder),
            cli_report.plot_evaluation(estimator, evaluation, folder),
        ]
        print("\nPlots: " + ", ".join(p for p in written if p))


def add_info_arguments(parser):
    parser.add_argument("model", help="a saved albert_sk model file")
    parser.add_argument(
        "--json", action="store_true", help="print the description as JSON"
    )


def run_info(args):
    from albert_sk.cli.report import format_info, model_info

    info = model_info(args.model, load_model(args.model))
    print(json.dumps(info, indent=1) if args.json else format_info(info))


# === The table of subcommands ===


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], "int | None"]
    # Whether ``run`` loads TensorFlow: ``main`` then loads it first, without
    # its start-up lines (see ``load_tensorflow_quietly``).
    loads_tensorflow: bool = True


COMMANDS = {
    "demo": Command(
        "fine-tune ALBERT from scratch on the shipped sentiment sentences and "
        "compare with TF-IDF",
        add_demo_arguments,
        run_demo,
    ),
    "fit": Command(
        "fit an estimator (classifier, regressor, tagger, qa) on a file and save it",
        add_fit_arguments,
        run_fit,
    ),
    "predict": Command(
        "predict with a saved model", add_predict_arguments, run_predict
    ),
    "evaluate": Command(
        "print a saved model's score and a per-class (per-entity) report on "
        "labelled data",
        add_evaluate_arguments,
        run_evaluate,
    ),
    "info": Command(
        "print what a saved model is: estimator, labels, vocabulary, size, "
        "version, training",
        add_info_arguments,
        run_info,
    ),
    "pretrain": Command(
        "pretrain ALBERT (own vocabulary, n-gram MLM + SOP) on a text file and "
        "write a keras-hub preset",
        pretrain_command.add_arguments,
        pretrain_command.run,
    ),
    "serve": Command(
        "serve a saved model over HTTP (JSON; FastAPI + uvicorn)",
        serve_command.add_arguments,
        serve_command.run,
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
        child.set_defaults(run=command.run, loads_tensorflow=command.loads_tensorflow)
    return parser


def _user_errors():
    """Exception types that mean bad input, not a bug: one line, exit code 2."""
    from sklearn.utils._param_validation import InvalidParameterError

    return (AlbertSkError, InvalidParameterError, FileNotFoundError, FileExistsError)


def main(argv=None):
    """Run ``albert-sk`` with ``argv`` (default: command line); return exit code."""
    # Before a subcommand loads TensorFlow: its C++ log level (errors too: a
    # CPU machine's failed cuInit is one). Set here, not on import, so
    # importing this module changes nothing; the user's own setting wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # And its Python log's notes on retraced steps (one per padded batch
    # length), which ask nothing of someone at a command line.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error (2)
        return done.code
    data = getattr(args, "data", None)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line_warnings(PROG, args.command, data)
            if getattr(args, "loads_tensorflow", False):
                load_tensorflow_quietly()
            return args.run(args) or 0
    except KeyboardInterrupt:
        lead = "\n" if show_progress(args) else ""  # end the progress bar's line
        print(f"{lead}{PROG} {args.command}: {interrupted(args)}", file=sys.stderr)
        return 130
    except _user_errors() as err:
        message = name_lines(" ".join(str(err).split()), data)
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
