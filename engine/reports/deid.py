"""Handling of the "XXXX" de-identification mask in IU X-ray report sentences.

NLM replaced every word it judged identifying with "XXXX", including many ordinary words
("x-XXXX" for "x-ray", "sternotomy XXXX" for "sternotomy wires"). `unmask_sentence` applies
these rules, in order:

1. "x-XXXX" becomes "x-ray", the only reading of that pattern in chest X-ray reports.
2. A sentence that has no letters once its masks are removed is dropped.
3. A mask run that fills a noun slot leaves a hole that cannot be read. That is a run followed
   by a function word ("the XXXX are intact", "no XXXX of effusion", "surgical XXXX is
   noted"), or a run between a function word (or the sentence start) and punctuation ("is in
   XXXX."). If the sentence carries no positive or
   uncertain finding it is dropped, because the region's normal sentence says the same. If it
   does, it is kept with "(redacted)" in place of the run, so the finding is not lost.
4. Any other mask run is a modifier ("XXXX sternotomy wires", "midline sternotomy XXXX") and is
   removed with the space before it.
5. A sentence left with fewer than two words after removal ("Inferior XXXX XXXX.") is dropped.
"""

from __future__ import annotations

import re

REDACTED = "(redacted)"

_XRAY = re.compile(r"\b(x)-x{3,}\b", re.IGNORECASE)
_MASK_RUN = re.compile(r"\b[Xx]{3,}(?:(?:\s+|-a-|-|/)[Xx]{3,})*\b")
_WORD = re.compile(r"[A-Za-z]+")

_FUNCTION_WORDS = frozenset(
    "the a an no of in on at to by for from with without and or is are was were be been has have had "
    "these those this that both his her its their any some there which".split()
)


def _left_word(prefix: str) -> str | None:
    stripped = prefix.rstrip()
    if not stripped or not stripped[-1].isalnum():
        return None
    match = re.search(r"([A-Za-z0-9]+)$", stripped)
    return match.group(1).lower() if match else None


def _right_token(suffix: str) -> str | None:
    stripped = suffix.lstrip()
    if not stripped:
        return None
    match = re.match(r"[A-Za-z0-9]+", stripped)
    return match.group(0).lower() if match else stripped[0]


def _is_hole(prefix: str, suffix: str) -> bool:
    left = _left_word(prefix)
    right = _right_token(suffix)
    if right is not None and right in _FUNCTION_WORDS:
        return True
    if right is None or not right[0].isalnum():
        return left is None or left in _FUNCTION_WORDS
    return False


def unmask_sentence(sentence: str, has_positive_finding) -> str | None:
    """Return `sentence` with its masks handled, or None when the sentence should be dropped.

    `has_positive_finding(text)` tells whether a text carries a positive or uncertain finding;
    the caller passes the labeller so this module does not import it.
    """
    text = _XRAY.sub(lambda match: match.group(1) + "-ray", sentence)
    runs = list(_MASK_RUN.finditer(text))
    if not runs:
        return text
    without_masks = _MASK_RUN.sub(" ", text)
    if not _WORD.search(without_masks):
        return None

    pieces: list[str] = []
    position = 0
    for run in runs:
        prefix = text[position : run.start()]
        if _is_hole(text[: run.start()], text[run.end() :]):
            if not has_positive_finding(without_masks):
                return None
            pieces.append(prefix + REDACTED)
        else:
            pieces.append(prefix.rstrip() if prefix.strip() else "")
        position = run.end()
    pieces.append(text[position:])
    result = re.sub(r"\s+([,.;:])", r"\1", "".join(pieces))
    result = re.sub(r"\s{2,}", " ", result).strip(" ,")
    if len(_WORD.findall(result)) < 2:
        return None
    return result
