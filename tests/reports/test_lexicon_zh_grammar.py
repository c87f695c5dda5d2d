from collections import Counter

import pytest

from engine.reports.lexicon_zh import back_translates_to, translate_sentence
from engine.reports.lexicon_zh.data import load_lexicon
from engine.reports.lexicon_zh.grammar import Composer, split_list
from engine.reports.lexicon_zh.numbered import numbered_phrase, read_numbered_zh


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        (
            "No focal consolidation, pneumothorax, or large pleural effusion identified.",
            "未见局灶性实变、气胸或大量胸腔积液。",
        ),
        ("Pneumothorax is not seen.", "未见气胸。"),
        ("Focal consolidation is not identified.", "未见局灶性实变。"),
        ("There is no pleural line to suggest pneumothorax.", "未见提示气胸的胸膜线。"),
        (
            "Lungs are clear bilaterally with no focal infiltrate, pleural effusion, or pneumothoraces.",
            "双肺清晰，未见局灶性浸润影、胸腔积液或气胸。",
        ),
        (
            "The lungs are grossly clear of focal airspace disease, pneumothorax, or pleural effusion.",
            "双肺大致未见局灶性气腔病变、气胸或胸腔积液。",
        ),
        ("Otherwise no acute cardiopulmonary disease.", "余未见急性心肺疾病。"),
    ],
)
def test_negation_patterns(english, chinese):
    assert translate_sentence(english) == chinese


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Stable mild cardiomegaly.", "轻度心脏增大，较前稳定。"),
        ("Calcified granuloma is again seen in the right upper lobe.", "仍可见右上叶钙化肉芽肿。"),
        ("No change in the large hiatus hernia.", "大食管裂孔疝，较前无变化。"),
        ("Interval resolution of the left pleural effusion.", "左侧胸腔积液已消失。"),
        (
            "The cardiomediastinal silhouette is normal and unchanged compared to prior examination.",
            "与前片比较，心纵隔轮廓正常且无变化。",
        ),
        ("Cardiomegaly similar to prior examination.", "心脏增大，与前片相仿。"),
    ],
)
def test_comparison_patterns(english, chinese):
    assert translate_sentence(english) == chinese


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Coronary artery stent.", "冠状动脉支架。"),
        ("Status post sternotomy and CABG.", "胸骨正中切开术后及CABG术后。"),
        ("Changes of right mastectomy.", "右侧乳房切除术后改变。"),
        ("Left axillary surgical clips.", "左侧腋窝手术夹。"),
        ("Recommend chest CT for further evaluation.", "建议胸部CT以进一步评估。"),
    ],
)
def test_device_and_operation_patterns(english, chinese):
    assert translate_sentence(english) == chinese


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Bibasilar patchy opacities, left greater than right.", "双肺底斑片状阴影，左侧为著。"),
        ("Fracture of the left posterior 7th rib.", "左侧第7后肋骨折。"),
        ("Healed fractures of the right 5th through 7th ribs.", "右侧第5-7肋愈合骨折。"),
        ("Right third and fourth rib fractures.", "右侧第3、4肋骨折。"),
        ("Mild wedge deformity of T12.", "T12轻度楔形变。"),
        ("Minimal scarring or atelectasis in the left lower lobe.", "左下叶轻微瘢痕或肺不张。"),
        ("Consolidation and atelectasis are present in the right lung base.", "右肺底实变及肺不张。"),
        (
            "A bullet is noted in the soft tissues of the inferior right chest wall.",
            "右侧胸壁下部软组织金属弹片。",
        ),
        (
            "Focal opacity in the medial right lung base seen on the frontal view.",
            "右肺底内侧局灶性阴影（正位片可见）。",
        ),
        ("Moderate right pleural effusion.", "右侧中等量胸腔积液。"),
        ("Dextroscoliosis of the thoracic spine.", "胸椎右凸侧弯。"),
    ],
)
def test_lateralised_findings(english, chinese):
    assert translate_sentence(english) == chinese


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Possible right lower lobe pneumonia.", "可能为右下叶肺炎。"),
        (
            "Heart size, mediastinal contour, and pulmonary vascularity are within normal limits.",
            "心脏大小、纵隔轮廓及肺血管纹理在正常范围内。",
        ),
    ],
)
def test_hedges_and_subject_lists(english, chinese):
    assert translate_sentence(english) == chinese


def test_negated_interpretation_is_not_composed():
    # "No opacity consistent with pneumonia" must not become "未见阴影，符合肺炎".
    assert translate_sentence("No opacity consistent with pneumonia.") is None


def test_negation_does_not_leak_into_bare_list(tmp_path):
    (tmp_path / "phrases.txt").write_text(
        "finding\tpneumothorax\t气胸\nfinding\teffusion\t胸腔积液\n", encoding="utf-8"
    )
    (tmp_path / "sentences.txt").write_text("the lungs look fine\t双肺未见异常\n", encoding="utf-8")
    composer = Composer(load_lexicon(tmp_path))

    # "，气胸或胸腔积液" after a negation would read as present findings.
    assert composer.translate_clauses("the lungs look fine, pneumothorax or effusion") is None
    after_semicolon = composer.translate_clauses("the lungs look fine; pneumothorax")
    assert after_semicolon is not None
    assert after_semicolon.text == "双肺未见异常；气胸"


def test_split_list_keeps_ordinal_ranges():
    assert split_list("5th and 6th ribs") == ["5th and 6th ribs"]
    assert split_list("t9 and t12 fractures") == ["t9 and t12 fractures"]
    assert split_list("effusion and pneumothorax") == ["effusion", " and ", "pneumothorax"]


@pytest.mark.parametrize(
    ("english", "canonical", "chinese"),
    [
        ("7th posterior rib", "posterior 7th rib", "第7后肋"),
        ("posterior left 5th rib", "left posterior 5th rib", "左侧第5后肋"),
        ("5th through 7th ribs", "5th-7th rib", "第5-7肋"),
        ("third and fourth ribs", "3rd, 4th rib", "第3、4肋"),
        ("lateral 9th rib", "lateral 9th rib", "第9肋腋段"),
        ("t11-t12", "t11-t12", "T11-T12"),
        ("1.5 x 2.0 cm", "1.5 x 2.0 cm", "1.5 x 2.0 cm"),
    ],
)
def test_numbered_phrases_round_trip(english, canonical, chinese):
    phrase = numbered_phrase(english)
    assert phrase is not None
    assert phrase.canonical == canonical
    assert phrase.zh == chinese
    assert (len(chinese), canonical) in read_numbered_zh(chinese, 0)


def test_bare_number_is_not_a_measurement():
    assert numbered_phrase("2") is None


def test_back_translation_reads_numbered_ribs():
    assert back_translates_to("左侧第7后肋骨折", Counter(["left", "posterior 7th rib", "fracture"]))
    assert not back_translates_to("左侧第7后肋骨折", Counter(["left", "anterior 7th rib", "fracture"]))


def test_lexicon_chinese_uses_chinese_punctuation():
    lexicon = load_lexicon()
    texts = [entry.zh for entry in lexicon.entries()] + list(lexicon.sentences.values())
    for text in texts:
        assert not set(text) & set(",;:()?!"), text
        assert not text.endswith("。"), text
