"""``albert-sk`` for the tagger and question answering, ``info``, progress, plots.

Each task round-trips through the command line on the shared datasets
(WNUT-17 CoNLL, SQuAD dev JSON): fit -> predict -> evaluate -> info, with
the fitted model files shared by module fixtures.
"""

import importlib
import io
import json
import os
import re

import pandas as pd
import pytest
from _cli import run
from _data import require
from _marks import API_FITS

import albert_sk
from albert_sk import cli
from albert_sk.cli import data as cli_data
from albert_sk.io import read_conll, read_squad, write_conll

pytestmark = API_FITS


TINY = ["--set", "backbone=tiny", "--set", "random_state=0", "--set", "epochs=2"]
TAGGER = [*TINY, "--set", "vocab_size=300", "--set", "max_length=32"]
QA = [*TINY, "--set", "vocab_size=150", "--set", "max_length=96"]
QA += ["--set", "max_query_length=40", "--set", "doc_stride=48"]
PNG = b"\x89PNG\r\n\x1a\n"


def assert_one_line_error(code, err, pattern):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.search(pattern, lines[0]), lines[0]


def assert_png(path):
    with open(path, "rb") as fh:
        data = fh.read()
    assert data.startswith(PNG) and len(data) > 5000, path


# === Data: slices of the shared datasets, written to tmp files ===


@pytest.fixture(scope="module")
def wnut(data_dir, tmp_path_factory):
    """48 WNUT-17 training sentences and 24 dev sentences as CoNLL files."""
    folder = tmp_path_factory.mktemp("cli-wnut")
    train = read_conll(require(data_dir / "wnut17" / "wnut17train.conll"))
    dev = read_conll(require(data_dir / "wnut17" / "emerging.dev.conll"))
    write_conll(folder / "train.conll", train[0][:48], train[1][:48])
    write_conll(folder / "dev.conll", dev[0][:24], dev[1][:24])
    return folder


@pytest.fixture(scope="module")
def squad(data_dir, tmp_path_factory):
    """SQuAD dev JSON: 30 v1.1 questions (3 paragraphs of one article) and
    12 v2.0 questions (with unanswerable ones), in the official format."""
    folder = tmp_path_factory.mktemp("cli-squad")
    for version, name, n_par, n_q in (
        ("1.1", "dev-v1.1-part-a.json", 3, 10),
        ("2.0", "dev-v2.0-part-a.json", 2, 6),
    ):
        with open(require(data_dir / "squad" / name), encoding="utf-8") as fh:
            article = json.load(fh)["data"][0]
        # Short questions: the tiny vocabulary of the v1.1 article cuts the
        # v2.0 article's words into many pieces.
        paragraphs = [
            dict(p, qas=[q for q in p["qas"] if len(q["question"].split()) <= 8][:n_q])
            for p in article["paragraphs"][:n_par]
        ]
        data = {"title": article["title"], "paragraphs": paragraphs}
        with open(folder / f"squad{version}.json", "w", encoding="utf-8") as fh:
            json.dump({"version": version, "data": [data]}, fh)
    return folder


@pytest.fixture(scope="module")
def tagger_file(wnut, tmp_path_factory):
    """``albert-sk fit --task tagger`` on the CoNLL file, with --plots."""
    folder = tmp_path_factory.mktemp("cli-tagger-fit")
    code = cli.main(
        ["fit", "--task", "tagger", "--data", str(wnut / "train.conll")]
        + ["--out", str(folder / "tagger.albert"), "--plots", str(folder / "plots")]
        + TAGGER
    )
    assert code == 0
    return folder / "tagger.albert"


@pytest.fixture(scope="module")
def qa_file(squad, tmp_path_factory):
    """``albert-sk fit --task qa`` on the SQuAD v1.1 slice."""
    path = tmp_path_factory.mktemp("cli-qa-fit") / "qa.albert"
    code = cli.main(
        ["fit", "--task", "qa", "--data", str(squad / "squad1.1.json")]
        + ["--out", str(path), *QA]
    )
    assert code == 0
    return path


