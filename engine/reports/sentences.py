"""Sentence splitting with character offsets, shared by the labeller and the normaliser."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at ".", "?" or "!" followed by whitespace or the end of the text, or right
# after a Chinese full stop, question or exclamation mark. Line breaks also end a sentence.
# A full stop directly followed by a capitalised word ("apex.There") also ends a sentence.
_BOUNDARY = re.compile(r"(?<=[。！？])|(?<=[.?!])\s+|\n\s*|(?<=[a-z]{2}\.)(?=[A-Z][a-z])")

# Abbreviations whose full stop does not end a sentence.
_ABBREVIATIONS = ("vs.", "e.g.", "i.e.", "approx.", "dr.", "no.")

# List markers such as "1." or "2)" that IU X-ray impressions put before each item.
_LIST_MARKER = re.compile(r"^\(?\d{1,2}[.)]\s*")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a report with its offsets into the original text (end exclusive)."""

    text: str
    start: int
    end: int


def _pieces(text: str, boundary: re.Pattern[str]) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    start = 0
    for match in boundary.finditer(text):
        if match.start() == start and match.end() == start:
            continue
        candidate = text[start : match.start()]
        if candidate.lower().rstrip().endswith(_ABBREVIATIONS):
            continue
        pieces.append((start, match.start()))
        start = match.end()
    pieces.append((start, len(text)))
    return pieces


def split_sentences(text: str) -> list[Sentence]:
    """Split report text into sentences, dropping list markers and fragments without letters.

    A fragment such as "1." or a lone "." is not a sentence: it carries no words, so it is
    skipped. A leading list marker ("2. Stable cardiomegaly.") is cut from the sentence.
    """
    sentences: list[Sentence] = []
    for start, end in _pieces(text, _BOUNDARY):
        piece = text[start:end]
        stripped = piece.strip()
        if not stripped:
            continue
        start += len(piece) - len(piece.lstrip())
        end = start + len(stripped)
        marker = _LIST_MARKER.match(stripped)
        if marker and marker.end() < len(stripped):
            start += marker.end()
            stripped = stripped[marker.end() :]
        if not any(character.isalpha() for character in stripped):
            continue
        sentences.append(Sentence(stripped, start, end))
    return sentences
