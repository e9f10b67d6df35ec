"""Alignment between words, subword pieces and character spans (numpy only).

* words <-> pieces: windows of whole words that fit ``max_length``;
* character spans <-> words: raw text split into words, span annotations
  turned into IOB2 tags and entities back into character spans;
* tag schemes: IOB1 / IOB2 / BIOES / BMES conversion, IOB2 repair, strict IOB2
  entity extraction (the definition ``seqeval`` uses in strict mode).
* token spans <-> character spans for question answering: sliding windows
  over a context and n-best span decoding.
"""

import re
import unicodedata
import warnings
from collections import Counter, defaultdict

import numpy as np

from albert_sk.checks import TaggerInput
from albert_sk.exceptions import InputError, LabelWarning, user_stacklevel

# === Words and character spans ===

# A word is a run of letters/digits/underscore, one CJK ideograph (Chinese
# and Japanese write no spaces between words: each ideograph is a word, as in
# BERT's basic tokenizer), or one other non-space character (punctuation,
# symbols, zero-width characters). The ideographs are BERT's blocks: CJK
# Unified Ideographs and Extension A, the compatibility ideographs, and the
# supplementary planes' Extensions B-I and compatibility supplement (U+20000
# to U+2FA1F), plus Extensions G and H (U+30000 to U+323AF). Kana, Hangul,
# full-width letters and digits, and CJK punctuation keep the other rules.
_CJK = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\U00030000-\U000323af"
)
WORD_PATTERN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]")
CJK_PATTERN = re.compile(f"[{_CJK}]")
_WHITESPACE = re.compile(r"\s")


def split_words(text, cuts=()):
    """Split ``text`` into words with their ``[start, end)`` character offsets.

    Parameters
    ----------
    text : str
    cuts : iterable of int, default=()
        Extra character positions where a word must be split (span
        annotation boundaries that fall inside a word).

    Returns
    -------
    words : list of str
    starts, ends : ndarray of int64
        ``text[starts[i]:ends[i]] == words[i]``.

    Examples
    --------
    >>> from albert_sk.align import split_words
    >>> words, starts, ends = split_words("Hi, Zoë!")
    >>> words, starts.tolist()
    (['Hi', ',', 'Zoë', '!'], [0, 2, 4, 7])
    """
    cuts = sorted(set(int(c) for c in cuts))
    words, starts, ends = [], [], []
    for s, e in _word_spans(text):
        inner = [c for c in cuts if s < c < e] if cuts else ()
        for a, b in zip([s, *inner], [*inner, e], strict=True):
            words.append(text[a:b])
            starts.append(a)
            ends.append(b)
    return words, np.asarray(starts, np.int64), np.asarray(ends, np.int64)


def _is_mark(ch):
    return unicodedata.category(ch)[0] == "M"


def _word_spans(text):
    """``(start, end)`` of the words of ``text``; combining marks (accents
    written apart, Devanagari vowel signs and viramas), which ``\\w`` does
    not match, stay in the word they belong to."""
    spans, ascii = [], text.isascii()
    for match in WORD_PATTERN.finditer(text):
        s, e = match.span()
        if (
            not ascii
            and spans
            and spans[-1][1] == s
            and (
                _is_mark(text[s])
                or (
                    _is_mark(text[s - 1])
                    and text[s].isalnum()
                    and text[spans[-1][0]].isalnum()
                    # an ideograph stays a word of its own, marks or not
                    and not CJK_PATTERN.match(text[s])
                    and not CJK_PATTERN.match(text[spans[-1][0]])
                )
            )
        ):
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
    return spans