# === tagger ===


def test_tagger_fit_saves_a_tagger_and_its_learning_curve(tagger_file, wnut):
    tagger = albert_sk.load(tagger_file)
    assert type(tagger).__name__ == "AlbertTagger"
    assert (tagger.backbone, tagger.max_length, tagger.epochs) == ("tiny", 32, 2)
    _, tags = read_conll(wnut / "train.conll")
    assert list(tagger.classes_) == sorted({t for s in tags for t in s})
    assert tagger.verbose == 0  # progress is not saved into the model
    assert_png(tagger_file.parent / "plots" / "learning-curve.png")


def test_tagger_predict_conll_keeps_words_and_order(tagger_file, wnut, tmp_path):
    out = tmp_path / "pred.conll"
    code = cli.main(
        ["predict", "--model", str(tagger_file), "--data", str(wnut / "dev.conll")]
        + ["--out", str(out)]
    )
    assert code == 0
    words, tags = read_conll(wnut / "dev.conll")
    pred_words, pred_tags = read_conll(out)
    assert pred_words == words  # one sentence per input, in order
    assert pred_tags == albert_sk.load(tagger_file).predict(words)


def test_tagger_predict_jsonl_entities_slice_the_texts(
    tagger_file, wnut, tmp_path, capsys
):
    words, _ = read_conll(wnut / "dev.conll")
    texts = ["  ".join(w) + " !" for w in words]  # odd spacing: offsets matter
    data = tmp_path / "texts.jsonl"
    pd.DataFrame({"sentence": texts}).to_json(data, orient="records", lines=True)
    code, out, err = run(
        ["predict", "--model", tagger_file, "--data", data]
        + ["--text-column", "sentence"],
        capsys,
    )
    assert code == 0 and err == ""  # stderr is no terminal: no progress bars
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["text"] for r in rows] == texts
    tagger = albert_sk.load(tagger_file)
    assert [r["tags"] for r in rows] == tagger.predict(texts)
    expected = tagger.predict_entities(texts)
    for row, entities in zip(rows, expected, strict=True):
        assert len(row["words"]) == len(row["tags"])
        assert row["entities"] == [
            {k: e[k] for k in ("text", "label", "start", "end")} for e in entities
        ]
        for entity in row["entities"]:
            assert row["text"][entity["start"] : entity["end"]] == entity["text"]


def test_tagger_rows_offsets_for_texts_and_word_lists():
    texts = cli_data.Data(X=["Ada  met Bob in New York.", ["Zoë", "left", "Rome"]])
    tags = [
        ["B-PER", "O", "B-PER", "O", "B-LOC", "I-LOC", "O"],
        ["B-PER", "O", "B-LOC"],
    ]
    rows = cli_data.tagger_rows(texts, tags, "IOB2")
    assert [[e["text"] for e in r["entities"]] for r in rows] == [
        ["Ada", "Bob", "New York"],
        ["Zoë", "Rome"],
    ]
    assert rows[1]["text"] == "Zoë left Rome"
    for row in rows:
        for entity in row["entities"]:
            assert row["text"][entity["start"] : entity["end"]] == entity["text"]
    # BIOES tags are read in their scheme.
    bioes = cli_data.tagger_rows(
        cli_data.Data(X=[["New", "York", "Ada"]]),
        [["B-LOC", "E-LOC", "S-PER"]],
        "BIOES",
    )
    assert [e["text"] for e in bioes[0]["entities"]] == ["New York", "Ada"]


