"""The report tokenizer: a thin wrapper over a `tokenizers` byte-level BPE model.

A checkpoint folder carries `tokenizer.json`. The released Qwen2.5-VL/ECHO checkpoints
carry Qwen's; the bundled model carries a small bilingual (English and Chinese)
radiology BPE trained by `train_bilingual_bpe`. Both use the Qwen chat special tokens,
so prompts are built the same way for either.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

logger = logging.getLogger(__name__)

PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
VISION_START = "<|vision_start|>"
VISION_END = "<|vision_end|>"
IMAGE_PAD = "<|image_pad|>"
VIDEO_PAD = "<|video_pad|>"
MASK_TOKEN = "<|MASK|>"

SPECIAL_TOKENS = [PAD_TOKEN, IM_START, IM_END, VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD, MASK_TOKEN]


class ReportTokenizer:
    """Encode prompts and decode reports; special-token ids come from the vocabulary, never literals."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.backend = tokenizer
        self._special_ids = {
            token_id for token, token_id in tokenizer.get_vocab(with_added_tokens=True).items()
            if token.startswith("<|") and token.endswith("|>")
        }

    @classmethod
    def from_folder(cls, folder: str | Path) -> ReportTokenizer:
        path = Path(folder) / "tokenizer.json"
        if not path.is_file():
            raise FileNotFoundError(
                f"tokenizer.json not found in {folder}; a checkpoint folder must contain its tokenizer"
            )
        return cls(Tokenizer.from_file(str(path)))

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.backend.save(str(folder / "tokenizer.json"))
        config = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": 32768,
            "pad_token": PAD_TOKEN,
            "eos_token": IM_END,
            "mask_token": MASK_TOKEN,
            "additional_special_tokens": [t for t in SPECIAL_TOKENS if t not in (PAD_TOKEN, IM_END, MASK_TOKEN)],
        }
        (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def token_id(self, token: str) -> int:
        token_id = self.backend.token_to_id(token)
        if token_id is None:
            raise ValueError(f"token {token!r} is missing from the tokenizer vocabulary")
        return token_id

    def mask_token_id(self) -> int:
        """Return the id of the mask token, `<|MASK|>`."""
        return self.token_id(MASK_TOKEN)

    def encode(self, text: str) -> list[int]:
        return self.backend.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int], *, skip_special_tokens: bool = True) -> str:
        ids = [int(i) for i in ids]
        if skip_special_tokens:
            ids = [i for i in ids if i not in self._special_ids]
        return self.backend.decode(ids, skip_special_tokens=False)

    def decode_stable(self, ids: list[int]) -> str:
        """Decode ids, dropping a trailing partial UTF-8 character so a stream never shows U+FFFD."""
        return self.decode(ids).rstrip("\ufffd")


def train_bilingual_bpe(texts: Iterable[str], vocab_size: int = 6000, min_frequency: int = 2) -> ReportTokenizer:
    """Train a byte-level BPE on English and Chinese report text, with the Qwen special tokens first.

    Byte-level BPE never produces unknown tokens: any character, including rare Chinese
    characters, falls back to its UTF-8 bytes.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    logger.info("trained a byte-level BPE with %d tokens", tokenizer.get_vocab_size())
    return ReportTokenizer(tokenizer)


def report_texts(paths: Iterable[str | Path]) -> Iterable[str]:
    """Yield the report text of every record in corpus JSONL files, as the model would write it.

    Records carry `findings`, `impression` and `language`; the text follows the target
    format "Findings: ... Impression: ..." (English) or "所见：... 结论：..." (Chinese).
    """
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{Path(path).name} line {number} is not valid JSON: {error.msg}") from error
                findings = record.get("findings") or ""
                impression = record.get("impression") or ""
                if record.get("language") == "zh":
                    yield f"所见：{findings} 结论：{impression}"
                else:
                    yield f"Findings: {findings} Impression: {impression}"