def check_spans(text, spans, row):
    """Validate ``[(start, end, label), ...]`` for ``text``; return them sorted."""
    out = []
    for k, span in enumerate(spans):
        if not isinstance(span, (tuple, list)) or len(span) != 3:
            raise InputError(
                f"Span annotations must be (start, end, label) triples, but text "
                f"{row} span {k} is {span!r:.60}. Give each entity as "
                "(start, end, label) with character offsets."
            )
        start, end, label = span
        if not isinstance(label, str) or not label:
            raise InputError(
                f"Span labels must be non-empty strings, but text {row} span {k} "
                f"has label {label!r}. Use entity types such as 'PER'."
            )
        try:
            start, end = int(start), int(end)
        except (TypeError, ValueError):
            raise InputError(
                f"Span offsets must be ints, but text {row} span {k} is "
                f"{span!r:.60}. Give the character offsets as ints."
            ) from None
        if not 0 <= start < end <= len(text):
            raise InputError(
                f"Text {row} span {k} ({start}, {end}) falls outside the text "
                f"(length {len(text)}) or is empty. Spans need "
                "0 <= start < end <= len(text)."
            )
        if not text[start:end].strip():
            raise InputError(
                f"Text {row} span {k} ({start}, {end}) covers only whitespace "
                f"({text[start:end]!r}). Point the span at the entity's words."
            )
        out.append((start, end, label))
    out.sort()
    for (s0, e0, _), (s1, e1, _) in zip(out, out[1:], strict=False):
        if s1 < e0:
            raise InputError(
                f"Text {row} has overlapping spans ({s0}, {e0}) and ({s1}, {e1}). "
                "Nested or overlapping entities cannot be tagged with IOB2: keep "
                "one of them."
            )
    return out


def spans_to_tags(text, spans, row=0):
    """Words of ``text`` and their IOB2 tags from character-span annotations.

    Words are split as :func:`split_words` does, and also at every span
    boundary, so each span covers whole words.

    Returns
    -------
    words : list of str
    tags : list of str
    starts, ends : ndarray of int64

    Examples
    --------
    >>> from albert_sk.align import spans_to_tags
    >>> words, tags, _, _ = spans_to_tags("I met Ada Lovelace.", [(6, 18, "PER")])
    >>> list(zip(words, tags))  # doctest: +NORMALIZE_WHITESPACE
    [('I', 'O'), ('met', 'O'), ('Ada', 'B-PER'), ('Lovelace', 'I-PER'),
     ('.', 'O')]
    """
    spans = check_spans(text, spans, row)
    cuts = [c for s, e, _ in spans for c in (s, e)]
    words, starts, ends = split_words(text, cuts)
    tags = ["O"] * len(words)
    for start, end, label in spans:
        first = int(np.searchsorted(starts, start, side="left"))
        last = int(np.searchsorted(ends, end, side="left"))
        # Spans may start or end on whitespace: cover the words inside.
        last = min(last, len(words) - 1)
        if ends[last] > end:
            last -= 1
        for j in range(first, last + 1):
            tags[j] = ("B-" if j == first else "I-") + label
    return words, tags, starts, ends


def entity_records(text, tags, starts, ends, scores=None):
    """Strict IOB2 entities of one text, as records with character offsets.

    ``starts``/``ends`` are the words' character offsets into ``text``.
    Each record is ``{"text", "label", "start", "end"}`` with
    ``text[start:end] == record["text"]``, and ``"score"``, the mean of the
    entity's words' ``scores``, where they are given.

    Examples
    --------
    >>> from albert_sk.align import entity_records
    >>> entity_records("Ada met Bob", ["B-PER", "O", "B-PER"], [0, 4, 8], [3, 7, 11])
    [{'text': 'Ada', 'label': 'PER', 'start': 0, 'end': 3}, \
{'text': 'Bob', 'label': 'PER', 'start': 8, 'end': 11}]
    """
    out = []
    for label, a, b in get_entities(tags):
        start, end = int(starts[a]), int(ends[b - 1])
        record = {"text": text[start:end], "label": label, "start": start, "end": end}
        if scores is not None:
            record["score"] = float(np.mean(scores[a:b]))
        out.append(record)
    return out


# === Tag schemes ===

# BMES (Chinese NER data such as Resume NER) is BIOES with M for I and S
# for a one-word entity: B-X begins, M-X continues, E-X ends.
SCHEMES = ("IOB2", "IOB1", "BIOES", "BMES")
_PREFIXES = {"IOB2": "BI", "IOB1": "BI", "BIOES": "BIES", "BMES": "BMES"}