def test_tagger_predict_csv_reads_back_as_word_lists(
    tagger_file, wnut, tmp_path, capsys
):
    args = ["predict", "--model", tagger_file]
    out = tmp_path / "pred.csv"
    code, _, _ = run([*args, "--data", wnut / "dev.conll", "--out", out], capsys)
    assert code == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["text", "words", "tags", "entities"]
    words, _ = read_conll(wnut / "dev.conll")
    assert [json.loads(w) for w in table.words] == words
    # The CSV's JSON word lists are input again: the same tags come back.
    code, again, _ = run([*args, "--data", out, "--text-column", "words"], capsys)
    assert code == 0
    rows = [json.loads(line) for line in again.splitlines()]
    assert [r["tags"] for r in rows] == [json.loads(t) for t in table.tags]


def test_tagger_entities_table(tagger_file, tmp_path, capsys):
    data = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["Ada met Bob in Paris", "nothing here"]}).to_csv(
        data, index=False
    )
    code, out, _ = run(
        ["predict", "--model", tagger_file, "--data", data, "--entities"], capsys
    )
    assert code == 0
    assert out.splitlines()[0] == "row,text,label,start,end"


def test_tagger_evaluate_prints_the_score_and_entity_report(
    tagger_file, wnut, tmp_path, capsys
):
    code, out, _ = run(
        ["evaluate", "--model", tagger_file, "--data", wnut / "dev.conll"]
        + ["--plots", tmp_path],
        capsys,
    )
    assert code == 0
    first = re.fullmatch(
        r"entity F1: (\d\.\d{4}) \(AlbertTagger, 24 sentences\)", out.splitlines()[0]
    )
    assert first, out
    words, tags = read_conll(wnut / "dev.conll")
    expected = albert_sk.load(tagger_file).score(words, tags)
    assert float(first.group(1)) == pytest.approx(expected, abs=6e-5)
    for kind in ("person", "location", "micro avg", "macro avg"):
        assert re.search(
            rf"^{kind} +\d\.\d{{4}} +\d\.\d{{4}} +\d\.\d{{4}} +\d+$", out, re.M
        )
    assert_png(tmp_path / "entity-f1.png")
    assert_png(tmp_path / "learning-curve.png")


def test_tagger_evaluate_on_texts_with_spans_equals_score(
    tagger_file, tmp_path, capsys
):
    entities = [
        [("Ada Lovelace", "person"), ("Bob", "person"), ("New York", "location")],
        [("Paris", "location")],
        [],
    ]
    texts = ["Ada Lovelace met Bob in New York.", "I love Paris", "nothing"]
    spans = [
        [[text.index(e), text.index(e) + len(e), label] for e, label in row]
        for text, row in zip(texts, entities, strict=True)
    ]
    data = tmp_path / "spans.jsonl"
    pd.DataFrame({"text": texts, "spans": spans}).to_json(
        data, orient="records", lines=True
    )
    code, out, err = run(
        ["evaluate", "--model", tagger_file, "--data", data]
        + ["--target-column", "spans"],
        capsys,
    )
    assert code == 0, err
    score = float(re.match(r"entity F1: (\d\.\d{4}) ", out).group(1))
    spans = [[tuple(s) for s in row] for row in spans]
    expected = albert_sk.load(tagger_file).score(texts, spans)
    assert score == pytest.approx(expected, abs=6e-5)


def test_tagger_evaluate_jsonl_word_lists_as_the_conll_file(
    tagger_file, wnut, tmp_path, capsys
):
    words, tags = read_conll(wnut / "dev.conll")
    data = tmp_path / "dev.jsonl"
    pd.DataFrame({"tokens": words, "tags": tags}).to_json(
        data, orient="records", lines=True
    )
    reports = []
    for path in (data, wnut / "dev.conll"):
        code, out, _ = run(["evaluate", "--model", tagger_file, "--data", path], capsys)
        assert code == 0
        reports.append(out)
    assert reports[0] == reports[1]


