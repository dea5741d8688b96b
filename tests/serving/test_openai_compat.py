"""``POST /v1/moderations`` through the official ``openai`` client, and its error cases."""

from __future__ import annotations

import openai
import pytest
import requests

from tests.serving.conftest import LIMITS, PAIRS

TIMEOUT = 30


def client(url: str, api_key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=api_key, max_retries=0, timeout=TIMEOUT)


def native_scores(url: str, texts: list[str]) -> list[float]:
    items = [{"question": text} for text in texts]
    reply = requests.post(f"{url}/v1/moderate", json=items, timeout=TIMEOUT)
    return [result["score"] for result in reply.json()["results"]]


def test_the_openai_client_reads_one_result_per_input_in_order(plain_url: str) -> None:
    texts = [PAIRS[1][1], PAIRS[0][1], "你好"]
    reply = client(plain_url).moderations.create(input=texts, model="omni-moderation-latest")
    assert reply.id.startswith("modr-")
    assert reply.model == "final:unregistered"
    assert len(reply.results) == 3
    scores = [result.category_scores.model_extra["unsafe"] for result in reply.results]
    # The same judgement as the native route gives each text judged as a prompt.
    assert scores == pytest.approx(native_scores(plain_url, texts), abs=1e-4)
    for result, score in zip(reply.results, scores, strict=True):
        assert result.flagged == (score >= 0.5)
        assert result.categories.model_extra == {"unsafe": result.flagged}
        assert result.category_applied_input_types.model_extra == {"unsafe": ["text"]}


def test_a_single_string_and_text_parts_are_accepted(plain_url: str) -> None:
    one = client(plain_url).moderations.create(input=PAIRS[3][1])
    parts = client(plain_url).moderations.create(input=[{"type": "text", "text": PAIRS[3][1]}])
    assert len(one.results) == len(parts.results) == 1
    assert one.results[0].model_extra["score"] == pytest.approx(
        parts.results[0].model_extra["score"], abs=1e-6
    )
    assert one.results[0].model_extra["label"] in ("安全", "不安全")


@pytest.mark.parametrize(
    ("body", "status", "phrase"),
    [
        ({}, 422, "input"),
        ({"input": 3}, 422, "must be a string, a list of strings"),
        ({"input": []}, 422, "at least one text"),
        ({"input": ""}, 422, "must not be empty"),
        ({"input": ["ok", "  "]}, 422, "input[1]"),
        ({"input": [{"type": "image_url", "image_url": {"url": "x"}}]}, 422, "image"),
        ({"input": "q", "modle": "x"}, 422, "unknown field"),
        ({"input": ["x"] * (LIMITS["max_items"] + 1)}, 413, "max_items"),
        ({"input": "长" * (LIMITS["max_chars"] + 1)}, 413, "max_chars"),
        (["not", "an", "object"], 422, "JSON object"),
    ],
)
def test_bad_requests_get_a_4xx_in_openais_error_shape(
    plain_url: str, body: object, status: int, phrase: str
) -> None:
    reply = requests.post(f"{plain_url}/v1/moderations", json=body, timeout=TIMEOUT)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert phrase in error["message"]
    assert error["type"] == "invalid_request_error" and error["code"]


def test_bad_json_and_content_type_are_4xx(plain_url: str) -> None:
    url = f"{plain_url}/v1/moderations"
    bad_json = requests.post(
        url, data=b"{", headers={"Content-Type": "application/json"}, timeout=TIMEOUT
    )
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "invalid_json"
    as_text = requests.post(url, data=b"{}", headers={"Content-Type": "text/plain"}, timeout=30)
    assert as_text.status_code == 415


def test_the_openai_client_raises_its_own_errors(plain_url: str, secured_url: str) -> None:
    with pytest.raises(openai.UnprocessableEntityError, match="must not be empty"):
        client(plain_url).moderations.create(input="")
    with pytest.raises(openai.AuthenticationError, match="not valid"):
        client(secured_url, api_key="wrong").moderations.create(input="你好")
    reply = client(secured_url, api_key="s3cret-key").moderations.create(input="你好")
    assert len(reply.results) == 1
