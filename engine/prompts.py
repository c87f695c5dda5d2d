"""Instruction prompts in English and Chinese, in the Qwen2.5-VL chat format.

The instruction strings are those of the ECHO release (arXiv 2604.09450): one user turn
holding every view of the study, then the instruction, then the assistant turn. The
system line is the Qwen2.5-VL chat template's default, which the released weights saw.
"""

from __future__ import annotations

from engine.tokenizer import IM_END, IM_START, IMAGE_PAD, VISION_END, VISION_START

INSTRUCTIONS = {
    "en": "Review this chest X-ray and write a report. Use this format: Findings: {}, Impression: {}.",
    "zh": "这是一组胸部X光图像，请生成一份医学报告，包括所见和结论。以以下格式返回报告：所见：{} 结论：{}。",
}
CONTEXT_PREFIX = {"en": "Clinical context: ", "zh": "临床信息："}
SYSTEM_PROMPT = "You are a helpful assistant."
LANGUAGES = tuple(INSTRUCTIONS)


def check_language(language: str) -> str:
    if language not in INSTRUCTIONS:
        raise ValueError(f"unsupported report language {language!r}; choose one of: {', '.join(LANGUAGES)}")
    return language


def build_prompt(image_token_counts: list[int], language: str, *, clinical_context: str | None = None) -> str:
    """Return the chat text with one vision span per image, each holding its placeholder tokens."""
    check_language(language)
    vision = "".join(VISION_START + IMAGE_PAD * count + VISION_END for count in image_token_counts)
    instruction = INSTRUCTIONS[language]
    if clinical_context and clinical_context.strip():
        instruction = CONTEXT_PREFIX[language] + clinical_context.strip() + "\n" + instruction
    return (
        f"{IM_START}system\n{SYSTEM_PROMPT}{IM_END}\n"
        f"{IM_START}user\n{vision}{instruction}{IM_END}\n"
        f"{IM_START}assistant\n"
    )
