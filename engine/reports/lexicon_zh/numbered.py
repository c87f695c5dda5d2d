"""Noun phrases built around numbers: measurements, numbered ribs and vertebral levels.

They are too many to list in `phrases.txt`, so each kind is a pattern with a rule to write its
Chinese and a rule to read the canonical English back from that Chinese. The back-translation
check uses the second rule, so both directions must agree on the canonical form:

- measurements stay as written in both languages ("6 mm", "1.5 x 2 cm"), and need a unit;
- ribs: "posterior 7th rib" renders as "第7后肋" and reads back as "posterior 7th rib", and a
  side inside the phrase stays with it ("posterior left 7th rib" as "左侧第7后肋"). Ranges
  ("5th-7th", "5th through 7th") render as "5-7" and lists ("5th and 6th", "5th, 6th") as "5、6";
- vertebral levels keep their labels in upper case ("t12" as "T12", "l1-l2" as "L1-L2").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A measurement needs its unit, so a stray number ("atelectasis 2") is not read as a size.
_SIZE = r"\d+(?:\.\d+)?"
_UNIT = r" ?(?:mm|cm)"
_MEASUREMENT = rf"{_SIZE}(?:{_UNIT})?(?: ?(?:x|by) {_SIZE}(?:{_UNIT})?)*(?<=mm|cm)"
MEASUREMENT = re.compile(rf"^{_MEASUREMENT}$")
MEASUREMENT_ZH = re.compile(_MEASUREMENT)

_ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
}
_ORDINAL = r"(?:\d{1,2}(?:st|nd|rd|th)|" + "|".join(_ORDINAL_WORDS) + ")"
_RANGE = r"(?:-| through | to )"
_LIST = r"(?:, and |, | and )"
# Parts of a rib: the anterior and posterior ribs go before "肋" ("第7后肋"), the rest after it.
_PARTS_BEFORE = {"anterior": "前", "posterior": "后"}
_PARTS_AFTER = {"lateral": "腋段", "posterolateral": "后外侧", "anterolateral": "前外侧"}
_SIDES = {"left": "左侧", "right": "右侧"}
_PART = "(?:" + "|".join([*_PARTS_BEFORE, *_PARTS_AFTER]) + ")"
RIB = re.compile(
    rf"^(?:(?P<before>{_PART}) )?(?:(?P<side>left|right) )?"
    rf"(?P<numbers>{_ORDINAL}(?:(?:{_RANGE}|{_LIST}){_ORDINAL})*)(?: (?P<after>{_PART}))? ribs?$"
)
RIB_ZH = re.compile(
    r"(?P<side>左侧|右侧)?第(?P<numbers>\d{1,2}(?:[-、]\d{1,2})*)(?P<before>[前后]?)肋"
    r"(?P<after>腋段|后外侧|前外侧)?"
)

VERTEBRA = re.compile(r"^(?P<first>[tlc]\d{1,2})(?:(?:-|/| through | to )(?P<second>[tlc]?\d{1,2}))?$")
VERTEBRA_ZH = re.compile(r"(?P<first>[TLC]\d{1,2})(?:-(?P<second>[TLC]?\d{1,2}))?")


def _ordinal_number(word: str) -> int:
    return _ORDINAL_WORDS[word] if word in _ORDINAL_WORDS else int(re.sub(r"\D", "", word))


def _ordinal_text(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _rib_parts(numbers: str) -> list[tuple[str, int]]:
    """Split "5th through 7th, 9th" into [("", 5), ("-", 7), ("、", 9)]."""
    tokens = re.split(rf"({_RANGE}|{_LIST})", numbers)
    parts = [("", _ordinal_number(tokens[0]))]
    for separator, word in zip(tokens[1::2], tokens[2::2], strict=True):
        parts.append(("-" if re.fullmatch(_RANGE, separator) else "、", _ordinal_number(word)))
    return parts


def _rib_canonical(parts: list[tuple[str, int]], part: str, side: str) -> str:
    numbers = ""
    for joiner, number in parts:
        if joiner == "-":
            numbers += "-"
        elif joiner:
            numbers += ", "
        numbers += _ordinal_text(number)
    return " ".join(word for word in (side, part, numbers, "rib") if word)


@dataclass(frozen=True)
class NumberedPhrase:
    """One numbered phrase: its kind, canonical English and Chinese."""

    kind: str
    canonical: str
    zh: str


def numbered_phrase(english: str) -> NumberedPhrase | None:
    """Return the measurement, rib or vertebral level that an English chunk names, or None."""
    if MEASUREMENT.match(english):
        return NumberedPhrase("modifier", english, english)
    rib = RIB.match(english)
    if rib and not (rib.group("before") and rib.group("after")):
        part = rib.group("before") or rib.group("after") or ""
        side = rib.group("side") or ""
        parts = _rib_parts(rib.group("numbers"))
        numbers = "".join(joiner + str(number) for joiner, number in parts)
        zh = f"{_SIDES.get(side, '')}第{numbers}{_PARTS_BEFORE.get(part, '')}肋{_PARTS_AFTER.get(part, '')}"
        return NumberedPhrase("location", _rib_canonical(parts, part, side), zh)
    vertebra = VERTEBRA.match(english)
    if vertebra:
        zh = vertebra.group(0).upper().replace(" through ", "-").replace(" to ", "-").replace("/", "-")
        return NumberedPhrase("location", zh.lower(), zh)
    return None


def read_numbered_zh(chinese: str, index: int) -> list[tuple[int, str]]:
    """Return (end, canonical English) for each numbered phrase that starts at `index`."""
    found = []
    measurement = MEASUREMENT_ZH.match(chinese, index)
    if measurement:
        found.append((measurement.end(), measurement.group(0)))
    rib = RIB_ZH.match(chinese, index)
    if rib and not (rib.group("before") and rib.group("after")):
        tokens = re.split(r"([-、])", rib.group("numbers"))
        parts = [("", int(tokens[0]))]
        parts.extend((joiner, int(number)) for joiner, number in zip(tokens[1::2], tokens[2::2], strict=True))
        names = {
            **{zh: english for english, zh in _PARTS_BEFORE.items()},
            **{zh: english for english, zh in _PARTS_AFTER.items()},
        }
        part = names.get(rib.group("before") or rib.group("after") or "", "")
        side = {zh: english for english, zh in _SIDES.items()}.get(rib.group("side") or "", "")
        found.append((rib.end(), _rib_canonical(parts, part, side)))
    vertebra = VERTEBRA_ZH.match(chinese, index)
    if vertebra:
        found.append((vertebra.end(), vertebra.group(0).lower()))
    return found
