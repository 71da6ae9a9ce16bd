"""From a function's signature to a pydantic argument model and a tidy JSON Schema for the model.

Only pydantic's public API is used: `create_model`, `Field`, `ConfigDict` and
`BaseModel.model_json_schema`. The schema is then tidied for small models and grammar engines:
titles are dropped, and `$ref`s are inlined unless they are recursive (vLLM's guided decoding
handles inline schemas best).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, create_model
from pydantic.fields import FieldInfo
from pydantic.json_schema import PydanticJsonSchemaWarning

from voxagent.errors import ToolDefinitionError
from voxagent.tools.context import RunContext

__all__ = ["ToolSignature", "inspect_signature", "tidy_schema"]

# Keywords whose value is a map of name -> subschema, a single subschema, or a list of them.
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_ONE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_DEFS_PREFIX = "#/$defs/"
# pydantic sorts keys alphabetically; a model reads "type" and "description" first more easily.
_KEY_ORDER = ("type", "description", "enum", "const", "properties", "required", "items")


@dataclass(frozen=True)
class ToolSignature:
    """What `inspect_signature` learned about a function.

    Attributes:
        model: The pydantic model that validates the model-visible arguments (extra keys forbidden;
            each field's alias is the parameter's name).
        fields: Parameter name -> the model's field name, in signature order.
        context: The name of the injected `RunContext` parameter, or None.
        context_by_keyword: True when the context parameter is keyword-only.
        parameters: The tidy JSON Schema of the arguments.
        context_type: The deps type `X` of a `RunContext[X]` parameter; None for a bare
            `RunContext` or none at all.
    """

    model: type[BaseModel]
    fields: dict[str, str]
    context: str | None
    context_by_keyword: bool
    parameters: dict[str, Any]
    context_type: Any = None


def _is_context(annotation: Any) -> bool:
    return annotation is RunContext or get_origin(annotation) is RunContext


def _has_description(annotation: Any) -> bool:
    if get_origin(annotation) is not Annotated:
        return False
    return any(isinstance(m, FieldInfo) and m.description for m in get_args(annotation)[1:])


def _error(tool_name: str, why: str, hint: str) -> ToolDefinitionError:
    return ToolDefinitionError(f"cannot make tool {tool_name!r}: {why}", hint=hint)


def inspect_signature(
    fn: Callable[..., Any], tool_name: str, param_docs: dict[str, str]
) -> ToolSignature:
    """Build the argument model and schema of `fn`.

    Args:
        fn: The tool's function.
        tool_name: Its tool name, for error messages and the model's name.
        param_docs: Parameter descriptions from the docstring; a description given with
            `Annotated[..., Field(description=...)]` wins over these.

    Returns:
        The signature's model, field mapping, context parameter and JSON Schema.

    Raises:
        ToolDefinitionError: For `*args`/`**kwargs`, positional-only or unannotated parameters, a
            `RunContext` parameter that is not first, annotations that cannot be resolved, and
            types pydantic cannot validate or describe in JSON Schema.
    """
    try:
        signature = inspect.signature(fn, eval_str=True)
    except (NameError, TypeError, SyntaxError) as exc:
        raise _error(
            tool_name,
            f"its annotations cannot be resolved ({exc})",
            "define every type used in the signature at module level, not under TYPE_CHECKING",
        ) from exc
    except ValueError as exc:
        raise _error(
            tool_name, f"it has no inspectable signature ({exc})", "wrap it in a def"
        ) from exc

    definitions: dict[str, Any] = {}
    fields: dict[str, str] = {}
    context: str | None = None
    context_by_keyword = False
    context_type: Any = None
    for index, (name, param) in enumerate(signature.parameters.items()):
        annotation = param.annotation
        if _is_context(annotation):
            if index != 0:
                raise _error(
                    tool_name,
                    f"its RunContext parameter {name!r} is not the first parameter",
                    "make the RunContext parameter the first one",
                )
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise _error(
                    tool_name, f"*{name} cannot be the RunContext", "use `ctx: RunContext`"
                )
            context = name
            context_by_keyword = param.kind is param.KEYWORD_ONLY
            context_type = next(iter(get_args(annotation)), None)
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise _error(
                tool_name,
                f"it takes *{name} or **{name}, which the model cannot be told about",
                "list every argument as a named, annotated parameter",
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise _error(
                tool_name,
                f"parameter {name!r} is positional-only, but arguments arrive by name",
                "remove the `/` from the signature",
            )
        if annotation is param.empty:
            raise _error(
                tool_name,
                f"parameter {name!r} has no type annotation, so the model would not know what"
                " to send",
                f"annotate it (`{name}: Any` accepts any JSON value)",
            )
        field_name = f"p{len(fields)}"  # aliases carry the real names: no clash with BaseModel
        extra: dict[str, Any] = {"alias": name}
        if name in param_docs and not _has_description(annotation):
            extra["description"] = param_docs[name]
        # The annotation is only known at run time; pydantic reads the Annotated object itself.
        typed = Annotated[annotation, Field(**extra)]  # type: ignore[valid-type]
        default = ... if param.default is param.empty else param.default
        definitions[field_name] = (typed, default)
        fields[name] = field_name

    model_name = f"{tool_name.replace('-', '_')}_arguments"
    try:
        model = create_model(model_name, __config__=ConfigDict(extra="forbid"), **definitions)
        with warnings.catch_warnings():
            # A default that cannot be shown in JSON is simply left out of the schema.
            warnings.simplefilter("ignore", PydanticJsonSchemaWarning)
            raw_schema = model.model_json_schema()
    except (PydanticUserError, TypeError, ValueError) as exc:
        raise _error(
            tool_name,
            f"pydantic cannot validate or describe its parameters ({str(exc).splitlines()[0]})",
            "use JSON-friendly types: str, int, float, bool, Literal, Enum, lists, dicts,"
            " pydantic models, dataclasses or TypedDicts",
        ) from exc
    return ToolSignature(
        model=model,
        fields=fields,
        context=context,
        context_by_keyword=context_by_keyword,
        parameters=tidy_schema(raw_schema),
        context_type=context_type,
    )


def _map_subschemas(node: Any, fn: Callable[[Any], Any]) -> Any:
    """Apply `fn` to every direct subschema of `node`, leaving non-schema values alone."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: fn(sub) for name, sub in value.items()}
        elif key in _SCHEMA_ONE and isinstance(value, dict):
            out[key] = fn(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [fn(sub) for sub in value]
        else:
            out[key] = value
    return out


def _strip_titles(node: Any) -> Any:
    node = _map_subschemas(node, _strip_titles)
    if isinstance(node, dict) and isinstance(node.get("title"), str):
        del node["title"]
    return node


def _reorder(node: Any) -> Any:
    node = _map_subschemas(node, _reorder)
    if not isinstance(node, dict):
        return node
    first = {key: node[key] for key in _KEY_ORDER if key in node}
    return {**first, **{key: value for key, value in node.items() if key not in first}}


def _refs(node: Any, found: set[str]) -> set[str]:
    """Collect the $defs names referenced anywhere under `node`."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX):
            found.add(_def_name(ref))
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def _def_name(ref: str) -> str:
    return ref[len(_DEFS_PREFIX) :].replace("~1", "/").replace("~0", "~")


def _recursive_defs(defs: dict[str, Any]) -> set[str]:
    """The definitions that can reach themselves through references."""
    edges = {name: _refs(schema, set()) for name, schema in defs.items()}
    recursive: set[str] = set()
    for start in defs:
        seen: set[str] = set()
        stack = list(edges[start])
        while stack:
            name = stack.pop()
            if name == start:
                recursive.add(start)
                break
            if name in seen or name not in edges:
                continue
            seen.add(name)
            stack.extend(edges[name])
    return recursive


def tidy_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop titles and inline every non-recursive `$ref`; recursive ones stay in `$defs`.

    Keys beside a `$ref` (a field's description or default) win over the referenced schema's.

    Args:
        schema: A JSON Schema as pydantic generates it.

    Returns:
        A new, equivalent schema.
    """
    schema = _strip_titles(schema)
    defs: dict[str, Any] = schema.pop("$defs", {})
    recursive = _recursive_defs(defs)

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX):
                name = _def_name(ref)
                if name in defs and name not in recursive:
                    siblings = {k: v for k, v in node.items() if k != "$ref"}
                    return inline({**defs[name], **siblings})
        return _map_subschemas(node, inline)

    result: dict[str, Any] = _reorder(inline(schema))
    kept = {name: _reorder(inline(defs[name])) for name in sorted(recursive)}
    # Keep only the recursive definitions still reachable from the schema.
    needed: set[str] = set()
    frontier = _refs(result, set())
    while frontier:
        name = frontier.pop()
        if name in needed or name not in kept:
            continue
        needed.add(name)
        frontier |= _refs(kept[name], set())
    if needed:
        result["$defs"] = {name: kept[name] for name in sorted(needed)}
    return result
