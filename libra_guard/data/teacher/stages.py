"""The paper's stage-1 recipe, one method per stage; each returns its items and records the
rows it drops (with the reason) and what its requests cost.

Item ids encode lineage: combination ``c0-000007``, its query ``c0-000007-q01``, an
augmentation ``c0-000007-q01-paraphrase``, an answer ``...-a1`` (answerer 1), a judgement
``...-a1-j0`` (judge 0).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from libra_guard.data.teacher import prompts
from libra_guard.data.teacher.chat_stage import run_chat_requests
from libra_guard.data.teacher.config import Endpoint, TeacherConfig
from libra_guard.data.teacher.elements import Combination, combinations
from libra_guard.data.teacher.near_dup import remove_copies
from libra_guard.data.teacher.replies import (
    ReplyRejected,
    parse_libra_answer,
    parse_query_list,
    parse_single_query,
)

COST_FIELDS = (
    "requests",
    "http_attempts",
    "cached",
    "failed",
    "prompt_tokens",
    "completion_tokens",
)


@dataclass
class Ledger:
    """Dropped items with reasons, and per-role request costs, of one run."""

    dropped: list[dict] = field(default_factory=list)
    costs: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def drop(self, stage: str, item: dict, reason: str) -> None:
        self.dropped.append({"stage": stage, "reason": reason, **item})

    def charge(self, role: str, replies: list[dict]) -> None:
        cost = self.costs[role]
        for reply in replies:
            cost["requests"] += int(reply["attempts"] > 0)
            cost["http_attempts"] += int(reply["attempts"])
            cost["cached"] += int(bool(reply["cached"]))
            cost["failed"] += int(bool(reply["reply_error"]))
            cost["prompt_tokens"] += int(reply["prompt_tokens"])
            cost["completion_tokens"] += int(reply["completion_tokens"])


def _item_fields(item: dict) -> dict:
    """An item's own fields, without the request/reply bookkeeping columns."""
    bookkeeping = {"request_id", "messages", "seed", "reply_text", "reply_error", "fatal"}
    bookkeeping |= {"prompt_tokens", "completion_tokens", "attempts", "cached"}
    return {key: value for key, value in item.items() if key not in bookkeeping}


