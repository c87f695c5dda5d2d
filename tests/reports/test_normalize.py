import pytest

from engine.reports.deid import unmask_sentence
from engine.reports.normalize import EmptyReportError, clean_sentence, normalize_report, normalize_text
from engine.reports.regions import REGION_IDS, mentioned_regions
from engine.reports.sections import split_sections
from engine.reports.templates import DEFAULT_IMPRESSION, REGION_DEFAULTS

ALL_DEFAULTS = (
    "Findings: The thorax is symmetric. The mediastinum and trachea are midline. "
    "The lung fields are clear with no focal opacity. The cardiac silhouette is normal in size. "
    "The hila are not enlarged. The diaphragms are smooth and the costophrenic angles are sharp. "
    "No osseous abnormality.\nImpression: No acute cardiopulmonary abnormality."
)


def _sentences(report) -> dict[str, list[str]]:
    return {entry.region: entry.sentences for entry in report.regions}


def test_summary_only_report_gets_every_default():
    report = normalize_report("No acute cardiopulmonary abnormality.")
    assert report.to_text() == ALL_DEFAULTS
    assert [entry.default for entry in report.regions] == [True] * 7
    assert report.impression_default is False


@pytest.mark.parametrize("region", REGION_IDS)
def test_each_region_default(region):
    report = normalize_report("Pacemaker in place.")
    assert _sentences(report)[region][0] == REGION_DEFAULTS[region]


def test_regions_in_fixed_order():
    report = normalize_report(
        "Degenerative changes of the thoracic spine. Mild cardiomegaly. Right hilar fullness. "
        "Small left pleural effusion. Tortuous aorta."
    )
    assert [entry.region for entry in report.regions] == list(REGION_IDS)
    assert _sentences(report) == {
        "thorax": ["The thorax is symmetric."],
        "mediastinum": ["Tortuous aorta."],
        "lung_fields": ["Small left pleural effusion."],
        "cardiac": ["Mild cardiomegaly."],
        "hila": ["Right hilar fullness."],
        # The effusion blunts the costophrenic angles, so no "sharp angles" default is added.
        "diaphragms": [],
        "bony": ["Degenerative changes of the thoracic spine."],
    }
    # No impression in the source: the positive findings become the impression, devices aside.
    assert report.impression == ["Mild cardiomegaly.", "Small left pleural effusion."]


def test_negation_sentence_kept_in_lung_fields():
    report = normalize_report("No pneumothorax or effusion.", "No acute disease.")
    entry = report.regions[REGION_IDS.index("lung_fields")]
    assert entry.sentences == ["No pneumothorax or effusion."]
    assert entry.default is False
    assert [(f.observation, f.status) for f in entry.findings] == [
        ("Pneumothorax", "negative"),
        ("Pleural Effusion", "negative"),
    ]
    assert report.impression == ["No acute disease."]


def test_uncertain_finding_kept():
    report = normalize_report("Left basilar opacity may represent atelectasis.", "")
    entry = report.regions[REGION_IDS.index("lung_fields")]
    assert entry.sentences == ["Left basilar opacity may represent atelectasis."]
    statuses = {(f.observation, f.status, f.laterality) for f in entry.findings}
    assert statuses == {("Lung Opacity", "positive", "left"), ("Atelectasis", "uncertain", "left")}
    assert report.impression == ["Left basilar opacity may represent atelectasis."]


def test_device_goes_to_thorax_after_default():
    report = normalize_report("Left-sided pacemaker in place. The lungs are clear.", "Stable chest.")
    assert _sentences(report)["thorax"] == ["The thorax is symmetric.", "Left-sided pacemaker in place."]
    devices = [f for f in report.regions[0].findings if f.observation == "Support Devices"]
    assert [(f.text, f.laterality) for f in devices] == [("pacemaker", "left")]


def test_comparison_kept_with_finding():
    report = normalize_report("Stable mild cardiomegaly compared to prior exam.", "Unchanged.")
    assert _sentences(report)["cardiac"] == ["Stable mild cardiomegaly compared to prior exam."]
    assert report.impression == ["Unchanged."]


def test_summary_moves_to_impression():
    report = normalize_report("The lungs are clear. No acute cardiopulmonary disease.", "Normal chest.")
    assert _sentences(report)["lung_fields"] == ["The lungs are clear."]
    assert report.impression == ["Normal chest.", "No acute cardiopulmonary disease."]


def test_technique_sentence_dropped():
    report = normalize_report("PA and lateral views of the chest were obtained. The lungs are clear.")
    assert report.findings_sentences()[2] == "The lungs are clear."
    assert "PA and lateral views of the chest were obtained." not in report.findings_sentences()


