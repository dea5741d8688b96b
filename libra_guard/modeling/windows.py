"""Overlapping windows: how a text longer than the guard's window is judged without cutting it.

Cutting a long response to fit the model's context drops its tail, and a harmful passage there
is never seen; feeding a long response whole lets thousands of harmless characters drown a
short harmful passage (``benchmarks/padding.py`` measures both). So every prompt the
guard reads holds the question and at most ``window_tokens`` tokens of the response; a longer
response is read in windows that overlap by a quarter of a window (a passage shorter than the
overlap is always whole in some window), each with the question, and the item's score is the
maximum over its windows. Training, evaluation, serving and the rollout smoke set all go
through :func:`pair_windows` (training keeps its cut, counted and logged, because a label
belongs to the whole row).

A question too long for its share of the context is read the same way: its further windows
are each judged with the response's first window. An item whose question is its response
is windowed in step, the same slice in both slots. A prompt-task item (``response=None``,
our prompt template) follows the same rule with the question as the text under review: at
most ``window_tokens`` question tokens per window, overlapping by a quarter.
"""

from __future__ import annotations

from transformers import PreTrainedTokenizerBase

from libra_guard.errors import ConfigError
from libra_guard.modeling.prompt import build_chat_prompt

#: Response tokens per window when the model does not name its own: the largest window that
#: keeps at least 95% of flagged unsafe rows flagged with 7,000 characters of safe text put
#: before, and after, them (benchmarks/padding.py on the `make demo` model: 48 tokens keep
#: 100% / 98.8%; 64 keep 100% / 93.8%, 96 keep 97.5% / 82.5%, 128 keep 91.2% / 45.0%). Its
#: cost, measured the same run: more false alarms (README "Benchmarks").
DEFAULT_WINDOW_TOKENS = 48
#: The model-config attribute that stores a model's window (saved in ``config.json``).
WINDOW_CONFIG_KEY = "libra_window_tokens"
#: Tokens left free beside the template: the text of a window is re-tokenised in context,
#: which can merge a few tokens differently from the slice measured alone.
CONTEXT_SLACK = 8


def prompt_ids(
    tokenizer: PreTrainedTokenizerBase, question: str, response: str | None
) -> list[int]:
    """Token ids of the chat prompt for one (question, response), nothing cut;
    ``response=None``: the prompt-task template."""
    text = build_chat_prompt(tokenizer, question, response)
    return tokenizer(text, add_special_tokens=False).input_ids


def split_text(tokenizer: PreTrainedTokenizerBase, text: str, size: int, overlap: int) -> list[str]:
    """``text`` in slices of at most ``size`` tokens, consecutive slices sharing ``overlap``.

    Slices start and end at token boundaries (character offsets of a fast tokenizer), so no
    character is split. A text of at most ``size`` tokens comes back whole.
    """
    if size < 1:
        raise ConfigError(f"a window must hold at least one token, got {size}")
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)[
        "offset_mapping"
    ]
    if len(offsets) <= size:
        return [text]
    stride = max(1, size - min(overlap, size - 1))
    starts = [offset[0] for offset in offsets]
    slices: list[str] = []
    for first in range(0, len(offsets), stride):
        last = min(first + size, len(offsets))
        begin = 0 if first == 0 else starts[first]
        end = len(text) if last == len(offsets) else starts[last]
        slices.append(text[begin:end])
        if last == len(offsets):
            break
    return slices


def pair_windows(
    tokenizer: PreTrainedTokenizerBase,
    question: str,
    response: str | None,
    budget: int,
    window_tokens: int,
) -> list[list[int]]:
    """Prompt token ids of every window of one item; each fits in ``budget`` tokens.
    ``response=None``: a prompt-task item, windowed over its question.

    Raises:
        ConfigError: the template alone leaves no room for text in ``budget`` tokens.
    """
    texts = window_texts(tokenizer, question, response, budget, window_tokens)
    windows = [prompt_ids(tokenizer, q, r) for q, r in texts]
    check_window_lengths([len(ids) for ids in windows], budget)
    return windows


def window_texts(
    tokenizer: PreTrainedTokenizerBase,
    question: str,
    response: str | None,
    budget: int,
    window_tokens: int,
) -> list[tuple[str, str | None]]:
    """The (question, response) text of every window of one item, in scoring order;
    ``response=None`` (a prompt-task item): windows of the question, each without response.

    The streaming scorer (``streaming.StreamingVerdict``) reads the same list after every
    delta, so a stream is windowed exactly as the one-shot score of its text.

    Raises:
        ConfigError: the template alone leaves no room for text in ``budget`` tokens.
    """
    judged = question if response is None else response
    # The whole prompt is tokenised only when the judged text fits one window (a stream asks
    # after every delta).
    fits = _token_count(tokenizer, judged) <= window_tokens
    if fits and len(prompt_ids(tokenizer, question, response)) <= budget:
        return [(question, response)]
    empty = None if response is None else ""
    room = budget - len(prompt_ids(tokenizer, "", empty)) - CONTEXT_SLACK
    if room < 2:
        raise ConfigError(
            f"the model leaves {budget} tokens for the prompt, but the Libra template alone "
            f"needs {budget - room}; use a model with a longer context"
        )
    if response is None:
        size = min(window_tokens, room)
        return [(part, None) for part in split_text(tokenizer, question, size, size // 4)]
    if question == response:
        size = min(window_tokens, room // 2)
        return [(part, part) for part in split_text(tokenizer, question, size, size // 4)]
    return _question_and_response_windows(tokenizer, question, response, room, window_tokens)


def check_window_lengths(lengths: list[int], budget: int) -> None:
    """Refuse windows longer than ``budget`` prompt tokens.

    Raises:
        ConfigError: a window does not fit (the tokenizer merged across its edges more than
            ``CONTEXT_SLACK`` allows).
    """
    too_long = [length for length in lengths if length > budget]
    if too_long:
        raise ConfigError(
            f"a window of {max(too_long)} tokens does not fit the {budget}-token budget; "
            "the tokenizer merges across window edges more than CONTEXT_SLACK allows"
        )


def _question_and_response_windows(
    tokenizer: PreTrainedTokenizerBase, question: str, response: str, room: int, window: int
) -> list[tuple[str, str]]:
    """Response windows each with the question's first window, then the question's others."""
    question_tokens = _token_count(tokenizer, question)
    response_size = min(window, room - question_tokens) if question_tokens < room // 2 else 0
    response_size = max(response_size, min(window, room // 2))
    question_size = room - response_size
    response_parts = split_text(tokenizer, response, response_size, response_size // 4)
    question_parts = split_text(tokenizer, question, question_size, question_size // 4)
    pairs = [(question_parts[0], part) for part in response_parts]
    pairs.extend((part, response_parts[0]) for part in question_parts[1:])
    return pairs


def _token_count(tokenizer: PreTrainedTokenizerBase, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False).input_ids)