class TeacherRun:
    """One synthesis run: the config, where replies are cached, and the ledger."""

    def __init__(self, config: TeacherConfig, cache_dir: Path) -> None:
        self.config = config
        self.cache_dir = cache_dir
        self.ledger = Ledger()

    def _ask(self, role: str, endpoint: Endpoint, items: list[dict], build: Callable) -> list[dict]:
        requests = [
            {
                **item,
                "request_id": item["id"],
                "messages": json.dumps(build(item), ensure_ascii=False),
                "seed": self.config.seed,
            }
            for item in items
        ]
        replies = run_chat_requests(
            requests,
            endpoint,
            str(self.cache_dir),
            batch_size=self.config.batch_size,
            engine=self.config.engine,
        )
        self.ledger.charge(role, replies)
        return replies

    def combinations(self, n: int) -> list[dict]:
        """Stage 1: enough element combinations for ``n`` queries, subcategories in turn."""
        count = math.ceil(n / self.config.queries_per_combination)
        elements = prompts.prompt_book()["elements"]
        return [
            {"id": combo.combination_id, **combo.elements()}
            for combo in combinations(count, self.config.seed, elements)
        ]

    def queries(self, combos: list[dict], n: int) -> list[dict]:
        """Stage 2: the generator's queries, at most ``n`` in all."""
        count = self.config.queries_per_combination

        def build(item: dict) -> list:
            combo = Combination(combination_id=item["id"], **_elements(item))
            return prompts.generator_messages(combo, count)

        made: list[dict] = []
        for reply in self._ask("generator", self.config.generator, combos, build):
            combo = _item_fields(reply)
            try:
                texts = _reply_text(reply, parse_query_list)[:count]
            except ReplyRejected as exc:
                self.ledger.drop("queries", combo, str(exc))
                continue
            base = {key: combo[key] for key in ("scenario", "subcategory")}
            for index, text in enumerate(texts):
                made.append(
                    {
                        "id": f"{combo['id']}-q{index:02d}",
                        **base,
                        "query": text,
                        "augmentation": "original",
                    }
                )
        return made[:n]

    def augmented(self, queries: list[dict]) -> list[dict]:
        """Stage 3: every query plus one rewrite per configured augmentation kind."""
        requests = [
            {**query, "id": f"{query['id']}-{kind}", "augmentation": kind}
            for query in queries
            for kind in self.config.augmentations
        ]

        def build(item: dict) -> list:
            return prompts.augmentation_messages(item["augmentation"], item["query"])

        made = list(queries)
        endpoint = self.config.rewriting_endpoint
        for reply in self._ask("rewriter", endpoint, requests, build):
            item = _item_fields(reply)
            try:
                made.append({**item, "query": _reply_text(reply, parse_single_query)})
            except ReplyRejected as exc:
                self.ledger.drop("augmented", item, str(exc))
        return sorted(made, key=lambda item: item["id"])

    def deduplicated(self, candidates: list[dict]) -> list[dict]:
        """Stage 4: exact and near-duplicate queries removed (the first one kept)."""
        kept, copies = remove_copies(candidates, self.config.near_duplicates)
        for copy in copies:
            self.ledger.drop("deduplicated", {**copy.item, "kept_id": copy.kept_id}, copy.reason)
        return kept

    def answers(self, queries: list[dict]) -> list[dict]:
        """Stage 5: every answerer answers every query."""
        made: list[dict] = []
        for index, endpoint in enumerate(self.config.answerers):
            role = f"answerer[{index}]"
            requests = [{**query, "id": f"{query['id']}-a{index}"} for query in queries]
            replies = self._ask(
                role, endpoint, requests, lambda q: prompts.answerer_messages(q["query"])
            )
            for reply in replies:
                item = {**_item_fields(reply), "answerer": endpoint.model}
                if reply["reply_error"]:
                    self.ledger.drop(
                        "answers", item, f"{role} {endpoint.model}: {reply['reply_error']}"
                    )
                    continue
                made.append({**item, "response": reply["reply_text"]})
        return sorted(made, key=lambda item: item["id"])

    def judged(self, answers: list[dict]) -> list[dict]:
        """Stage 6: both judges on every answer; each row carries both verdicts or the reason
        a judge's answer was unusable."""
        verdicts: dict[str, dict] = {answer["id"]: dict(answer) for answer in answers}
        for index, endpoint in enumerate(self.config.judges):
            role = f"judge[{index}]"
            requests = [
                {
                    "id": f"{answer['id']}-j{index}",
                    "answer_id": answer["id"],
                    "query": answer["query"],
                    "response": answer["response"],
                }
                for answer in answers
            ]
            for reply in self._ask(role, endpoint, requests, _judge_messages):
                row = verdicts[reply["answer_id"]]
                try:
                    label, analysis = _reply_text(reply, parse_libra_answer)
                    row[f"judge{index}_label"], row[f"judge{index}_analysis"] = label, analysis
                except ReplyRejected as exc:
                    row[f"judge{index}_problem"] = f"{role} {endpoint.model}: {exc}"
        return [verdicts[key] for key in sorted(verdicts)]

    def agreed(self, judged: list[dict]) -> list[dict]:
        """Stage 7: rows where both judges gave the same label; the others dropped."""
        kept = []
        for row in judged:
            problems = [row[key] for key in ("judge0_problem", "judge1_problem") if key in row]
            if problems:
                self.ledger.drop("agreed", row, "; ".join(problems))
            elif row["judge0_label"] != row["judge1_label"]:
                self.ledger.drop("agreed", row, "judges disagree")
            else:
                kept.append(row)
        return kept


def _answerer_messages(item: dict) -> list:
    return prompts.answerer_messages(item["query"])


def _judge_messages(item: dict) -> list:
    return prompts.judge_messages(item["query"], item["response"])


def _elements(item: dict) -> dict:
    names = ("scenario", "subcategory", "task_type", "country", "event")
    return {name: item[name] for name in names}


def _reply_text(reply: dict, parse: Callable):
    """The parsed reply; a failed request is rejected with its error as the reason."""
    if reply["reply_error"]:
        raise ReplyRejected(f"request failed: {reply['reply_error']}")
    return parse(reply["reply_text"])
