"""Reference and draft text of the two protocols, the train medoid and the constant-report floor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.metrics.errors import EvaluationInputError
from engine.metrics.lexical import bleu, cider_d, rouge_l, rouge_l_pair
from engine.metrics.protocols import (
    ECHO,
    LITERATURE,
    Protocol,
    constant_report_floor,
    medoid_report,
    render_sections,
    split_draft,
)
from engine.metrics.records import Study

R2GEN_ANNOTATION = Path(__file__).resolve().parents[3] / "shared" / "data" / "iu_xray" / "annotation_r2gen.json"


def test_render_sections():
    assert render_sections("Clear lungs.", "Normal chest", "en") == "Findings: Clear lungs. Impression: Normal chest."
    assert render_sections("Clear lungs.", "", "en") == "Findings: Clear lungs."
    assert render_sections("", "Normal.", "en") == "Impression: Normal."
    assert render_sections("双肺清晰。", "未见异常。", "zh") == "所见：双肺清晰。 结论：未见异常。"


def test_split_draft():
    assert split_draft("Findings: Clear. Impression: Normal.") == ("Clear.", "Normal.")
    assert split_draft("findings: clear, impression: normal") == ("clear", "normal")
    assert split_draft("所见：双肺清晰。结论：未见异常。") == ("双肺清晰。", "未见异常。")
    assert split_draft("Clear lungs.") is None


def test_echo_reference_and_draft_text():
    protocol = Protocol(ECHO)
    study = Study("s1", "en", "Clear lungs.", "Normal chest")
    assert protocol.reference_text(study) == "Findings: Clear lungs. Impression: Normal chest."
    assert protocol.draft_text("Findings:Clear lungs.\nImpression: Normal", "en") == \
        "Findings: Clear lungs. Impression: Normal."
    assert protocol.draft_text("  Clear lungs  ", "en") == "Clear lungs"


def test_missing_reference_names_study():
    study = Study("s9", "en", " ", ".", source="data.jsonl line 9")
    with pytest.raises(EvaluationInputError, match=r"study 's9' \(data.jsonl line 9\) has no reference text"):
        Protocol(ECHO).reference_text(study)
    with pytest.raises(EvaluationInputError, match="the Findings section is empty"):
        Protocol(LITERATURE).reference_text(study)


def test_literature_scores_findings_only():
    protocol = Protocol(LITERATURE)
    draft = protocol.draft_text("Findings: The heart is normal. Impression: No acute disease.", "en")
    assert draft == "The heart is normal."
    assert protocol.tokens(draft, "en") == ["the", "heart", "is", "normal", "."]
    # R2Gen cleaning turns "" into " .", which would match every reference's full stops.
    assert protocol.tokens("", "en") == []
    assert protocol.tokens(".", "en") == []


def test_medoid_known_value():
    reports = [["a", "b", "c"], ["a", "b", "c"], ["a", "b", "d"], ["x", "y", "z"]]
    # Report 0: vs its duplicate 1.0, vs "a b d" 2/3 (P = R = 2/3), vs "x y z" 0: mean 5/9.
    index, mean = medoid_report(reports)
    assert index == 0
    assert mean == pytest.approx(5 / 9)
    brute = [sum(rouge_l_pair(reports[i], reports[j]) for j in range(4) if j != i) / 3 for i in range(4)]
    assert max(brute) == pytest.approx(mean)


def test_medoid_needs_two_reports():
    with pytest.raises(ValueError, match="at least two reports"):
        medoid_report([["a"]])


def test_constant_floor_scores_medoid():
    train = [Study(f"t{i}", "en", text, "") for i, text in enumerate(
        ["The heart is normal. The lungs are clear.", "The heart is normal. The lungs are clear.",
         "Mild cardiomegaly. The lungs are clear.", "Right pleural effusion."])]
    test = [Study("x1", "en", "The heart is normal.", ""), Study("x2", "en", "Left pleural effusion.", "")]
    floor = constant_report_floor(train, test)
    assert floor["medoid_report"] == "the heart is normal . the lungs are clear ."
    candidate = floor["medoid_report"].split()
    references = [["the", "heart", "is", "normal", "."], ["left", "pleural", "effusion", "."]]
    assert floor["rouge_l"] == pytest.approx(rouge_l([candidate] * 2, references)[0])
    assert floor["bleu_1"] == pytest.approx(bleu([candidate] * 2, references)[0][0])
    assert floor["cider_d"] == pytest.approx(cider_d([candidate] * 2, references)[0])
    assert floor["train_reports"] == 4
    assert floor["test_reports"] == 2


def test_iu_xray_constant_report_agrees_with_pycocoevalcap():
    pytest.importorskip("pycocoevalcap")
    if not R2GEN_ANNOTATION.is_file():
        pytest.skip(f"IU X-ray annotation not found at {R2GEN_ANNOTATION}")
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    protocol = Protocol(LITERATURE)
    test = json.loads(R2GEN_ANNOTATION.read_text())["test"][:150]
    references = [protocol.tokens(row["report"], "en") for row in test]
    candidate = protocol.tokens("The heart is normal in size. The lungs are clear. No pleural effusion.", "en")
    gts = {index: [" ".join(tokens)] for index, tokens in enumerate(references)}
    res = {index: [" ".join(candidate)] for index in range(len(references))}
    assert bleu([candidate] * len(references), references)[0] == pytest.approx(
        Bleu(4).compute_score(gts, res, verbose=0)[0], rel=1e-12)
    assert rouge_l([candidate] * len(references), references)[0] == pytest.approx(
        Rouge().compute_score(gts, res)[0], rel=1e-12)
    assert cider_d([candidate] * len(references), references)[0] == pytest.approx(
        Cider().compute_score(gts, res)[0], rel=1e-12)
