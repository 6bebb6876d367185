"""Finding, reading and checking the configuration file (spec/config.md §1.1–1.3)."""

from __future__ import annotations

import os
import pathlib
import re
from typing import Any

import msgspec
import yaml

from .models import Config, ConfigIssue, SecretSource
from .reader import Ctx
from .server import apply_overrides
from .validate import validate_tree
from .yamlsrc import YamlSources, load_yaml

MASK = "***"


class ConfigError(Exception):
    """Raised by `load_config` when the file has errors; `issues` holds every problem, in line form."""

    def __init__(self, issues: list[ConfigIssue], *, unreadable: bool = False) -> None:
        self.issues = issues
        self.unreadable = unreadable  # the file could not be read or parsed (check-config exit code 2)
        errors = [i for i in issues if i.severity == "error"]
        summary = "; ".join(i.line() for i in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"invalid configuration: {summary}{more}")


def demo_config_path() -> pathlib.Path:
    """The packaged byte-identical copy of design/demo.yaml, used when no file is named."""
    return pathlib.Path(__file__).resolve().parent.parent / "demo.yaml"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _read(path: pathlib.Path) -> str:
    return path.read_text(encoding="utf-8")


def _parse(text: str) -> tuple[Any, YamlSources]:
    return load_yaml(text)


def load_config(
    path: str | os.PathLike[str] | None = None, *, overrides: dict[str, object] | None = None
) -> Config:
    """Loads and validates; `path` None means FRONTDESK_CONFIG, else the built-in demo (§1.1).

    `overrides` holds the command-line flags `host`, `port`, `data_dir`; they beat FRONTDESK_HOST,
    FRONTDESK_PORT and FRONTDESK_DATA_DIR, which beat the file.
    """
    if path is None:
        env_path = os.environ.get("FRONTDESK_CONFIG")
        path = env_path if env_path else demo_config_path()
    file_path = pathlib.Path(path)
    shown = os.fspath(path)
    try:
        text = _read(file_path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else _one_line(str(exc))
        issue = ConfigIssue(severity="error", path=shown, message=f"cannot read the file: {reason}")
        raise ConfigError([issue], unreadable=True) from exc
    try:
        data, sources = _parse(text)
    except yaml.YAMLError as exc:
        issue = ConfigIssue(severity="error", path=shown, message=f"not valid YAML: {_one_line(str(exc))}")
        raise ConfigError([issue], unreadable=True) from exc
    pre = Ctx(sources, file_path.parent)
    if isinstance(data, dict):
        apply_overrides(data, dict(overrides or {}), pre)
    config, issues = validate_tree(
        data, sources=sources, base_dir=file_path.resolve().parent, pre_issues=pre.issues
    )
    if config is None:
        raise ConfigError(issues)
    config.source_path = file_path.resolve()
    return config


def check_config_text(text: str, *, base_dir: pathlib.Path) -> tuple[Config | None, list[ConfigIssue]]:
    """Validates YAML text without touching the environment's overrides (what check-config checks)."""
    try:
        data, sources = _parse(text)
    except yaml.YAMLError as exc:
        return None, [
            ConfigIssue(severity="error", path="(file)", message=f"not valid YAML: {_one_line(str(exc))}")
        ]
    return validate_tree(data, sources=sources, base_dir=base_dir)


def check_config_cli(path: str, print_normalised: bool) -> int:
    """`frontdesk check-config FILE [--print]`: prints every problem; exit 0 ok, 1 errors, 2 unreadable."""
    file_path = pathlib.Path(path)
    try:
        text = _read(file_path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else _one_line(str(exc))
        print(f"error: {path}: cannot read the file: {reason}")
        return 2
    try:
        data, sources = _parse(text)
    except yaml.YAMLError as exc:
        print(f"error: {path}: not valid YAML: {_one_line(str(exc))}")
        return 2
    config, issues = validate_tree(data, sources=sources, base_dir=file_path.resolve().parent)
    for issue in issues:
        print(issue.line())
    if config is None:
        return 1
    config.source_path = file_path.resolve()
    if print_normalised:
        print(normalised_yaml(config), end="")
    return 0


def normalised_dict(config: Config) -> dict[str, Any]:
    """The configuration with defaults filled in and every secret and hash replaced by `***`."""
    out: dict[str, Any] = msgspec.to_builtins(config, enc_hook=str)
    out.pop("source_path", None)
    out.pop("warnings", None)
    server = out["server"]
    _mask_sources(server, server.pop("secret_sources", {}))
    for tenant in out["tenants"]:
        _mask_sources(tenant, tenant.pop("secret_sources", {}))
        for user in tenant["users"]:
            _mask_key(user, "password_hash")
        for face in ("rightnow", "fusion"):
            for cred in tenant["faces"][face]["credentials"]:
                _mask_key(cred, "password_hash")
        seed = tenant["crm"].get("seed")
        users = seed.get("users") if isinstance(seed, dict) else None
        for su in users if isinstance(users, list) else []:
            if isinstance(su, dict):
                for key in ("PasswordHash", "Password"):
                    _mask_key(su, key)
    return out


def normalised_yaml(config: Config) -> str:
    return yaml.safe_dump(normalised_dict(config), sort_keys=False, allow_unicode=True, width=110)


def _mask_key(obj: dict[str, Any], key: str) -> None:
    if obj.get(key) is not None:
        obj[key] = MASK


def _mask_sources(root: dict[str, Any], sources: dict[str, Any]) -> None:
    for rel in sources:
        tokens = re.findall(r"\[(\d+)\]|([^.\[\]]+)", rel)
        node: Any = root
        for index, name in tokens[:-1]:
            node = node[int(index)] if index else node.get(name) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict) and tokens:
            _mask_key(node, tokens[-1][1])


def secret_source(sources: dict[str, SecretSource], key_path: str) -> SecretSource | None:
    """How the secret at `key_path` (relative to its server or tenant) was written, if given."""
    return sources.get(key_path)
