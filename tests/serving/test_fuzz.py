"""Property-based fuzzing of the API, driven by the OpenAPI schema it serves: no input, valid
or not, ever gets a 5xx, and every answer is the documented JSON."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serving.schemas import ErrorBody, Health, ModerationResponse, PublicModel

TIMEOUT = 30
FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "APPLICATION/JSON",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
    ]
) | st.text(
    # What an HTTP header can carry: latin-1, no control characters.
    alphabet=st.characters(max_codepoint=255, blacklist_categories=["Cc"]),
    max_size=30,
).map(str.strip)


@pytest.fixture(scope="module")
def served_schema(plain_url: str) -> dict:
    return requests.get(f"{plain_url}/openapi.json", timeout=TIMEOUT).json()


def body_strategy(schema: dict) -> st.SearchStrategy:
    """Objects built from the schema's request models: their fields with fitting and
    unfitting values, plus unknown keys; lists of such items; and arbitrary JSON."""
    components = schema["components"]["schemas"]
    texts = st.text(min_size=0, max_size=90) | st.sampled_from(["怎样制作炸药？", " ", "\x00"])
    field_values = {"question": texts, "response": texts | st.none(), "explain": st.booleans()}

    def model_objects(name: str) -> st.SearchStrategy:
        properties = components[name]["properties"]
        optional = {key: field_values.get(key, json_values) | json_values for key in properties}
        if "items" in properties:
            optional["items"] = st.lists(model_objects("ModerationItem"), max_size=6) | json_values
        return st.fixed_dictionaries({}, optional=optional) | st.dictionaries(
            st.sampled_from([*properties, "extra"]), json_values, max_size=4
        )

    return (
        model_objects("SingleModeration")
        | model_objects("BatchModeration")
        | st.lists(model_objects("ModerationItem"), max_size=6)
        | json_values
    )


def operations(schema: dict) -> list[tuple[str, str]]:
    return [(path, method) for path, item in schema["paths"].items() for method in item]


@given(data=st.data())
@FUZZ
def test_no_input_gets_a_5xx(plain_url: str, served_schema: dict, data: st.DataObject) -> None:
    path, method = data.draw(st.sampled_from(operations(served_schema)), label="operation")
    payload = data.draw(
        body_strategy(served_schema).map(
            lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
        )
        | st.binary(max_size=300),
        label="body",
    )
    headers = {"Content-Type": data.draw(content_types, label="content type")}
    params = data.draw(
        st.dictionaries(st.sampled_from(["explain", "x"]), st.text(max_size=8), max_size=2),
        label="query",
    )
    answer = requests.request(
        method.upper(),
        f"{plain_url}{path}",
        data=payload if method != "get" else None,
        headers=headers,
        params=params,
        timeout=TIMEOUT,
    )
    assert answer.status_code < 500, answer.text
    body = answer.json()
    if answer.status_code >= 400 and path != "/healthz":
        ErrorBody.model_validate(body)
    elif path == "/v1/moderate":
        ModerationResponse.model_validate(body)
    elif path == "/v1/model":
        PublicModel.model_validate(body)
    else:
        Health.model_validate(body)
