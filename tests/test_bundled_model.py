"""The bundled default model in assets/ drafts well-formed seven-region reports in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.imaging import load_study
from engine.pipeline import BUNDLED_MODEL, DraftRequest, ReportGenerator
from engine.reports.regions import REGION_IDS, mentioned_regions
from engine.reports.sentences import split_sentences

SAMPLE = Path(__file__).resolve().parent.parent / "assets" / "samples" / "nih_dx_chest_no_finding.dcm"

# Words that name each region in the Chinese lexicon's sentences (its region defaults and findings).
REGION_WORDS_ZH = {
    "thorax": r"胸廓|胸壁|软组织",
    "mediastinum": r"纵隔|气管",
    "lung_fields": r"肺野|双肺|肺",
    "cardiac": r"心影|心脏|心",
    "hila": r"肺门",
    "diaphragms": r"膈|肋膈角",
    "bony": r"骨",
}


@pytest.fixture(scope="module")
def generator():
    return ReportGenerator.from_folder(None)


@pytest.fixture(scope="module")
def study():
    return load_study([SAMPLE])


def draft(generator, study, language):
    request = DraftRequest.from_study(study, language)
    return generator.generate([request], generator.decode_config())[0]


def test_bundled_model_is_one_step_block8(generator):
    settings = generator.model.settings
    assert settings.kind.value == "one_step"
    assert settings.block_size == 8
    assert Path(BUNDLED_MODEL, "config.json").is_file()


@pytest.mark.parametrize("language", ["en", "zh"])
def test_bundled_report_well_formed(generator, study, language):
    report = draft(generator, study, language)
    findings_label, impression_label = ("Findings:", "Impression:") if language == "en" else ("所见：", "结论：")
    assert report.stop_reason == "eos"
    assert report.text.startswith(findings_label)
    assert impression_label in report.text
    assert report.findings.strip()
    assert report.impression.strip()

    if language == "en":
        regions = {region for sentence in split_sentences(report.findings)
                   for region in mentioned_regions(sentence.text)}
    else:
        regions = {region for region, words in REGION_WORDS_ZH.items() if re.search(words, report.findings)}
    assert sorted(regions) == sorted(REGION_IDS)