def test_info_describes_a_saved_tagger(tagger_file, capsys):
    code, out, _ = run(["info", tagger_file], capsys)
    assert code == 0
    tagger = albert_sk.load(tagger_file)
    assert re.search(r"^estimator +AlbertTagger \(--task tagger\)$", out, re.M)
    classes = ", ".join(tagger.classes_)
    assert f"classes ({len(tagger.classes_)})" in out and classes in out
    assert f"{tagger.tokenizer_.vocab_size:,} SentencePiece pieces" in out
    assert f"{tagger.model_.count_params():,} parameters" in out
    loss = tagger.history_["loss"][-1]
    assert re.search(rf"^trained +2 epochs, final loss {loss:.4f}$", out, re.M)
    assert f"albert_sk {albert_sk.__version__}" in out
    assert "  max_length = 32" in out and "  backbone = 'tiny'" in out

    code, out, _ = run(["info", tagger_file, "--json"], capsys)
    info = json.loads(out)
    assert info["estimator"] == "AlbertTagger"
    assert info["classes"] == list(tagger.classes_)
    assert info["file_size"] == os.path.getsize(tagger_file)
    assert info["parameters"] == tagger.model_.count_params()
    assert (info["epochs_run"], info["final"]["loss"]) == (2, loss)
    assert info["params"]["max_length"] == 32
    from albert_sk.model_file import describe

    assert set(describe(tagger)) <= set(info)  # the server's /info keys too


# === question answering ===


def test_qa_fit_predict_squad_json_and_table(qa_file, squad, tmp_path, capsys):
    qa = albert_sk.load(qa_file)
    assert type(qa).__name__ == "AlbertQA" and qa.max_length == 96
    frame = read_squad(squad / "squad1.1.json")
    out = tmp_path / "predictions.json"
    code, _, _ = run(
        ["predict", "--model", qa_file, "--data", squad / "squad1.1.json"]
        + ["--out", out],
        capsys,
    )
    assert code == 0
    with open(out, encoding="utf-8") as fh:
        official = json.load(fh)
    assert list(official) == list(frame.id)  # every question, in order
    assert list(official.values()) == list(qa.predict(frame))
    # The table: one row per question, offsets slice the context.
    code, table_csv, _ = run(
        ["predict", "--model", qa_file, "--data", squad / "squad1.1.json"], capsys
    )
    table = pd.read_csv(io.StringIO(table_csv), keep_default_na=False)
    assert list(table.columns) == ["id", "question", "answer", "start", "end", "score"]
    assert list(table.id) == list(frame.id)
    for row, context in zip(table.itertuples(), frame.context, strict=True):
        assert context[row.start : row.end] == row.answer
    assert list(table.answer) == list(official.values())


def test_qa_from_a_csv_with_named_columns(qa_file, squad, tmp_path, capsys):
    frame = read_squad(squad / "squad1.1.json").head(8)
    data = tmp_path / "questions.csv"
    frame.assign(
        gold=[a[0]["text"] for a in frame.answers], key=[f"q{i}" for i in range(8)]
    ).rename(columns={"question": "ask", "context": "passage"})[
        ["key", "ask", "passage", "gold"]
    ].to_csv(data, index=False)
    columns = ["--question-column", "ask", "--context-column", "passage"]
    out = tmp_path / "answers.jsonl"
    code, _, _ = run(
        ["predict", "--model", qa_file, "--data", data, "--out", out]
        + [*columns, "--id-column", "key"],
        capsys,
    )
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"q{i}" for i in range(8)]
    for row, context in zip(rows, frame.context, strict=True):
        assert context[row["start"] : row["end"]] == row["answer"]
    code, report, _ = run(
        ["evaluate", "--model", qa_file, "--data", data, "--target-column", "gold"]
        + columns,
        capsys,
    )
    assert code == 0
    score = float(re.match(r"SQuAD F1: (\d+\.\d{4}) \(AlbertQA, 8 q", report).group(1))
    first_answers = [a[0]["text"] for a in frame.answers]
    expected = albert_sk.load(qa_file).score(frame, first_answers)
    assert score == pytest.approx(expected, abs=6e-5)


