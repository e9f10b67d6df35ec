"""The HTTP JSON server of ``albert-sk serve``: a fitted estimator behind an API.

Built on FastAPI and uvicorn (``pip install "albert-sk[serve]"``), imported
only inside functions: a leaf module that only the command line
(:mod:`albert_sk.cli.serve`, its options) and the old name
``albert_sk.serve`` import. No ``argparse`` here.

The model is loaded once. Requests wait in one queue; a single worker task
takes the first one, gathers whatever else arrives until ``max_batch_size``
inputs or ``max_wait_ms`` have passed, runs the estimator once on all of
them in a worker thread (the event loop keeps accepting requests) and hands
each request its own slice of the results, in its input order. When a
batch fails on bad input, each of its requests is run on its own, so a bad
request gets its own error (with row indexes into its own ``inputs``) and
the others their answers.

Endpoints (those the estimator has a method for; the others answer 404
with the list of those it has):

- ``POST /predict``: ``predict`` (every estimator but the vectorizer);
- ``POST /predict_proba``: ``predict_proba`` (classifier, tagger);
- ``POST /entities``: ``predict_entities`` (tagger, raw texts);
- ``POST /answer``: ``predict_spans``, with an optional ``n_best`` (QA);
- ``POST /transform``: ``transform`` (vectorizer);
- ``GET /health``: ``{"status": "ok"}`` and how many requests and batches ran;
- ``GET /info``: estimator, parameters, classes or labels, limits, version.

A body is ``{"inputs": [...]}``; an answer ``{"predictions": [...]}``, one
entry per input; a refused request ``{"detail": message}`` with 400 (a body
that is not UTF-8 JSON), 413 (too large) or 422 (JSON the server or the
estimator refuses). Each request gets an access log line at the default
``--log-level info``.
"""

import asyncio
import collections
import json
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from albert_sk._files import to_json
from albert_sk._version import __version__
from albert_sk.exceptions import AlbertSkError

INSTALL_HINT = 'pip install "albert-sk[serve]"'
TEXT_EXAMPLE = '{"inputs": ["a text", "another text"]}'
RECORD_EXAMPLE = '{"inputs": [{"question": "Who?", "context": "Ada did."}]}'
# URL path -> (estimator method, the extra body fields it takes).
ENDPOINTS = {
    "predict": ("predict", {}),
    "predict_proba": ("predict_proba", {}),
    "entities": ("predict_entities", {}),
    "answer": ("predict_spans", {"n_best": 1}),
    "transform": ("transform", {}),
}
# What the estimator raises for inputs it refuses: answered with 422 (other
# exceptions are bugs: logged, answered with 500).
USER_ERRORS = (AlbertSkError, ValueError)

logger = logging.getLogger("albert_sk.serve")


def require_fastapi():
    """Import FastAPI and uvicorn, or say how to install them."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise AlbertSkError(
            f"albert-sk serve needs FastAPI and uvicorn ({err}). Install them "
            f"with: {INSTALL_HINT}"
        ) from None


@dataclass(frozen=True)
class Limits:
    """How requests are batched and how large one may be.

    ``albert-sk serve`` sets them from its options of the same names
    (``--max-batch-size``, ...): inputs per model call, milliseconds the
    first request of a batch waits for others, bytes per request body and
    inputs per request.

    Examples
    --------
    >>> from albert_sk.exceptions import AlbertSkError
    >>> from albert_sk.server import Limits
    >>> Limits(max_batch_size=64).check()  # doctest: +NORMALIZE_WHITESPACE
    Limits(max_batch_size=64, max_wait_ms=5.0, max_request_bytes=1048576,
           max_inputs=1024)
    >>> try:
    ...     Limits(max_wait_ms=-1).check()
    ... except AlbertSkError as err:
    ...     print(err)
    --max-wait-ms must be at least 0, got -1.
    """

    max_batch_size: int = 32
    max_wait_ms: float = 5.0
    max_request_bytes: int = 2**20
    max_inputs: int = 1024

    def check(self):
        for name, low in (
            ("max_batch_size", 1),
            ("max_wait_ms", 0),
            ("max_request_bytes", 16),
            ("max_inputs", 1),
        ):
            value = getattr(self, name)
            if not math.isfinite(value) or value < low:
                flag = "--" + name.replace("_", "-")
                raise AlbertSkError(f"{flag} must be at least {low}, got {value}.")
        return self


class RequestError(Exception):
    """A request the server refuses: HTTP ``status`` and a one-line message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def endpoints(estimator):
    """The URL paths (without ``/``) this estimator answers, in table order."""
    return [
        path
        for path, (method, _) in ENDPOINTS.items()
        if callable(getattr(estimator, method, None))
    ]


