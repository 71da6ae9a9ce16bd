"""Schemas from signatures and docstrings: every supported type, tidy and valid for Mistral."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import jsonschema
import pytest
from mistral_common.protocol.instruct.messages import UserMessage
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.protocol.instruct.tool_calls import Function, Tool as MistralTool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from voxagent.tools import RunContext, Tool, tool
from voxagent.tools.schema import tidy_schema


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    """A postal address."""

    street: str
    zip_code: int | None = None


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Options(TypedDict):
    verbose: bool
    depth: int


class TreeNode(BaseModel):
    value: int
    children: list[TreeNode] = []


class Outer(BaseModel):
    title: str  # a field literally called "title" must survive the title stripping
    address: Address


def all_types(
    s: str,
    i: int,
    f: float,
    b: bool,
    n: None,
    opt: Optional[int],  # noqa: UP045 - testing the Optional spelling on purpose
    opt2: str | None,
    lit: Literal["a", "b"],
    color: Color,
    level: Level,
    items: list[int],
    pair: tuple[int, str],
    many: tuple[float, ...],
    tags: set[str],
    mapping: dict[str, float],
    address: Address,
    point: Point,
    options: Options,
    when: datetime.datetime,
    day: datetime.date,
    ident: uuid.UUID,
    path: Path,
    anything: Any,
    bounded: Annotated[int, Field(ge=1, le=10, description="From one to ten.")] = 5,
    short: Annotated[str, Field(max_length=3)] = "abc",
    with_default: list[str] | None = None,
) -> None:
    """Exercise every supported type."""


ALL = tool(all_types)
PROPS = ALL.parameters["properties"]


def walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(walk(value))
    return found


def test_top_level_is_a_closed_object_with_required_list() -> None:
    params = ALL.parameters
    assert params["type"] == "object"
    assert list(params) == ["type", "properties", "required", "additionalProperties"]
    assert list(PROPS["bounded"])[:2] == ["type", "description"]  # what a model reads first
    assert params["additionalProperties"] is False
    assert set(params["required"]) == {
        "s", "i", "f", "b", "n", "opt", "opt2", "lit", "color", "level", "items", "pair", "many",
        "tags", "mapping", "address", "point", "options", "when", "day", "ident", "path",
        "anything",
    }  # fmt: skip
    assert list(PROPS) == list(all_types.__annotations__)[:-1]  # signature order, no return


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("s", {"type": "string"}),
        ("i", {"type": "integer"}),
        ("f", {"type": "number"}),
        ("b", {"type": "boolean"}),
        ("n", {"type": "null"}),
        ("opt", {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        ("opt2", {"anyOf": [{"type": "string"}, {"type": "null"}]}),
        ("lit", {"enum": ["a", "b"], "type": "string"}),
        ("color", {"enum": ["red", "green"], "type": "string"}),
        ("level", {"enum": [1, 2], "type": "integer"}),
        ("items", {"type": "array", "items": {"type": "integer"}}),
        ("tags", {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        ("mapping", {"type": "object", "additionalProperties": {"type": "number"}}),
        ("when", {"type": "string", "format": "date-time"}),
        ("day", {"type": "string", "format": "date"}),
        ("ident", {"type": "string", "format": "uuid"}),
        ("path", {"type": "string", "format": "path"}),
        ("anything", {}),
        ("short", {"type": "string", "maxLength": 3, "default": "abc"}),
    ],
)
def test_simple_types(name: str, expected: dict[str, Any]) -> None:
    schema = dict(PROPS[name])
    schema.pop("description", None)  # enums carry their class docstring; not the point here
    assert schema == expected


def test_tuples() -> None:
    assert PROPS["pair"]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]
    assert PROPS["pair"]["minItems"] == PROPS["pair"]["maxItems"] == 2
    assert PROPS["many"] == {"type": "array", "items": {"type": "number"}}


def test_nested_models_dataclasses_and_typeddicts_are_inlined() -> None:
    assert "$defs" not in ALL.parameters
    assert not any("$ref" in node for node in walk(ALL.parameters))
    address = PROPS["address"]
    assert address["type"] == "object"
    assert address["description"] == "A postal address."
    assert address["required"] == ["street"]
    assert address["properties"]["zip_code"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert PROPS["point"]["properties"] == {
        "x": {"type": "number"},
        "y": {"type": "number", "default": 0.0},
    }
    assert PROPS["options"]["properties"] == {
        "verbose": {"type": "boolean"},
        "depth": {"type": "integer"},
    }
    assert set(PROPS["options"]["required"]) == {"verbose", "depth"}


def test_annotated_field_constraints_description_and_default() -> None:
    assert PROPS["bounded"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10,
        "default": 5,
        "description": "From one to ten.",
    }
    assert PROPS["with_default"]["default"] is None


def test_no_title_noise_anywhere_but_a_field_named_title_survives() -> None:
    @tool
    def place(outer: Outer) -> None:
        """Place something."""

    nodes = walk(place.parameters)
    assert not any(isinstance(node.get("title"), str) for node in nodes)
    assert place.parameters["properties"]["outer"]["properties"]["title"] == {"type": "string"}


def test_recursive_models_keep_valid_defs() -> None:
    @tool
    def grow(tree: TreeNode) -> None:
        """Grow a tree."""

    params = grow.parameters
    assert set(params["$defs"]) == {"TreeNode"}
    assert params["properties"]["tree"] == {"$ref": "#/$defs/TreeNode"}
    assert params["$defs"]["TreeNode"]["properties"]["children"]["items"] == {
        "$ref": "#/$defs/TreeNode"
    }
    validator = jsonschema.Draft202012Validator(params)
    validator.validate({"tree": {"value": 1, "children": [{"value": 2}]}})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"tree": {"value": 1, "children": [{"value": "x"}]}})


def test_tidy_schema_lets_siblings_of_a_ref_win_and_drops_unused_defs() -> None:
    raw = {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A", "description": "field text"}},
        "$defs": {
            "A": {"type": "object", "description": "class text", "title": "A"},
            "Unused": {"type": "string"},
        },
    }
    assert tidy_schema(raw) == {
        "type": "object",
        "properties": {"a": {"type": "object", "description": "field text"}},
    }


def test_context_parameter_is_injected_not_exposed() -> None:
    @tool
    def with_ctx(ctx: RunContext[int], x: int) -> int:
        return x

    @tool
    def with_bare_ctx(ctx: RunContext, x: int) -> int:  # type: ignore[type-arg]  # bare form
        return x

    for made in (with_ctx, with_bare_ctx):
        assert list(made.parameters["properties"]) == ["x"]
        assert made.signature.context == "ctx"


def test_no_argument_tool() -> None:
    @tool
    def now() -> str:
        """Tell the time."""
        return "noon"

    assert now.parameters == {"type": "object", "properties": {}, "additionalProperties": False}


def test_schema_property_names_are_the_parameter_names_even_when_they_clash() -> None:
    @tool
    def clash(json: str, schema: int, _private: bool = False, model_config: str = "") -> None:
        """Names that would clash with pydantic's BaseModel."""

    assert list(clash.parameters["properties"]) == ["json", "schema", "_private", "model_config"]
    assert clash.validate({"json": "x", "schema": 1, "_private": True}) == {
        "json": "x",
        "schema": 1,
        "_private": True,
        "model_config": "",
    }