def split_tag(tag):
    """``(prefix, type)`` of a tag: ``("B", "PER")``, or ``("O", None)``."""
    if tag == "O":
        return "O", None
    return tag[0], tag[2:]


def check_tags(tags, scheme, row):
    """Raise unless every tag of sentence ``row`` is valid in ``scheme``.

    ``scheme=None`` accepts any non-empty string (plain labels such as POS tags).
    """
    for j, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise InputError(
                f"Tags must be strings, but sentence {row} word {j} has tag "
                f"{tag!r} ({type(tag).__name__}). Convert the tags to str."
            )
        if scheme is None:
            if not tag:
                raise InputError(
                    f"Tags must be non-empty strings, but sentence {row} word {j} "
                    "has tag ''."
                )
            continue
        prefixes = _PREFIXES[scheme]
        if tag != "O" and not (len(tag) > 2 and tag[0] in prefixes and tag[1] == "-"):
            allowed = ", ".join(f"{p}-TYPE" for p in prefixes)
            raise InputError(
                f"Sentence {row} word {j} has tag {tag!r}, which is not a "
                f"{scheme} tag (O, {allowed}). Pass scheme= matching your tags "
                "('IOB2', 'IOB1', 'BIOES', 'BMES'), or scheme=None for plain "
                "labels such as POS tags."
            )


def to_iob2(tags, scheme):
    """Convert one sentence's tags from ``scheme`` (IOB1, IOB2, BIOES, BMES) to IOB2.

    Examples
    --------
    >>> from albert_sk.align import to_iob2
    >>> to_iob2(["S-PER", "O", "B-LOC", "E-LOC"], "BIOES")
    ['B-PER', 'O', 'B-LOC', 'I-LOC']
    >>> to_iob2(["I-PER", "I-PER", "B-PER", "O"], "IOB1")
    ['B-PER', 'I-PER', 'B-PER', 'O']
    >>> to_iob2(["B-ORG", "M-ORG", "E-ORG", "S-LOC"], "BMES")
    ['B-ORG', 'I-ORG', 'I-ORG', 'B-LOC']
    """
    if scheme == "IOB2" or scheme is None:
        return list(tags)
    out = []
    prev_type = None
    for tag in tags:
        prefix, kind = split_tag(tag)
        if scheme == "BIOES":
            new = {"S": "B", "E": "I"}.get(prefix, prefix)
        elif scheme == "BMES":
            new = {"S": "B", "E": "I", "M": "I"}.get(prefix, prefix)
        else:  # IOB1: I starts an entity unless it continues one of its type
            new = "B" if prefix == "I" and prev_type != kind else prefix
        out.append("O" if prefix == "O" else f"{new}-{kind}")
        prev_type = kind
    return out


def from_iob2(tags, scheme):
    """Convert well-formed IOB2 tags (see :func:`repair_iob2`) to ``scheme``.

    Examples
    --------
    >>> from albert_sk.align import from_iob2
    >>> from_iob2(["B-PER", "O", "B-LOC", "I-LOC"], "BIOES")
    ['S-PER', 'O', 'B-LOC', 'E-LOC']
    >>> from_iob2(["B-ORG", "I-ORG", "I-ORG", "B-LOC"], "BMES")
    ['B-ORG', 'M-ORG', 'E-ORG', 'S-LOC']
    """
    if scheme == "IOB2" or scheme is None:
        return list(tags)
    out = list(tags)
    prev_end_type = None  # type of an entity ending just before this word
    for label, start, end in get_entities(tags):
        if scheme in ("BIOES", "BMES"):
            if end - start == 1:
                out[start] = f"S-{label}"
            else:
                out[end - 1] = f"E-{label}"
                if scheme == "BMES":
                    out[start + 1 : end - 1] = [f"M-{label}"] * (end - start - 2)
        else:  # IOB1: B only between two adjacent entities of the same type
            adjacent = start > 0 and out[start - 1] != "O"
            prev_end_type = split_tag(tags[start - 1])[1] if adjacent else None
            if prev_end_type != label:
                out[start] = f"I-{label}"
    return out


