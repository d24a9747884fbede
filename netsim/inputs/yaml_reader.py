"""Safe, bounded YAML: plain data from one pass over the parser's events.

PyYAML's `safe_load` already refuses Python objects, but it recurses once per nesting level
(a deep file raises RecursionError), expands aliases without limit (a 525-byte alias bomb
ran for minutes), keeps the last of duplicate keys silently, and reads `1e9` as a string.
This reader builds the data itself from the event stream (the C parser where PyYAML has it),
with a bound on nesting and on the values aliases expand to, refuses duplicate keys naming
both lines, reads YAML 1.2 exponent floats as numbers, and records the line of every field
for error messages. Errors say where and what, never other contents of the file."""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import ScalarNode

MAX_DEPTH = 64
MAX_VALUES = 2_000_000  # values after alias expansion: what 8 MiB of YAML can hold, not a bomb

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser: ~10x faster
_RESOLVER = yaml.SafeLoader("")  # resolves a plain scalar's implicit tag
_CONSTRUCTOR = SafeConstructor()
_STANDARD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_STANDARD + name for name in ("null", "bool", "int", "float", "str")}
_MAP_TAG, _SEQ_TAG = _STANDARD + "map", _STANDARD + "seq"
_FLOAT_1_2 = re.compile(r"^[-+]?(\d[\d_]*(\.\d*)?|\.\d+)[eE][-+]?\d+$")  # 1e9, 2.5E-3

Path_ = tuple  # a field path: keys and list indices from the top


class YamlError(ValueError):
    """Input that is not usable YAML; `line` is 1-based where known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


def parse(text: str) -> tuple[Any, dict[Path_, int]]:
    """(data, line of each field path) of one YAML document; YamlError if unusable."""
    builder = _Builder()
    try:
        for event in yaml.parse(text, Loader=_Loader):
            builder.feed(event)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        column = f", column {mark.column + 1}" if mark is not None else ""
        what = err.problem or err.context or "syntax error"
        raise YamlError(f"not valid YAML: {what}{column}", line) from None
    except yaml.YAMLError as err:  # e.g. a control character the reader refuses
        raise YamlError(f"not valid YAML: {_first_line(err)}") from None
    return builder.result, builder.lines


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0][:200] if str(err) else type(err).__name__


class _Builder:
    """Plain data from YAML events; containers under construction on a stack."""

    def __init__(self):
        self.stack: list[list] = []  # [container, path, pending key, key line, size, line]
        self.anchors: dict[str, tuple[Any, int]] = {}  # name -> (value, values it holds)
        self.lines: dict[Path_, int] = {}
        self.values = 0
        self.documents = 0
        self.result: Any = None

    def feed(self, event: yaml.Event) -> None:
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise YamlError("more than one YAML document (--- separates documents)", line)
        elif isinstance(event, yaml.ScalarEvent):
            self._add(self._scalar(event, line), 1, line, event.anchor)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                raise YamlError(f"alias *{event.anchor} before its anchor", line)
            value, size = self.anchors[event.anchor]
            self._count(size, line)
            # a copy: a later --set on one place must not change the other
            self._add(copy.deepcopy(value), size, line, None)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            mapping = isinstance(event, yaml.MappingStartEvent)
            expected = _MAP_TAG if mapping else _SEQ_TAG
            if event.tag not in (None, "!", expected):
                raise YamlError(f"tag {_shown(event.tag)} is not allowed (plain data only)",
                                line)
            if len(self.stack) >= MAX_DEPTH:
                raise YamlError(f"nested more than {MAX_DEPTH} levels deep", line)
            self._count(1, line)
            path = self._child_path(line)
            self.stack.append([{} if mapping else [], path, _NO_KEY, None, 1, line,
                               event.anchor])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            container, path, _, _, size, start, anchor = self.stack.pop()
            if path is not None:
                self.lines.setdefault(path, start)
            self._add(container, size, start, anchor, placed=True)

    def _count(self, n: int, line: int | None) -> None:
        self.values += n
        if self.values > MAX_VALUES:
            raise YamlError(f"more than {MAX_VALUES:,} values (aliases included): too "
                            "large for a scenario", line)

    def _child_path(self, line: int | None) -> Path_ | None:
        """The field path of the next value placed in the top container (None if unknown,
        inside an aliased copy or a mapping key)."""
        if not self.stack:
            return ()
        container, path, key = self.stack[-1][0], self.stack[-1][1], self.stack[-1][2]
        if path is None:
            return None
        if isinstance(container, list):
            return (*path, len(container))
        return None if key is _NO_KEY else (*path, key)

    def _add(self, value: Any, size: int, line: int | None, anchor: str | None,
             placed: bool = False) -> None:
        """Place a finished value in the container being built (or as the result);
        `placed`: a container whose own line is already recorded."""
        if anchor is not None:
            self.anchors[anchor] = (value, size)
        if not self.stack:
            self.result = value
            return
        top = self.stack[-1]
        container, path = top[0], top[1]
        top[4] += size
        if isinstance(container, list):
            if path is not None and not placed:
                self.lines[(*path, len(container))] = line
            container.append(value)
            return
        if top[2] is _NO_KEY:  # this value is a key
            if isinstance(value, (dict, list)):
                raise YamlError("a mapping or list used as a key", line)
            if path is not None and (*path, value) in self.lines:
                raise YamlError(f"duplicate key {_shown(value)} (first on line "
                                f"{self.lines[(*path, value)]})", line)
            top[2], top[3] = value, line
            return
        key = top[2]
        top[2] = _NO_KEY
        if key == "<<":  # a merge key: the keys of the merged mappings not set here
            for merged in value if isinstance(value, list) else [value]:
                if not isinstance(merged, dict):
                    raise YamlError("<< must merge a mapping or a list of mappings", line)
                for k, v in merged.items():
                    container.setdefault(k, v)
            return
        if path is not None:
            self.lines[(*path, key)] = top[3]
        container[key] = value

    def _scalar(self, event: yaml.ScalarEvent, line: int | None) -> Any:
        self._count(1, line)
        tag = event.tag
        if tag in (None, "!"):
            if event.implicit[0]:  # plain: resolved like YAML 1.1, plus 1.2's exponents
                tag = _RESOLVER.resolve(ScalarNode, event.value, (True, False))
                if tag == _STANDARD + "str" and _FLOAT_1_2.match(event.value):
                    tag = _STANDARD + "float"
            else:
                tag = _STANDARD + "str"
        if tag == _STANDARD + "merge":
            return "<<"
        if tag == _STANDARD + "timestamp":
            tag = _STANDARD + "str"  # a date is text here; no field takes one
        if tag not in _SCALAR_TAGS:
            raise YamlError(f"tag {_shown(tag)} is not allowed (plain data only)", line)
        try:  # the constructor's function for the tag (construct_object would keep a cache)
            return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, ScalarNode(tag, event.value))
        except ValueError:  # an integer of more than 4,300 digits
            raise YamlError(f"value {_shown(event.value)} ({len(event.value):,} characters) "
                            "cannot be read as a number", line) from None
        except ConstructorError as err:
            raise YamlError(f"value {_shown(event.value)}: {err.problem}", line) from None


_NO_KEY = object()


def _shown(value: Any, limit: int = 60) -> str:
    """A value for an error message, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
