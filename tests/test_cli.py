"""The ``albert-sk`` command line: demo, fit / predict / evaluate, errors."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _cli import run
from _marks import API_FITS

import albert_sk
from albert_sk import cli
from albert_sk.cli import console as cli_console
from albert_sk.cli import demo

pytestmark = API_FITS

TINY = [
    "--set",
    "backbone=tiny",
    "--set",
    "vocab_size=300",
    "--set",
    "max_length=64",
    "--set",
    "epochs=2",
    "--set",
    "random_state=0",
]


def assert_one_line_error(code, err, pattern):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert re.search(pattern, lines[0]), lines[0]


@pytest.fixture(scope="module")
def table(tmp_path_factory, sentiment_small):
    """120 short labelled sentences as a CSV (text, label)."""
    path = tmp_path_factory.mktemp("cli") / "sentences.csv"
    sentiment_small[["text", "label"]].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model(table, tmp_path_factory):
    """A tiny classifier fitted through ``albert-sk fit``."""
    path = tmp_path_factory.mktemp("cli-model") / "clf.albert"
    code = cli.main(["fit", "--data", str(table), "--out", str(path), *TINY])
    assert code == 0
    return path


# === demo ===


def test_demo_quick_writes_model_and_plots_and_prints_accuracies(tmp_path, capsys):
    code, out, _ = run(["demo", "--quick", "--out", tmp_path / "demo"], capsys)
    assert code == 0
    folder = tmp_path / "demo"
    for name in (demo.MODEL_FILE, demo.CURVE_FILE, demo.CONFUSION_FILE):
        assert (folder / name).stat().st_size > 1000, name
    albert = re.search(r"AlbertClassifier \(from scratch\)\s+(\d\.\d{3})", out)
    tfidf = re.search(r"TF-IDF \+ LogisticRegression\s+(\d\.\d{3})", out)
    assert albert and tfidf, out
    # The printed accuracy is the saved model's accuracy on the held-out split.
    _, test = demo.split_data(demo.QUICK.n_train, demo.QUICK.n_test)
    saved = albert_sk.load(folder / demo.MODEL_FILE)
    assert float(albert.group(1)) == pytest.approx(
        saved.score(test["text"], test["label"]), abs=6e-4
    )
    # TF-IDF learns from 300 real sentences: clearly better than chance.
    assert float(tfidf.group(1)) > 0.6
    assert "Example predictions" in out
    assert len(re.findall(r"\[(ok |err)\] P\((positive|negative)\)=", out)) == 6
    assert f"Saved model: {folder / demo.MODEL_FILE}" in out


def test_demo_split_is_a_stratified_partition(sentiment):
    train, test = demo.split_data()
    assert (len(train), len(test)) == (2400, 600)
    assert (test.label == "positive").mean() == pytest.approx(0.5, abs=0.01)
    # Every sentence lands in exactly one part, with its label as a word.
    parts = pd.concat([train, test])
    whole = sentiment.assign(label=sentiment.label.map(demo.LABELS))
    assert sorted(zip(parts.text, parts.label, strict=True)) == sorted(
        zip(whole.text, whole.label, strict=True)
    )


def test_matplotlib_is_a_core_dependency():
    """The demo and --plots draw with a plain `pip install .` (issue 16)."""
    tomllib = pytest.importorskip("tomllib")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "pyproject.toml"), "rb") as fh:
        project = tomllib.load(fh)["project"]
    core = [re.split(r"[<>=\[ ]", dep)[0] for dep in project["dependencies"]]
    assert "matplotlib" in core
    assert project["optional-dependencies"]["plot"] == []  # an alias, kept


def test_plots_show_validation_curves(tmp_path):
    history = {
        "loss": [0.7, 0.5],
        "accuracy": [0.5, 0.8],
        "val_loss": [0.6, 0.55],
        "val_accuracy": [0.6, 0.7],
    }
    labels = ["negative", "positive"]
    curve, confusion = demo.write_plots(history, labels, labels[::-1], labels, tmp_path)
    assert os.path.getsize(curve) > 1000 and os.path.getsize(confusion) > 1000
    with open(curve, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_demo_rejects_zero_epochs(tmp_path, capsys):
    code, _, err = run(["demo", "--epochs", "0", "--out", tmp_path], capsys)
    assert_one_line_error(code, err, r"--epochs must be at least 1, got 0")


# === fit / predict / evaluate ===


def test_fit_saves_a_classifier_with_the_given_parameters(model):
    clf = albert_sk.load(model)
    assert type(clf).__name__ == "AlbertClassifier"
    assert clf.backbone == "tiny" and clf.epochs == 2 and clf.vocab_size == 300
    assert list(clf.classes_) == [0, 1]
    assert list(clf.feature_names_in_) == ["text"]


def test_predict_writes_predictions_and_probabilities(model, table, tmp_path, capsys):
    out_file = tmp_path / "predictions.csv"
    code, out, _ = run(
        ["predict", "--model", model, "--data", table, "--out", out_file, "--proba"],
        capsys,
    )
    assert code == 0 and "Wrote 120 predictions" in out
    result = pd.read_csv(out_file)
    assert list(result.columns) == ["text", "prediction", "proba_0", "proba_1"]
    data = pd.read_csv(table)
    clf = albert_sk.load(model)
    np.testing.assert_array_equal(result.prediction, clf.predict(data[["text"]]))
    np.testing.assert_allclose(
        result[["proba_0", "proba_1"]], clf.predict_proba(data[["text"]]), atol=1e-5
    )


def test_predict_prints_csv_to_stdout(model, table, capsys):
    code, out, _ = run(["predict", "--model", model, "--data", table], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "text,prediction"
    assert len(lines) == 121


def test_evaluate_prints_the_score_and_a_report_per_class(
    model, table, tmp_path, capsys
):
    code, out, _ = run(
        ["evaluate", "--model", model, "--data", table, "--plots", tmp_path], capsys
    )
    assert code == 0
    lines = out.splitlines()
    score = re.fullmatch(
        r"accuracy: (\d\.\d{4}) \(AlbertClassifier, 120 rows\)", lines[0]
    )
    assert score, out
    data = pd.read_csv(table)
    clf = albert_sk.load(model)
    expected = clf.score(data[["text"]], data.label)
    assert float(score.group(1)) == pytest.approx(expected, abs=6e-5)
    # sklearn's classification_report, one line per class.
    from sklearn.metrics import classification_report

    report = classification_report(
        data.label, clf.predict(data[["text"]]), digits=4, zero_division=0
    )
    assert report.rstrip() in out
    for name in ("learning-curve.png", "confusion-matrix.png"):
        with open(tmp_path / name, "rb") as fh:
            png = fh.read()
        assert png.startswith(b"\x89PNG") and len(png) > 5000, name
    assert f"Plots: {tmp_path / 'learning-curve.png'}" in out


def test_regressor_on_text_pairs_from_jsonl(sentiment_small, tmp_path, capsys):
    frame = pd.DataFrame(
        {
            "first": sentiment_small.text[:60].to_numpy(),
            "second": sentiment_small.text[60:].to_numpy(),
            "score": sentiment_small.label[:60].to_numpy()
            + sentiment_small.label[60:].to_numpy(),
        }
    )
    data = tmp_path / "pairs.jsonl"
    frame.to_json(data, orient="records", lines=True)
    model_path = tmp_path / "reg.albert"
    code, out, _ = run(
        ["fit", "--data", data, "--task", "regressor", "--out", model_path]
        + ["--text-column", "first", "--text-pair-column", "second"]
        + ["--target-column", "score", *TINY],
        capsys,
    )
    assert code == 0 and "Fitted AlbertRegressor on 60 rows" in out
    reg = albert_sk.load(model_path)
    assert reg.pairs_ and list(reg.feature_names_in_) == ["first", "second"]
    code, out, _ = run(
        ["evaluate", "--model", model_path, "--data", data, "--target-column", "score"]
        + ["--plots", tmp_path / "plots"],
        capsys,
    )
    assert code == 0 and out.startswith("R^2: ")
    r2 = float(re.match(r"R\^2: (-?\d+\.\d{4}) \(AlbertRegressor, 60 rows\)", out)[1])
    assert r2 == pytest.approx(
        reg.score(frame[["first", "second"]], frame.score), abs=6e-5
    )
    assert re.search(r"^mean absolute error: \d+\.\d{4}$", out, re.M)
    with open(tmp_path / "plots" / "predicted-vs-true.png", "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    code, _, err = run(
        ["predict", "--model", model_path, "--data", data, "--proba"], capsys
    )
    assert_one_line_error(code, err, r"--proba needs a classifier.*AlbertRegressor")


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_read_table_formats(ext, tmp_path):
    frame = pd.DataFrame({"text": ["a b", "123", "c, d"], "label": [0, 1, 0]})
    path = tmp_path / f"data{ext}"
    if ext == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif ext == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, sep="\t" if ext == ".tsv" else ",", index=False)
    read = cli.read_table(path)
    # Numbers in a text column are texts to the command line.
    assert cli.text_columns(read, ["text"], path)["text"].tolist() == [
        "a b",
        "123",
        "c, d",
    ]
    assert read["label"].tolist() == [0, 1, 0]


def test_settings_are_parsed_as_json_when_possible():
    settings = cli.parse_settings(
        ["epochs=3", "backbone=tiny", "learning_rate=1e-4", "early_stopping=true"]
        + ['backbone={"num_layers": 1}', "preset=null"]
    )
    assert settings == {
        "epochs": 3,
        "backbone": {"num_layers": 1},
        "learning_rate": 1e-4,
        "early_stopping": True,
        "preset": None,
    }


# === errors: one line on stderr, exit code 2 ===


def test_missing_data_file(tmp_path, capsys):
    code, _, err = run(
        ["fit", "--data", tmp_path / "nope.csv", "--out", tmp_path / "m"], capsys
    )
    assert_one_line_error(code, err, r"^albert-sk fit: error: no such file: .*nope")


def test_unsupported_file_type(tmp_path, capsys):
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    code, _, err = run(["fit", "--data", path, "--out", tmp_path / "m"], capsys)
    assert_one_line_error(code, err, r"expected a \.csv, \.tsv, \.jsonl or \.parquet")


@pytest.mark.parametrize(
    "flags, pattern",
    [
        (["--text-column", "review"], r"column 'review' is not in .*--text-column"),
        (["--target-column", "stars"], r"column 'stars' is not in .*--target-column"),
        (["--text-pair-column", "other"], r"column 'other' is not in"),
    ],
)
def test_missing_column(flags, pattern, table, tmp_path, capsys):
    code, _, err = run(
        ["fit", "--data", table, "--out", tmp_path / "m", *flags], capsys
    )
    assert_one_line_error(code, err, pattern)
    assert "['text', 'label']" in err


def test_unknown_parameter(table, tmp_path, capsys):
    code, _, err = run(
        ["fit", "--data", table, "--out", tmp_path / "m", "--set", "epoch=3"], capsys
    )
    assert_one_line_error(code, err, r"unknown parameter 'epoch' for AlbertClassifier")
    assert "epochs" in err


def test_invalid_parameter_value(table, tmp_path, capsys):
    code, _, err = run(
        ["fit", "--data", table, "--out", tmp_path / "m", "--set", "epochs=0"], capsys
    )
    assert_one_line_error(code, err, r"'epochs' parameter of AlbertClassifier must be")


def test_malformed_setting(table, tmp_path, capsys):
    code, _, err = run(
        ["fit", "--data", table, "--out", tmp_path / "m", "--set", "epochs"], capsys
    )
    assert_one_line_error(code, err, r"--set expects key=value")


def test_missing_text_names_the_row(tmp_path, capsys):
    path = tmp_path / "holes.csv"
    path.write_text("text,label\ngood,1\n,0\nbad,0\n")
    code, _, err = run(["fit", "--data", path, "--out", tmp_path / "m"], capsys)
    assert_one_line_error(code, err, r"row 1 \(line 3 of holes\.csv\) is missing")


@pytest.mark.parametrize("command", ["evaluate", "fit"])
def test_a_missing_label_is_one_line_naming_the_file_line(
    command, model, tmp_path, capsys
):
    # Issue 34: evaluate ended in a traceback from classification_report
    # (after "RuntimeWarning: invalid value encountered in cast"). Row 2 is
    # on line 5: the header is line 1 and row 1's quoted text spans two.
    path = tmp_path / "test.csv"
    path.write_text('text,label\ngood,1\n"bad,\nreally bad",0\nfine,\nok,1\n')
    where = ["--model", model] if command == "evaluate" else ["--out", tmp_path / "m"]
    code, out, err = run([command, *where, "--data", path], capsys)
    assert_one_line_error(
        code,
        err,
        rf"^albert-sk {command}: error: every row needs a target, but column "
        r"'label' is empty in row 2 \(line 5 of test\.csv\)\. Drop the rows "
        r"without a target, or fill them in\.$",
    )
    assert out == "" and not (tmp_path / "m").exists()


def test_row_lines_of_each_file_kind(tmp_path):
    from albert_sk.cli.data import row_lines

    csv = tmp_path / "a.csv"
    csv.write_text('text,label\n\none,1\n"two\nlines",0\nthree,1\n')
    assert row_lines(csv) == [3, 4, 6]
    assert pd.read_csv(csv).text.tolist() == ["one", "two\nlines", "three"]
    tsv = tmp_path / "a.tsv"
    tsv.write_text("text\tlabel\none\t1\ntwo\t0\n")
    assert row_lines(tsv) == [2, 3]
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"text": "one"}\n\n{"text": "two"}\n')
    assert row_lines(jsonl) == [1, 3]
    conll = tmp_path / "a.conll"
    conll.write_text("-DOCSTART- O\n\nAda B-PER\nsings O\n\n\nBob B-PER\n")
    assert row_lines(conll) == [3, 7]
    pd.DataFrame({"text": ["one"]}).to_parquet(tmp_path / "a.parquet")
    assert row_lines(tmp_path / "a.parquet") is None


def test_name_lines_rewrites_rows_of_a_file(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("text,label\n" + "".join(f"t{i},1\n" for i in range(8)))
    assert cli_console.name_lines("a missing target in row 5 of y. Fix it.", path) == (
        "a missing target in row 5 of y (line 7 of train.csv). Fix it."
    )
    assert cli_console.name_lines("cut (rows [0, 3, ...]).", path) == (
        "cut (rows [0, 3, ...] (lines 2, 5, ... of train.csv))."
    )
    long = tmp_path / "long.csv"
    long.write_text("text\n" + "t\n" * 1500)
    assert cli_console.name_lines("cut (rows [1400]).", long) == (
        "cut (rows [1400] (line 1402 of long.csv))."
    )
    # A row the file does not have, or a file without lines: unchanged.
    assert cli_console.name_lines("row 8 is bad", path) == "row 8 is bad"
    assert cli_console.name_lines("row 1 is bad", None) == "row 1 is bad"


def test_ctrl_c_during_fit_is_one_line_and_saves_nothing(
    table, tmp_path, capsys, monkeypatch
):
    # Issue 34: Ctrl-C ended in a traceback through TensorFlow. A
    # KeyboardInterrupt raised inside Keras' training loop is what Python
    # turns Ctrl-C into.
    import keras

    class CtrlC(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise KeyboardInterrupt

    make = cli.make_estimator
    monkeypatch.setattr(
        cli, "make_estimator", lambda *a: make(*a).set_params(callbacks=[CtrlC()])
    )
    out = tmp_path / "clf.albert"
    code, stdout, err = run(["fit", "--data", table, "--out", out, *TINY], capsys)
    assert code == 130
    assert err == "albert-sk fit: interrupted (Ctrl-C); no model was saved.\n"
    assert stdout == "" and list(tmp_path.iterdir()) == []


def test_output_folder_must_exist(table, tmp_path, capsys):
    out = tmp_path / "no" / "such" / "m.albert"
    code, _, err = run(["fit", "--data", table, "--out", out], capsys)
    assert_one_line_error(code, err, r"cannot save to .*does not exist")


def test_missing_model_file(table, tmp_path, capsys):
    code, _, err = run(
        ["predict", "--model", tmp_path / "none.albert", "--data", table], capsys
    )
    assert_one_line_error(code, err, r"no such model file")


def test_not_a_model_file(table, tmp_path, capsys):
    fake = tmp_path / "fake.albert"
    fake.write_text("not a zip")
    code, _, err = run(["evaluate", "--model", fake, "--data", table], capsys)
    assert_one_line_error(code, err, r"is not an albert_sk model file")


def test_usage_errors_exit_2(capsys):
    code, _, err = run(["fit"], capsys)
    assert code == 2 and "the following arguments are required" in err
    code, _, err = run(["nonsense"], capsys)
    assert code == 2 and "invalid choice" in err


def test_commands_table_is_the_extension_point(monkeypatch, capsys):
    def add_arguments(parser):
        parser.add_argument("--name", default="world")

    def hello(args):
        print(f"hello {args.name}")
        return 3

    monkeypatch.setitem(
        cli.COMMANDS, "hello", cli.Command("say hello", add_arguments, hello)
    )
    assert run(["hello", "--name", "albert"], capsys) == (3, "hello albert\n", "")


def _without_tf_log_level():
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # conftest.py sets it for the suite
    return env


# What TensorFlow's C++ libraries write when they load: absl's notice and
# "I0000 00:00:... file.cc:12] ..." records.
TF_NOISE = re.compile(r"absl|^[IWEF]\d{4} |cuda|oneDNN|tensorflow", re.I | re.M)


@pytest.mark.skipif(
    os.path.exists("/dev/nvidiactl"), reason="TensorFlow's GPU notes are news there"
)
def test_commands_print_no_tensorflow_start_up_lines(table, tmp_path):
    # Issue 34: every command printed TensorFlow's start-up lines, twice.
    command = [sys.executable, "-m", "albert_sk"]
    done = subprocess.run(
        [*command, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_without_tf_log_level(),
        check=False,
    )
    assert done.returncode == 0 and done.stderr == ""
    out, plots = tmp_path / "clf.albert", tmp_path / "plots"
    fit = [*command, "fit", "--data", str(table), "--out", str(out), *TINY]
    done = subprocess.run(
        [*fit, "--plots", str(plots)],
        capture_output=True,
        text=True,
        timeout=300,
        env=_without_tf_log_level(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not TF_NOISE.search(done.stderr), done.stderr
    # Only albert_sk speaks on stderr (warnings about the fit, if any).
    for line in done.stderr.splitlines():
        assert line.startswith("albert-sk fit: warning: "), done.stderr
    assert out.exists()
    # fit --plots draws the learning curve (the confusion matrix is
    # evaluate's), as README and docs/cli.md say.
    assert sorted(os.listdir(plots)) == ["learning-curve.png"]


@pytest.mark.skipif(
    os.path.exists("/dev/nvidiactl"), reason="TensorFlow's GPU notes are news there"
)
def test_python_users_see_no_cuinit_error_on_a_cpu_machine():
    script = (
        "import os, albert_sk\n"
        "from albert_sk.io import load_sentiment_sentences\n"
        "texts = load_sentiment_sentences().text.tolist()[:40]\n"
        "albert_sk.AlbertVectorizer(backbone='tiny', max_length=16).fit(texts)\n"
        "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env=_without_tf_log_level(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "cuInit" not in done.stderr and "E0000" not in done.stderr, done.stderr
    assert done.stdout.strip() == "3"
    # The user's own setting wins.
    done = subprocess.run(
        [sys.executable, "-c", "import os, albert_sk; albert_sk.AlbertVectorizer; "
         "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**_without_tf_log_level(), "TF_CPP_MIN_LOG_LEVEL": "1"},
        check=False,
    )  # fmt: skip
    assert done.stdout.strip() == "1", done.stderr
    # Importing albert_sk alone changes nothing.
    done = subprocess.run(
        [sys.executable, "-c", "import os, albert_sk; "
         "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_without_tf_log_level(),
        check=False,
    )  # fmt: skip
    assert done.stdout.strip() == "None", done.stderr


def test_readme_and_cli_docs_say_what_each_plots_draws():
    # Issue 34: README said --plots draws "learning curves and a confusion
    # matrix"; fit draws the curves only (the test above runs it).
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def text(*parts):
        with open(os.path.join(root, *parts), encoding="utf-8") as fh:
            return " ".join(fh.read().split())

    readme = text("README.md")
    assert "`fit --plots DIR` draws the learning curves;" in readme
    assert "`evaluate --plots DIR` draws them too, plus a confusion matrix" in readme
    assert "| `fit --plots DIR` | the learning curves only" in text("docs", "cli.md")


def test_drop_log_records_keeps_what_is_not_below_the_level():
    text = (
        "WARNING: All log messages before absl::InitializeLog() is called are "
        "written to STDERR\n"
        "I0000 00:00:1796588513.375854    3722 port.cc:153] oneDNN custom ops\n"
        "I0000 00:00:1796588513.37 3722 cpu_feature_guard.cc:227] optimized\n"
        "To enable the following instructions: AVX2, rebuild TensorFlow\n"
        "W0000 00:00:1796588513.377696    3722 some.cc:31] a warning\n"
        "E0000 00:00:1796588513.377696    3722 cuda_platform.cc:52] failed call\n"
        "F0000 00:00:1796588513.377696    3722 core.cc:1] fatal\n"
    )
    assert cli_console.drop_log_records(text, 3) == text.splitlines(keepends=True)[-1]
    assert cli_console.drop_log_records(text, 2).splitlines()[0].startswith("E0000")
    assert cli_console.drop_log_records(text, 0) == text
    notice = text.splitlines(keepends=True)[0]
    python = "a Python line\n"
    assert cli_console.drop_log_records(notice + python, 3) == python


def test_pretrain_vocab_size_is_auto_or_a_number(capsys):
    parse = cli.build_parser().parse_args
    base = ["pretrain", "--corpus", "c.txt", "--out", "o"]
    assert parse(base).vocab_size == "auto"
    assert parse([*base, "--vocab-size", "500"]).vocab_size == 500
    code, _, err = run([*base, "--vocab-size", "many"], capsys)
    assert code == 2 and "expected auto or a number of pieces" in err


def test_python_m_albert_sk_help():
    result = subprocess.run(
        [sys.executable, "-m", "albert_sk", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in ("demo", "fit", "predict", "evaluate", "info", "pretrain"):
        assert command in result.stdout


# === predict with a saved tagger ===

TAGGED = [
    (["Ada", "visits", "Paris", "today"], ["B-PER", "O", "B-LOC", "O"]),
    (["Bob", "loves", "New", "York"], ["B-PER", "O", "B-LOC", "I-LOC"]),
    (["Carla", "left", "Rome", "."], ["B-PER", "O", "B-LOC", "O"]),
    (["Hiro", "flew", "to", "Oslo"], ["B-PER", "O", "O", "B-LOC"]),
] * 8


@pytest.fixture(scope="module")
def tagger_model(tmp_path_factory):
    """A tiny AlbertTagger saved to a file."""
    import warnings

    from albert_sk import AlbertTagger

    tagger = AlbertTagger(
        backbone="tiny", vocab_size=64, max_length=32, epochs=1, random_state=0
    )
    with warnings.catch_warnings():  # one epoch need not converge
        warnings.simplefilter("ignore")
        tagger.fit([w for w, _ in TAGGED], [t for _, t in TAGGED])
    return tagger.save(tmp_path_factory.mktemp("cli-tagger") / "tagger.albert")


@pytest.fixture(scope="module")
def sentences(tmp_path_factory):
    """Raw texts (``text``) and the same as word lists (``tokens``), as .jsonl."""
    path = tmp_path_factory.mktemp("cli-tagger-data") / "sentences.jsonl"
    frame = pd.DataFrame(
        {
            "text": ["Ada visits Rome", "Bob flew to  New York .", ""],
            "tokens": [["Ada", "visits", "Rome"], ["Bob", "flew"], []],
        }
    )
    frame.to_json(path, orient="records", lines=True)
    return path


def test_predict_with_a_tagger_writes_one_json_line_per_input(
    tagger_model, sentences, tmp_path, capsys
):
    tagger = albert_sk.load(tagger_model)
    out_file = tmp_path / "tags.jsonl"
    code, out, err = run(
        ["predict", "--model", tagger_model, "--data", sentences, "--out", out_file],
        capsys,
    )
    assert (code, err) == (0, "") and "Wrote 3 predictions" in out
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    texts = ["Ada visits Rome", "Bob flew to  New York .", ""]
    assert [r["text"] for r in rows] == texts
    assert all(set(r) == {"text", "words", "tags", "entities"} for r in rows)
    assert [r["words"] for r in rows] == [
        ["Ada", "visits", "Rome"],
        ["Bob", "flew", "to", "New", "York", "."],
        [],
    ]
    assert [r["tags"] for r in rows] == tagger.predict(texts)
    # Word lists from a .jsonl column: one tag per word, printed to stdout.
    code, out, _ = run(
        ["predict", "--model", tagger_model, "--data", sentences]
        + ["--text-column", "tokens"],
        capsys,
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["words"] for r in rows] == [
        ["Ada", "visits", "Rome"],
        ["Bob", "flew"],
        [],
    ]
    # The same fields as for texts; "text" is the words joined by spaces.
    assert [r["text"] for r in rows] == ["Ada visits Rome", "Bob flew", ""]
    assert [len(r["tags"]) for r in rows] == [3, 2, 0]


def test_predict_with_a_tagger_to_csv_and_its_errors(
    tagger_model, sentences, tmp_path, capsys
):
    out_file = tmp_path / "tags.csv"
    args = ["predict", "--model", tagger_model, "--data", sentences]
    code, _, _ = run([*args, "--out", out_file], capsys)
    assert code == 0
    result = pd.read_csv(out_file, keep_default_na=False)
    assert list(result.columns) == ["text", "words", "tags", "entities"]
    assert [len(json.loads(t)) for t in result.tags] == [3, 6, 0]
    code, _, err = run([*args, "--proba"], capsys)
    assert_one_line_error(
        code,
        err,
        r"--proba needs a classifier, but .* holds an AlbertTagger\. Drop --proba\.",
    )
    code, _, err = run([*args, "--text-pair-column", "tokens"], capsys)
    assert_one_line_error(
        code, err, r"--text-pair-column does not apply to .*Drop --text-pair-column"
    )
    code, _, err = run([*args, "--text-column", "sentence"], capsys)
    assert_one_line_error(code, err, r"column 'sentence' is not in .*--text-column")
