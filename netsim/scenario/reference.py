"""A Markdown reference of every scenario field, generated from the pydantic schema (so it
cannot drift from the code): `netsim schema --markdown`, kept in docs/scenario_fields.md."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from netsim.scenario.schema import Distribution, Scenario


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The scenario models inside an annotation (unions, lists, Annotated...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found += _models(arg)
    return found


def _type_name(annotation: Any) -> str:
    """A short name: constraints and wrappers dropped, unions as `a | b`."""
    if isinstance(annotation, type):
        return annotation.__name__
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args).replace("NoneType", "null")
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(map(_type_name, args))}]"
    return str(annotation).replace("typing.", "")


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _range(field: Any) -> str:
    """The field's allowed range from its constraints, e.g. `> 0, <= 1e+07`."""
    limits = []
    for item in field.metadata:
        for attr, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            value = getattr(item, attr, None)
            if value is not None:
                limits.append(f"{sign} {_number(value)}")
        for attr, sign in (("min_length", "length >="), ("max_length", "length <=")):
            value = getattr(item, attr, None)
            if value is not None:
                limits.append(f"{sign} {_number(value)}")
    return ", ".join(limits)


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        default = "required" if field.is_required() else repr(field.get_default(
            call_default_factory=True))
        if isinstance(field.get_default(call_default_factory=True), BaseModel):
            default = "(see below)"
        description = (field.description or "").replace("|", "\\|")
        kind = _type_name(field.annotation).replace("|", "\\|")
        rows.append(f"| `{path}` | {kind} | {_range(field)} | {default.replace('|', '/')} | "
                    f"{description} |")
        for sub in _models(field.annotation):
            if sub is Distribution:
                continue
            tag = (sub.model_fields.get("model") or sub.model_fields.get("process")
                   or sub.model_fields.get("kind"))
            is_tag = (tag is not None and typing.get_origin(tag.annotation) is typing.Literal
                      and len(typing.get_args(tag.annotation)) == 1)  # one variant's tag
            label = typing.get_args(tag.annotation)[0] if is_tag else None
            inner = f"{path}{'[]' if 'list' in str(field.annotation) else ''}"
            inner += f"<{label}>" if isinstance(label, str) else ""
            rows += _rows(sub, inner + ".")
    return rows


def markdown() -> str:
    header = ["# Scenario fields", "",
              "Generated from `netsim/scenario/schema.py` by `netsim schema --markdown`. "
              "Units are in the names; `<kind>` marks the variant a `model`, `process` or "
              "`kind` field selects; distributions are a number or one of `uniform: [lo, hi]`, "
              "`normal: {mean, std, min, max}`, `choice: {values, weights}`, "
              "`exponential: {mean}`. Numbers are finite; integers, numbers and booleans are "
              "not interchangeable.", "",
              "| field | type | allowed | default | meaning |", "|---|---|---|---|---|"]
    return "\n".join(header + _rows(Scenario, "")) + "\n"