def repair_iob2(tags):
    """Make IOB2 tags well formed: an ``I-X`` that does not continue an X entity
    becomes ``B-X`` (the reading of conlleval and seqeval's default mode).

    Examples
    --------
    >>> from albert_sk.align import repair_iob2
    >>> repair_iob2(["O", "I-PER", "I-PER", "I-LOC"])
    ['O', 'B-PER', 'I-PER', 'B-LOC']
    """
    out = list(tags)
    prev = "O"
    for j, tag in enumerate(out):
        if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
            out[j] = "B-" + tag[2:]
        prev = out[j]
    return out


def gold_tags(y, inputs, scheme, learned, who):
    """A tagger's ``y`` (tag lists, or span lists for raw texts), checked.

    Returns the tag lists in ``learned`` (the scheme the model learns or
    learned), the set of tags in ``scheme`` (the user's), and the
    :class:`~albert_sk.checks.TaggerInput` they tag (for raw texts: the
    words cut at the spans).
    """
    if y is None:
        raise InputError(
            f"{who}.fit needs targets y (one tag list per sentence, or span "
            "lists for raw texts), but got y=None. Pass the tags: fit(X, y)."
        )
    if isinstance(y, (str, bytes)):
        raise InputError(f"{who} expects y as a list of tag lists, but got a string.")
    y = y.tolist() if hasattr(y, "tolist") else list(y)
    if len(y) != len(inputs):
        raise InputError(
            f"X and y must have the same number of rows, but X has "
            f"{len(inputs)} and y has {len(y)}. Pass one target per text."
        )
    out, user = [], set()
    cut = inputs if inputs.texts is None else TaggerInput([], inputs.texts, [])
    for i, tags in enumerate(y):
        if isinstance(tags, np.ndarray):
            tags = tags.tolist()
        if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
            kind = "span list" if inputs.texts is not None else "tag list"
            raise InputError(
                f"{who} expects one {kind} per sentence, but y[{i}] is "
                f"{type(tags).__name__} ({tags!r:.60})."
            )
        if inputs.texts is not None:
            words, tags, starts, ends = spans_to_tags(inputs.texts[i], tags, i)
            cut.sentences.append(words)
            cut.offsets.append((starts, ends))
            out.append(from_iob2(tags, learned))
            user.update(from_iob2(tags, scheme))
            continue
        n_words = len(inputs.sentences[i])
        if len(tags) != n_words:
            raise InputError(
                f"Sentence {i} has {n_words} words but {len(tags)} tags. "
                "Give exactly one tag per word."
            )
        check_tags(tags, scheme, i)
        if learned == scheme:
            out.append(list(tags))
        else:
            out.append(from_iob2(to_iob2(tags, scheme), learned))
        user.update(tags)
    return out, user, cut


def warn_stray_inside_tags(tags, scheme):
    """LabelWarning for IOB2 ``I-`` tags that continue no entity (IOB1 tags?)."""
    if scheme != "IOB2":
        return
    stray = sum(t != r for s in tags for t, r in zip(s, repair_iob2(s), strict=True))
    if stray:
        warnings.warn(
            f"y holds {stray} I- tags that continue no entity (IOB1 "
            "tags?). In IOB2 an entity starts with B-, so decoding "
            "never predicts such a tag where it starts an entity, and "
            "transitions='crf' (the default) learns each as B-. "
            "Pass scheme='IOB1' if these are IOB1 tags.",
            LabelWarning,
            stacklevel=user_stacklevel(),
        )


def get_entities(tags):
    """Strict IOB2 entities ``(label, start, end)`` of one sentence (end exclusive).

    An entity is a ``B-X`` followed by any number of ``I-X``; an ``I-X`` that
    does not continue one is not part of any entity (``seqeval`` strict mode).

    Examples
    --------
    >>> from albert_sk.align import get_entities
    >>> get_entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"])
    [('PER', 0, 2), ('LOC', 4, 5)]
    """
    entities = []
    label, start = None, 0
    for j, tag in enumerate(tags):
        if label is not None and tag == "I-" + label:
            continue
        if label is not None:
            entities.append((label, start, j))
            label = None
        if tag.startswith("B-"):
            label, start = tag[2:], j
    if label is not None:
        entities.append((label, start, len(tags)))
    return entities


