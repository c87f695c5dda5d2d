"""The seven anatomical regions of a normalised Findings section and their keyword rules."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """One Findings region: an id, English and Chinese names and the words that mention it."""

    id: str
    name_en: str
    name_zh: str
    keywords: re.Pattern[str]


def _keywords(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


# Fixed report order. Pleural findings (effusion, pneumothorax) belong to the lung fields unless
# the sentence names the costophrenic angles first.
REGIONS: tuple[Region, ...] = (
    Region(
        "thorax",
        "thorax",
        "胸廓",
        _keywords(
            r"(?<!of the )(?<!ct )thorax",
            r"thoracic cage",
            r"chest wall",
            r"soft tissues?",
            r"symmetric\w*",
            r"rotat\w+",
            r"subcutaneous",
            r"breasts?",
            r"axill\w+",
            r"neck",
        ),
    ),
    Region(
        "mediastinum",
        "mediastinum and trachea",
        "纵隔及气管",
        _keywords(
            r"mediastin\w*",
            r"cardiomediastinal",
            r"cardio mediastinal",
            r"trache\w*",
            r"paratracheal",
            r"aort\w+",
            r"hiatal",
            r"hiatus",
            r"esophag\w*",
            r"thyroid",
            r"azygos",
            r"superior vena cava",
        ),
    ),
    Region(
        "lung_fields",
        "lung fields",
        "肺野",
        _keywords(
            r"lungs?",
            r"pulmonary",
            r"air ?space",
            r"parenchym\w*",
            r"opaci\w+",
            r"consolidat\w*",
            r"atelecta\w+",
            r"pneumothora\w+",
            r"effusions?",
            r"pleura\w*",
            r"o?edema",
            r"vascularity",
            r"vasculature",
            r"vascular",
            r"infiltrat\w*",
            r"nodul\w*",
            r"mass(?:es)?",
            r"granulom\w*",
            r"emphysema\w*",
            r"hyperinflat\w*",
            r"hyperexpan\w*",
            r"inflat\w*",
            r"lobes?",
            r"lingula\w*",
            r"(?:bi)?basilar",
            r"bases?",
            r"apical",
            r"apex",
            r"apices",
            r"interstiti\w+",
            r"bronch\w*",
            r"scar\w*",
            r"pneumonia",
            r"copd",
            r"volumes?",
            r"fissures?",
            r"densit\w+",
            r"perihilar",
            r"retrocardiac",
            r"congestion",
            r"infection",
            r"fibrosis",
            r"cavit\w+",
            r"hyperlucen\w+",
        ),
    ),
    Region(
        "cardiac",
        "cardiac silhouette",
        "心影",
        _keywords(
            r"heart",
            r"cardiac",
            r"cardiomegaly",
            r"cardiomediastinal",
            r"cardio mediastinal",
            r"pericardi\w*",
            r"ventric\w*",
            r"atri(?:al|um)",
        ),
    ),
    Region("hila", "hila", "肺门", _keywords(r"hil(?:a|ar|um|i)", r"hilus")),
    Region(
        "diaphragms",
        "diaphragms and costophrenic angles",
        "膈肌及肋膈角",
        _keywords(
            r"(?:hemi)?diaphragm\w*",
            r"costophrenic",
            r"free air",
            r"pneumoperitoneum",
            r"subdiaphragmatic",
            r"sulc(?:i|us)",
        ),
    ),
    Region(
        "bony",
        "bony structures",
        "骨性结构",
        _keywords(
            r"bon(?:e|es|y)",
            r"osseous",
            r"skelet\w*",
            r"spine",
            r"spinal",
            r"vertebr\w*",
            r"ribs?",
            r"clavic\w*",
            r"stern(?:um|al|otomy)",
            r"scapul\w*",
            r"humer\w*",
            r"shoulders?",
            r"spondylo\w*",
            r"osteo\w*",
            r"degenerative",
            r"fractur\w*",
            r"(?:dextro|levo)?scoliosis",
            r"kyphos\w*",
            r"kyphotic",
            r"lumbar",
            r"thoracolumbar",
            r"arthritis",
            r"acromioclavicular",
            r"glenohumeral",
            r"arthroplast\w*",
            r"dish",
        ),
    ),
)

REGION_IDS = tuple(region.id for region in REGIONS)
REGION_BY_ID = {region.id: region for region in REGIONS}


def mentioned_regions(sentence: str) -> list[str]:
    """Return the ids of the regions a sentence mentions, ordered by first mention in the text.

    Regions mentioned at the same position keep the fixed report order, so "cardiomediastinal"
    lists the mediastinum before the cardiac silhouette.
    """
    first_position: dict[str, int] = {}
    for region in REGIONS:
        match = region.keywords.search(sentence)
        if match:
            first_position[region.id] = match.start()
    return sorted(
        first_position, key=lambda region_id: (first_position[region_id], REGION_IDS.index(region_id))
    )