def test_qa_evaluate_squad_v2_prints_f1_and_the_split(qa_file, squad, capsys):
    path = squad / "squad2.0.json"
    code, out, _ = run(["evaluate", "--model", qa_file, "--data", path], capsys)
    assert code == 0
    frame = read_squad(path)
    assert frame.is_impossible.any() and not frame.is_impossible.all()
    n = len(frame)
    score = re.match(rf"SQuAD F1: (\d+\.\d{{4}}) \(AlbertQA, {n} questions\)\n", out)
    assert score, out
    expected = albert_sk.load(qa_file).score(frame, frame.answers)
    assert float(score.group(1)) == pytest.approx(expected, abs=6e-5)
    assert re.search(r"^exact match: \d+\.\d{4}$", out, re.M)
    has, no = (~frame.is_impossible).sum(), frame.is_impossible.sum()
    assert f"{has} questions with an answer: exact match" in out
    assert f"{no} questions without an answer: exact match" in out


def test_info_describes_a_saved_qa_model(qa_file, capsys):
    code, out, _ = run(["info", qa_file], capsys)
    assert code == 0
    assert re.search(r"^estimator +AlbertQA \(--task qa\)$", out, re.M)
    assert "null score threshold" in out and "  doc_stride = 48" in out


# === progress ===


def test_progress_follows_stderr_and_the_flags(monkeypatch):
    import sys

    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert cli.show_progress(cli.build_parser().parse_args(["info", "m"]))
    args = cli.build_parser().parse_args(["predict", "--model", "m", "--data", "d"])
    assert cli.show_progress(args)
    args.progress = False  # --quiet
    assert not cli.show_progress(args)
    monkeypatch.undo()
    args = cli.build_parser().parse_args(["predict", "--model", "m", "--data", "d"])
    assert not cli.show_progress(args)  # pytest's stderr is no terminal
    args = cli.build_parser().parse_args(
        ["predict", "--model", "m", "--data", "d", "--verbose"]
    )
    assert cli.show_progress(args)


def test_verbose_predict_shows_progress_on_stderr_only(
    tagger_file, wnut, tmp_path, capsys
):
    code, out, err = run(
        ["predict", "--model", tagger_file, "--data", wnut / "dev.conll", "-v"],
        capsys,
    )
    assert code == 0
    assert re.search(r"\d+/\d+", err), err  # Keras' bar: windows done / total
    rows = [json.loads(line) for line in out.splitlines()]  # stdout stays JSON
    assert len(rows) == 24


def test_importing_the_cli_sets_no_environment_variable(monkeypatch, capsys):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    importlib.reload(cli)
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    assert cli.main(["--version"]) == 0
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert capsys.readouterr().out.strip() == albert_sk.__version__


# === errors: one line, exit code 2 ===


def test_qa_table_without_a_question_column(qa_file, tmp_path, capsys):
    data = tmp_path / "q.csv"
    pd.DataFrame({"query": ["Who?"], "context": ["Ada did."]}).to_csv(data, index=False)
    code, _, err = run(["predict", "--model", qa_file, "--data", data], capsys)
    assert_one_line_error(
        code,
        err,
        r"^albert-sk predict: error: column 'question' is not in .*q\.csv', which "
        r"has columns \['query', 'context'\]\. Pass --question-column NAME\.$",
    )


@pytest.mark.parametrize(
    "task, name, pattern",
    [
        ("tagger", "data.json", r"expected a CoNLL file \(\.conll, \.bio, \.iob, "),
        ("qa", "data.conll", r"expected a SQuAD \.json file or a \.csv, \.tsv"),
        ("classifier", "data.conll", r"expected a \.csv, \.tsv, \.jsonl or \.parquet"),
    ],
)
def test_wrong_file_type_for_the_task(task, name, pattern, tmp_path, capsys):
    path = tmp_path / name
    path.write_text("x\n")
    code, _, err = run(
        ["fit", "--task", task, "--data", path, "--out", tmp_path / "m"], capsys
    )
    assert_one_line_error(code, err, pattern)