def test_impression_fills_regions_missing_from_findings():
    report = normalize_report("", "Cardiomegaly. No acute pulmonary disease.")
    assert _sentences(report)["cardiac"] == ["Cardiomegaly."]
    assert report.regions[REGION_IDS.index("cardiac")].default is False
    assert report.impression == ["Cardiomegaly.", "No acute pulmonary disease."]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("XXXX sternotomy wires.", "sternotomy wires."),
        ("Midline sternotomy XXXX.", "Midline sternotomy."),
        ("Normal chest x-XXXX.", "Normal chest x-ray."),
        ("XXXX XXXX.", None),
        ("Inferior XXXX XXXX XXXX.", None),
        ("The XXXX are intact.", None),
        ("There are no XXXX of a pleural effusion.", None),
        (
            "Scattered XXXX of left base atelectasis are noted.",
            "Scattered (redacted) of left base atelectasis are noted.",
        ),
        ("Heart size XXXX mildly enlarged.", "Heart size mildly enlarged."),
    ],
)
def test_mask_rules(sentence, expected):
    assert unmask_sentence(sentence, lambda text: "atelectasis" in text) == expected


def test_masks_in_report():
    report = normalize_report("XXXX sternotomy wires. XXXX XXXX. The XXXX are intact. Heart size normal.", "")
    assert _sentences(report)["bony"] == ["Sternotomy wires."]
    assert _sentences(report)["cardiac"] == ["Heart size normal."]
    assert report.impression == [DEFAULT_IMPRESSION]
    assert report.impression_default is True


@pytest.mark.parametrize("text", ["", "   ", ".", "XXXX.", "1. 2."])
def test_empty_report_raises(text):
    with pytest.raises(EmptyReportError, match="no findings or impression sentences"):
        normalize_report(text, "")


def test_no_final_full_stop():
    report = normalize_report("Mild cardiomegaly", "cardiomegaly without edema")
    assert _sentences(report)["cardiac"] == ["Mild cardiomegaly."]
    assert report.impression == ["Cardiomegaly without edema."]


def test_output_is_deterministic():
    source = "Small right effusion. Heart size normal. XXXX sternotomy wires. No pneumothorax."
    texts = {normalize_report(source, "Small effusion.").to_text() for _ in range(3)}
    assert len(texts) == 1


def test_to_dict_structure():
    data = normalize_report("Mild cardiomegaly.", "Cardiomegaly.").to_dict()
    assert data["language"] == "en"
    assert data["impression"] == "Cardiomegaly."
    assert data["findings"].startswith("The thorax is symmetric. The mediastinum and trachea are midline.")
    cardiac = data["regions"][3]
    assert cardiac == {
        "region": "cardiac",
        "name": "cardiac silhouette",
        "sentences": ["Mild cardiomegaly."],
        "default": False,
        "findings": [{"observation": "Cardiomegaly", "status": "positive", "laterality": None}],
    }


def test_normalize_text_uses_headers():
    text = "INDICATION: cough\nFINDINGS: Mild cardiomegaly.\nIMPRESSION: Cardiomegaly."
    report = normalize_text(text)
    assert _sentences(report)["cardiac"] == ["Mild cardiomegaly."]
    assert report.impression == ["Cardiomegaly."]


def test_split_sections_mimic_layout():
    text = "FINAL REPORT\n EXAMINATION: CHEST\n FINDINGS:\n The lungs are clear.\n IMPRESSION:\n No acute process."
    assert split_sections(text) == {
        "preamble": "FINAL REPORT",
        "examination": "CHEST",
        "findings": "The lungs are clear.",
        "impression": "No acute process.",
    }


def test_mentioned_regions_order():
    assert mentioned_regions("Heart size and pulmonary vascularity normal.") == ["cardiac", "lung_fields"]
    assert mentioned_regions("The cardiomediastinal silhouette is normal.") == ["mediastinum", "cardiac"]
    assert mentioned_regions("Pacemaker in place.") == []


def test_clean_sentence():
    assert clean_sentence("  no  effusion ,  seen..") == "No effusion, seen."
    assert clean_sentence("lungs clear") == "Lungs clear."


def test_effusion_suppresses_sharp_angle_default():
    report = normalize_report("Large right pleural effusion.")
    assert REGION_DEFAULTS["diaphragms"] not in report.to_text()
    assert "Large right pleural effusion." in report.to_text()


def test_negated_effusion_keeps_sharp_angle_default():
    report = normalize_report("No pleural effusion.")
    assert REGION_DEFAULTS["diaphragms"] in report.to_text()
