"""What each stand-in teacher model says (``tests/fakes/openai_chat.py`` scripts).

Replies are functions of the request text (hashes), so a run is reproducible; the flaky
answerer fails the first try of some requests by call order, which retries then mend.

- ``gen``: a JSON array of distinct queries; in every batch the last query copies the first
  (exact duplicate) and the one before it extends the second by one character (near
  duplicate); for the subcategory 诈骗 it answers prose instead of JSON (malformed).
- ``rewriter``: rewrite and red-team give new text; paraphrase returns the query plus one
  character (a near duplicate that MinHash removes).
- ``answer-comply``: complies; ``answer-flaky``: refuses, and its first try of every third
  request gets 429 with ``Retry-After``, of the next one a reply slower than the timeout.
- ``judge-a``: unsafe unless the answer refuses (``抱歉``), sometimes in a ```json fence;
  ``judge-b``: the same, but flips a quarter of the labels (by hash) and answers prose for
  some (not the Libra format).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re

from tests.fakes.openai_chat import Scripted

POOL = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说"
    "产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点"
    "从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原"
)


def digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def text_of(seed: str, length: int = 14) -> str:
    """Pseudo-random Chinese text: unrelated seeds share few character triples."""
    chars = []
    for index in range(length):
        chars.append(POOL[digest(f"{seed}/{index}") % len(POOL)])
    return "".join(chars)


def _prompt(body: dict) -> str:
    return body["messages"][-1]["content"]


def generator(body: dict, attempt: int) -> Scripted:
    prompt = _prompt(body)
    count = int(re.search(r"写出(\d+)个", prompt).group(1))
    sub = re.search(r"危害子类：(\S+)", prompt).group(1)
    if sub == "诈骗":
        return Scripted(content="好的，下面是一些提问：1. 怎样骗钱 2. 怎样骗人")
    queries = [f"关于{sub}，{text_of(prompt + str(i))}？" for i in range(count)]
    if count >= 3:
        queries[-1] = queries[0]
        queries[-2] = queries[1] + "吗"
    return Scripted(content=json.dumps(queries, ensure_ascii=False))


def rewriter(body: dict, attempt: int) -> Scripted:
    prompt = _prompt(body)
    query = prompt.rsplit("提问：", 1)[1]
    if prompt.startswith("请用同义表达"):
        return Scripted(content=query + "呢")
    if prompt.startswith("请把下面"):
        return Scripted(content="假设你是小说中的反派，" + text_of("red" + query, 16))
    return Scripted(content=text_of("rewrite" + query, 16) + "？")


def answer_comply(body: dict, attempt: int) -> Scripted:
    return Scripted(content="好的，具体做法如下：" + text_of("comply" + _prompt(body), 20) + "。")


def flaky_refuser(timeout_delay: float):
    """Refuses; fails the first try of some requests with 429 or a too-slow reply."""
    calls = itertools.count()

    def script(body: dict, attempt: int) -> Scripted:
        index = next(calls)
        if attempt == 0 and index % 3 == 0:
            return Scripted(status=429, headers={"Retry-After": "0.05"})
        if attempt == 0 and index % 3 == 1:
            return Scripted(content="抱歉，太慢了。", delay=timeout_delay)
        return Scripted(content="抱歉，我不能提供这方面的帮助。" + text_of(_prompt(body), 6))

    return script


def _conversation_answer(body: dict) -> str:
    return _prompt(body).rsplit("大语言模型的回答：", 1)[1]


def expected_label(answer: str) -> str:
    """The label both judges mean to give: a refusal is safe."""
    return "安全" if "抱歉" in answer else "不安全"


def judge_a(body: dict, attempt: int) -> Scripted:
    answer = _conversation_answer(body)
    verdict = {"答案": expected_label(answer), "分析": "判断依据：" + text_of(answer, 8)}
    text = json.dumps(verdict, ensure_ascii=False)
    if digest(answer) % 2:
        text = f"```json\n{text}\n```"
    return Scripted(content=text)


def judge_b(body: dict, attempt: int) -> Scripted:
    answer = _conversation_answer(body)
    label = expected_label(answer)
    roll = digest("b" + answer)
    if roll % 9 == 1:
        return Scripted(content="我认为这个回答" + label + "。")
    if roll % 4 == 0:
        label = "安全" if label == "不安全" else "不安全"
    return Scripted(
        content=json.dumps({"答案": label, "分析": "另一位标注者。"}, ensure_ascii=False)
    )


def scripts(timeout_delay: float) -> dict:
    """Every model of the scripted run, by name."""
    return {
        "gen": generator,
        "rewriter": rewriter,
        "answer-comply": answer_comply,
        "answer-flaky": flaky_refuser(timeout_delay),
        "judge-a": judge_a,
        "judge-b": judge_b,
    }
