"""A byte-level BPE tokenizer trained on the guard's own corpus, for the ``tiny`` preset.

The tiny preset has no pretrained tokenizer to borrow (no hub downloads), so it trains one on
the text the model will read and write: the Libra prompt, the questions, the responses and the
target answers. Byte-level BPE keeps every input representable (any UTF-8 byte is in the base
alphabet, so unseen Chinese text never maps to an unknown token), and the Qwen2 split pattern
plus ChatML special tokens make the result behave like a Qwen2 tokenizer: the same chat
template code path a 14B Qwen2.5 base takes.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (ENDOFTEXT, IM_START, IM_END)

#: Qwen2's pre-tokenisation pattern: runs of letters (a run of Chinese characters is one
#: piece), single digits, punctuation runs, whitespace. BPE merges never cross these pieces,
#: so the verdict word after ``{"答案": "`` is always its own piece.
QWEN2_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

#: ChatML as Qwen2 writes it, without a default system message (the Libra prompt has none).
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def train_chatml_tokenizer(
    texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer with ChatML special tokens on ``texts``.

    ``vocab_size`` counts the 256 byte symbols and the three special tokens; a small
    vocabulary keeps the embedding and output layers (vocab x hidden) cheap on CPU, a larger
    one shortens sequences. Pieces seen fewer than ``min_frequency`` times are not merged.
    """
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size must be at least {256 + len(SPECIAL_TOKENS)}")
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        model_max_length=32768,
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer
