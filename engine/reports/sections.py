"""Split a free-text radiology report into its headed sections (FINDINGS:, IMPRESSION:, ...)."""

from __future__ import annotations

import re

# Headers as they appear in MIMIC-CXR and IU X-ray reports, matched at the start of a line or
# after a full stop. Several spellings map to one section name.
_HEADER = re.compile(
    r"(?:^|(?<=[\n.。]))[ \t]*(?P<name>FINDINGS?|IMPRESSIONS?|CONCLUSIONS?|COMPARISONS?|INDICATIONS?|HISTORY|"
    r"CLINICAL HISTORY|CLINICAL INDICATION|REASON FOR (?:EXAM|EXAMINATION|STUDY)|TECHNIQUE|EXAMINATION|EXAM|"
    r"NOTIFICATION|RECOMMENDATIONS?|FINAL REPORT|WET READ|所见|结论|印象)[ \t]*[:：]",
    re.IGNORECASE | re.MULTILINE,
)

_CANONICAL = {
    "finding": "findings",
    "findings": "findings",
    "所见": "findings",
    "impression": "impression",
    "impressions": "impression",
    "conclusion": "impression",
    "conclusions": "impression",
    "结论": "impression",
    "印象": "impression",
    "comparison": "comparison",
    "comparisons": "comparison",
    "indication": "indication",
    "indications": "indication",
    "history": "indication",
    "clinical history": "indication",
    "clinical indication": "indication",
    "reason for exam": "indication",
    "reason for examination": "indication",
    "reason for study": "indication",
}


def split_sections(text: str) -> dict[str, str]:
    """Return {section name: text} for the headed sections of a report.

    Names are canonical: "findings", "impression", "comparison", "indication", or the lower-cased
    header for others ("technique"). Text before the first header is returned under "preamble".
    A repeated section is joined with a space.
    """
    sections: dict[str, str] = {}
    matches = list(_HEADER.finditer(text))
    preamble = text[: matches[0].start()] if matches else text
    if preamble.strip():
        sections["preamble"] = preamble.strip()
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        name = " ".join(match.group("name").lower().split())
        name = _CANONICAL.get(name, name)
        body = " ".join(text[match.end() : end].split())
        if body:
            sections[name] = f"{sections[name]} {body}" if name in sections else body
    return sections
