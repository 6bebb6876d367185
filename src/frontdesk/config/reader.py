"""Strict, error-collecting readers over the loaded YAML tree.

Every getter records problems instead of raising, and returns a usable placeholder, so one run reports
every problem of the file (spec/config.md §1.3). Getters also mark their key as known, so whatever is
left over in a mapping at `finish()` is an unknown key (a typo).
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import pathlib
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from .models import ConfigIssue, SecretSource
from .values import describe, normalise_origin, normalise_url
from .yamlsrc import YamlSources

Check = Callable[[str], str | None]

ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MISSING: Any = object()


class KeyPath(NamedTuple):
    """`text` is the reported form with labels (`queues[1](sales)`); `plain` has none, for lookups."""

    text: str
    plain: str

    def key(self, key: object) -> KeyPath:
        k = str(key)
        return KeyPath(f"{self.text}.{k}" if self.text else k, f"{self.plain}.{k}" if self.plain else k)

    def at(self, i: int, label: str | None = None) -> KeyPath:
        suffix = f"({label})" if label else ""
        return KeyPath(f"{self.text}[{i}]{suffix}", f"{self.plain}[{i}]")


ROOT = KeyPath("", "")


class Ctx:
    """State shared by one validation run."""

    def __init__(self, sources: YamlSources | None, base_dir: pathlib.Path) -> None:
        self.issues: list[ConfigIssue] = []
        self.sources = sources if sources is not None else YamlSources()
        self.base_dir = base_dir
        self.short_timers = False
        self.secret_sink: dict[str, SecretSource] = {}
        self.secret_root = ""

    def error(self, path: KeyPath | str, message: str) -> None:
        p = path.text if isinstance(path, KeyPath) else path
        self.issues.append(ConfigIssue(severity="error", path=p or "(top level)", message=message))

    def warn(self, path: KeyPath | str, message: str) -> None:
        p = path.text if isinstance(path, KeyPath) else path
        self.issues.append(ConfigIssue(severity="warning", path=p or "(top level)", message=message))

    @property
    def error_count(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")

    def resolve_path(self, value: str) -> str:
        """Paths in the file are relative to the file's directory (§1.1)."""
        p = pathlib.Path(value).expanduser()
        if not p.is_absolute():
            p = self.base_dir / p
        return os.path.normpath(p)


