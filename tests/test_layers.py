"""The architecture DESIGN.md draws, checked: layers, module sizes, no
global side effects of fitting."""

import ast
import random
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests._marks import API_FITS

PACKAGE = Path(__file__).resolve().parents[1] / "albert_sk"
ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"
ESTIMATORS = ("classifier", "regressor", "vectorizer", "tagger", "qa")
# Former module names -> the modules they re-export (docs/architecture.md).
FORMER_NAMES = {
    "albert_sk.serve": "albert_sk.server",
    "albert_sk.hf": "albert_sk.export.hf",
    "albert_sk.serving": "albert_sk.export.savedmodel",
}


def imports_of(path):
    """Every ``albert_sk`` module a file imports, at top level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found.update(n for n in names if n.startswith("albert_sk"))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("albert_sk"))
    return found


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        yield name.removesuffix(".__init__"), path


def import_graph():
    """Module -> the albert_sk modules it imports: import statements at top
    level or inside functions, and ``importlib.import_module("albert_sk...")``
    or ``__import__`` calls with a string. ``from albert_sk.x import name``
    imports ``albert_sk.x``, or the module ``albert_sk.x.name`` if there is one
    (``from albert_sk.cli import data`` imports ``albert_sk.cli.data``)."""
    paths = dict(modules())

    def module_of(name):
        while name not in paths:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for name, path in paths.items():
        used = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("albert_sk"):
                    used.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                used.update(a.name for a in node.names)
            elif isinstance(node, ast.Call) and node.args:
                func = node.func
                called = getattr(func, "attr", getattr(func, "id", None))
                first = node.args[0]
                if called in ("import_module", "__import__") and isinstance(
                    first, ast.Constant
                ):
                    used.add(str(first.value))
        used = {module_of(m) for m in used if m.split(".")[0] == "albert_sk"}
        graph[name] = used - {name}
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_are_found_through_string_imports_too(monkeypatch, tmp_path):
    package = tmp_path / "albert_sk"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "import importlib\ndef f():\n    importlib.import_module('albert_sk.b')\n"
    )
    (package / "b.py").write_text("from albert_sk.a import f\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    graph = import_graph()
    assert graph == {
        "albert_sk": set(),
        "albert_sk.a": {"albert_sk.b"},
        "albert_sk.b": {"albert_sk.a"},
    }
    assert cycles(graph) == [["albert_sk.a", "albert_sk.b"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a"}}) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def layer_order():
    """The modules in the order of docs/architecture.md's table: its first
    column names each module once (a folder ``x/`` stands for its modules)."""
    rows = []
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if len(cells) > 3 and cells[1].strip().startswith("`"):
            rows.append(re.findall(r"`([\w./]+)`", cells[1]))
    return rows


def test_the_architecture_page_names_every_module_once():
    named = [n for row in layer_order() for n in row]
    assert len(named) == len(set(named)), named
    expected = {
        name.removeprefix("albert_sk.").replace(".", "/")
        if name != "albert_sk"
        else "__init__"
        for name, _ in modules()
    }
    assert set(named) == expected


def test_modules_import_only_modules_above_them_in_the_table():
    """docs/architecture.md: "a module imports only the modules above it in
    this table" (or in its own row, a package and its modules)."""
    row_of = {}
    for i, row in enumerate(layer_order()):
        for name in row:
            module = "albert_sk." + name.replace("/", ".")
            row_of[module.removesuffix(".__init__")] = i
    upward = {
        (name, used)
        for name, imported in import_graph().items()
        for used in imported
        if row_of[used] > row_of[name]
    }
    assert upward == set()


def test_no_parameter_is_read_through_a_getattr_fallback():
    """The shared code reads parameters as attributes: an estimator without
    one of them says what it does instead with a class attribute, never
    ``getattr(self, "param", default)``."""
    import albert_sk

    params = set()
    for name in albert_sk.__all__:
        if name.startswith("Albert"):
            params.update(getattr(albert_sk, name)._get_param_names())
    found = []
    for name, path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "getattr"
                and len(node.args) == 3
                and getattr(node.args[0], "id", None) in ("self", "estimator")
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in params
            ):
                found.append((name, node.lineno, node.args[1].value))
    assert found == []