def info(estimator, limits):
    """What ``GET /info`` answers: the keys of ``albert-sk info --json``
    (:func:`albert_sk.model_file.describe`), the endpoints and the limits.
    ``text_pairs`` and ``vocab_size``, this answer's names before it shared
    ``describe``'s keys, stay as copies of ``pairs`` and ``vocabulary_size``
    so clients written against them keep working."""
    from albert_sk.model_file import describe

    described = describe(estimator)
    former = {"vocab_size": described["vocabulary_size"]}
    if "pairs" in described:
        former["text_pairs"] = described["pairs"]
    return {
        **described,
        **former,
        "endpoints": ["/" + path for path in endpoints(estimator)],
        "limits": {
            "max_batch_size": limits.max_batch_size,
            "max_wait_ms": limits.max_wait_ms,
            "max_request_bytes": limits.max_request_bytes,
            "max_inputs": limits.max_inputs,
        },
    }


def parse_body(raw, path, limits, *, records=False):
    """``(inputs, options)`` from a request body, or a :class:`RequestError`.

    ``records``: the inputs are JSON objects (question answering), not texts.
    """
    example = RECORD_EXAMPLE if records else TEXT_EXAMPLE
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise RequestError(
            400, f"The request body is not UTF-8 ({err.reason}). Send UTF-8 JSON."
        ) from None
    except ValueError as err:
        raise RequestError(
            400,
            f"The request body is not valid JSON ({err}). Send a JSON object "
            f"such as {example}.",
        ) from None
    if not isinstance(body, dict):
        raise RequestError(
            422,
            f"The request body must be a JSON object such as {example}, but got "
            f"a JSON {_json_type(body)}.",
        )
    defaults = ENDPOINTS[path][1]
    allowed = ["inputs", *defaults]
    if "inputs" not in body:
        raise RequestError(
            422,
            f"The request body has no 'inputs' field (it has {list(body)}). Send "
            f"the inputs to predict as {example}.",
        )
    unknown = [key for key in body if key not in allowed]
    if unknown:
        raise RequestError(
            422,
            f"POST /{path} takes the fields {allowed}, but the body also has "
            f"{unknown}. Remove them.",
        )
    inputs = body["inputs"]
    if not isinstance(inputs, list):
        raise RequestError(
            422,
            f"'inputs' must be a JSON list (one entry per text), but got a JSON "
            f"{_json_type(inputs)}. Wrap it in a list: {example}.",
        )
    if not inputs:
        raise RequestError(422, "'inputs' is an empty list. Send at least one input.")
    if len(inputs) > limits.max_inputs:
        raise RequestError(
            413,
            f"The request holds {len(inputs):,} inputs, more than this server's "
            f"limit of {limits.max_inputs:,} (--max-inputs). Split it into "
            "smaller requests.",
        )
    check_input_types(inputs, records=records)
    options = {}
    for key, default in defaults.items():
        value = body.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RequestError(
                422, f"'{key}' must be an int >= 1, but got {value!r:.40}."
            )
        options[key] = value
    return inputs, options


def check_input_types(inputs, *, records=False):
    """Refuse inputs no estimator takes, with advice in JSON terms.

    A text is a JSON string, a text pair or a word list a list of strings, a
    question a JSON object; numbers, booleans and null are none of these.
    What the JSON types allow but the estimator refuses (a pair sent to a
    model fitted on single texts) gets the estimator's own message.
    """
    for i, value in enumerate(inputs):
        where = f"row {i} of 'inputs'"
        shown = json.dumps(value)[:40]
        if records:
            if not isinstance(value, dict):
                raise RequestError(
                    422,
                    f"{where} is a JSON {_json_type(value)} ({shown}), but each "
                    "input of this model is a JSON object with a 'question' and a "
                    f"'context' string, e.g. {RECORD_EXAMPLE}.",
                )
        elif value is None:
            raise RequestError(
                422,
                f"{where} is null, but each input is a text. Send a JSON string "
                '("" for an empty text) or leave the row out.',
            )
        elif isinstance(value, (bool, int, float, dict)):
            raise RequestError(
                422,
                f"{where} is a JSON {_json_type(value)} ({shown}), but each input "
                f"is a text. Send it as a JSON string, e.g. {TEXT_EXAMPLE}.",
            )
        elif isinstance(value, list):
            wrong = [v for v in value if not isinstance(v, str)]
            if wrong:
                raise RequestError(
                    422,
                    f"{where} is a list holding a JSON {_json_type(wrong[0])} "
                    f"({json.dumps(wrong[0])[:40]}), but a text pair or a word "
                    'list holds strings only, e.g. ["a text", "its pair"] or '
                    '["Ada", "sings"].',
                )
        if type(value) is not type(inputs[0]):
            raise RequestError(
                422,
                f"{where} is a JSON {_json_type(value)}, but row 0 is a JSON "
                f"{_json_type(inputs[0])}. Send every input of a request the same "
                "way: all texts (strings), or all text pairs or word lists (arrays).",
            )


