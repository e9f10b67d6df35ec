"""Files in and files out for the ``albert-sk`` command, task by task.

Reading turns a file into what an estimator takes (``X``, ``y``); writing
turns predictions into a file a user opens next. The parsing itself is
:mod:`albert_sk.io`'s (CoNLL, SQuAD); this module picks the reader from the
file's extension and the task, and maps columns to the estimator's inputs.
numpy and pandas only: no Keras here.

==========  =========================================  ============================
task        reads (``--data``)                         ``predict --out``
==========  =========================================  ============================
classifier  .csv .tsv .jsonl .parquet: text column(s)  .csv .tsv .jsonl
regressor   same                                       same
tagger      CoNLL (.conll .bio .iob .iob2); tables of  .conll, .jsonl (entities with
            word lists (``tokens``) or texts           character offsets), .csv .tsv
qa          SQuAD .json (v1.1, v2.0); tables with      .json (official SQuAD
            ``question`` and ``context`` columns       predictions), .csv .tsv .jsonl
==========  =========================================  ============================
"""

import csv
import json
import os
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from albert_sk._files import to_json
from albert_sk._registry import task_of
from albert_sk.exceptions import AlbertSkError

READERS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet"}
CONLL = (".conll", ".bio", ".iob", ".iob2")
SQUAD = (".json",)
# The --target-column each task reads by default.
TARGETS = {
    "classifier": "label",
    "regressor": "label",
    "tagger": "tags",
    "qa": "answers",
}
ACCEPTS = {
    "tagger": "a CoNLL file (.conll, .bio, .iob, .iob2) or a .csv, .tsv, .jsonl or "
    ".parquet table",
    "qa": "a SQuAD .json file or a .csv, .tsv, .jsonl or .parquet table",
}


class CommandError(AlbertSkError):
    """A user error on the command line: printed as one line, exit code 2."""


def load_model(path):
    """The estimator saved at ``path``, quiet (``verbose=0``), or a
    :class:`CommandError` when there is no such file."""
    import albert_sk

    if not os.path.isfile(path):
        raise CommandError(
            f"no such model file: {path!r}. Write one with albert-sk fit --out "
            "PATH (or est.save(PATH))."
        )
    estimator = albert_sk.load(path)
    estimator.set_params(verbose=0)
    return estimator


def extension(path):
    return os.path.splitext(os.fspath(path))[1].lower()


# === Tables ===