# === Token spans <-> character spans, n-best spans (QA) ===


def char_span_to_tokens(starts, ends, char_start, char_end):
    """First and last token overlapping ``[char_start, char_end)``, or None.

    ``starts``/``ends`` are the tokens' character offsets; tokens with an
    empty span (a bare word-boundary piece) never begin or end a span.

    Examples
    --------
    >>> from albert_sk.align import char_span_to_tokens
    >>> char_span_to_tokens([0, 6, 10], [5, 9, 15], 6, 15)
    (1, 2)
    """
    starts, ends = np.asarray(starts), np.asarray(ends)
    hit = (ends > starts) & (starts < char_end) & (ends > char_start)
    index = np.flatnonzero(hit)
    if not len(index):
        return None
    return int(index[0]), int(index[-1])


def tokens_to_char_span(starts, ends, first, last):
    """``(char_start, char_end)`` covered by tokens ``first..last``, or None.

    Tokens with an empty span at either end are skipped, so the span never
    starts or ends on whitespace.

    Examples
    --------
    >>> from albert_sk.align import tokens_to_char_span
    >>> tokens_to_char_span([0, 6, 10], [5, 9, 15], 1, 2)
    (6, 15)
    """
    s, e = np.asarray(starts[first : last + 1]), np.asarray(ends[first : last + 1])
    index = np.flatnonzero(e > s)
    if not len(index):
        return None
    return int(s[index[0]]), int(e[index[-1]])


def top_spans(
    start_logits, end_logits, start_mask, end_mask, *, n_best_size, max_length
):
    """The best ``(start, end)`` token spans of one window, by start + end logit.

    Takes the ``n_best_size`` best starts (among ``start_mask``) and ends
    (among ``end_mask``) and keeps the pairs with ``start <= end`` and at
    most ``max_length`` tokens.

    Returns
    -------
    starts, ends : ndarray of int64
    scores : ndarray of float64
        Sorted by decreasing score.

    Examples
    --------
    >>> import numpy as np
    >>> from albert_sk.align import top_spans
    >>> mask = np.array([False, True, True, True])
    >>> s, e, score = top_spans(np.array([9.0, 1, 3, 0]), np.array([9.0, 0, 1, 2]),
    ...                         mask, mask, n_best_size=2, max_length=2)
    >>> s.tolist(), e.tolist(), score.tolist()
    ([2, 2, 1], [3, 2, 2], [5.0, 4.0, 2.0])
    """
    start_logits = np.asarray(start_logits, dtype=np.float64)
    end_logits = np.asarray(end_logits, dtype=np.float64)

    def best(logits, mask):
        index = np.flatnonzero(mask)
        if len(index) > n_best_size:
            keep = np.argpartition(-logits[index], n_best_size - 1)[:n_best_size]
            index = index[keep]
        return index

    s, e = best(start_logits, start_mask), best(end_logits, end_mask)
    s_grid, e_grid = np.meshgrid(s, e, indexing="ij")
    ok = (e_grid >= s_grid) & (e_grid - s_grid < max_length)
    s_grid, e_grid = s_grid[ok], e_grid[ok]
    scores = start_logits[s_grid] + end_logits[e_grid]
    order = np.argsort(-scores, kind="stable")
    return s_grid[order], e_grid[order], scores[order]


def most_frequent_tag(train_tags, sentences):
    """Baseline: the most frequent training tag on every word of ``sentences``."""
    tag = Counter(t for s in train_tags for t in s).most_common(1)[0][0]
    return [[tag] * len(s) for s in sentences]


def memorised_tags(train_words, train_tags, sentences):
    """Baseline: each word's most frequent training tag ("O" if unseen), repaired."""
    seen = defaultdict(Counter)
    for words, tags in zip(train_words, train_tags, strict=True):
        for w, t in zip(words, tags, strict=True):
            seen[w][t] += 1
    return [
        repair_iob2([seen[w].most_common(1)[0][0] if w in seen else "O" for w in s])
        for s in sentences
    ]
