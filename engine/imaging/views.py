"""Classify a radiograph's projection from its DICOM header.

ViewPosition (0018,5101) is read first, then the code meaning in ViewCodeSequence
(0054,0220). Decubitus and oblique views stay UNKNOWN because they are neither a
plain frontal nor a lateral view. The header can be wrong (archives hold laterals
tagged PA), and raster images carry no view at all.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from engine.imaging.image import View

VIEW_POSITIONS: dict[str, View] = {
    "PA": "PA",
    "AP": "AP",
    "LL": "LATERAL",
    "RL": "LATERAL",
    "LAT": "LATERAL",
    "LATERAL": "LATERAL",
}

# Substrings of ViewCodeSequence code meanings (SNOMED CT / DICOM CID 4010).
_CODE_MEANINGS: tuple[tuple[str, View], ...] = (
    ("postero-anterior", "PA"),
    ("posteroanterior", "PA"),
    ("antero-posterior", "AP"),
    ("anteroposterior", "AP"),
    ("lateral", "LATERAL"),
)

# Sort rank: frontal views first (PA before AP), then lateral, then unknown.
VIEW_ORDER: dict[View, int] = {"PA": 0, "AP": 1, "LATERAL": 2, "UNKNOWN": 3}


def classify_view(ds: Dataset) -> View:
    """Return PA, AP, LATERAL or UNKNOWN for a DICOM header."""
    position = str(ds.get("ViewPosition") or "").strip().upper()
    if position in VIEW_POSITIONS:
        return VIEW_POSITIONS[position]
    if position:
        return "UNKNOWN"
    for item in ds.get("ViewCodeSequence") or []:
        meaning = str(item.get("CodeMeaning") or "").lower()
        if "decubitus" in meaning or "oblique" in meaning:
            return "UNKNOWN"
        for fragment, view in _CODE_MEANINGS:
            if fragment in meaning:
                return view
    return "UNKNOWN"