def test_hf_is_a_leaf_nothing_in_the_core_imports():
    hf = ("albert_sk.export.hf", "albert_sk.hf")  # the module, its former name
    users = {
        name
        for name, path in modules()
        if any(m in hf or m.startswith(hf[0] + ".") for m in imports_of(path))
    }
    # The command line exports; nothing a fit or a load runs imports hf.
    command_line = {"albert_sk.cli", "albert_sk.cli.data", "albert_sk.cli.pretrain"}
    assert users <= command_line | set(FORMER_NAMES), users


def test_former_module_names_still_import_what_they_held():
    """``albert_sk.hf`` and ``albert_sk.serving`` re-export every public name
    of the modules they became (``albert_sk.serve`` the names it documented),
    and nothing in the package imports them."""
    import importlib

    for old, new in FORMER_NAMES.items():
        old_module = importlib.import_module(old)
        new_module = importlib.import_module(new)
        public = {
            name
            for node in ast.parse(Path(new_module.__file__).read_text("utf-8")).body
            for name in (
                [node.name]
                if isinstance(node, (ast.FunctionDef, ast.ClassDef))
                else [t.id for t in getattr(node, "targets", []) if hasattr(t, "id")]
            )
            if not name.startswith("_")
        }
        if old == "albert_sk.serve":
            public = {"Limits", "create_app", "serve"}
        for name in public:
            assert getattr(old_module, name) is getattr(new_module, name), (old, name)
    users = {
        (name, used)
        for name, imported in import_graph().items()
        for used in imported & set(FORMER_NAMES)
        if name not in FORMER_NAMES
    }
    assert users == set()


def test_no_module_imports_from_the_package_root():
    """``from albert_sk import name`` inside the package takes modules only:
    the root imports its estimators lazily, and ``__version__`` lives in the
    leaf ``albert_sk._version``."""
    for name, path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "albert_sk":
                for alias in node.names:
                    module = PACKAGE / alias.name
                    assert module.with_suffix(".py").exists() or module.is_dir(), (
                        name,
                        alias.name,
                    )


def test_estimators_never_import_each_other():
    for name in ESTIMATORS:
        others = {f"albert_sk.{o}" for o in ESTIMATORS if o != name}
        used = imports_of(PACKAGE / f"{name}.py")
        assert not used & others, (name, used & others)


def test_numpy_layers_import_no_keras_and_nothing_above_them():
    above = {
        "albert_sk.base",
        "albert_sk.finetuning",
        "albert_sk.backbones",
        "albert_sk.heads",
    }
    numpy_layers = ("_version", "_files", "io", "text", "windows", "align")
    for name in numpy_layers + ("decoding", "batching", "metrics"):
        path = PACKAGE / f"{name}.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in top if isinstance(n, ast.ImportFrom)}
        assert not names & {"keras", "tensorflow", "keras_hub"}, name
        assert not imports_of(path) & above, name


def test_every_package_the_code_imports_is_declared():
    """A third-party import of albert_sk/ names a dependency of pyproject.toml,
    core or extra (``tensorflow_text`` was imported but not declared)."""
    tomllib = pytest.importorskip("tomllib")
    from importlib.metadata import packages_distributions

    imported = set()
    for _, path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    imported -= set(sys.stdlib_module_names) | {"albert_sk"}
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [
        r for extra in project["optional-dependencies"].values() for r in extra
    ]
    declared = {re.split(r"[<>=!~\[;\s]", r)[0].lower() for r in requirements}
    installed = packages_distributions()
    missing = {
        name: installed.get(name, [name.replace("_", "-")])
        for name in imported
        if not {d.lower() for d in installed.get(name, [name.replace("_", "-")])}
        & declared
    }
    assert missing == {}


def test_no_module_has_over_600_lines():
    """Every line counts, docstrings and their doctested examples included."""
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines())
        for name, path in modules()
    }
    assert {n: s for n, s in sizes.items() if s > 600} == {}


@pytest.fixture(scope="module")
def texts():
    from albert_sk.io import load_sentiment_sentences

    data = load_sentiment_sentences()
    data = data[data.text.str.len() < 80].iloc[:48]
    return data.text.tolist(), data.label.to_numpy()


@pytest.fixture
def filter_changes(monkeypatch):
    """albert_sk modules that changed warning filters (not thread-safe) while
    the test ran."""
    callers = []
    for name in ("catch_warnings", "filterwarnings", "simplefilter", "resetwarnings"):
        original = getattr(warnings, name)

        def spy(*args, _original=original, **kwargs):
            module = sys._getframe(1).f_globals.get("__name__", "")
            if module.startswith("albert_sk"):
                callers.append(module)
            return _original(*args, **kwargs)

        monkeypatch.setattr(warnings, name, spy)
    return callers


@API_FITS  # one epoch of a tiny model: the test is about global state
@pytest.mark.parametrize("random_state", [0, None])
def test_fit_leaves_random_state_and_warning_filters_alone(
    texts, random_state, filter_changes
):
    from albert_sk import AlbertClassifier, AlbertTagger

    X, y = texts
    random.seed(7)
    np.random.seed(7)
    expected = (random.random(), np.random.random())
    random.seed(7)
    np.random.seed(7)
    clf = AlbertClassifier(
        backbone="tiny",
        vocab_size=150,
        max_length=64,
        epochs=1,
        validation_split=0.25,
        random_state=random_state,
    ).fit(X, y)
    words = [t.split() for t in X]
    tagger = AlbertTagger(
        backbone="tiny", vocab_size=150, max_length=64, epochs=1, random_state=0
    )
    tagger.fit(words, [["O"] * (len(w) - 1) + ["B-X"] for w in words])
    assert (random.random(), np.random.random()) == expected
    assert filter_changes == []
    for fitted in (clf, tagger):  # nothing of a fit but fitted attributes
        params = fitted.get_params()
        assert [k for k in vars(fitted) if k not in params and k[-1] != "_"] == []


@API_FITS  # two steps: the test is about global state, not learning
def test_pretraining_leaves_the_callers_random_state_alone(texts):
    from albert_sk import AlbertPretrainer

    random.seed(3)
    np.random.seed(3)
    expected = (random.random(), np.random.random())
    random.seed(3)
    np.random.seed(3)
    AlbertPretrainer(
        backbone="tiny",
        vocab_size=150,
        max_length=64,
        max_steps=2,
        batch_size=8,
        sop=False,
    ).fit(texts[0])
    assert (random.random(), np.random.random()) == expected


def test_same_random_state_same_model_other_seed_other_model(texts):
    """Seeding still makes fits reproducible, and None still varies."""
    from albert_sk import AlbertClassifier

    X, y = texts

    def fit(seed):
        clf = AlbertClassifier(
            backbone="tiny", vocab_size=150, max_length=64, epochs=1, random_state=seed
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return clf.fit(X, y).predict_proba(X[:8])

    np.testing.assert_allclose(fit(0), fit(0), atol=1e-6)
    assert not np.allclose(fit(None), fit(None), atol=1e-6)


def test_importing_the_cli_leaves_tensorflow_logging_alone():
    import os
    import subprocess
    import sys

    code = "import os, albert_sk.cli; print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=PACKAGE.parent,
    )
    assert out.stdout.strip() == "None"


def test_sklearn_tags_say_what_each_estimator_takes():
    from sklearn.utils import get_tags

    from albert_sk import (
        AlbertClassifier,
        AlbertPretrainer,
        AlbertQA,
        AlbertRegressor,
        AlbertTagger,
        AlbertVectorizer,
    )

    expected = {  # (string input, 2-D input, y required, estimator type)
        AlbertClassifier: (True, False, True, "classifier"),
        AlbertRegressor: (True, False, True, "regressor"),
        AlbertTagger: (True, False, True, None),
        AlbertQA: (True, True, True, None),
        AlbertVectorizer: (True, False, False, None),
        AlbertPretrainer: (True, False, False, None),
    }
    for cls, (string, two_d, required, kind) in expected.items():
        tags = get_tags(cls())
        assert tags.input_tags.string is string, cls
        assert tags.input_tags.two_d_array is two_d, cls
        assert tags.target_tags.required is required, cls
        assert tags.estimator_type == kind, cls
        assert tags.non_deterministic, cls  # SGD on float32, threads
    assert get_tags(AlbertVectorizer()).transformer_tags is not None


@API_FITS  # one epoch: the test is about warning filters
def test_fit_from_presets_changes_no_warning_filter(
    texts, keras_hub_preset_dir, hf_albert_dir, filter_changes
):
    """Loading a keras-hub preset or a Hugging Face checkpoint (which reads
    their vocabularies) touches no warning filter either."""
    from albert_sk import AlbertClassifier

    X, y = texts
    for preset in (keras_hub_preset_dir[0], hf_albert_dir[0]):
        AlbertClassifier(preset=preset, max_length=64, epochs=1).fit(X[:16], y[:16])
    assert filter_changes == []
