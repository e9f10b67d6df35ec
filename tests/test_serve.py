"""``albert-sk serve``: a real server process answered over HTTP.

One tiny classifier and one tiny tagger are fitted and saved once; each is
served by ``python -m albert_sk serve`` on a free local port for the whole
module, and called with ``urllib`` (no client library needed). A tiny QA
model is served in this process (``create_app`` under uvicorn in a thread).
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from _marks import API_FITS

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

import albert_sk  # noqa: E402
from albert_sk import AlbertClassifier, AlbertTagger, cli  # noqa: E402
from albert_sk.exceptions import TruncationWarning  # noqa: E402

pytestmark = API_FITS

TEXTS = [
    "great film, loved it",
    "awful plot and boring",
    "Café naïve Ångström",
    "emoji 🎉🔥 fun",
    "   ",
    "",
    "MiXeD CaSe TeXt",
    " ".join(["long"] * 100),
]
MAX_INPUTS = 50
MAX_BYTES = 8192
STARTUP_S = 120


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(base, path, body=None, *, raw=None, timeout=60):
    """``(status, JSON answer)`` of a GET (no body) or a POST to ``base + path``."""
    data = raw if raw is not None else None if body is None else json.dumps(body)
    if isinstance(data, str):
        data = data.encode("utf-8")
    request = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class Server:
    """``python -m albert_sk serve`` in a child process, stopped on ``close``."""

    def __init__(self, model, folder, *extra):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"serve-{self.port}.log"
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        command = [sys.executable, "-m", "albert_sk", "serve", "--model", str(model)]
        command += ["--port", str(self.port), *extra]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env
            )

    def wait(self):
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if call(self.base, "/health", timeout=2)[0] == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        self.close()
        pytest.fail(f"the server did not start:\n{self.log.read_text()[-3000:]}")

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def saved(tmp_path_factory, sentiment_small):
    """A tiny classifier and a tiny tagger, saved: ``{name: path}``."""
    folder = tmp_path_factory.mktemp("serve")
    clf = AlbertClassifier(
        backbone="tiny",
        vocab_size=200,
        max_length=32,
        epochs=1,
        batch_size=16,
        random_state=0,
    )
    with warnings.catch_warnings():  # a few sentences are over 32 pieces
        warnings.simplefilter("ignore", TruncationWarning)
        clf.fit(sentiment_small.text.tolist()[:64], sentiment_small.label[:64])
    names = ["Ada", "Bob", "Cleo", "Dmitri", "Eve", "Farouk"]
    places = ["Paris", "Rome", "Oslo", "Lima", "Kyiv", "Quito", "Zagreb"]
    verbs = [["lives", "in"], ["visits"], ["flew", "to"], ["works", "near"]]
    words, tags = [], []
    for i in range(48):
        verb = verbs[i % 4]
        words.append([names[i % 6], *verb, places[i % 7], "today"])
        tags.append(["B-PER", *["O"] * len(verb), "B-LOC", "O"])
    for text in sentiment_small.text[64:96]:  # enough text for 64 pieces
        words.append(text.split())
        tags.append(["O"] * len(words[-1]))
    tagger = AlbertTagger(
        backbone="tiny", vocab_size=64, max_length=32, epochs=1, random_state=0
    )
    tagger.fit(words, tags)
    return {
        "folder": folder,
        "classifier": clf.save(folder / "clf.albert"),
        "tagger": tagger.save(folder / "tagger.albert"),
    }


@pytest.fixture(scope="module")
def servers(saved):
    """Both servers, started together (the classifier with small limits)."""
    folder = saved["folder"]
    started = {
        "classifier": Server(
            saved["classifier"],
            folder,
            "--max-inputs",
            str(MAX_INPUTS),
            "--max-request-bytes",
            str(MAX_BYTES),
            "--log-level",
            "warning",
        ),
        "tagger": Server(saved["tagger"], folder),  # the default log level
    }
    try:
        yield {
            **{name: server.wait().base for name, server in started.items()},
            "tagger_log": started["tagger"].log,
        }
    finally:
        for server in started.values():
            server.close()


@pytest.fixture(scope="module")
def clf(saved):
    return albert_sk.load(saved["classifier"])


@pytest.fixture(scope="module")
def tagger(saved):
    return albert_sk.load(saved["tagger"])


# === Classifier ===


def test_health_and_info_describe_the_model(servers, clf):
    base = servers["classifier"]
    status, health = call(base, "/health")
    assert status == 200 and health["status"] == "ok"
    status, info = call(base, "/info")
    assert status == 200
    assert info["estimator"] == "AlbertClassifier"
    assert info["albert_sk_version"] == albert_sk.__version__
    assert info["classes"] == clf.classes_.tolist()
    assert info["params"]["max_length"] == 32
    assert info["endpoints"] == ["/predict", "/predict_proba"]
    assert info["limits"]["max_inputs"] == MAX_INPUTS
    # The keys of `albert-sk info --json`, for the same facts.
    assert (info["task"], info["vocabulary_size"]) == (
        "classifier",
        clf.tokenizer_.vocab_size,
    )
    assert info["parameters"] == clf.model_.count_params()
    # The names /info gave before: clients written against them still work.
    assert (info["vocab_size"], info["text_pairs"]) == (
        clf.tokenizer_.vocab_size,
        info["pairs"],
    )


def test_predictions_equal_the_loaded_models(servers, clf):
    base = servers["classifier"]
    with pytest.warns(TruncationWarning):
        labels, proba = clf.predict(TEXTS), clf.predict_proba(TEXTS)
    status, answer = call(base, "/predict", {"inputs": TEXTS})
    assert status == 200
    assert answer["predictions"] == labels.tolist()
    status, answer = call(base, "/predict_proba", {"inputs": TEXTS})
    assert status == 200
    np.testing.assert_allclose(answer["predictions"], proba, atol=1e-5)


def test_200_concurrent_requests_are_answered_in_order_and_batched(servers, clf):
    base = servers["classifier"]
    texts = [f"text number {i} {'good' if i % 3 else 'bad'}" for i in range(60)]
    expected = clf.predict_proba(texts)
    requests = [[(i + k) % 60 for k in range(1 + i % 3)] for i in range(200)]
    _, before = call(base, "/health")

    def ask(rows):
        return call(base, "/predict_proba", {"inputs": [texts[r] for r in rows]})

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(ask, requests))
    for rows, (status, answer) in zip(requests, answers, strict=True):
        assert status == 200, answer
        np.testing.assert_allclose(answer["predictions"], expected[rows], atol=1e-5)
    _, after = call(base, "/health")
    assert after["requests"] - before["requests"] == 200
    assert after["batches"] - before["batches"] < 200  # some were batched


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        ('{"inputs": ["a",', 400, "not valid JSON"),
        (b"\xff\xfe", 400, "not UTF-8"),
        ('["a text"]', 422, "must be a JSON object"),
        ('{"texts": ["a"]}', 422, "no 'inputs' field"),
        ('{"inputs": ["a"], "extra": 1}', 422, "Remove them"),
        ('{"inputs": "a text"}', 422, "must be a JSON list"),
        ('{"inputs": []}', 422, "empty list"),
        ('{"inputs": ["ok", 3]}', 422, "row 1 of 'inputs' is a JSON number (3)"),
        ('{"inputs": [42]}', 422, "Send it as a JSON string"),
        ('{"inputs": ["ok", null]}', 422, "row 1 of 'inputs' is null"),
        ('{"inputs": [["a", 1]]}', 422, "holds strings only"),
        ('{"inputs": ["ok", ["a", "b"]]}', 422, "Send every input of a request"),
        ('{"inputs": [["a", "b"]]}', 422, "fitted on single texts"),
        (json.dumps({"inputs": ["a"] * (MAX_INPUTS + 1)}), 413, "--max-inputs"),
        (json.dumps({"inputs": ["x" * MAX_BYTES]}), 413, "--max-request-bytes"),
    ],
)
def test_bad_requests_get_a_clear_message_and_the_server_lives(
    servers, raw, status, message
):
    base = servers["classifier"]
    got, answer = call(base, "/predict", raw=raw)
    assert got == status, answer
    assert message in answer["detail"], answer
    # Advice for a JSON client, not for a pandas user.
    assert "astype" not in answer["detail"] and "fillna" not in answer["detail"]
    assert call(base, "/health")[0] == 200


def test_the_message_is_the_python_apis(servers, clf):
    with pytest.raises(ValueError) as raised:
        clf.predict([["a text", "its pair"]])
    _, answer = call(
        servers["classifier"], "/predict", {"inputs": [["a text", "its pair"]]}
    )
    assert answer["detail"] == " ".join(str(raised.value).split())


def test_the_server_logs_a_line_per_request_at_its_default_level(servers):
    status, _ = call(servers["tagger"], "/predict", {"inputs": ["Ada sings"]})
    assert status == 200
    deadline = time.monotonic() + 10
    while '"POST /predict HTTP/1.1" 200' not in servers["tagger_log"].read_text():
        assert time.monotonic() < deadline, servers["tagger_log"].read_text()
        time.sleep(0.1)


def test_an_endpoint_of_another_task_names_the_ones_there_are(servers):
    status, answer = call(servers["classifier"], "/entities", {"inputs": ["a"]})
    assert status == 404
    assert "/predict, /predict_proba" in answer["detail"]


# === Tagger ===


def test_tagger_predict_and_entities_equal_the_loaded_models(servers, tagger):
    base = servers["tagger"]
    words = [["Ada", "visits", "Paris"], ["Bob", "lives", "in", "Rome", "today"]]
    texts = ["Ada visits Paris", "Bob lives in Rome, café 🎉"]
    status, answer = call(base, "/predict", {"inputs": words})
    assert status == 200 and answer["predictions"] == tagger.predict(words)
    status, answer = call(base, "/predict", {"inputs": texts})
    assert status == 200 and answer["predictions"] == tagger.predict(texts)
    status, answer = call(base, "/entities", {"inputs": texts})
    assert status == 200
    expected = tagger.predict_entities(texts)
    assert [[{**e, "score": 0} for e in row] for row in answer["predictions"]] == [
        [{**e, "score": 0} for e in row] for row in expected
    ]
    for got, want in zip(answer["predictions"], expected, strict=True):
        np.testing.assert_allclose(
            [e["score"] for e in got], [e["score"] for e in want], atol=1e-5
        )
    status, answer = call(base, "/predict_proba", {"inputs": words})
    assert status == 200
    expected = tagger.predict_proba(words)
    for got, want in zip(answer["predictions"], expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    status, info = call(base, "/info")
    assert info["labels"] == tagger.labels_.tolist()


def test_tagger_entities_of_word_lists_get_the_python_apis_message(servers):
    status, answer = call(servers["tagger"], "/entities", {"inputs": [["Ada"]]})
    assert status == 422 and "expects raw strings" in answer["detail"]


# === QA, served in this process (create_app under uvicorn in a thread) ===


@pytest.fixture(scope="module")
def qa_server(sentiment_small):
    import uvicorn

    from albert_sk import AlbertQA
    from albert_sk.server import create_app

    rows = [("Ada", "Bob"), ("Cleo", "Dmitri"), ("Eve", "Farouk")] * 8
    X = [
        {
            "question": "Who lives in Paris?",
            "context": f"{a} lives in Paris, {b} in Rome. {review}",
        }
        for (a, b), review in zip(rows, sentiment_small.text, strict=False)
    ]
    y = [{"text": a, "answer_start": 0} for a, _ in rows]
    qa = AlbertQA(
        backbone="tiny", vocab_size=64, max_length=48, max_query_length=16,
        doc_stride=16, epochs=1, random_state=0,
    )  # fmt: skip
    qa.fit(X, y)
    config = uvicorn.Config(create_app(qa), port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_S
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", qa, X
    finally:
        server.should_exit = True
        thread.join(30)


def test_qa_answer_and_predict_equal_the_estimators(qa_server):
    base, qa, X = qa_server
    questions = X[:3]
    status, answer = call(base, "/answer", {"inputs": questions, "n_best": 2})
    assert status == 200
    expected = qa.predict_spans(questions, n_best=2)
    assert [[r["answer"] for r in row] for row in answer["predictions"]] == [
        [r["answer"] for r in row] for row in expected
    ]
    for got, want in zip(answer["predictions"], expected, strict=True):
        assert [(r["start"], r["end"]) for r in got] == [
            (r["start"], r["end"]) for r in want
        ]
        np.testing.assert_allclose(
            [r["score"] for r in got], [r["score"] for r in want], atol=1e-4
        )
    status, answer = call(base, "/predict", {"inputs": questions})
    assert status == 200 and answer["predictions"] == qa.predict(questions).tolist()


def test_a_bad_request_among_good_ones_spoils_only_itself(qa_server):
    base, qa, X = qa_server
    questions = X[:3]
    expected = qa.predict(questions).tolist()
    bad = [questions[0], {"question": "Who?"}]  # row 1 has no context
    bodies = [{"inputs": questions}] * 20 + [{"inputs": bad}] * 4
    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(lambda b: call(base, "/predict", b), bodies))
    for body, (status, answer) in zip(bodies, answers, strict=True):
        if body["inputs"] == questions:
            assert (status, answer["predictions"]) == (200, expected)
        else:
            assert status == 422 and "row 1 lacks the keys" in answer["detail"]


def test_qa_bad_records_and_n_best_get_422(qa_server):
    base, _, _ = qa_server
    status, answer = call(base, "/answer", {"inputs": [{"question": "Who?"}]})
    assert status == 422 and "'context'" in answer["detail"]
    status, answer = call(base, "/answer", {"inputs": ["Who?"]})
    assert status == 422 and "a JSON object with a 'question'" in answer["detail"]
    status, answer = call(
        base, "/answer", {"inputs": [{"question": "a", "context": "b"}], "n_best": 0}
    )
    assert status == 422 and "'n_best' must be an int >= 1" in answer["detail"]
    status, answer = call(
        base, "/predict", {"inputs": [{"question": "a", "context": "b"}], "n_best": 2}
    )
    assert status == 422 and "Remove them" in answer["detail"]


# === The command without the extra, and bad options ===


def test_serve_without_fastapi_says_how_to_install_it(saved, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "fastapi", None)  # import fails
    code = cli.main(["serve", "--model", str(saved["classifier"])])
    err = capsys.readouterr().err
    assert code == 2
    assert 'pip install "albert-sk[serve]"' in err


@pytest.mark.parametrize(
    "option", [["--max-batch-size", "0"], ["--max-inputs", "0"], ["--port", "-1"]]
)
def test_serve_refuses_bad_options_before_loading(option, capsys):
    code = cli.main(["serve", "--model", "no-such-file.albert", *option])
    err = capsys.readouterr().err
    assert code == 2 and option[0] in err


def test_the_serving_benchmark_runs_and_its_answers_equal_predict():
    """benchmarks/bench_serve.py runs in CI (its --quick mode, 32 requests per
    row): every row of its table is there, and it checks that the server's
    answers equal ``predict`` at 1, 8 and 64 concurrent clients."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [
            sys.executable,
            "benchmarks/bench_serve.py",
            "--quick",
            "--no-write",
            "--requests",
            "32",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    for row in ("in a loop", "one call", "1 client", "8 clients", "64 clients"):
        assert row in out.stdout, out.stdout
