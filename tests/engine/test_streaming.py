"""Streaming text: cumulative, never a split UTF-8 character, spans matching the final text."""

from __future__ import annotations

import pytest
from conftest import build_tiny_tokenizer, radiograph

from engine.pipeline import DraftRequest, _TextTracker
from engine.results import Report, StreamEvent


def test_chinese_split_across_blocks_never_shows_replacement():
    tokenizer = build_tiny_tokenizer()
    text = "结论：胸腔积液伴膈肌抬高，建议 CT 随访。"
    tokens = tokenizer.encode(text)
    assert tokenizer.decode(tokens) == text
    assert any("\ufffd" in tokenizer.decode([token]) for token in tokens)

    tracker = _TextTracker(tokenizer)
    updates = []
    for end in range(4, len(tokens) + 4, 4):
        part = tokens[:end]
        updates.append(tracker.update(part, [0.5] * len(part), [1] * len(part)))

    assert all("\ufffd" not in update for update in updates)
    assert all(later.startswith(earlier) for earlier, later in zip(updates, updates[1:], strict=False))
    assert updates[-1] == text
    assert "".join(text[span.start:span.end] for span in tracker.spans) == text
    assert len(tracker.spans) == len(tokens)


def test_tracker_matches_full_decode_at_every_prefix():
    tokenizer = build_tiny_tokenizer()
    text = "Findings: Mild cardiomegaly. 右下肺野见片状影，考虑肺炎。"
    tokens = tokenizer.encode(text)
    tracker = _TextTracker(tokenizer)
    for end in range(1, len(tokens) + 1):
        shown = tracker.update(tokens[:end], [1.0] * end, [1] * end)
        assert shown == tokenizer.decode(tokens[:end]).rstrip("\ufffd")


def test_stream_events_then_report(tiny_generator):
    generator = tiny_generator
    config = generator.decode_config(mode="one-step", max_new_tokens=12, stop_at_eos=False)
    items = list(generator.stream([DraftRequest([radiograph(50)], "zh")], config))
    events = [item for item in items if isinstance(item, StreamEvent)]
    reports = [item for item in items if isinstance(item, Report)]
    assert len(reports) == 1
    assert isinstance(items[-1], Report)
    assert [event.block_index for event in events] == list(range(len(events)))
    assert events[-1].finished
    assert not any(event.finished for event in events[:-1])
    assert all(later.text.startswith(earlier.text) for earlier, later in zip(events, events[1:], strict=False))
    assert reports[0].text == events[-1].text
    assert reports[0].language == "zh"
    assert reports[0].notice.startswith("人工智能生成的草稿")
    assert all(0.0 <= span.confidence <= 1.0 for span in reports[0].tokens)
    assert len(reports[0].tokens) == 12


def test_request_needs_images_unless_text_only(tiny_generator):
    generator = tiny_generator
    config = generator.decode_config(mode="one-step", max_new_tokens=8, stop_at_eos=False)
    with pytest.raises(ValueError, match="a study needs at least one image"):
        generator.generate([DraftRequest([], "en")], config)
    with pytest.raises(ValueError, match="a text_only request takes no images, got 1"):
        generator.generate([DraftRequest([radiograph(50)], "en", text_only=True)], config)

    report = generator.generate([DraftRequest([], "en", clinical_context="Cough.", text_only=True)], config)[0]

    assert report.generated_tokens == 8
    assert report.warnings[0] == "drafted without images, from the clinical context alone (evaluation only)"


def test_low_confidence_draft_is_flagged(tiny_generator, monkeypatch):
    generator = tiny_generator
    config = generator.decode_config(mode="one-step", max_new_tokens=16, stop_at_eos=False)
    request = DraftRequest([radiograph(50)], "en")

    report = generator.generate([request], config)[0]
    uncertain = sum(1 for span in report.tokens if span.confidence < 0.5)
    # An untrained model spreads its probability over the vocabulary, so most tokens are uncertain.
    assert uncertain > 0
    assert report.low_confidence_tokens == uncertain
    assert (f"{uncertain} of 16 tokens have a confidence below 0.5; the draft may be incoherent, "
            "so read it against the image") in report.warnings

    monkeypatch.setattr("engine.pipeline.LOW_CONFIDENCE", 0.0)
    confident = generator.generate([request], config)[0]
    assert confident.low_confidence_tokens == 0
    assert not any("confidence below" in warning for warning in confident.warnings)

    # Fewer uncertain tokens than the minimum count: counted, but no warning.
    monkeypatch.setattr("engine.pipeline.LOW_CONFIDENCE", 0.5)
    monkeypatch.setattr("engine.pipeline.LOW_CONFIDENCE_MIN_TOKENS", uncertain + 1)
    few = generator.generate([request], config)[0]
    assert few.low_confidence_tokens == uncertain
    assert not any("confidence below" in warning for warning in few.warnings)


def test_draft_without_impression_is_flagged(tiny_generator):
    generator = tiny_generator
    config = generator.decode_config(mode="one-step", max_new_tokens=16, stop_at_eos=False)

    report = generator.generate([DraftRequest([radiograph(50)], "en")], config)[0]

    # The untrained model writes no section headers, so everything is read as findings.
    assert report.text.strip()
    assert report.impression == ""
    assert "the draft has no Impression section; write the impression before signing" in report.warnings


def test_stuttering_draft_is_flagged(tiny_generator, monkeypatch):
    generator = tiny_generator
    config = generator.decode_config(mode="one-step", max_new_tokens=16, stop_at_eos=False)
    monkeypatch.setattr("engine.pipeline.find_stutter", lambda text: "is is")

    report = generator.generate([DraftRequest([radiograph(50)], "en")], config)[0]

    assert ("the draft repeats 'is is' back to back; it may be incoherent, so read it against the image"
            in report.warnings)