def read_table(path, *, accepts=None):
    """A DataFrame from a ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` file."""
    path = os.fspath(path)
    ext = extension(path)
    if ext not in READERS:
        raise CommandError(
            f"cannot read {path!r}: expected "
            f"{accepts or 'a .csv, .tsv, .jsonl or .parquet file'}, got "
            f"{ext or 'no extension'!r}. Convert it or rename it."
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


def _as_text(value):
    return value if pd.isna(value) else str(value)


def text_columns(frame, columns, path):
    """The text column(s) as strings; empty cells stay missing (and are refused)."""
    X = select_columns(frame, columns, path, "--text-column")
    return X.apply(lambda col: col.map(_as_text))


def json_cells(column):
    """Cells written as JSON (lists in a CSV, as ``predict`` writes them), parsed.

    Only when every non-empty cell is a JSON list or object: a column of
    plain texts is returned as it is.
    """
    values = column.tolist()
    present = [v for v in values if isinstance(v, str)]
    if not present or len(present) + sum(_is_na(v) for v in values) != len(values):
        return column
    parsed = []
    for value in values:
        if not isinstance(value, str):
            parsed.append(value)
            continue
        if value[:1] not in "[{":
            return column
        try:
            parsed.append(json.loads(value))
        except json.JSONDecodeError:
            return column
    return pd.Series(parsed, index=column.index, name=column.name, dtype=object)


def _is_na(value):
    return not isinstance(value, (list, tuple, np.ndarray, dict)) and pd.isna(value)


def write_result(result, out, default_kind):
    """``result`` as JSON lines (``.jsonl``) or CSV/TSV, to ``out`` or stdout."""
    ext = extension(out) if out else ""
    kind = "jsonl" if ext == ".jsonl" else "tsv" if ext == ".tsv" else "csv"
    kind = kind if out else default_kind
    if kind == "jsonl":
        text = "".join(
            json.dumps(to_json(record), ensure_ascii=False) + "\n"
            for record in result.to_dict(orient="records")
        )
    else:  # lists (tags, words, entities) become JSON in their cell
        cells = result.map(
            lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
        )
        text = cells.to_csv(index=False, sep="\t" if kind == "tsv" else ",")
    if not out:
        sys.stdout.write(text)
        return
    from albert_sk._files import atomic_write

    with atomic_write(out, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"Wrote {len(result):,} predictions to {out}")


def check_output(out, allowed, who):
    """Refuse an ``--out`` extension the task cannot write, before any work."""
    if out and extension(out) not in allowed:
        raise CommandError(
            f"cannot write {who} predictions to {out!r}: expected a file ending in "
            f"{', '.join(allowed)}, got {extension(out) or 'no extension'!r}. "
            "Rename the --out file."
        )


def row_lines(path):
    """The line of ``path`` (from 1) on which each data row starts, or None.

    For error messages that name a row: CSV and TSV count the header line,
    quoted cells that span lines and skip blank lines as pandas does; JSON
    lines count the non-blank lines; CoNLL files the first line of each
    sentence. Parquet and SQuAD JSON have no line per row: None.
    """
    path = os.fspath(path)
    ext = extension(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            if ext in (".csv", ".tsv"):
                reader = csv.reader(fh, delimiter="," if ext == ".csv" else "\t")
                starts, line = [], 1
                for record in reader:
                    if record:
                        starts.append(line)
                    line = reader.line_num + 1
                return starts[1:]  # the header is no data row
            if ext == ".jsonl":
                return [n for n, text in enumerate(fh, 1) if text.strip()]
            if ext in CONLL:
                starts, inside = [], False
                for n, text in enumerate(fh, 1):
                    blank = not text.strip() or text.lstrip().startswith("-DOCSTART-")
                    if not blank and not inside:
                        starts.append(n)
                    inside = not blank
                return starts
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


# === What each task reads ===


@dataclass
class Data:
    """One input file as the estimator takes it, plus what outputs echo."""

    X: object
    y: object = None
    frame: pd.DataFrame | None = None  # the columns read (classifier, regressor)
    ids: list | None = None  # question ids (qa)

    def __len__(self):
        return len(self.X)


def read_data(task, args, *, target, estimator=None):
    """``Data`` for ``task`` from ``args.data``; ``y`` too when ``target``."""
    for flag, (owner, what) in TASK_FLAGS.items():
        if task != owner:
            _no_flag(args, flag, NAMES.get(task, task), f"it names {what}")
    reader = {"tagger": _tagger_data, "qa": _qa_data}.get(task, _text_data)
    return reader(args, target, estimator)


NAMES = {
    "classifier": "a classifier",
    "regressor": "a regressor",
    "tagger": "a tagger",
    "qa": "question answering",
}
# Flags that only one task reads: passing one to another task is an error,
# not silently ignored.
TASK_FLAGS = {
    "--conll-columns": ("tagger", "the columns of a tagger's CoNLL file"),
    "--question-column": ("qa", "the questions of question answering"),
    "--context-column": ("qa", "the contexts of question answering"),
    "--id-column": ("qa", "the question ids of question answering"),
}


def _target(frame, args, task):
    column = args.target_column or TARGETS[task]
    return select_columns(frame, [column], args.data, "--target-column")[column]


def check_targets(y):
    """Refuse empty target cells, naming the first such row (as ``fit`` would)."""
    missing = np.flatnonzero(pd.isna(pd.Series(y)).to_numpy())
    if len(missing):
        more = f" (and {len(missing) - 1:,} more rows)" if len(missing) > 1 else ""
        raise CommandError(
            f"every row needs a target, but column {getattr(y, 'name', 'label')!r} "
            f"is empty in row {missing[0]}{more}. Drop the rows without a target, "
            "or fill them in."
        )
    return y


def _no_flag(args, flag, task, why):
    if getattr(args, flag.strip("-").replace("-", "_"), None):
        raise CommandError(f"{flag} does not apply to {task}: {why}. Drop {flag}.")


def _text_data(args, target, estimator):
    """Classifier and regressor: one text column, or two for text pairs."""
    frame = read_table(args.data)
    if args.text_column:
        columns = [args.text_column] + (
            [args.text_pair_column] if args.text_pair_column else []
        )
    elif getattr(estimator, "feature_names_in_", None) is not None:
        columns = [str(c) for c in estimator.feature_names_in_]
    else:
        columns = ["text"] + ([args.text_pair_column] if args.text_pair_column else [])
    X = text_columns(frame, columns, args.data)
    task = task_of(estimator) if estimator is not None else args.task
    y = _target(frame, args, task or "classifier") if target else None
    if y is not None:
        check_targets(y)
    return Data(X=X, y=y, frame=X)


def _conll_columns(args):
    text = args.conll_columns or "0,-1"
    try:
        word, tag = (int(part) for part in text.split(","))
    except ValueError:
        raise CommandError(
            f"--conll-columns expects two column numbers WORD,TAG (e.g. 0,3 for "
            f"CoNLL-2003, 0,-1 for the last column), got {text!r}."
        ) from None
    return word, tag


def _tagger_data(args, target, estimator):
    """Word lists from a CoNLL file, or word lists / raw texts from a table."""
    from albert_sk.io import read_conll

    _no_flag(args, "--text-pair-column", "a tagger", "it tags one text per row")
    if extension(args.data) in CONLL:
        for flag in ("--text-column", "--target-column"):
            _no_flag(args, flag, "a CoNLL file", "words and tags are its columns")
        if not os.path.isfile(args.data):
            raise CommandError(f"no such file: {args.data!r}. Check the --data path.")
        word, tag = _conll_columns(args)
        sentences, tags = read_conll(args.data, columns=(word, tag if target else None))
        if (
            target
            and sentences
            and all(s == t for s, t in zip(sentences, tags, strict=True))
        ):
            raise CommandError(
                f"{args.data!r} has one column (words only), but a tagger needs a "
                "word<TAB>tag line per word to fit or evaluate. Add the tag column, "
                "or pass --conll-columns WORD,TAG."
            )
        return Data(X=sentences, y=tags)
    if getattr(args, "conll_columns", None):
        raise CommandError(
            f"--conll-columns applies to CoNLL files ({', '.join(CONLL)}), but "
            f"{args.data!r} is a table. Drop --conll-columns or pass --text-column."
        )
    frame = read_table(args.data, accepts=ACCEPTS["tagger"])
    has_tokens = "tokens" in frame.columns and "text" not in frame.columns
    column = args.text_column or ("tokens" if has_tokens else "text")
    cells = select_columns(frame, [column], args.data, "--text-column")[column]
    X = [_words_or_text(v) for v in json_cells(cells)]
    y = json_cells(_target(frame, args, "tagger")).tolist() if target else None
    return Data(X=X, y=y)


def _words_or_text(value):
    """A cell as the tagger takes it: a word list or a text."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    return _as_text(value)


def _qa_data(args, target, estimator):
    """Questions and contexts from a SQuAD file or a table."""
    from albert_sk.io import read_squad

    _no_flag(args, "--text-pair-column", "question answering", "see --context-column")
    _no_flag(args, "--text-column", "question answering", "see --question-column")
    if extension(args.data) in SQUAD:
        for flag in ("--question-column", "--context-column", "--id-column"):
            _no_flag(args, flag, "a SQuAD file", "its fields have fixed names")
        _no_flag(args, "--target-column", "a SQuAD file", "its answers are 'answers'")
        if not os.path.isfile(args.data):
            raise CommandError(f"no such file: {args.data!r}. Check the --data path.")
        frame = read_squad(args.data)
        if not len(frame):
            raise CommandError(f"{args.data!r} holds no questions.")
        X = frame[["question", "context"]]
        return Data(X=X, y=frame["answers"] if target else None, ids=list(frame.id))
    frame = read_table(args.data, accepts=ACCEPTS["qa"])
    columns = {}
    for field in ("question", "context"):
        name = getattr(args, f"{field}_column", None) or field
        columns[field] = select_columns(frame, [name], args.data, f"--{field}-column")[
            name
        ].map(_as_text)
    X = pd.DataFrame(columns)
    id_column = getattr(args, "id_column", None)
    if id_column:
        ids = select_columns(frame, [id_column], args.data, "--id-column")[id_column]
        ids = ids.map(str).tolist()
    elif "id" in frame.columns:
        ids = frame["id"].map(str).tolist()
    else:
        ids = [str(i) for i in range(len(frame))]
    y = json_cells(_target(frame, args, "qa")) if target else None
    return Data(X=X, y=y, ids=ids)


# === What each task writes ===


def tagger_rows(data, tags, scheme):
    """One record per input: ``text``, ``words``, ``tags``, ``entities``.

    For word lists, ``text`` is the words joined by single spaces. Entity
    offsets are character offsets into ``text``:
    ``text[start:end] == entity["text"]`` on every row.
    """
    from albert_sk.align import entity_records, split_words, to_iob2

    rows = []
    for value, row_tags in zip(data.X, tags, strict=True):
        if isinstance(value, str):
            text = value
            words, starts, ends = split_words(value)
        else:
            words = list(value)
            text = " ".join(words)
            lengths = np.asarray([len(w) for w in words], dtype=np.int64)
            starts = np.cumsum(np.concatenate([[0], lengths[:-1] + 1]))[: len(words)]
            ends = starts + lengths
        entities = []
        if scheme is not None:
            iob2 = to_iob2(list(row_tags), scheme)
            entities = entity_records(text, iob2, starts, ends)
        rows.append(
            {"text": text, "words": words, "tags": list(row_tags), "entities": entities}
        )
    return rows


def write_tagger_predictions(rows, out, *, entities_table=False):
    """CoNLL (``.conll``...), JSON lines (default) or CSV/TSV of ``rows``."""
    if out and extension(out) in CONLL:
        from albert_sk.io import write_conll

        write_conll(out, [r["words"] for r in rows], [r["tags"] for r in rows])
        empty = sum(not r["words"] for r in rows)
        note = f" ({empty} empty, written as blank lines)" if empty else ""
        print(f"Wrote {len(rows):,} tagged sentences{note} to {out}")
        return
    if entities_table:
        table = pd.DataFrame(
            [{"row": i, **e} for i, r in enumerate(rows) for e in r["entities"]],
            columns=["row", "text", "label", "start", "end"],
        )
        write_result(table, out, "csv")
        return
    write_result(pd.DataFrame(rows), out, "jsonl")


def qa_rows(data, spans):
    """One record per question: ``id``, ``question``, ``answer``, offsets, score."""
    rows = []
    for i, best in enumerate(spans):
        record = best[0]
        rows.append(
            {
                "id": data.ids[i],
                "question": data.X["question"].iloc[i],
                "answer": record["answer"],
                "start": int(record["start"]),
                "end": int(record["end"]),
                "score": round(float(record["score"]), 4),
            }
        )
    return rows


def write_qa_predictions(rows, out):
    """Official SQuAD ``{id: answer}`` JSON (``.json``), else a table."""
    if out and extension(out) in SQUAD:
        from albert_sk.io import write_squad_predictions

        path = write_squad_predictions(
            out, [r["id"] for r in rows], [r["answer"] for r in rows]
        )
        print(f"Wrote {len(rows):,} answers (SQuAD predictions format) to {path}")
        return
    write_result(pd.DataFrame(rows), out, "csv")
