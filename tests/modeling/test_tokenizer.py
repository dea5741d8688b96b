"""The trained tokenizer behaves like a Qwen2 ChatML tokenizer and never loses text."""

from __future__ import annotations

from transformers import AutoTokenizer

from libra_guard.modeling.factory import load_tokenizer
from libra_guard.modeling.prompt import build_chat_prompt, build_user_message
from libra_guard.modeling.tokenizer import SPECIAL_TOKENS, train_chatml_tokenizer


def test_chat_prompt_ends_with_the_assistant_header(tiny_base):
    tokenizer = load_tokenizer(tiny_base)
    prompt = build_chat_prompt(tokenizer, "问题", "回答")
    assert prompt.startswith("<|im_start|>user\n" + build_user_message("问题", "回答"))
    assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")


def test_special_tokens_are_single_tokens(tiny_base):
    tokenizer = load_tokenizer(tiny_base)
    for token in SPECIAL_TOKENS:
        assert tokenizer(token, add_special_tokens=False).input_ids == [
            tokenizer.convert_tokens_to_ids(token)
        ]
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|endoftext|>"


def test_unseen_chinese_text_round_trips_without_unknown_tokens(tiny_base):
    tokenizer = load_tokenizer(tiny_base)
    unseen = "龘靐齉爩，鬱鬱蔥蔥！𠀀 emoji😀 and ÄÖÜ\n\t末尾"
    ids = tokenizer(unseen, add_special_tokens=False).input_ids
    # Qwen2's tokenizer class names <|endoftext|> its unk token; byte-level BPE never emits it.
    assert tokenizer.unk_token_id not in ids
    assert all(0 <= token < len(tokenizer) for token in ids)
    assert tokenizer.decode(ids) == unseen


def test_frequent_template_phrases_compress(tiny_base):
    tokenizer = load_tokenizer(tiny_base)
    message = build_user_message("问题", "回答")
    assert len(tokenizer(message).input_ids) < len(message) / 3


def test_loaded_tokenizer_matches_the_trained_one(tiny_base, guard_rows):
    from transformers import PreTrainedTokenizerFast

    loaded = load_tokenizer(tiny_base)
    trained = PreTrainedTokenizerFast(tokenizer_file=str(tiny_base / "tokenizer.json"))
    for row in guard_rows[:6]:
        text = build_chat_prompt(loaded, row.question, row.response)
        assert loaded(text).input_ids == trained(text).input_ids


def test_saved_tokenizer_loads_with_auto_tokenizer(tmp_path):
    tokenizer = train_chatml_tokenizer(["你好，世界。"] * 10 + ["安全 不安全"] * 10, vocab_size=300)
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    text = build_chat_prompt(loaded, "你好", "世界")
    assert loaded(text).input_ids == tokenizer(text).input_ids
    assert text == build_chat_prompt(tokenizer, "你好", "世界")
