"""albert_sk.io: the input forms ``check_texts`` accepts and the ones it refuses."""

import importlib.util

import numpy as np
import pandas as pd
import pytest

from albert_sk.checks import check_texts
from albert_sk.exceptions import InputError
from albert_sk.io import load_sentiment_sentences, read_sst2

WHO = "AlbertClassifier"
TEXTS = ["good film", "bad plot", "Café ✓"]


def _check(X, **kwargs):
    return check_texts(X, WHO, **kwargs)


# === Accepted forms ===


@pytest.mark.parametrize(
    "X",
    [
        TEXTS,
        tuple(TEXTS),
        np.array(TEXTS),
        np.array(TEXTS, dtype=object),
        np.array(TEXTS, dtype=object).reshape(-1, 1),
        pd.Series(TEXTS),
        pd.Series(TEXTS, index=[10, 5, 7]),
        pd.Series(TEXTS, dtype=pd.StringDtype()),
        pd.Series(TEXTS, dtype="string[python]"),
        iter(TEXTS),
    ],
    ids=[
        "list",
        "tuple",
        "array_str",
        "array_object",
        "array_n_by_1",
        "series",
        "series_unordered_index",
        "series_string_dtype",
        "series_string_python",
        "iterator",
    ],
)
def test_single_texts(X):
    inputs = _check(X)
    assert inputs.texts == TEXTS
    assert all(type(t) is str for t in inputs.texts)
    assert inputs.pairs is None
    assert inputs.feature_names is None
    assert len(inputs) == 3


def test_series_pyarrow_string_dtype():
    if importlib.util.find_spec("pyarrow") is None:
        pytest.skip("pyarrow is not installed")
    inputs = _check(pd.Series(TEXTS, dtype="string[pyarrow]"))
    assert inputs.texts == TEXTS


def test_empty_strings_are_texts():
    assert _check(["", "a"]).texts == ["", "a"]


def test_dataframe_one_column():
    frame = pd.DataFrame({"review": TEXTS}, index=[3, 1, 2])
    inputs = _check(frame)
    assert inputs.texts == TEXTS
    assert inputs.pairs is None
    assert inputs.feature_names.tolist() == ["review"]


def test_dataframe_string_dtype_column():
    frame = pd.DataFrame({"review": pd.array(TEXTS, dtype="string")})
    assert _check(frame).texts == TEXTS


def test_dataframe_two_columns_are_pairs():
    frame = pd.DataFrame({"premise": TEXTS, "hypothesis": ["x", "y", "z"]})
    inputs = _check(frame)
    assert inputs.texts == TEXTS
    assert inputs.pairs == ["x", "y", "z"]
    assert inputs.feature_names.tolist() == ["premise", "hypothesis"]
    assert inputs.all_texts() == TEXTS + ["x", "y", "z"]


def test_dataframe_non_string_column_names():
    frame = pd.DataFrame({0: TEXTS})
    assert _check(frame).feature_names.tolist() == ["0"]


@pytest.mark.parametrize(
    "X",
    [
        [("a", "x"), ("b", "y")],
        [["a", "x"], ["b", "y"]],
        np.array([["a", "x"], ["b", "y"]]),
        np.array([["a", "x"], ["b", "y"]], dtype=object),
        pd.Series([("a", "x"), ("b", "y")]),
    ],
    ids=["tuples", "lists", "array", "array_object", "series_of_tuples"],
)
def test_pairs(X):
    inputs = _check(X)
    assert inputs.texts == ["a", "b"]
    assert inputs.pairs == ["x", "y"]
    assert inputs.feature_names is None


def test_pairs_refused_when_not_allowed():
    with pytest.raises(InputError, match=r"expects single texts, but row 0 is a tuple"):
        _check([("a", "x")], allow_pairs=False)
    with pytest.raises(
        InputError, match=r"DataFrame with one text column, but got 2 columns"
    ):
        _check(pd.DataFrame({"a": ["x"], "b": ["y"]}), allow_pairs=False)


# === Refused forms, each with its pinned message ===


@pytest.mark.parametrize(
    "bad, row",
    [(None, 1), (float("nan"), 1), (np.nan, 2), (pd.NA, 0)],
    ids=["None", "float_nan", "np_nan", "pd_NA"],
)
def test_missing_text_names_row(bad, row):
    X = list(TEXTS)
    X[row] = bad
    with pytest.raises(
        InputError,
        match=rf"AlbertClassifier expects a text in every row, but row {row} is "
        r"missing \(.*\)\. Drop or fill missing texts first, e\.g\. X\.fillna",
    ):
        _check(X)


def test_missing_text_in_string_series():
    X = pd.Series(["a", None, "c"], dtype="string")
    with pytest.raises(InputError, match=r"row 1 is missing \(<NA>\)"):
        _check(X)


def test_missing_text_in_dataframe():
    X = pd.DataFrame({"text": ["a", "b", None, "d"]})
    with pytest.raises(InputError, match=r"row 2 is missing"):
        _check(X)


def test_non_string_text_names_row_and_type():
    with pytest.raises(
        InputError,
        match=r"expects texts \(str\), but row 2 is int \(5\)\. Convert the column "
        r"first, e\.g\. X\.astype\(str\)",
    ):
        _check(["a", "b", 5])


