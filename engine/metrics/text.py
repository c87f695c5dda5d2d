"""Tokenisers for the n-gram metrics, empty-draft detection and R2Gen report cleaning.

Every score computed on tokens carries the `name` of the tokeniser that produced them, so a
table can say how English and Chinese text was split. English is split into lower-cased words
with punctuation dropped. Chinese is split either into characters or into jieba words.
rouge-score's default tokenizer keeps only ASCII letters and digits, so it scores two identical
Chinese texts as 0; nothing here uses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

# Letters and digits of any script. A draft without one of these (for example "" or ".") is empty.
_WORD_CHARACTER = re.compile(r"[^\W_]")
_ENGLISH_WORD = re.compile(r"[^\W_]+")
_CJK_CHARACTER = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CHINESE_CHARACTER_TOKEN = re.compile(rf"[{_CJK_CHARACTER}]|[^\W_{_CJK_CHARACTER}]+")

LANGUAGES = ("en", "zh")


def is_empty_text(text: str | None) -> bool:
    """Return True when `text` is None or has no letter or digit (for example "", " " or ".")."""
    return text is None or _WORD_CHARACTER.search(text) is None


@dataclass(frozen=True)
class Tokenizer:
    """A named function from text to tokens."""

    name: str
    """How the text is split, shown beside every score computed on these tokens."""
    split: Callable[[str], list[str]]

    def __call__(self, text: str) -> list[str]:
        return self.split(text)


def _english_words(text: str) -> list[str]:
    return _ENGLISH_WORD.findall(text.lower())


def _chinese_characters(text: str) -> list[str]:
    return _CHINESE_CHARACTER_TOKEN.findall(text.lower())


@lru_cache(maxsize=1)
def _jieba_tokenizer():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _jieba_words(text: str) -> list[str]:
    words = _jieba_tokenizer().lcut(text.lower())
    return [word for word in words if _WORD_CHARACTER.search(word)]


def _jieba_version() -> str:
    from importlib.metadata import version

    return version("jieba")


ENGLISH_WORDS = Tokenizer("en-words (lower-cased letters and digits, punctuation dropped)", _english_words)
CHINESE_CHARACTERS = Tokenizer("zh-characters (one token per Chinese character, punctuation dropped)",
                               _chinese_characters)


@lru_cache(maxsize=1)
def chinese_jieba() -> Tokenizer:
    """Return the jieba word tokeniser (precise mode, bundled dictionary, punctuation dropped)."""
    return Tokenizer(f"zh-jieba (jieba {_jieba_version()} precise mode, punctuation dropped)", _jieba_words)


CHINESE_TOKENIZERS = ("jieba", "characters")


def tokenizer_for(language: str, chinese: str = "jieba") -> Tokenizer:
    """Return the tokeniser for "en" or "zh"; `chinese` picks "jieba" words or "characters"."""
    if language == "en":
        return ENGLISH_WORDS
    if language != "zh":
        raise ValueError(f"unsupported language {language!r}; choose one of: {', '.join(LANGUAGES)}")
    if chinese == "jieba":
        return chinese_jieba()
    if chinese == "characters":
        return CHINESE_CHARACTERS
    raise ValueError(f"unknown Chinese tokeniser {chinese!r}; choose one of: {', '.join(CHINESE_TOKENIZERS)}")


_R2GEN_REMOVED = re.compile(r"[.,?;*!%^&_+():-\[\]{}]")


def clean_report_r2gen(report: str) -> str:
    """Clean an IU X-ray report exactly as R2Gen's `clean_report_iu_xray` does.

    The text is lower-cased, list numbers are dropped, it is split at ". ", punctuation is
    removed from each sentence, and the sentences are joined with " . " and a final " .".
    The character class is copied from R2Gen (Chen et al., EMNLP 2020, modules/tokenizers.py).
    Its range ":-\\[" also removes ";<=>?@" and upper-case letters, which lower-casing has
    already removed. R2Gen keeps empty sentences, so "a. ." becomes "a .  ." here as there.
    """
    text = report
    for _ in range(3):
        text = text.replace("..", ".")
    text = text.replace("1. ", "")
    for number in "2345":
        text = text.replace(f". {number}. ", ". ")
    for number in "2345":
        text = text.replace(f" {number}. ", ". ")
    sentences = text.strip().lower().split(". ")
    cleaned = []
    for sentence in sentences:
        sentence = sentence.replace('"', "").replace("/", "").replace("\\", "").replace("'", "").strip().lower()
        cleaned.append(_R2GEN_REMOVED.sub("", sentence))
    return " . ".join(cleaned) + " ."


R2GEN_WORDS = Tokenizer("r2gen (R2Gen IU X-ray cleaning, split on spaces)", lambda text: clean_report_r2gen(text).split())
