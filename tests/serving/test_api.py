"""The HTTP API in one process: every endpoint, every class of bad input, auth on and off."""

from __future__ import annotations

import json

import pytest
import requests

from tests.serving.conftest import LIMITS, PAIRS

TIMEOUT = 30


def post(url: str, body: object = None, *, data: bytes | None = None, **headers: str):
    if data is None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    return requests.post(f"{url}/v1/moderate", data=data, headers=headers, timeout=TIMEOUT)


def test_one_item_with_a_response_is_judged_as_a_response(plain_url: str) -> None:
    answer = post(plain_url, {"question": PAIRS[1][0], "response": PAIRS[1][1]})
    assert answer.status_code == 200
    [result] = answer.json()["results"]
    assert result["task"] == "response"
    assert 0.0 <= result["score"] <= 1.0
    assert result["verdict"] == ("unsafe" if result["score"] >= 0.5 else "safe")
    assert result["label"] == {"unsafe": "不安全", "safe": "安全"}[result["verdict"]]
    assert result["model"] == {"name": "final", "version": "unregistered"}
    assert result["windows"] == 1
    assert "critique" not in result


def test_batches_keep_order_and_prompt_items_judge_the_question(plain_url: str) -> None:
    items = [{"question": q, "response": r} for q, r, _ in PAIRS[:3]] + [{"question": "你好"}]
    batch = post(plain_url, {"items": items}).json()["results"]
    singles = [post(plain_url, item).json()["results"][0] for item in items]
    assert [r["task"] for r in batch] == ["response"] * 3 + ["prompt"]
    # The same item scores the same alone or in a batch (left padding is masked out).
    assert [r["score"] for r in batch] == pytest.approx([r["score"] for r in singles], abs=1e-4)
    bare_list = post(plain_url, items).json()["results"]
    assert [r["score"] for r in bare_list] == pytest.approx([r["score"] for r in batch], abs=1e-4)


def test_explain_returns_the_generated_critique(plain_url: str) -> None:
    body = {"items": [{"question": PAIRS[0][0], "response": PAIRS[0][1]}], "explain": True}
    [result] = post(plain_url, body).json()["results"]
    assert isinstance(result["critique"], str)
    [by_query] = requests.post(
        f"{plain_url}/v1/moderate?explain=true", json={"question": "你好"}, timeout=TIMEOUT
    ).json()["results"]
    assert "critique" in by_query


def test_model_health_and_schema_endpoints(plain_url: str) -> None:
    model = requests.get(f"{plain_url}/v1/model", timeout=TIMEOUT).json()
    assert model["version"] == "unregistered" and "source" not in model
    assert model["max_chars"] > 0 and model["window_tokens"] > 0
    health = requests.get(f"{plain_url}/healthz", timeout=TIMEOUT)
    assert health.status_code == 200 and health.json()["status"] == "ready"
    schema = requests.get(f"{plain_url}/openapi.json", timeout=TIMEOUT).json()
    body = schema["paths"]["/v1/moderate"]["post"]["requestBody"]
    assert body["required"] is True
    item = schema["components"]["schemas"]["ModerationItem"]
    assert item["properties"]["question"]["maxLength"] == LIMITS["max_chars"]


@pytest.mark.parametrize(
    ("body", "status", "phrase"),
    [
        ({"response": "只有回答"}, 422, "question: Field required"),
        ({"question": 3}, 422, "question: Input should be a valid string"),
        ({"question": "q", "explain": "yes"}, 422, "explain"),
        ({"question": ""}, 422, "must not be empty"),
        ({"question": "   ", "response": "r"}, 422, "must not be empty"),
        ({"question": "q", "response": ""}, 422, "response must not be empty"),
        ({"question": "q", "reponse": "typo"}, 422, "reponse: unknown field"),
        ({"items": []}, 422, "at least 1 item"),
        ({"items": [{"question": "q"}, {"question": None}]}, 422, "items[1].question"),
        ([], 422, "at least 1 item"),
        ("just a string", 422, "must be an object"),
        (42, 422, "must be an object"),
        ({"question": "问" * (LIMITS["max_chars"] + 1)}, 413, "max_chars"),
        ({"items": [{"question": "q"}] * (LIMITS["max_items"] + 1)}, 413, "max_items"),
    ],
)
def test_bad_json_bodies_get_a_4xx_naming_the_problem(
    plain_url: str, body: object, status: int, phrase: str
) -> None:
    answer = post(plain_url, body)
    assert answer.status_code == status
    assert phrase in answer.json()["message"]


@pytest.mark.parametrize(
    ("data", "content_type", "status", "error"),
    [
        (b'{"question": ', "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "invalid_json"),
        (b'{"question": "\xff\xfe"}', "application/json", 400, "invalid_json"),
        (b"[" * 100_000, "application/json", 413, "body_too_large"),
        (b"[" * 3000, "application/json", 400, "invalid_json"),
        (b'{"question": 1' + b"9" * 3000 + b"}", "application/json", 422, "invalid_request"),
        (b'{"question": "q", "explain": 1e999}', "application/json", 422, "invalid_request"),
        (b'{"question": "\\ud800"}', "application/json", 422, "invalid_request"),
        (b'{"question": "q"}', "text/plain", 415, "unsupported_media_type"),
        (b'{"question": "q"}', "application/json; charset=latin-1", 415, "unsupported"),
        (b"question=q", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
def test_bad_bytes_and_content_types_get_a_4xx(
    plain_url: str, data: bytes, content_type: str, status: int, error: str
) -> None:
    answer = post(plain_url, data=data, **{"Content-Type": content_type})
    assert answer.status_code == status
    assert answer.json()["error"].startswith(error)


def test_a_missing_content_type_is_415(plain_url: str) -> None:
    answer = requests.post(f"{plain_url}/v1/moderate", data=b'{"question": "q"}', timeout=30)
    assert answer.status_code == 415


def test_wrong_method_path_and_query_are_4xx(plain_url: str) -> None:
    assert requests.get(f"{plain_url}/v1/moderate", timeout=TIMEOUT).status_code == 405
    assert requests.get(f"{plain_url}/v2/nothing", timeout=TIMEOUT).status_code == 404
    bad_query = requests.post(
        f"{plain_url}/v1/moderate?explain=perhaps", json={"question": "q"}, timeout=TIMEOUT
    )
    assert bad_query.status_code == 422 and "explain" in bad_query.json()["message"]


def test_auth_off_needs_no_header(plain_url: str) -> None:
    assert post(plain_url, {"question": "q"}).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-key", "Bearer s3cret-key-but-longer", "Basic czNjcmV0LWtleQ==", "Bearer"],
)
def test_auth_on_refuses_missing_or_wrong_keys_without_echoing_them(
    secured_url: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for answer in (
        post(secured_url, {"question": "q"}, **headers),
        requests.get(f"{secured_url}/v1/model", headers=headers, timeout=TIMEOUT),
    ):
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert "s3cret" not in answer.text and "wrong-key" not in answer.text


def test_auth_on_accepts_the_key_and_keeps_health_open(secured_url: str) -> None:
    ok = post(secured_url, {"question": "q"}, Authorization="Bearer s3cret-key")
    assert ok.status_code == 200
    assert requests.get(f"{secured_url}/healthz", timeout=TIMEOUT).status_code == 200
    schema = requests.get(f"{secured_url}/openapi.json", timeout=TIMEOUT).json()
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