def test_string_annotations_are_resolved() -> None:
    # This module uses `from __future__ import annotations`: every annotation is a string.
    assert all_types.__annotations__["i"] == "int"
    assert PROPS["i"] == {"type": "integer"}


def test_to_openai_shape() -> None:
    assert ALL.to_openai() == {
        "type": "function",
        "function": {
            "name": "all_types",
            "description": "Exercise every supported type.",
            "parameters": ALL.parameters,
        },
    }


def _sample_tools() -> list[Tool]:
    @tool
    def grow(tree: TreeNode, outer: Outer | None = None) -> None:
        """Grow a tree."""

    return [ALL, grow]


@pytest.mark.parametrize("made", _sample_tools(), ids=lambda t: t.name)
def test_schema_is_valid_json_schema_2020_12(made: Tool) -> None:
    jsonschema.Draft202012Validator.check_schema(made.parameters)


def test_schema_rejects_what_the_model_should_not_send() -> None:
    validator = jsonschema.Draft202012Validator(ALL.parameters)
    errors = list(validator.iter_errors({"s": 1, "unknown": True, "bounded": 11}))
    assert {e.validator for e in errors} >= {"type", "additionalProperties", "maximum", "required"}


@pytest.mark.parametrize("made", _sample_tools(), ids=lambda t: t.name)
def test_mistral_common_accepts_the_tool_and_renders_it(made: Tool) -> None:
    import mistral_common
    from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    spec = made.to_openai()
    mistral_tool = MistralTool(function=Function(**spec["function"]))
    assert mistral_tool.function.parameters == made.parameters
    request = ChatCompletionRequest.from_openai(
        messages=[{"role": "user", "content": "hello"}], tools=[spec]
    )
    assert request.tools is not None and request.tools[0].function.name == made.name
    tekken = Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"
    tokenizer = MistralTokenizer.from_file(str(tekken))
    encoded = tokenizer.encode_chat_completion(
        ChatCompletionRequest(messages=[UserMessage(content="hello")], tools=[mistral_tool])
    )
    text = tokenizer.decode(encoded.tokens, special_token_policy=SpecialTokenPolicy.KEEP)
    assert f'"name": "{made.name}"' in text
