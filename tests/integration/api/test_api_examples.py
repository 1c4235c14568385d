"""Every operation of /api/v1/openapi.json shows a client what to send and what comes back.

Walks the published document: a request body has an example for each media type, a 2xx answer with
content has one, and so does every refusal. An example sits on the media type or on the schema it
references (shapes carry theirs, so a new endpoint reusing a shape is documented for free); a list
answer takes its item's. Examples must be true: each validates against its own schema with every
object closed (a misspelt key fails), and request examples also parse through their InputSchema, whose
validators are stricter than any JSON schema can say.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema_rs
import pytest
from django.test import Client
from ninja import Schema

from pagedesk.api.schemas import InputSchema

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
DRAFT = "https://json-schema.org/draft/2020-12/schema"


@pytest.fixture(scope="module")
def openapi(django_db_blocker) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return Client().get("/api/v1/openapi.json").json()


def _operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path} ({operation.get('operationId')})", operation


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = doc["components"]["schemas"][name]
    return schema


def examples_for(doc: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """The examples a client sees for one media type: its own, else its schema's (a list: its item's)."""
    if "example" in media:
        return [media["example"]]
    if media.get("examples"):
        return [entry["value"] for entry in media["examples"].values()]
    return _schema_examples(doc, media.get("schema", {}))


def _schema_examples(doc: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    schema = _resolve(doc, schema)
    if schema.get("examples"):
        return list(schema["examples"])
    if schema.get("type") == "array" and "items" in schema:
        items = _schema_examples(doc, schema["items"])
        return [items] if items else []
    return []


def _closed(node: Any) -> Any:
    """A copy of a schema where every object refuses keys it does not declare."""
    if isinstance(node, dict):
        out = {key: _closed(value) for key, value in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(value) for value in node]
    return node


def _validator(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    root = {"$schema": DRAFT, **copy.deepcopy(schema), "components": _closed(doc["components"])}
    return jsonschema_rs.validator_for(_closed(root), validate_formats=True)


def test_every_request_body_has_an_example_for_each_media_type(openapi):
    missing = [
        f"{name}: {media_type}"
        for name, operation in _operations(openapi)
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items()
        if not examples_for(openapi, media)
    ]
    assert not missing, "request bodies without an example:\n" + "\n".join(missing)


def test_every_answer_with_content_has_an_example(openapi):
    missing = [
        f"{name}: {status} {media_type}"
        for name, operation in _operations(openapi)
        for status, response in operation["responses"].items()
        for media_type, media in response.get("content", {}).items()
        if not examples_for(openapi, media)
    ]
    assert not missing, "answers without an example:\n" + "\n".join(missing)


def test_every_operation_answers_something_on_success(openapi):
    for name, operation in _operations(openapi):
        assert any(status.startswith("2") for status in operation["responses"]), name


def test_every_example_is_valid_for_its_schema(openapi):
    wrong = []
    seen: set[tuple[str, str]] = set()
    for name, operation in _operations(openapi):
        bodies = [("request", operation.get("requestBody", {})), *operation["responses"].items()]
        for where, part in bodies:
            for media_type, media in part.get("content", {}).items():
                key = (repr(media.get("schema")), repr(media.get("example", media.get("examples"))))
                if key in seen:
                    continue
                seen.add(key)
                validator = _validator(openapi, media.get("schema", {}))
                for example in examples_for(openapi, media):
                    for error in validator.iter_errors(example):
                        wrong.append(f"{name} {where} {media_type}: {error.message} at {error.instance_path}")
    assert not wrong, "examples their schema refuses:\n" + "\n".join(wrong)


def test_every_component_example_is_valid_for_its_component(openapi):
    # Also the shapes only nested in others (refs), whose examples the composite ones repeat.
    wrong = []
    for name, schema in openapi["components"]["schemas"].items():
        validator = _validator(openapi, {"$ref": f"#/components/schemas/{name}"})
        for example in schema.get("examples", []):
            wrong += [
                f"{name}: {error.message} at {error.instance_path}"
                for error in validator.iter_errors(example)
            ]
    assert not wrong, "\n".join(wrong)


def _input_schemas() -> list[type[InputSchema]]:
    found, todo = [], list(InputSchema.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_request_examples_pass_the_api_validators(openapi):
    # The document is built, so every router (and every body shape it uses) is imported.
    refused = []
    for cls in _input_schemas():
        for example in cls.json_examples:
            try:
                cls.model_validate(example)
            except ValueError as exc:
                refused.append(f"{cls.__module__}.{cls.__qualname__}: {example}: {exc}")
    assert not refused, "\n".join(refused)


def test_the_checks_above_can_fail(openapi):
    """The helpers find no example where there is none and refuse an example with a stray key."""
    assert (
        examples_for(openapi, {"schema": {"type": "object", "properties": {"a": {"type": "string"}}}}) == []
    )
    assert examples_for(openapi, {"schema": {"$ref": "#/components/schemas/ErrorOut"}})
    error = {"$ref": "#/components/schemas/ErrorOut"}
    assert not _validator(openapi, error).is_valid({"error": {"code": "x", "message": "y", "hint": "z"}})
    assert not _validator(openapi, error).is_valid({"error": {"code": "x"}})
    paged = openapi["paths"]["/api/v1/users"]["get"]["responses"]["200"]["content"]["application/json"]
    (page,) = examples_for(openapi, paged)
    assert page["items"] and page["count"] == len(page["items"])


def _pagedesk_shapes() -> dict[str, set[type[Schema]]]:
    by_name: dict[str, set[type[Schema]]] = {}
    todo = list(Schema.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("pagedesk."):
            by_name.setdefault(cls.__name__, set()).add(cls)
    return by_name


def test_no_two_shapes_share_a_component_name(openapi):
    """ninja names a component after its class and keeps one per name: a second class of the same name
    silently took the first one's place (accounts' UserRef answered as the public shapes' UserRef, so
    the document described presence history with the wrong fields)."""
    shapes = _pagedesk_shapes()
    clashes = {
        name: sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in shapes[name])
        for name in openapi["components"]["schemas"]
        if len(shapes.get(name, ())) > 1
    }
    assert not clashes, clashes
