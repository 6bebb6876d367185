"""Safe YAML loading that remembers how each unquoted scalar was written.

PyYAML resolves plain scalars with YAML 1.1 rules (`1:1` -> 61, `no` -> False, `2025-12-25` -> date).
The spec wants those refused with a clear message, and the message is only clear if it can quote what
the user actually typed; so the loader records the source text of every plain non-string scalar, keyed
by (id of the containing dict/list, key or index). Duplicate mapping keys, which PyYAML silently
collapses, are recorded too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

_STR_TAG = "tag:yaml.org,2002:str"


class YamlSources:
    """Side tables filled while loading; valid as long as the loaded tree is alive."""

    def __init__(self) -> None:
        self.plain: dict[tuple[int, Any], str] = {}
        self.duplicates: dict[int, list[Any]] = {}

    def source_text(self, container: object, key: Any) -> str | None:
        try:
            return self.plain.get((id(container), key))
        except TypeError:  # unhashable key
            return None


class _Loader(yaml.SafeLoader):
    sources: YamlSources

    def _note(self, container: object, key: Any, node: yaml.Node) -> None:
        if isinstance(node, ScalarNode) and node.style is None and node.tag != _STR_TAG:
            try:
                self.sources.plain[(id(container), key)] = str(node.value)
            except TypeError:
                pass

    def _construct_map(self, node: MappingNode) -> Iterator[dict[Any, Any]]:
        data: dict[Any, Any] = {}
        yield data
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found an unhashable key",
                    key_node.start_mark,
                ) from None
            if key in seen:
                self.sources.duplicates.setdefault(id(data), []).append(key)
            seen.add(key)
            data[key] = self.construct_object(value_node, deep=True)
            self._note(data, key, value_node)

    def _construct_seq(self, node: SequenceNode) -> Iterator[list[Any]]:
        data: list[Any] = []
        yield data
        for index, child in enumerate(node.value):
            data.append(self.construct_object(child, deep=True))
            self._note(data, index, child)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader._construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader._construct_seq)


def load_yaml(text: str) -> tuple[Any, YamlSources]:
    """Parse one YAML document safely; raises `yaml.YAMLError` on syntax errors."""
    loader = _Loader(text)
    loader.sources = YamlSources()
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    return data, loader.sources