def test_numeric_series_refused():
    with pytest.raises(InputError, match=r"row 0 is float \(1\.5\)"):
        _check(pd.Series([1.5, 2.5]))


def test_bytes_text_refused():
    with pytest.raises(InputError, match=r"row 0 is bytes"):
        _check([b"raw bytes"])


@pytest.mark.parametrize(
    "X",
    [[], (), np.array([], dtype=object), pd.Series([], dtype=object)],
    ids=["list", "tuple", "array", "series"],
)
def test_empty_input(X):
    with pytest.raises(
        InputError,
        match=r"AlbertClassifier needs at least one text, but got an empty input "
        r"\(0 rows\)",
    ):
        _check(X)


def test_empty_dataframe_with_a_column():
    with pytest.raises(InputError, match=r"needs at least one text"):
        _check(pd.DataFrame({"text": []}))


def test_dataframe_without_columns():
    with pytest.raises(InputError, match=r"no columns"):
        _check(pd.DataFrame(index=[0, 1]))


@pytest.mark.parametrize("X", ["one text", b"one text"], ids=["str", "bytes"])
def test_bare_string(X):
    with pytest.raises(
        InputError,
        match=r"expects a list of texts, but got a single (str|bytes)\. Wrap it in a "
        r"list: \[text\]",
    ):
        _check(X)


def test_dict():
    with pytest.raises(
        InputError,
        match=r"expects a list of texts or a DataFrame, but got a dict\. Pass "
        r"pd\.DataFrame\(your_dict\)",
    ):
        _check({"text": TEXTS})


def test_not_iterable():
    with pytest.raises(InputError, match=r"expects a list, array, Series or "):
        _check(42)


def test_dataframe_with_three_columns():
    frame = pd.DataFrame({"a": ["x"], "b": ["y"], "c": ["z"]})
    with pytest.raises(
        InputError,
        match=r"expects a DataFrame with one text column, or two for text pairs, but "
        r"got 3 columns \['a', 'b', 'c'\]\. Select the text column\(s\), e\.g\. "
        r"X\[\['a'\]\]",
    ):
        _check(frame)


def test_array_of_wrong_shape():
    with pytest.raises(InputError, match=r"got an array of shape \(2, 3\)"):
        _check(np.array([["a", "b", "c"], ["d", "e", "f"]]))
    with pytest.raises(InputError, match=r"got an array of shape \(1, 1, 1\)"):
        _check(np.array([[["a"]]]))


@pytest.mark.parametrize(
    "X, where",
    [
        ([("a", "x"), ("b", None)], r"row 1 \(second text of the pair\)"),
        ([("a", "x"), (np.nan, "y")], r"row 1 \(first text of the pair\)"),
        (
            pd.DataFrame({"q": ["a", "b", "c"], "c": ["x", "y", None]}),
            r"row 2 \(second text of the pair\)",
        ),
    ],
    ids=["list_second", "list_first", "dataframe"],
)
def test_pair_with_missing_side(X, where):
    with pytest.raises(InputError, match=rf"{where} is missing"):
        _check(X)


def test_pair_of_wrong_length():
    with pytest.raises(
        InputError,
        match=r"expects every row to be a \(text, text\) pair like row 0, but row 1 "
        r"is \('b',\)\. Give both texts of each pair",
    ):
        _check([("a", "x"), ("b",)])


def test_mixed_pairs_then_single():
    with pytest.raises(
        InputError, match=r"pair like row 0, but row 2 is 'c'\. Give both texts"
    ):
        _check([("a", "x"), ("b", "y"), "c"])


def test_mixed_single_then_pair():
    with pytest.raises(InputError, match=r"expects texts \(str\), but row 1 is tuple"):
        _check(["a", ("b", "y")])


# === Datasets ===


def test_load_sentiment_sentences():
    frame = load_sentiment_sentences()
    assert list(frame.columns) == ["text", "label", "source"]
    assert len(frame) == 3000
    assert frame.label.value_counts().to_dict() == {0: 1500, 1: 1500}
    assert frame.source.value_counts().to_dict() == {
        "amazon": 1000,
        "imdb": 1000,
        "yelp": 1000,
    }
    assert frame.text.map(type).eq(str).all()
    assert (frame.text.str.len() > 0).all()
    # Texts are stripped and hold no tab or newline (the label is split off).
    assert not frame.text.str.contains("[\t\n]").any()
    assert (frame.text == frame.text.str.strip()).all()


def test_load_sentiment_sentences_one_source():
    frame = load_sentiment_sentences(["imdb"])
    assert len(frame) == 1000
    assert set(frame.source) == {"imdb"}
    # The IMDb file holds U+0085 inside sentences: it must not split rows.
    assert frame.text.str.contains("\u0085").any()


def test_load_sentiment_sentences_unknown_source():
    with pytest.raises(InputError, match=r"Unknown source 'twitter'"):
        load_sentiment_sentences(["twitter"])


def test_read_sst2(sst2_path):
    frame = read_sst2(sst2_path, n=100)
    assert list(frame.columns) == ["text", "label"]
    assert len(frame) == 100
    assert set(frame.label) <= {0, 1}
    assert frame.text.map(type).eq(str).all()