def _json_type(value):
    names = {dict: "object", list: "array", str: "string", bool: "boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "number")


def _kind(inputs):
    """Inputs of one kind batch together: texts, pairs/word lists, QA records."""
    first = inputs[0]
    return type(first).__name__, len(first) if isinstance(first, list) else None


@dataclass
class Job:
    """One request in the queue: its inputs and the future its answer goes to."""

    method: str
    inputs: list
    options: dict
    future: asyncio.Future
    key: tuple = field(init=False)

    def __post_init__(self):
        self.key = (
            self.method,
            tuple(sorted(self.options.items())),
            _kind(self.inputs),
        )


class MicroBatcher:
    """One worker task that runs queued requests through the estimator in batches."""

    def __init__(self, estimator, limits):
        self.estimator = estimator
        self.limits = limits
        self.jobs = collections.deque()
        self.ready = asyncio.Event()
        # One thread: the estimator runs one batch at a time.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self.task = None
        self.arriving = 0  # requests being read, not queued yet
        self.last_size = 0  # requests in the last batch
        self.requests = 0  # answered, with or without an error
        self.batches = 0  # estimator calls (batches with bad input: more)

    def start(self):
        self.task = asyncio.get_running_loop().create_task(self.work())

    async def stop(self):
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, method, inputs, options):
        """The estimator's answer for ``inputs``, or the exception it raised."""
        future = asyncio.get_running_loop().create_future()
        self.jobs.append(Job(method, inputs, options, future))
        self.ready.set()
        return await future

    async def gather(self):
        """The next batch: the first waiting job and those that follow in time.

        It waits up to ``max_wait_ms`` for more, unless the server is quiet:
        no other request is being read and the last batch held one request
        (a lone client then gets its answer without the wait).
        """
        while not self.jobs:
            self.ready.clear()
            await self.ready.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.max_wait_ms / 1000
        batch, size = [], 0
        while size < self.limits.max_batch_size:
            if self.jobs:
                job = self.jobs.popleft()
                if not job.future.cancelled():  # the client went away
                    batch.append(job)
                    size += len(job.inputs)
                continue
            if self.arriving == 0 and self.last_size <= 1:
                break
            left = deadline - loop.time()
            if left <= 0:
                break
            self.ready.clear()
            try:
                await asyncio.wait_for(self.ready.wait(), left)
            except asyncio.TimeoutError:
                break
        return batch

    async def work(self):
        loop = asyncio.get_running_loop()
        while True:
            batch = await self.gather()
            if not batch:
                continue
            try:
                answers = await loop.run_in_executor(
                    self.executor, self.run_batch, batch
                )
            except Exception as err:  # never let the worker die
                logger.exception("batch failed")
                answers = [err] * len(batch)
            self.batches += 1
            self.requests += len(batch)
            self.last_size = len(batch)
            for job, answer in zip(batch, answers, strict=True):
                if job.future.done():
                    continue
                if isinstance(answer, BaseException):
                    job.future.set_exception(answer)
                else:
                    job.future.set_result(answer)

    def run_batch(self, batch):
        """Answers (or exceptions) for ``batch``; runs in the worker thread."""
        groups = collections.defaultdict(list)
        for i, job in enumerate(batch):
            groups[job.key].append(i)
        answers = [None] * len(batch)
        for rows in groups.values():
            jobs = [batch[i] for i in rows]
            if len(jobs) == 1:
                results = [self.run_alone(jobs[0])]
            else:
                try:
                    results = self.run_together(jobs)
                except Exception:  # whose inputs were bad? each on its own
                    results = [self.run_alone(job) for job in jobs]
            for i, result in zip(rows, results, strict=True):
                answers[i] = result
        return answers

    def run_together(self, jobs):
        inputs = [x for job in jobs for x in job.inputs]
        out = getattr(self.estimator, jobs[0].method)(inputs, **jobs[0].options)
        results, start = [], 0
        for job in jobs:
            results.append(to_json(out[start : start + len(job.inputs)]))
            start += len(job.inputs)
        return results

    def run_alone(self, job):
        try:
            return self.run_together([job])[0]
        except Exception as err:
            if not isinstance(err, USER_ERRORS):
                logger.exception("prediction failed")
            return err