class Obj:
    """One YAML mapping being read."""

    def __init__(self, ctx: Ctx, data: dict[Any, Any], path: KeyPath) -> None:
        self.ctx = ctx
        self.data = data
        self.path = path
        self.used: set[str] = set()
        self.foreign: dict[str, str] = {}  # key -> why it is not allowed here (face-specific keys)
        for dup in ctx.sources.duplicates.get(id(data), []):
            ctx.error(path.key(dup), "duplicate key (YAML keeps only the last value); remove one")
        for k in data:
            if not isinstance(k, str):
                ctx.error(path, f"keys must be strings, got {self.describe_key(k)}; write the key in quotes")

    def describe_key(self, k: Any) -> str:
        return describe(k)

    def p(self, key: str) -> KeyPath:
        return self.path.key(key)

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key, _MISSING)

    def src(self, key: str) -> str | None:
        return self.ctx.sources.source_text(self.data, key)

    def type_error(self, key: str, expected: str, value: Any, *, secret: bool = False) -> None:
        found = describe(value, self.src(key), secret=secret)
        self.ctx.error(self.p(key), f"must be {expected}, got {found}")

    # ----------------------------------------------------------------------------------- scalars

    def _string(
        self, key: str, value: Any, check: Check | None, max_len: int | None, min_len: int
    ) -> str | None:
        if not isinstance(value, str):
            self.type_error(key, "a string", value)
            return None
        if len(value) < min_len:
            self.ctx.error(
                self.p(key),
                "must not be empty" if min_len == 1 else f"must have at least {min_len} characters",
            )
            return None
        if max_len is not None and len(value) > max_len:
            self.ctx.error(self.p(key), f"must have at most {max_len} characters, got {len(value)}")
            return None
        if check is not None:
            problem = check(value)
            if problem:
                self.ctx.error(self.p(key), problem)
                return None
        return value

    def req_string(
        self, key: str, *, check: Check | None = None, max_len: int | None = None, min_len: int = 1
    ) -> str:
        value = self.get(key)
        if value is _MISSING:
            self.ctx.error(self.p(key), "is required")
            return ""
        return self._string(key, value, check, max_len, min_len) or ""

    def string(
        self,
        key: str,
        default: str,
        *,
        check: Check | None = None,
        max_len: int | None = None,
        min_len: int = 0,
    ) -> str:
        value = self.get(key)
        if value is _MISSING:
            return default
        result = self._string(key, value, check, max_len, min_len)
        return default if result is None else result

    def opt_string(
        self, key: str, *, check: Check | None = None, max_len: int | None = None, min_len: int = 0
    ) -> str | None:
        value = self.get(key)
        if value is _MISSING or value is None:
            return None
        return self._string(key, value, check, max_len, min_len)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.type_error(key, "true or false", value)
            return default
        src = self.src(key)
        if src is not None and src.lower() not in ("true", "false"):
            self.ctx.error(self.p(key), f"must be true or false, got {src} (YAML 1.1 spelling of a boolean)")
        return value

    def _int(self, key: str, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.type_error(key, "an integer", value)
            return None
        src = self.src(key)
        if src is not None and not re.fullmatch(r"[-+]?[0-9]+", src):
            self.ctx.error(
                self.p(key),
                f"must be an integer written in decimal digits, got {src} (YAML reads it as {value})",
            )
            return None
        return value

    def _range(self, key: str, value: int, lo: int | None, hi: int | None) -> bool:
        if (lo is None or value >= lo) and (hi is None or value <= hi):
            return True
        if lo is not None and hi is not None:
            self.ctx.error(self.p(key), f"must be an integer from {lo} to {hi}, got {value}")
        elif lo is not None:
            self.ctx.error(self.p(key), f"must be an integer of at least {lo}, got {value}")
        else:
            self.ctx.error(self.p(key), f"must be an integer of at most {hi}, got {value}")
        return False

    def integer(self, key: str, default: int, lo: int | None = None, hi: int | None = None) -> int:
        value = self.get(key)
        if value is _MISSING:
            return default
        v = self._int(key, value)
        if v is None or not self._range(key, v, lo, hi):
            return default
        return v

    def opt_integer(self, key: str, lo: int | None = None, hi: int | None = None) -> int | None:
        value = self.get(key)
        if value is _MISSING or value is None:
            return None
        v = self._int(key, value)
        if v is None or not self._range(key, v, lo, hi):
            return None
        return v

    def seconds(
        self, key: str, default: int, lo: int, hi: int | None, test_min: int, *, zero_ok: bool = False
    ) -> int:
        """A timer (§6): below `lo` only down to `test_min`, and only with `server.allow_short_timers`."""
        value = self.get(key)
        if value is _MISSING:
            return default
        v = self.check_seconds(key, value, lo, hi, test_min, zero_ok=zero_ok)
        return default if v is None else v

    def check_seconds(
        self, key: str, value: Any, lo: int, hi: int | None, test_min: int, *, zero_ok: bool = False
    ) -> int | None:
        v = self._int(key, value)
        if v is None:
            return None
        if zero_ok and v == 0:
            return v
        low = min(lo, test_min) if self.ctx.short_timers else lo
        if v >= low and (hi is None or v <= hi):
            return v
        zero = "0 or " if zero_ok else ""
        rng = f"from {lo} to {hi}" if hi is not None else f"of at least {lo}"
        msg = f"must be {zero}an integer number of seconds {rng}, got {v}"
        if not self.ctx.short_timers and test_min <= v < lo:
            msg += f" (values down to {test_min} need server.allow_short_timers: true)"
        elif self.ctx.short_timers and v < low:
            msg += f" (the test minimum with server.allow_short_timers is {test_min})"
        self.ctx.error(self.p(key), msg)
        return None

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.get(key)
        if value is _MISSING:
            return default
        if not isinstance(value, str) or value not in choices:
            self.type_error(key, "one of " + ", ".join(choices), value)
            return default
        return value

    def url(self, key: str) -> str | None:
        raw = self.opt_string(key)
        if raw is None:
            return None
        url, problem = normalise_url(raw)
        if problem:
            self.ctx.error(self.p(key), problem)
        return url

    def path_value(self, key: str, *, must_exist: bool = True) -> str | None:
        raw = self.opt_string(key, min_len=1)
        if raw is None:
            return None
        resolved = self.ctx.resolve_path(raw)
        if must_exist and not os.path.isfile(resolved):
            self.ctx.error(self.p(key), f"file not found: {resolved}")
        return resolved

    # ----------------------------------------------------------------------------------- structure

    def obj(self, key: str, *, nullable: bool = False) -> Obj | None:
        """A nested mapping; missing means all defaults. Returns None only for an allowed null."""
        value = self.get(key)
        if value is _MISSING:
            return Obj(self.ctx, {}, self.p(key))
        if value is None and nullable:
            return None
        if not isinstance(value, dict):
            self.type_error(key, "a mapping", value)
            return Obj(self.ctx, {}, self.p(key))
        return Obj(self.ctx, value, self.p(key))

    def items(self, key: str) -> list[tuple[int, Any]] | None:
        """A list's elements; None when the key is absent (so callers apply the default)."""
        value = self.get(key)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            self.type_error(key, "a list", value)
            return []
        return list(enumerate(value))

    def item_obj(self, key: str, index: int, value: Any, label_key: str | None) -> Obj | None:
        container = self.data.get(key)
        label = value.get(label_key) if isinstance(value, dict) and label_key else None
        path = self.p(key).at(index, label if isinstance(label, str) else None)
        if not isinstance(value, dict):
            src = self.ctx.sources.source_text(container, index)
            self.ctx.error(path, f"must be a mapping, got {describe(value, src)}")
            return None
        return Obj(self.ctx, value, path)

    def str_list(
        self, key: str, default: list[str], *, check: Check | None = None, unique: bool = True
    ) -> list[str]:
        elements = self.items(key)
        if elements is None:
            return list(default)
        container = self.data.get(key)
        result: list[str] = []
        for i, v in elements:
            path = self.p(key).at(i)
            if not isinstance(v, str):
                src = self.ctx.sources.source_text(container, i)
                self.ctx.error(path, f"must be a string, got {describe(v, src)}")
                continue
            problem = check(v) if check else None
            if problem:
                self.ctx.error(path, problem)
                continue
            if unique and v in result:
                self.ctx.error(path, f"duplicate value {json.dumps(v)}")
                continue
            result.append(v)
        return result

    def origins(self, key: str, default: list[str]) -> list[str]:
        raw = self.str_list(key, default, unique=True)
        if raw == ["*"]:
            return raw
        result: list[str] = []
        for i, v in enumerate(raw):
            if v == "*":
                self.ctx.error(self.p(key).at(i), 'the wildcard "*" must be the only element of the list')
                continue
            origin, problem = normalise_origin(v)
            if problem or origin is None:
                self.ctx.error(self.p(key).at(i), problem or "invalid origin")
            else:
                result.append(origin)
        return result

    def cidr_list(self, key: str, default: list[str]) -> list[str]:
        result: list[str] = []
        for i, v in enumerate(self.str_list(key, default, unique=False)):
            try:
                result.append(str(ipaddress.ip_network(v, strict=False)))
            except ValueError:
                self.ctx.error(
                    self.p(key).at(i),
                    f"must be an IPv4 or IPv6 address or network like 10.0.0.0/8, got {json.dumps(v)}",
                )
        return result

    def json_value(self, key: str) -> dict[str, Any] | None:
        """A free-form JSON object: any keys, but only values JSON can carry."""
        value = self.get(key)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, dict):
            self.type_error(key, "a mapping", value)
            return None
        self._check_json(value, self.p(key))
        return value

    def _check_json(self, value: Any, path: KeyPath) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    self.ctx.error(path, f"JSON object keys must be strings, got {describe(k)}")
                self._check_json(v, path.key(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self._check_json(v, path.at(i))
        elif not (value is None or isinstance(value, str | int | float | bool)):
            self.ctx.error(path, f"must be a JSON value, got {describe(value)}; write it in quotes")

    def secret(self, key: str, *, required: bool = False, absent_ok: bool = False) -> str | None:
        """A `secret` (§5): `K`, `K_file` or `K_env`, exactly one; resolved now, its form remembered."""
        names = (("value", key), ("file", key + "_file"), ("env", key + "_env"))
        for _, k in names:
            self.used.add(k)
        given = [(form, k) for form, k in names if k in self.data]
        if len(given) > 1:
            self.ctx.error(
                self.p(key),
                f"give exactly one of {key}, {key}_file, {key}_env; got " + " and ".join(k for _, k in given),
            )
            return None
        if not given:
            if required and not absent_ok:
                self.ctx.error(self.p(key), f"is required (as {key}, {key}_file or {key}_env)")
            return None
        form, k = given[0]
        raw = self.data[k]
        if not isinstance(raw, str) or not raw:
            self.type_error(k, "a non-empty string", raw, secret=form == "value")
            return None
        reference: str | None = None
        value: str | None = raw
        if form == "file":
            reference = self.ctx.resolve_path(raw)
            try:
                value = pathlib.Path(reference).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
                self.ctx.error(self.p(k), f"cannot read secret file {reference}: {reason}")
                return None
            value = value[:-2] if value.endswith("\r\n") else value[:-1] if value.endswith("\n") else value
        elif form == "env":
            reference = raw
            if not ENV_NAME_RE.fullmatch(raw):
                self.ctx.error(self.p(k), f"must be an environment variable name, got {json.dumps(raw)}")
                return None
            value = os.environ.get(raw)
            if value is None:
                self.ctx.error(self.p(k), f"environment variable {raw} is not set")
                return None
            if value == "":
                self.ctx.error(self.p(k), f"environment variable {raw} is empty")
                return None
        rel = self.p(key).plain
        root = self.ctx.secret_root
        if root and rel.startswith(root + "."):
            rel = rel[len(root) + 1 :]
        self.ctx.secret_sink[rel] = SecretSource(form=form, reference=reference)  # type: ignore[arg-type]
        return value

    def forbid(self, keys: dict[str, str]) -> None:
        """Keys that exist elsewhere but not here (face keys on another face's entry point)."""
        self.foreign.update(keys)

    def finish(self) -> None:
        for k in self.data:
            if not isinstance(k, str) or k in self.used:
                continue
            if k in self.foreign:
                self.ctx.error(self.p(k), self.foreign[k])
                continue
            close = difflib.get_close_matches(k, sorted(self.used), n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]}?" if close else ""
            self.ctx.error(self.p(k), f"unknown key{hint}")