def test_tagger_errors(tagger_file, wnut, tmp_path, capsys):
    words_only = tmp_path / "words.conll"
    words_only.write_text("Ada\nsings\n\nBob\n")
    code, _, err = run(
        ["fit", "--task", "tagger", "--data", words_only, "--out", tmp_path / "m"],
        capsys,
    )
    assert_one_line_error(code, err, r"has one column \(words only\), but a tagger")
    table = tmp_path / "t.jsonl"
    pd.DataFrame({"tokens": [["a"]], "labels": [["O"]]}).to_json(
        table, orient="records", lines=True
    )
    code, _, err = run(
        ["fit", "--task", "tagger", "--data", table, "--out", tmp_path / "m"], capsys
    )
    assert_one_line_error(
        code, err, r"column 'tags' is not in .*Pass --target-column NAME\.$"
    )
    dev = wnut / "dev.conll"
    code, _, err = run(
        ["predict", "--model", tagger_file, "--data", dev, "--out", tmp_path / "p.txt"],
        capsys,
    )
    assert_one_line_error(
        code,
        err,
        r"cannot write AlbertTagger predictions to .*p\.txt': expected a file "
        r"ending in \.conll, \.bio, \.iob, \.iob2, \.csv, \.tsv, \.jsonl",
    )
    code, _, err = run(
        ["evaluate", "--model", tagger_file, "--data", dev, "--conll-columns", "0"],
        capsys,
    )
    assert_one_line_error(code, err, r"--conll-columns expects two column numbers")
    code, _, err = run(
        ["predict", "--model", tagger_file, "--data", table, "--conll-columns", "0,1"],
        capsys,
    )
    assert_one_line_error(code, err, r"--conll-columns applies to CoNLL files")


def test_qa_errors(qa_file, squad, tmp_path, capsys):
    not_squad = tmp_path / "other.json"
    not_squad.write_text('{"questions": []}')
    code, _, err = run(["evaluate", "--model", qa_file, "--data", not_squad], capsys)
    assert_one_line_error(code, err, r"is not in the official SQuAD format")
    path = squad / "squad1.1.json"
    code, _, err = run(
        ["predict", "--model", qa_file, "--data", path, "--text-column", "q"], capsys
    )
    assert_one_line_error(
        code, err, r"--text-column does not apply to question answering"
    )
    code, _, err = run(
        ["predict", "--model", qa_file, "--data", path, "--entities"], capsys
    )
    assert_one_line_error(code, err, r"--entities needs a tagger, but .* AlbertQA")
    code, _, err = run(
        ["predict", "--model", qa_file, "--data", path, "--id-column", "key"], capsys
    )
    assert_one_line_error(
        code,
        err,
        r"--id-column does not apply to a SQuAD file: its fields have fixed names\. "
        r"Drop --id-column\.$",
    )
    code, _, err = run(
        ["predict", "--model", qa_file, "--data", path, "--conll-columns", "0,1"],
        capsys,
    )
    assert_one_line_error(
        code,
        err,
        r"--conll-columns does not apply to question answering: it names the "
        r"columns of a tagger's CoNLL file\. Drop --conll-columns\.$",
    )


def test_flags_of_another_task(tmp_path, capsys):
    data = tmp_path / "t.csv"
    pd.DataFrame({"text": ["a", "b"], "label": [0, 1]}).to_csv(data, index=False)
    code, _, err = run(
        ["fit", "--data", data, "--out", tmp_path / "m", "--question-column", "q"],
        capsys,
    )
    assert_one_line_error(
        code, err, r"--question-column does not apply to a classifier: it names"
    )


def test_info_errors(tmp_path, capsys):
    code, _, err = run(["info", tmp_path / "none.albert"], capsys)
    assert_one_line_error(code, err, r"^albert-sk info: error: no such model file")
    fake = tmp_path / "fake.albert"
    fake.write_text("not a zip")
    code, _, err = run(["info", fake], capsys)
    assert_one_line_error(code, err, r"is not an albert_sk model file")
