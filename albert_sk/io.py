"""Datasets in, predictions out.

Readers of the shipped review sentences, SST-2, TREC, CoNLL and SQuAD files
and of the Chinese formats (Weibo NER, BMES, CLUENER JSON spans);
writers of CoNLL and SQuAD predictions. :func:`atomic_write`,
:func:`atomic_directory` and :func:`write_directory`, which every save goes
through, live in ``albert_sk._files`` and are re-exported here. Checking what
a user passes to ``fit``/``predict`` is :mod:`albert_sk.checks`. numpy and
pandas only: no Keras here.
"""

import json
import os
from importlib import resources

import pandas as pd

from albert_sk._files import atomic_directory as atomic_directory  # re-exports
from albert_sk._files import atomic_write as atomic_write
from albert_sk._files import write_directory as write_directory
from albert_sk.checks import check_word
from albert_sk.exceptions import InputError


def load_sentiment_sentences(sources=("amazon", "imdb", "yelp")):
    """The UCI Sentiment Labelled Sentences shipped with albert_sk (CC BY 4.0).

    3,000 review sentences from Amazon, IMDb and Yelp labelled 1 (positive) or
    0 (negative). Kotzias et al., "From Group to Individual Labels using Deep
    Features", KDD 2015.

    Parameters
    ----------
    sources : sequence of {"amazon", "imdb", "yelp"}, default=all three
        Which of the three files (1,000 sentences each) to read, in order.

    Returns
    -------
    pandas.DataFrame with columns ``text``, ``label`` and ``source``.

    Raises
    ------
    InputError
        When a source is none of the three.

    Examples
    --------
    >>> from albert_sk.io import load_sentiment_sentences
    >>> reviews = load_sentiment_sentences()
    >>> reviews.shape
    (3000, 3)
    >>> reviews.groupby("source").label.mean().to_dict()  # half of each positive
    {'amazon': 0.5, 'imdb': 0.5, 'yelp': 0.5}
    >>> yelp = load_sentiment_sentences(["yelp"])
    >>> yelp.text[0], int(yelp.label[0])
    ('Wow... Loved this place.', 1)
    """
    files = {
        "amazon": "amazon_cells_labelled.txt",
        "imdb": "imdb_labelled.txt",
        "yelp": "yelp_labelled.txt",
    }
    frames = []
    for source in sources:
        if source not in files:
            raise InputError(
                f"Unknown source {source!r}; expected some of {sorted(files)}."
            )
        raw = (
            resources.files("albert_sk")
            .joinpath("data", files[source])
            .read_text("utf-8")
        )
        # Split on "\n" only: the IMDb file holds U+0085, where str.splitlines
        # would break.
        lines = [line for line in raw.split("\n") if line.strip()]
        pairs = [line.rsplit("\t", 1) for line in lines]
        frames.append(
            pd.DataFrame(
                {
                    "text": [p[0].strip() for p in pairs],
                    "label": [int(p[1]) for p in pairs],
                    "source": source,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def read_sst2(path, n=None):
    """GLUE SST-2 ``train.tsv`` (``sentence<TAB>label``, a header) as a DataFrame.

    Columns ``text`` and ``label`` (0 negative, 1 positive); ``n`` reads only
    the first ``n`` rows. Quotes are ordinary characters, as in the GLUE files.

    Examples
    --------
    >>> import os, tempfile
    >>> from albert_sk.io import read_sst2
    >>> rows = ["sentence\\tlabel", 'a charming , "funny" journey\\t1',
    ...         "bland and boring\\t0", "never dull\\t1"]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "train.tsv")
    ...     with open(path, "w", encoding="utf-8") as fh:
    ...         _ = fh.write("\\n".join(rows) + "\\n")
    ...     frame, first = read_sst2(path), read_sst2(path, n=1)
    >>> frame.text.tolist()
    ['a charming , "funny" journey', 'bland and boring', 'never dull']
    >>> frame.label.tolist(), len(first)
    ([1, 0, 1], 1)
    """
    frame = pd.read_csv(
        os.fspath(path), sep="\t", quoting=3, nrows=n, dtype={"sentence": str}
    )
    return frame.rename(columns={"sentence": "text"})


def read_trec(path, fine=False):
    """TREC question classification (``COARSE:fine question`` lines) as a DataFrame.

    Columns ``text`` and ``label``: the coarse class (``"DESC"``, ``"LOC"``,
    ...), or ``"COARSE:fine"`` with ``fine=True``. The files are Latin-1.

    Examples
    --------
    >>> import os, tempfile
    >>> from albert_sk.io import read_trec
    >>> lines = ["DESC:manner How did serfdom develop in Russia ?",
    ...          "LOC:city What is the capital of Peru ?"]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "TREC.train")
    ...     with open(path, "w", encoding="latin-1") as fh:
    ...         _ = fh.write("\\n".join(lines) + "\\n")
    ...     coarse, fine = read_trec(path), read_trec(path, fine=True)
    >>> coarse.text.tolist()
    ['How did serfdom develop in Russia ?', 'What is the capital of Peru ?']
    >>> coarse.label.tolist(), fine.label.tolist()
    (['DESC', 'LOC'], ['DESC:manner', 'LOC:city'])
    """
    with open(os.fspath(path), encoding="latin-1") as fh:
        rows = [line.rstrip("\n").split(" ", 1) for line in fh if line.strip()]
    labels = [r[0] if fine else r[0].split(":")[0] for r in rows]
    return pd.DataFrame({"text": [r[1].strip() for r in rows], "label": labels})


# === Token classification (CoNLL) ===


def utf8_error(path):
    """Where ``path`` stops being UTF-8: ``"byte 0xff at line 3"``, or None."""
    with open(os.fspath(path), "rb") as fh:
        for number, line in enumerate(fh, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as err:
                return f"byte 0x{line[err.start]:02x} at line {number}"
    return None


def not_utf8_message(path, what="file"):
    """The error for a file that is not UTF-8: where, and how to convert it."""
    return (
        f"{what} {os.fspath(path)!r} is not UTF-8 text ({utf8_error(path)}). Save "
        "the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 IN > OUT`."
    )


def _conll_fields(line):
    return line.split("\t") if "\t" in line else line.split()


def read_conll(path, columns=(0, -1), *, encoding="utf-8"):
    """Read a CoNLL file: one word per line, a blank line between sentences.

    Columns are split on tabs when a line holds one (WNUT-17), else on runs
    of spaces (CoNLL-2003). ``-DOCSTART-`` lines and whitespace-only lines
    end a sentence.

    Parameters
    ----------
    path : str or path
    columns : (int, int or None), default=(0, -1)
        Index of the word column and of the tag column (``-1``: the last);
        ``(0, 3)`` reads the NER tags of CoNLL-2003. ``None`` as the tag
        column reads words only.
    encoding : str, default="utf-8"

    Returns
    -------
    sentences : list of list of str
    tags : list of list of str, or None when the tag column is None

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from albert_sk.io import read_conll
    >>> path = Path(tempfile.mkdtemp()) / "tiny.conll"
    >>> lines = ["-DOCSTART- -X- O O", "", "Ada NNP B-NP B-PER", "sings VBZ B-VP O"]
    >>> _ = path.write_text("\\n".join(lines) + "\\n")
    >>> read_conll(path, columns=(0, 3))
    ([['Ada', 'sings']], [['B-PER', 'O']])
    """
    word_col, tag_col = columns
    need = max(c + 1 if c >= 0 else -c for c in columns if c is not None)
    sentences, tags, words, labels = [], [], [], []

    def flush():
        if words:
            sentences.append(list(words))
            tags.append(list(labels))
            words.clear()
            labels.clear()

    try:
        with open(os.fspath(path), encoding=encoding) as fh:
            lines = fh.readlines()
    except UnicodeDecodeError as err:
        where = utf8_error(path) if encoding.lower().replace("-", "") == "utf8" else err
        raise InputError(
            f"CoNLL file {os.fspath(path)!r} is not {encoding} text ({where}). "
            "Pass its encoding, e.g. encoding='latin1', or save it as UTF-8."
        ) from None
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            flush()
            continue
        fields = _conll_fields(line)
        if fields[0].startswith("-DOCSTART-"):
            flush()
            continue
        if len(fields) < need:
            raise InputError(
                f"Line {number} of {os.fspath(path)!r} has {len(fields)} "
                f"column(s) ({line!r:.60}), but columns={tuple(columns)} needs "
                f"{need}. Pass the columns of the word and the tag, e.g. "
                "columns=(0, 3) for CoNLL-2003."
            )
        words.append(fields[word_col])
        if tag_col is not None:
            labels.append(fields[tag_col])
    flush()
    return sentences, (tags if tag_col is not None else None)


def read_weibo_ner(path):
    """Weibo NER (Peng & Dredze 2015): one ``CHAR+DIGIT<TAB>TAG`` line per character.

    The digits after each character are its position in the word segment the
    authors' segmenter found (``中0 国1``, ``p10`` in a long Latin word); they
    are not part of the text and are **stripped**, so each word returned is
    the character alone (the published files hold a few emoji as two U+FFFD
    replacement characters: one word). Tags are
    IOB2 over ``PER``/``ORG``/``LOC``/``GPE`` × ``NAM``/``NOM``.

    Returns ``(sentences, tags)`` as :func:`read_conll` does.

    Examples
    --------
    >>> import os, tempfile
    >>> from albert_sk.io import read_weibo_ner
    >>> lines = ["我0\\tO", "在0\\tO", "北0\\tB-GPE.NAM", "京1\\tI-GPE.NAM", "",
    ...          "老0\\tB-PER.NOM", "师1\\tI-PER.NOM", "好0\\tO"]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "weiboNER_2nd_conll.dev")
    ...     with open(path, "w", encoding="utf-8") as fh:
    ...         _ = fh.write("\\n".join(lines) + "\\n")
    ...     sentences, tags = read_weibo_ner(path)
    >>> sentences  # the segment digits are gone
    [['我', '在', '北', '京'], ['老', '师', '好']]
    >>> tags[0]
    ['O', 'O', 'B-GPE.NAM', 'I-GPE.NAM']
    """
    sentences, tags = read_conll(path, columns=(0, 1))
    for i, sentence in enumerate(sentences):
        for j, token in enumerate(sentence):
            char = token.rstrip("0123456789") or token[:1]  # a digit's own digits
            if len(char) == len(token):
                raise InputError(
                    f"Sentence {i} word {j} of {os.fspath(path)!r} is {token!r}, "
                    "not a character followed by its segment digit ('中0'). Read "
                    "files without the digit with read_conll."
                )
            sentence[j] = char
    return sentences, tags


def read_bmes(path):
    """A character-per-line BMES file (Resume NER's ``*.char.bmes``: ``CHAR TAG``).

    Tags stay in the BMES scheme (``B-X`` begins, ``M-X`` continues, ``E-X``
    ends an entity, ``S-X`` is a one-character entity): fit
    ``AlbertTagger(scheme="BMES")`` on them, or convert them with
    ``albert_sk.align.to_iob2(tags, "BMES")``. Returns ``(sentences, tags)``.

    Examples
    --------
    >>> import os, tempfile
    >>> from albert_sk.align import to_iob2
    >>> from albert_sk.io import read_bmes
    >>> lines = ["吴 B-NAME", "重 M-NAME", "阳 E-NAME", "， O", "男 S-GENDER"]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "dev.char.bmes")
    ...     with open(path, "w", encoding="utf-8") as fh:
    ...         _ = fh.write("\\n".join(lines) + "\\n")
    ...     sentences, tags = read_bmes(path)
    >>> sentences
    [['吴', '重', '阳', '，', '男']]
    >>> tags
    [['B-NAME', 'M-NAME', 'E-NAME', 'O', 'S-GENDER']]
    >>> to_iob2(tags[0], "BMES")
    ['B-NAME', 'I-NAME', 'I-NAME', 'O', 'B-GENDER']
    """
    sentences, tags = read_conll(path, columns=(0, -1))
    for i, sentence_tags in enumerate(tags):
        for j, tag in enumerate(sentence_tags):
            if tag != "O" and not (len(tag) > 2 and tag[0] in "BMES" and tag[1] == "-"):
                raise InputError(
                    f"Sentence {i} word {j} of {os.fspath(path)!r} has tag {tag!r}, "
                    "not a BMES tag (O, B-TYPE, M-TYPE, E-TYPE, S-TYPE). Read "
                    "other schemes with read_conll."
                )
    return sentences, tags


def read_cluener(path):
    """CLUENER2020 JSON lines as raw texts and character spans.

    Each line is ``{"text", "label": {type: {entity: [[start, end], ...]}}}``
    with **inclusive** ends; the spans returned are ``(start, end, type)``
    with exclusive ends (``text[start:end] == entity``), sorted, the form
    ``AlbertTagger.fit(texts, spans)`` takes. A line without ``label`` (the
    test split) gets no spans; a span that does not match its entity text
    raises :class:`~albert_sk.exceptions.InputError` naming the line.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from albert_sk.io import read_cluener
    >>> labels = {"name": {"叶老桂": [[0, 2]]}, "company": {"浙商银行": [[4, 7]]}}
    >>> records = [
    ...     {"text": "叶老桂在浙商银行工作", "label": labels},  # inclusive ends
    ...     {"text": "生生不息CSOL"},  # the test split: no label
    ... ]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "dev.json")
    ...     with open(path, "w", encoding="utf-8") as fh:
    ...         for record in records:
    ...             _ = fh.write(json.dumps(record, ensure_ascii=False) + "\\n")
    ...     texts, spans = read_cluener(path)
    >>> spans  # exclusive ends
    [[(0, 3, 'name'), (4, 8, 'company')], []]
    >>> [texts[0][start:end] for start, end, _ in spans[0]]
    ['叶老桂', '浙商银行']
    """
    path = os.fspath(path)
    texts, spans = [], []
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.readlines()
    except UnicodeDecodeError:
        raise InputError(not_utf8_message(path, "CLUENER file")) from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text, found = record["text"], []
            for label, entities in (record.get("label") or {}).items():
                for entity, places in entities.items():
                    for start, end in places:
                        if text[start : end + 1] != entity:
                            raise ValueError(
                                f"[{start}, {end}] is {text[start : end + 1]!r}, "
                                f"not the entity {entity!r}"
                            )
                        found.append((int(start), int(end) + 1, label))
        except (ValueError, KeyError, TypeError) as err:
            raise InputError(
                f"Line {number} of {path!r} is not a CLUENER record ({err}). "
                "Expected {'text': str, 'label': {type: {entity: [[start, "
                "end_inclusive], ...]}}}."
            ) from None
        texts.append(text)
        spans.append(sorted(found))
    return texts, spans


def write_conll(path, sentences, *tag_columns, sep="\t"):
    """Write sentences (and any number of tag columns) as a CoNLL file.

    One ``word<sep>tag...`` line per word, a blank line after each sentence
    (the format :func:`read_conll` and ``conlleval`` read). The file is
    written to a temporary file and moved into place.

    Examples
    --------
    >>> import tempfile, os
    >>> from albert_sk.io import read_conll, write_conll
    >>> path = os.path.join(tempfile.mkdtemp(), "out.conll")
    >>> write_conll(path, [["Ada", "sings"]], [["B-PER", "O"]])
    >>> read_conll(path)
    ([['Ada', 'sings']], [['B-PER', 'O']])
    """
    who = "write_conll"
    sentences = list(sentences)
    tag_columns = [list(c) for c in tag_columns]
    for k, column in enumerate(tag_columns):
        if len(column) != len(sentences):
            raise InputError(
                f"{who} got {len(sentences)} sentences but tag column {k} has "
                f"{len(column)} rows. Pass one tag list per sentence."
            )
    lines = []
    for i, words in enumerate(sentences):
        words = list(words)
        for j, word in enumerate(words):
            check_word(word, i, j, who)
        columns = [list(c[i]) for c in tag_columns]
        for k, tags in enumerate(columns):
            if len(tags) != len(words):
                raise InputError(
                    f"{who}: sentence {i} has {len(words)} words but tag column "
                    f"{k} has {len(tags)} tags. Pass one tag per word."
                )
            for j, tag in enumerate(tags):
                if not isinstance(tag, str) or not tag or sep in tag:
                    raise InputError(
                        f"{who}: sentence {i} word {j} has tag {tag!r} in column "
                        f"{k}; tags must be non-empty strings without {sep!r}."
                    )
        lines.extend(sep.join(row) for row in zip(words, *columns, strict=True))
        lines.append("")
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + ("\n" if lines else ""))


# === Question answering (SQuAD) ===


def read_squad(path):
    """A SQuAD 1.1 or 2.0 JSON file as a DataFrame, one row per question.

    Parameters
    ----------
    path : str or path
        A file in the official SQuAD format (``{"data": [{"title",
        "paragraphs": [{"context", "qas": [...]}]}]}``).

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``title``, ``question``, ``context``, ``answers`` (a
        list of ``{"text", "answer_start"}`` dicts, empty for unanswerable
        questions) and ``is_impossible`` (always False for SQuAD 1.1). The
        frame can be passed to ``AlbertQA.fit(frame, frame["answers"])``.

    Examples
    --------
    >>> import json, tempfile
    >>> from albert_sk.io import read_squad
    >>> data = {"version": "1.1", "data": [{"title": "T", "paragraphs": [{
    ...     "context": "Paris is in France.",
    ...     "qas": [{"id": "q1", "question": "Where is Paris?",
    ...              "answers": [{"text": "France", "answer_start": 12}]}]}]}]}
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
    ...     json.dump(data, fh)
    >>> read_squad(fh.name).loc[0, ["question", "answers"]].tolist()
    ['Where is Paris?', [{'text': 'France', 'answer_start': 12}]]
    """
    path = os.fspath(path)
    with open(path, encoding="utf-8") as fh:
        try:
            dataset = json.load(fh)
        except json.JSONDecodeError as err:
            raise InputError(f"{path!r} is not a JSON file ({err}).") from None
        except UnicodeDecodeError:
            raise InputError(not_utf8_message(path, "SQuAD file")) from None
    expected = (
        "the official SQuAD format {'data': [{'title', 'paragraphs': "
        "[{'context', 'qas': [{'id', 'question', 'answers'}]}]}]}"
    )
    if not isinstance(dataset, dict) or not isinstance(dataset.get("data"), list):
        raise InputError(f"{path!r} is not in {expected}: it has no 'data' list.")
    rows = []
    try:
        for article in dataset["data"]:
            for paragraph in article["paragraphs"]:
                context = paragraph["context"]
                for qa in paragraph["qas"]:
                    impossible = bool(qa.get("is_impossible", False))
                    answers = [
                        {"text": a["text"], "answer_start": int(a["answer_start"])}
                        for a in qa.get("answers", [])
                    ]
                    rows.append(
                        {
                            "id": str(qa["id"]),
                            "title": article.get("title", ""),
                            "question": qa["question"],
                            "context": context,
                            "answers": [] if impossible else answers,
                            "is_impossible": impossible,
                        }
                    )
    except (KeyError, TypeError) as err:
        raise InputError(
            f"{path!r} is not in {expected}: question {len(rows)} lacks {err}."
        ) from None
    columns = ["id", "title", "question", "context", "answers", "is_impossible"]
    return pd.DataFrame(rows, columns=columns)


def write_squad_predictions(path, ids, answers):
    """Write predictions in the official ``{id: answer}`` JSON format, atomically.

    ``answers`` are strings, ``""`` for no answer (SQuAD 2.0). The file is
    written to a temporary file in the same folder and moved into place.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from albert_sk.io import write_squad_predictions
    >>> path = os.path.join(tempfile.mkdtemp(), "predictions.json")
    >>> _ = write_squad_predictions(path, ["q1", "q2"], ["France", ""])
    >>> with open(path) as fh:
    ...     json.load(fh)
    {'q1': 'France', 'q2': ''}
    """
    ids, answers = list(ids), list(answers)
    if len(ids) != len(answers):
        raise InputError(
            f"write_squad_predictions needs one answer per id, but got {len(ids)} "
            f"ids and {len(answers)} answers."
        )
    bad = [i for i, a in enumerate(answers) if not isinstance(a, str)]
    if bad:
        raise InputError(
            f"write_squad_predictions expects answers as str ('' for no answer), "
            f"but answer {bad[0]} is {answers[bad[0]]!r:.60}."
        )
    predictions = {str(i): a for i, a in zip(ids, answers, strict=True)}
    if len(predictions) != len(ids):
        raise InputError("write_squad_predictions got repeated question ids.")
    with atomic_write(path, "w", encoding="utf-8") as fh:
        json.dump(predictions, fh, ensure_ascii=False)
    return os.path.abspath(os.fspath(path))
