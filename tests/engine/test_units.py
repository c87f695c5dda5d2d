"""Unit tests for the shared pieces: stopping rules, masks, layouts, the cache, sections and repeats."""

from __future__ import annotations

import pytest
import torch

from engine.cache import KVCache
from engine.config import DecodeConfig, DecodeMode
from engine.decoding.stopping import find_loop, first_stop
from engine.layout import BatchLayout, block_causal_mask, decode_mask
from engine.pipeline import find_stutter, remove_repeated_sentences
from engine.results import TokenSpan, split_sections


def test_find_loop_single_token_needs_four():
    assert find_loop([5, 7, 7, 7], min_repeats=3, max_period=4) is None
    assert find_loop([5, 7, 7, 7, 7], min_repeats=3, max_period=4) == 2


def test_find_loop_bigram_cut_after_first():
    tokens = [1, 2, 3, 4, 3, 4, 3, 4]
    assert find_loop(tokens, min_repeats=3, max_period=4) == 4


def test_find_loop_ignores_runs_before_search_start():
    tokens = [9, 9, 9, 9, 1, 2, 3]
    assert find_loop(tokens, min_repeats=3, max_period=4, search_from=5) is None
    assert find_loop(tokens, min_repeats=3, max_period=4) == 1


def test_first_stop_from_offset():
    assert first_stop([4, 2, 5, 2], frozenset({2}), start=0) == 1
    assert first_stop([4, 2, 5, 2], frozenset({2}), start=2) == 3
    assert first_stop([4, 5], frozenset({2})) is None


def test_block_layout_pads_by_whole_blocks():
    layout = BatchLayout.for_blocks([10, 17, 8], block_size=4)
    assert layout.pads == (8, 0, 8)
    assert layout.first_block == 4
    assert [layout.prompt_end(row) for row in range(3)] == [18, 17, 16]
    assert [layout.prompt_end(row) // 4 for row in range(3)] == [4, 4, 4]


def test_causal_layout_pads_to_longest():
    layout = BatchLayout.for_causal([3, 5])
    assert layout.pads == (2, 0)
    assert layout.prompt_columns == 5


def test_block_causal_mask_entries():
    key_valid = torch.tensor([[False, False, True, True, True, True]])
    mask = block_causal_mask(key_valid, 0, 6, block_size=2)[0, 0]
    expected = torch.tensor([
        [1, 0, 0, 0, 0, 0],
        [0, 1, 0, 0, 0, 0],
        [0, 0, 1, 1, 0, 0],
        [0, 0, 1, 1, 0, 0],
        [0, 0, 1, 1, 1, 1],
        [0, 0, 1, 1, 1, 1],
    ], dtype=torch.bool)
    assert torch.equal(mask, expected)


def test_decode_mask_none_without_padding():
    assert decode_mask(torch.ones(2, 8, dtype=torch.bool), 4, 4) is None
    padded = torch.ones(1, 8, dtype=torch.bool)
    padded[0, 0] = False
    mask = decode_mask(padded, 4, 4)
    assert mask.shape == (1, 1, 4, 8)
    assert not bool(mask[0, 0, :, 0].any())
    assert bool(mask[0, 0, :, 1:].all())


def test_cache_keeps_first_tokens_of_pass():
    cache = KVCache(num_layers=1, batch_size=1, kv_heads=1, head_dim=2, capacity=8)
    keys = torch.arange(8.0).view(1, 1, 4, 2)
    visible, _ = cache.update(0, keys, keys)
    assert visible.shape == (1, 1, 4, 2)
    cache.advance(2)
    assert cache.length == 2
    kept, _ = cache.layer_kv(0)
    assert torch.equal(kept, keys[:, :, :2])


def test_cache_capacity_error_names_fix():
    cache = KVCache(num_layers=1, batch_size=1, kv_heads=1, head_dim=2, capacity=3)
    with pytest.raises(ValueError, match="capacity 3 exceeded by a pass ending at position 4"):
        cache.update(0, torch.zeros(1, 1, 4, 2), torch.zeros(1, 1, 4, 2))


def test_cache_advance_beyond_pass_rejected():
    cache = KVCache(num_layers=1, batch_size=1, kv_heads=1, head_dim=2, capacity=8)
    cache.update(0, torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match="cannot keep 3 tokens of a pass that wrote 2"):
        cache.advance(3)


def test_split_sections_english_and_chinese():
    assert split_sections("Findings: Clear lungs. Impression: Normal.") == ("Clear lungs.", "Normal.")
    assert split_sections("所见：双肺清晰。结论：未见异常。") == ("双肺清晰。", "未见异常。")
    assert split_sections("Lungs are clear.") == ("Lungs are clear.", "")


def test_remove_repeated_sentences_shifts_spans():
    text = "The heart is normal. The lungs are clear. The heart is normal. End."
    spans = [TokenSpan(0, 20, 0.9, 1), TokenSpan(42, 62, 0.5, 1), TokenSpan(63, 67, 0.8, 1)]
    cleaned, kept, removed = remove_repeated_sentences(text, spans)
    assert cleaned == "The heart is normal. The lungs are clear. End."
    assert removed == 1
    assert [(span.start, span.end) for span in kept] == [(0, 20), (42, 46)]
    assert cleaned[42:46] == "End."


def test_decode_config_rejects_bad_values():
    with pytest.raises(ValueError, match="block_size must be at least 1, got 0"):
        DecodeConfig(mode=DecodeMode.ONE_STEP, block_size=0)
    with pytest.raises(ValueError, match="confidence_threshold must be in"):
        DecodeConfig(mode=DecodeMode.MULTI_STEP, block_size=4, confidence_threshold=1.5)
    with pytest.raises(ValueError, match="unknown decoding mode 'fast'; choose one of: ar, multi-step, one-step"):
        DecodeMode.parse("fast")


def test_remove_repeated_chinese_sentences():
    text = "所见：胸廓对称。纵隔及气管居中。纵隔及气管居中。双肺清晰。"
    cleaned, _, removed = remove_repeated_sentences(text, [])
    assert cleaned == "所见：胸廓对称。纵隔及气管居中。双肺清晰。"
    assert removed == 1


def test_append_jsonl_after_cut_line(tmp_path):
    import json

    from app.batch import append_jsonl, finished_ids

    out = tmp_path / "out.jsonl"
    out.write_text('{"study_id": "a", "report": {}}\n{"study_id": "b", "rep')
    append_jsonl(out, [{"study_id": "c", "report": {}}])
    lines = out.read_text().splitlines()
    assert lines[-1] == json.dumps({"study_id": "c", "report": {}})
    assert finished_ids([out]) == {"a", "c"}


@pytest.mark.parametrize(("text", "expected"), [
    ("The lungs are clear. Impression: Normal chest.", None),
    ("There in are is is is The silhouette.", "is is"),
    ("The The cardiac silhouette is normal.", "The The"),
    ("No pleural effusion. . Heart size is normal.", ". ."),
    ("结论：气腔阴影气腔阴影可能为肺炎。", "气腔阴影气腔阴影"),
    ("结论：，，可能为肺炎。", "，，"),
    ("可能为肺炎。可能为肺炎", "可能为肺炎。可能为肺炎"),
    ("主动脉动脉粥样硬化钙化。", None),  # a two-character overlap inside a real compound
    ("心影大小正常。双肺门未见增大。", None),
])
def test_find_stutter(text, expected):
    assert find_stutter(text) == expected
