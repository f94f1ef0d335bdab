"""A safe YAML reader for survey files: it never constructs arbitrary objects. It composes
the node tree, refuses explicit tags, bounds alias expansion (billion laughs) and
duplicate keys, and builds plain dicts and lists while remembering where each value came
from (line and column by path)."""

from __future__ import annotations

from typing import Any

from alignscan.survey.problems import Loc

MAX_NODES = 200_000  # after alias expansion; a survey has a few hundred


_ALLOWED_TAGS = {
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "map", "seq")
}


class _YamlProblem(Exception):
    def __init__(self, line: int, column: int, message: str):
        self.line, self.column, self.message = line, column, message
        super().__init__(message)


def _mark(node: Any) -> tuple[int, int]:
    m = node.start_mark
    return m.line + 1, m.column + 1


def _build(root: Any, constructor: Any) -> tuple[Any, dict[Loc, tuple[int, int]]]:
    """Turn a composed YAML node tree into plain Python values plus a location map."""
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    locations: dict[Loc, tuple[int, int]] = {}
    budget = [MAX_NODES]

    def build(node: Any, loc: Loc, stack: frozenset[int]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise _YamlProblem(
                *_mark(node), "document expands to too many values (aliases nested too deeply?)"
            )
        if id(node) in stack:
            raise _YamlProblem(*_mark(node), "an alias refers to itself (recursive anchor)")
        tag = node.tag.value if hasattr(node.tag, "value") else node.tag
        if tag not in _ALLOWED_TAGS:
            raise _YamlProblem(*_mark(node), f"YAML tag {tag!r} is not allowed in a survey file")
        locations.setdefault(loc, _mark(node))
        inner = stack | {id(node)}
        if isinstance(node, ScalarNode):
            return _scalar(constructor, node)
        if isinstance(node, SequenceNode):
            return [build(child, (*loc, i), inner) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    raise _YamlProblem(*_mark(key_node), "mapping keys must be plain text")
                if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == "<<":
                    raise _YamlProblem(*_mark(key_node), "merge keys (<<) are not supported")
                key = _scalar(constructor, key_node)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    raise _YamlProblem(*_mark(key_node), "mapping keys must be plain text")
                key = "" if key is None else key if isinstance(key, str) else str(key)
                if key in out:
                    first = locations.get((*loc, key), (0, 0))[0]
                    raise _YamlProblem(
                        *_mark(key_node), f"duplicate key {key!r} (first defined on line {first})"
                    )
                locations[(*loc, key)] = _mark(key_node)
                out[key] = build(value_node, (*loc, key), inner)
            return out
        raise _YamlProblem(*_mark(node), "unsupported YAML node")

    return build(root, (), frozenset()), locations


def _scalar(constructor: Any, node: Any) -> Any:
    """One scalar; a number too long to convert (Python's 4,300-digit limit) or a tag
    that is not allowed (also on a mapping key) is a problem."""
    tag = node.tag.value if hasattr(node.tag, "value") else node.tag
    if tag not in _ALLOWED_TAGS:
        raise _YamlProblem(*_mark(node), f"YAML tag {tag!r} is not allowed in a survey file")
    try:
        return constructor.construct_object(node, deep=True)
    except ValueError as exc:
        if "digits" in str(exc):
            message = "this number is too long; quote it if it is text"
            raise _YamlProblem(*_mark(node), message) from None
        raise _YamlProblem(*_mark(node), f"invalid value: {_first_line(exc)}") from None
    except Exception as exc:  # ruamel raises ConstructorError and friends (`!!int abc`)
        raise _YamlProblem(*_mark(node), f"invalid value: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _shallow(text: str, limit: int = 64) -> bool:
    """Cheap over-estimate of nesting: flow brackets and indentation both under `limit`."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    indent = max((len(line) - len(line.lstrip(" -")) for line in text.splitlines()), default=0)
    return deepest <= limit and indent <= 4 * limit


def parse_yaml(text: str) -> tuple[Any, dict[Loc, tuple[int, int]]]:
    """Parse YAML 1.2 text safely. Raises _YamlProblem with a position on any problem."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    # The C parser (ruamel.yaml.clib) is about 7x faster but follows libyaml, which rejects
    # some valid YAML 1.2 plain scalars; the pure-Python parser is the authority on errors.
    # Deeply nested input can overflow the C stack, so it only sees shallow documents.
    if _shallow(text):
        yaml = YAML(typ="safe")
        try:
            nodes = list(yaml.compose_all(text))
        except (YAMLError, RecursionError):
            nodes = None
    else:
        nodes = None
    try:
        if nodes is None:
            yaml = YAML(typ="safe", pure=True)
            nodes = list(yaml.compose_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "invalid YAML"
        if "\\t" in message or "'\\t'" in message:
            message = "tab characters can't be used for indentation in YAML; use spaces"
        raise _YamlProblem(line, col, f"YAML syntax error: {message}") from None
    except YAMLError as exc:
        raise _YamlProblem(0, 0, f"YAML error: {exc}") from None
    except RecursionError:
        raise _YamlProblem(0, 0, "YAML is nested too deeply") from None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        raise _YamlProblem(1, 1, "the file is empty; a survey definition is a YAML mapping")
    if len(nodes) > 1:
        raise _YamlProblem(*_mark(nodes[1]), "only one YAML document per survey file")
    try:
        return _build(nodes[0], yaml.constructor)
    except RecursionError:
        raise _YamlProblem(0, 0, "YAML is nested too deeply") from None
