"""Fixed sentences of a normalised report: region defaults, the default impression and the
patterns of sentences that are summaries, recommendations or technique notes."""

from __future__ import annotations

import re

# Explicit normal sentence for each region the source report does not mention.
REGION_DEFAULTS: dict[str, str] = {
    "thorax": "The thorax is symmetric.",
    "mediastinum": "The mediastinum and trachea are midline.",
    "lung_fields": "The lung fields are clear with no focal opacity.",
    "cardiac": "The cardiac silhouette is normal in size.",
    "hila": "The hila are not enlarged.",
    "diaphragms": "The diaphragms are smooth and the costophrenic angles are sharp.",
    "bony": "No osseous abnormality.",
}

DEFAULT_IMPRESSION = "No acute cardiopulmonary abnormality."

# Whole-study conclusions ("No acute cardiopulmonary disease.") that belong in the Impression.
SUMMARY = re.compile(
    r"^(?:(?:there is |there are )?(?:no|negative for|without) (?:evidence of )?(?:any )?"
    r"(?:acute|active|significant)\b(?:(?! but | except | however ).)*"
    r"|normal (?:chest|study|exam\w*|radiograph\w*)(?: x-ray)?(?: examination)?"
    r"|(?:stable|unremarkable|negative) (?:chest|exam\w*|study|radiograph\w*)(?: x-ray)?"
    r"|(?:no|without) (?:interval )?change"
    r"|chest)\W*$",
    re.IGNORECASE,
)

# Recommendations move to the Impression as well.
RECOMMENDATION = re.compile(
    r"^(?:recommend|suggest (?:follow|correlation|ct)|follow-?up|clinical correlation)", re.IGNORECASE
)

# Sentences that only describe how the study was taken carry no finding and are dropped.
TECHNIQUE = re.compile(
    r"^(?:the )?(?:(?:pa|ap|frontal|lateral|portable|upright|supine|two|2|single)\b[\w ,/-]*"
    r"(?:views?|radiographs?|images?)(?: of the chest)?(?: (?:were|was|are|is) (?:obtained|submitted|provided))?"
    r"|(?:the )?(?:\w+ )?examination consists of [\w ,/-]+ radiographs? of the chest)\W*$",
    re.IGNORECASE,
)
