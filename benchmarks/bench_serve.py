"""``albert-sk serve``: requests/s and latency at 1, 8 and 64 concurrent clients.

A from-scratch classifier is fitted on the shipped sentiment sentences and
saved; ``python -m albert_sk serve`` serves it in its own process. Clients
are threads, each with its own keep-alive HTTP connection, sending one
sentence per ``POST /predict`` request. The baseline is the same model
called in-process, ``predict([text])`` in a loop over the same sentences
(what a script without a server does), and, as the ceiling batching aims
at, one ``predict`` call on all of them. The server's micro-batching
(``--max-batch-size 32 --max-wait-ms 5``, the defaults) is what lets many
concurrent clients beat the loop: the mean batch size it ran is reported.

Run ``python benchmarks/bench_serve.py`` (``--quick``: a tiny model, fewer requests;
``--no-write`` to leave benchmarks/README.md alone).
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from albert_sk import AlbertClassifier  # noqa: E402
from albert_sk.io import load_sentiment_sentences  # noqa: E402
from benchmarks._common import arguments, markdown_table, publish  # noqa: E402

MODES = {
    "quick": dict(backbone="tiny", n_requests=384, n_train=300),
    "full": dict(backbone="small", n_requests=1536, n_train=600),
}
CONCURRENCY = (1, 8, 64)
MAX_LENGTH = 64


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(connection, text):
    body = json.dumps({"inputs": [text]})
    connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {payload[:200]!r}")
    return json.loads(payload)["predictions"][0]


def get(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def start_server(model, port):
    command = [sys.executable, "-m", "albert_sk", "serve", "--model", model]
    command += ["--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited; run the command by hand to see why")
        try:
            get(port, "/health")
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start in 300 s")


def clients(port, texts, concurrency):
    """``(wall seconds, latencies, answers)`` for ``texts`` sent by ``concurrency``
    threads, each on its own keep-alive connection."""
    latencies = np.zeros(len(texts))
    answers = [None] * len(texts)
    errors = []

    def run(worker):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            for i in range(worker, len(texts), concurrency):
                start = time.perf_counter()
                answers[i] = post(connection, texts[i])
                latencies[i] = time.perf_counter() - start
        except Exception as err:  # reported after the join
            errors.append(err)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    return wall, latencies, answers


def row(name, n, wall, latencies, batch=""):
    p50, p99 = np.percentile(latencies * 1000, [50, 99])
    return [name, f"{n / wall:,.0f}", f"{p50:,.1f}", f"{p99:,.1f}", batch]


def main():
    parser = arguments(__doc__, modes=True)
    parser.add_argument("--requests", type=int, help="requests per row (smoke runs)")
    args = parser.parse_args()
    mode = args.mode or "full"
    cfg = dict(MODES[mode])
    if args.requests:
        cfg["n_requests"] = args.requests

    load_before = os.getloadavg()[0]
    sentences = load_sentiment_sentences()
    train = sentences.sample(cfg["n_train"], random_state=0)
    rest = sentences.drop(train.index)
    texts = rest.text.tolist()[: cfg["n_requests"]]
    clf = AlbertClassifier(
        backbone=cfg["backbone"],
        vocab_size=2000,
        max_length=MAX_LENGTH,
        epochs=1,
        random_state=0,
    )
    with warnings.catch_warnings():  # one epoch: quality is not the point here
        warnings.simplefilter("ignore")
        clf.fit(train.text.tolist(), train.label.tolist())
        expected = clf.predict(texts).tolist()

        # Baselines, in this process: predict([text]) in a loop, and one call.
        for text in texts[:16]:
            clf.predict([text])  # warm-up: tracing of the padded shapes
        latencies = np.zeros(len(texts))
        start = time.perf_counter()
        for i, text in enumerate(texts):
            t0 = time.perf_counter()
            clf.predict([text])
            latencies[i] = time.perf_counter() - t0
        loop_wall = time.perf_counter() - start
        start = time.perf_counter()
        clf.predict(texts)
        one_call = time.perf_counter() - start

    rows = [
        row("`predict([text])` in a loop", len(texts), loop_wall, latencies),
        [
            f"`predict(all {len(texts):,} texts)`, one call",
            f"{len(texts) / one_call:,.0f}",
            "",
            "",
            "",
        ],
    ]
    with tempfile.TemporaryDirectory() as folder:
        model = clf.save(os.path.join(folder, "clf.albert"))
        port = free_port()
        server = start_server(model, port)
        try:
            clients(port, texts[:128], 64)  # warm-up
            for concurrency in CONCURRENCY:
                before = get(port, "/health")
                wall, latencies, answers = clients(port, texts, concurrency)
                after = get(port, "/health")
                assert answers == expected, "the server's answers differ"
                batches = after["batches"] - before["batches"]
                mean = (after["requests"] - before["requests"]) / max(batches, 1)
                rows.append(
                    row(
                        f"`albert-sk serve`, {concurrency} client"
                        + ("s" if concurrency > 1 else ""),
                        len(texts),
                        wall,
                        latencies,
                        f"{mean:.1f}",
                    )
                )
        finally:
            server.terminate()
            server.wait(30)

    table = markdown_table(
        ["one sentence per request", "requests/s", "p50 ms", "p99 ms", "batch"],
        rows,
    )
    body = (
        "### Serving: `albert-sk serve` against `predict` in a loop\n\n"
        f"{len(texts):,} sentiment sentences, one per request, to a "
        f"from-scratch `{cfg['backbone']}` classifier (max_length "
        f"{MAX_LENGTH}); clients are threads with keep-alive connections on "
        "the same machine; server defaults (`--max-batch-size 32 "
        "--max-wait-ms 5`). *batch*: mean requests per model call. "
        f"Mode `{mode}`; `python benchmarks/bench_serve.py`.\n\n{table}\n\n"
        "Batching is what makes concurrent clients pay: the model runs once for "
        "up to 32 requests, so requests/s grows with the clients while each "
        "waits for its batch (p50). A lone client skips the wait. Every row "
        "shares the machine's cores with the clients themselves (threads in "
        f"the benchmark's process). Load average {load_before:.1f} at the "
        f"start, {os.getloadavg()[1]:.1f} over the last 5 minutes at the end "
        "(other jobs on the machine): rows measured at different moments "
        "compare only roughly.\n"
    )
    publish("serve", body, args.no_write)


if __name__ == "__main__":
    main()