async def read_body(request, limit):
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    too_large = (
        f"The request body is over this server's limit of {limit:,} bytes "
        "(--max-request-bytes). Send fewer or shorter inputs per request."
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, too_large)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def error_message(err):
    """One line for a refused request: the estimator's own message."""
    return " ".join(str(err).split()) or type(err).__name__


def create_app(estimator, limits=None):
    """The FastAPI application serving ``estimator`` (already fitted or loaded).

    The endpoints are those of the module description, for the methods
    ``estimator`` has; ``limits`` defaults to ``Limits()``. Run it with any
    ASGI server, or mount it in a larger FastAPI application.

    Examples
    --------
    With ``clf`` fitted as in the class example of
    :class:`~albert_sk.AlbertClassifier`:

    >>> from albert_sk.server import Limits, create_app
    >>> app = create_app(clf, Limits(max_batch_size=64))
    >>> sorted(app.openapi()["paths"])  # a classifier has no /entities
    ['/health', '/info', '/predict', '/predict_proba']
    >>> import uvicorn
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    require_fastapi()
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    limits = (limits or Limits()).check()
    records = estimator._json_records  # inputs are JSON objects
    batcher = None

    @asynccontextmanager
    async def lifespan(app):
        nonlocal batcher
        batcher = MicroBatcher(estimator, limits)
        batcher.start()
        app.state.batcher = batcher
        yield
        await batcher.stop()

    app = FastAPI(
        title=f"albert_sk {type(estimator).__name__}",
        version=__version__,
        lifespan=lifespan,
    )
    description = info(estimator, limits)

    @app.get("/health")
    async def health():
        return {
            "status": "ok",
            "requests": batcher.requests if batcher else 0,
            "batches": batcher.batches if batcher else 0,
        }

    @app.get("/info")
    async def get_info():
        return description

    def add_endpoint(path):
        method = ENDPOINTS[path][0]

        async def endpoint(request: Request):
            batcher.arriving += 1
            try:
                raw = await read_body(request, limits.max_request_bytes)
                inputs, options = parse_body(raw, path, limits, records=records)
            except RequestError as err:
                return JSONResponse({"detail": err.message}, status_code=err.status)
            finally:
                batcher.arriving -= 1
                batcher.ready.set()  # the worker may be waiting for this one
            try:
                predictions = await batcher.submit(method, inputs, options)
            except USER_ERRORS as err:
                return JSONResponse({"detail": error_message(err)}, status_code=422)
            except Exception as err:
                message = (
                    f"internal error ({type(err).__name__}: {error_message(err)}). "
                    "This is a bug in albert_sk; the server log has the traceback."
                )
                return JSONResponse({"detail": message}, status_code=500)
            return JSONResponse({"predictions": predictions})

        endpoint.__name__ = f"post_{path}"
        app.post("/" + path, summary=f"{type(estimator).__name__}.{method}")(endpoint)

    def add_missing_endpoint(path, served):
        message = (
            f"This server holds an {type(estimator).__name__}, which has no "
            f"/{path}; it answers POST {', '.join('/' + p for p in served)}."
        )

        async def endpoint():
            return JSONResponse({"detail": message}, status_code=404)

        endpoint.__name__ = f"missing_{path}"
        app.post("/" + path, include_in_schema=False)(endpoint)

    served = endpoints(estimator)
    for path in served:
        add_endpoint(path)
    for path in ENDPOINTS:
        if path not in served:
            add_missing_endpoint(path, served)
    return app


def serve(estimator, *, host="127.0.0.1", port=8000, limits=None, log_level="info"):
    """Run the server until interrupted (Ctrl-C / SIGTERM).

    What ``albert-sk serve --model FILE`` runs: :func:`create_app` under
    uvicorn on ``host``:``port``, with a log line per request at
    ``log_level="info"`` (uvicorn's access log).

    Examples
    --------
    With ``clf`` fitted as in the class example of
    :class:`~albert_sk.AlbertClassifier` (not run in the test suite: the
    server runs until stopped; ``tests/test_serve.py`` calls a real one):

    >>> from albert_sk.server import Limits, serve
    >>> limits = Limits(max_batch_size=64, max_wait_ms=2.0)
    >>> serve(clf, port=8000, limits=limits)  # doctest: +SKIP
    Serving AlbertClassifier at http://127.0.0.1:8000 (POST /predict,
    /predict_proba; GET /health, /info). Ctrl-C stops it.
    """
    require_fastapi()
    import uvicorn

    app = create_app(estimator, limits)
    paths = ", ".join("/" + path for path in endpoints(estimator))
    print(
        f"Serving {type(estimator).__name__} at http://{host}:{port} "
        f"(POST {paths}; GET /health, /info). Ctrl-C stops it.",
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=True)
