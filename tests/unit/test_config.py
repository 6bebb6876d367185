"""The configuration file: demo validity, strict types, ranges, references, secrets, CLI, overrides."""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import pytest
import yaml

from frontdesk.config import (
    DEMO_MESSAGE,
    Config,
    ConfigError,
    ConfigIssue,
    Lockout,
    check_config_cli,
    check_config_text,
    demo_config_path,
    load_config,
    normalised_yaml,
    parse_config_dict,
)

REPO = pathlib.Path(__file__).parents[2]
SHARED = REPO.parent / "shared"
DEMO_TEXT = demo_config_path().read_text(encoding="utf-8")
T0 = "tenants[0](acme.test)"

MINIMAL: dict[str, Any] = {
    "version": 1,
    "tenants": [
        {
            "id": "acme.test",
            "queues": [{"name": "support"}, {"name": "sales"}],
            "users": [{"login": "ann", "profile": {"first_name": "Ann", "last_name": "Lee"}}],
        }
    ],
}


def minimal() -> dict[str, Any]:
    return copy.deepcopy(MINIMAL)


def check_dict(data: dict[str, Any], tmp_path: pathlib.Path) -> tuple[Config | None, list[ConfigIssue]]:
    return check_config_text(yaml.safe_dump(data, sort_keys=False), base_dir=tmp_path)


def errors(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    return [i for i in issues if i.severity == "error"]


def assert_error(issues: list[ConfigIssue], path: str, fragment: str) -> None:
    found = [i for i in errors(issues) if i.path == path]
    assert found, f"no error at {path}; got {[i.line() for i in issues]}"
    assert any(fragment in i.message for i in found), [i.line() for i in found]


def demo_data() -> dict[str, Any]:
    data = yaml.safe_load(DEMO_TEXT)
    assert isinstance(data, dict)
    return data


# ------------------------------------------------------------------------------------------- demo


def test_demo_validates_with_only_the_demo_warning(tmp_path: pathlib.Path) -> None:
    config, issues = check_config_text(DEMO_TEXT, base_dir=tmp_path)
    assert config is not None
    assert issues == [
        ConfigIssue(severity="warning", path="tenants[0](example.com).demo", message=DEMO_MESSAGE)
    ]
    assert config.warnings == issues


def test_demo_values_and_helpers() -> None:
    config = load_config(demo_config_path())
    assert config.source_path == demo_config_path()
    tenant = config.tenants[0]
    assert config.server.default_tenant == "example.com"
    assert config.server.store.auto_migrate is True
    assert config.server.store.url.startswith("sqlite:///") and config.server.store.url.endswith(
        "/var/frontdesk.db"
    )
    assert [q.number for q in tenant.queues] == [1, 2, 3, 4]
    ece = tenant.entry_point("ece", "1000")
    assert (
        ece is not None and ece.max_queue_depth == 20 and ece.push_kinds == [] and ece.read_receipts is None
    )
    assert ece.inactivity_timeout(tenant) == 600
    assert ece.warning_text(tenant).startswith("Are you still there?")
    assert ece.timeout_text(tenant) == "This chat was closed because there was no reply."
    widget = tenant.entry_point("servicepattern", "widget")
    assert widget is not None and widget.post_chat_survey is not None
    assert widget.post_chat_survey.timeout_seconds == 120
    assert widget.agent_availability_required is None
    assert tenant.faces.rightnow.default_interface == "example"
    assert tenant.faces.rightnow.auth_lockout == Lockout(
        enabled=False, max_failures=10, window_seconds=60, lock_seconds=60
    )
    assert tenant.faces.crmod.auth_lockout.window_seconds == 300
    assert tenant.faces.fusion.pool_id == "1:1"
    assert tenant.faces.rightnow.credentials[0].password == "demo"
    assert tenant.user("alex") is not None and tenant.queue("overflow") is not None
    assert tenant.upload_max_bytes(config.server) == 26214400
    assert tenant.faces.ece.templates["agent_join_msg"] == "{0} has joined the chat."
    assert tenant.crm.seed is not None and tenant.crm.seed["idPrefix"] == "1QA2"


def test_demo_copies_are_byte_identical() -> None:
    packaged = demo_config_path().read_bytes()
    assert (REPO / "examples" / "demo.yaml").read_bytes() == packaged
    design = SHARED / "design" / "demo.yaml"
    if design.exists():
        assert design.read_bytes() == packaged


def test_print_masks_secrets_and_hashes(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_config_cli(str(demo_config_path()), True) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"warning: tenants[0](example.com).demo: {DEMO_MESSAGE}\n")
    printed = yaml.safe_load(out.split("\n", 1)[1])
    tenant = printed["tenants"][0]
    assert tenant["faces"]["rightnow"]["credentials"][0]["password"] == "***"
    assert tenant["users"][0]["password_hash"] == "***"
    assert tenant["crm"]["seed"]["users"][0]["PasswordHash"] == "***"
    assert "$argon2" not in out and "password: demo" not in out
    assert "secret_sources" not in out and "source_path" not in out
    assert tenant["dispositions"][0] == {"code": "resolved", "label": "Resolved"}


# ------------------------------------------------------------------------------------------- defaults


def test_defaults_are_filled(tmp_path: pathlib.Path) -> None:
    config, issues = check_dict(minimal(), tmp_path)
    assert config is not None, issues
    assert issues == []
    tenant = config.tenants[0]
    assert config.server.default_tenant == "acme.test"
    assert tenant.display_name == "acme.test"
    assert [(q.number, q.skills, q.display_name) for q in tenant.queues] == [
        (1, ["support"], "support"),
        (2, ["sales"], "sales"),
    ]
    ann = tenant.users[0]
    assert (ann.profile.display_name, ann.profile.screen_name, ann.roles) == ("Ann Lee", "Ann", ["agent"])
    assert ann.channels == ["servicepattern", "rightnow", "fusion", "ece"]
    assert [d.code for d in tenant.dispositions] == ["resolved", "follow_up", "escalated", "no_response"]
    assert [r.code for r in tenant.not_ready_reasons] == ["break", "lunch", "meeting", "training"]
    assert tenant.faces.native.auth_lockout == Lockout(
        enabled=True, max_failures=5, window_seconds=300, lock_seconds=300
    )
    assert tenant.message_max_chars(config.server) == 10000


def test_user_without_names_uses_login(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["tenants"][0]["users"] = [{"login": "zed"}]
    config, _ = check_dict(data, tmp_path)
    assert config is not None
    assert (
        config.tenants[0].users[0].profile.display_name,
        config.tenants[0].users[0].profile.screen_name,
    ) == (
        "zed",
        "zed",
    )


def test_postgresql_store_defaults_and_warning(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["server"] = {"store": {"kind": "postgresql", "url": "postgresql://fd@db/fd"}}
    config, issues = check_dict(data, tmp_path)
    assert config is not None
    assert config.server.store.auto_migrate is False
    assert [(i.path, i.message) for i in issues] == [
        ("server.bus.kind", "a memory bus with a postgresql store: only one node may run")
    ]
    data["server"] = {"store": {"kind": "postgresql"}}
    _, issues = check_dict(data, tmp_path)
    assert_error(issues, "server.store.url", "is required for a postgresql store")


def test_lockout_forms(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["tenants"][0]["faces"] = {
        "fusion": {"auth_lockout": {"max_failures": 3}},
        "crmod": {"auth_lockout": True},
    }
    config, _ = check_dict(data, tmp_path)
    assert config is not None
    faces = config.tenants[0].faces
    assert faces.fusion.auth_lockout == Lockout(
        enabled=True, max_failures=3, window_seconds=60, lock_seconds=60
    )
    assert faces.crmod.auth_lockout == Lockout(
        enabled=True, max_failures=5, window_seconds=300, lock_seconds=300
    )
    data["tenants"][0]["faces"] = {"native": {"auth_lockout": "off"}}
    _, issues = check_dict(data, tmp_path)
    assert_error(issues, f"{T0}.faces.native.auth_lockout", 'got string "off"')


# ------------------------------------------------------------------------------------------- bad files


def test_unknown_key_with_suggestion(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["tenants"][0]["queues"][1]["prority"] = 3
    _, issues = check_dict(data, tmp_path)
    assert_error(issues, f"{T0}.queues[1](sales).prority", "unknown key; did you mean priority?")


def test_wrong_type_and_range(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["tenants"][0]["users"][0]["max_chats"] = "3"
    data["tenants"][0]["queues"][0]["priority"] = 300
    data["server"] = {"port": 70000}
    config, issues = check_dict(data, tmp_path)
    assert config is None
    assert_error(issues, f"{T0}.users[0](ann).max_chats", 'must be an integer, got string "3"')
    assert_error(issues, f"{T0}.queues[0](support).priority", "must be an integer from -100 to 100, got 300")
    assert_error(issues, "server.port", "must be an integer from 1 to 65535, got 70000")
    assert len(errors(issues)) == 3  # every problem is reported, not only the first


def test_short_timer_needs_allow_short_timers(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["tenants"][0]["timers"] = {"rona_seconds": 2, "inactivity": {"timeout_seconds": 2}}
    _, issues = check_dict(data, tmp_path)
    assert_error(
        issues,
        f"{T0}.timers.rona_seconds",
        "must be an integer number of seconds from 5 to 600, got 2 "
        "(values down to 1 need server.allow_short_timers",
    )
    assert_error(
        issues, f"{T0}.timers.inactivity.timeout_seconds", "must be 0 or an integer number of seconds from 60"
    )
    data["server"] = {"allow_short_timers": True}
    config, issues = check_dict(data, tmp_path)
    assert config is not None, issues
    assert config.tenants[0].timers.rona_seconds == 2
    assert [i.path for i in issues] == ["server.allow_short_timers"]
    data["tenants"][0]["timers"]["rona_seconds"] = 0
    _, issues = check_dict(data, tmp_path)
    assert_error(issues, f"{T0}.timers.rona_seconds", "the test minimum with server.allow_short_timers is 1")


def test_bad_references(tmp_path: pathlib.Path) -> None:
    data = minimal()
    tenant = data["tenants"][0]
    tenant["entry_points"] = [
        {"face": "servicepattern", "id": "app", "queue": "nope", "calendar": "office"},
        {"face": "servicepattern", "id": "app2", "queue": "support", "post_chat_survey": {"survey": "csat"}},
    ]
    tenant["canned_responses"] = [{"id": "hi", "title": "Hi", "text": "Hello", "queues": ["billing"]}]
    tenant["web"] = {"widget_entry_point": "missing"}
    _, issues = check_dict(data, tmp_path)
    assert_error(issues, f"{T0}.entry_points[0](app).queue", 'must name a queue of the tenant, got "nope"')
    assert_error(
        issues, f"{T0}.entry_points[0](app).calendar", "must name a calendar of the tenant or always"
    )
    assert_error(issues, f"{T0}.entry_points[1](app2).post_chat_survey.survey", "must name a survey")
    assert_error(
        issues, f"{T0}.canned_responses[0](hi).queues[0]", 'must name a queue of the tenant, got "billing"'
    )
    assert_error(issues, f"{T0}.web.widget_entry_point", "must name a servicepattern entry point")


def test_duplicate_domain_across_tenants(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["tenants"][0]["domains"] = ["acme.test"]
    data["tenants"].append({"id": "other", "domains": ["www.other.test", "acme.test"]})
    _, issues = check_dict(data, tmp_path)
    assert_error(
        issues, "tenants[1](other).domains[1]", 'domain "acme.test" is already used by tenant acme.test'
    )


def test_duplicate_ece_entry_point_across_tenants(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["tenants"][0]["entry_points"] = [{"face": "ece", "id": "1000", "queue": "support"}]
    data["tenants"].append(
        {
            "id": "other",
            "queues": [{"name": "q"}],
            "entry_points": [{"face": "ece", "id": "1000", "queue": "q"}],
        }
    )
    _, issues = check_dict(data, tmp_path)
    assert_error(issues, "tenants[1](other).entry_points[0](1000).id", 'duplicate ece entry point id "1000"')


def test_reserved_codes(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["tenants"][0]["dispositions"] = [
        {"code": "done", "label": "Done"},
        {"code": "timeout", "label": "T"},
    ]
    data["tenants"][0]["not_ready_reasons"] = [{"code": "rona", "label": "R"}]
    _, issues = check_dict(data, tmp_path)
    assert_error(issues, f"{T0}.dispositions[1](timeout).code", "timeout is reserved")
    assert_error(issues, f"{T0}.not_ready_reasons[0](rona).code", "rona is reserved")


def rightnow_tenant(credential: dict[str, Any]) -> dict[str, Any]:
    data = minimal()
    data["tenants"][0]["entry_points"] = [{"face": "rightnow", "id": "acme", "queue": "support"}]
    data["tenants"][0]["faces"] = {"rightnow": {"site_name": "acme", "credentials": [credential]}}
    return data


def test_secret_given_twice(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FD_TEST_RN_PASSWORD", "s3cret")
    data = rightnow_tenant({"username": "api", "password": "x", "password_env": "FD_TEST_RN_PASSWORD"})
    _, issues = check_dict(data, tmp_path)
    assert_error(
        issues,
        f"{T0}.faces.rightnow.credentials[0](api).password",
        "give exactly one of password, password_file, password_env; got password and password_env",
    )


def test_secret_env_missing_and_present(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FD_TEST_MISSING", raising=False)
    data = rightnow_tenant({"username": "api", "password_env": "FD_TEST_MISSING"})
    _, issues = check_dict(data, tmp_path)
    assert_error(
        issues,
        f"{T0}.faces.rightnow.credentials[0](api).password_env",
        "environment variable FD_TEST_MISSING is not set",
    )
    monkeypatch.setenv("FD_TEST_MISSING", "hunter2")
    config, issues = check_dict(data, tmp_path)
    assert config is not None, issues
    assert config.tenants[0].faces.rightnow.credentials[0].password == "hunter2"
    source = config.tenants[0].secret_sources["faces.rightnow.credentials[0].password"]
    assert (source.form, source.reference) == ("env", "FD_TEST_MISSING")
    assert "hunter2" not in normalised_yaml(config)


def test_secret_file_is_relative_to_the_config_file(tmp_path: pathlib.Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "rn.txt").write_text("from-file\n", encoding="utf-8")
    data = rightnow_tenant({"username": "api", "password_file": "secrets/rn.txt"})
    config_file = tmp_path / "frontdesk.yaml"
    config_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    config = load_config(config_file)
    assert config.tenants[0].faces.rightnow.credentials[0].password == "from-file"


def test_rightnow_hash_only_warns(tmp_path: pathlib.Path) -> None:
    digest = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
    config, issues = check_dict(rightnow_tenant({"username": "api", "password_hash": digest}), tmp_path)
    assert config is not None, issues
    assert [(i.severity, i.path) for i in issues] == [
        ("warning", f"{T0}.faces.rightnow.credentials[0](api).password_hash")
    ]
    assert "PasswordDigest cannot be verified" in issues[0].message


def test_face_key_on_wrong_face(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["tenants"][0]["entry_points"] = [
        {"face": "servicepattern", "id": "app", "queue": "support", "max_queue_depth": 5}
    ]
    _, issues = check_dict(data, tmp_path)
    assert_error(
        issues,
        f"{T0}.entry_points[0](app).max_queue_depth",
        "is only allowed on ece entry points, this one is servicepattern",
    )


def test_bad_calendar_intervals(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["tenants"][0]["calendars"] = {
        "office": {
            "hours": {
                "monday": ["17:00-09:00"],
                "tuesday": ["09:00-12:00", "11:00-13:00"],
                "wednesday": ["9-17"],
                "friday": ["13:00-24:00"],
            },
            "holidays": [{"date": "2025-02-30", "name": "Nope"}],
        },
        "always": {"hours": {}},
    }
    _, issues = check_dict(data, tmp_path)
    cal = f"{T0}.calendars.office"
    assert_error(issues, f"{cal}.hours.monday[0]", "end must be after start")
    assert_error(issues, f"{cal}.hours.tuesday[1]", "overlaps another interval of tuesday")
    assert_error(issues, f"{cal}.hours.wednesday[0]", 'must be an interval "HH:MM-HH:MM"')
    assert_error(issues, f"{cal}.holidays[0](2025-02-30).date", "must be a date")
    assert_error(issues, f"{T0}.calendars.always", "built in and cannot be redefined")
    assert not [i for i in issues if "friday" in i.path]


YAML_COERCED = """\
tenants:
  - id: acme.test
    demo: yes
    queues:
      - {name: support, display_name: no}
    calendars:
      office:
        hours:
          monday: [9:30]
    entry_points:
      - {face: ece, id: 1000, queue: support}
      - {face: fusion, id: acme, queue: support}
    faces:
      fusion:
        pool_id: 1:1
        credentials: [{username: api, password: pw}]
"""


def test_yaml_coerced_values_are_refused(tmp_path: pathlib.Path) -> None:
    config, issues = check_config_text(YAML_COERCED, base_dir=tmp_path)
    assert config is None
    assert_error(issues, f"{T0}.demo", "must be true or false, got yes")
    assert_error(issues, f"{T0}.queues[0](support).display_name", "must be a string, got boolean false")
    assert_error(issues, f"{T0}.queues[0](support).display_name", 'write "no" in quotes')
    assert_error(
        issues, f"{T0}.calendars.office.hours.monday[0]", "got integer 570 (YAML reads the unquoted 9:30"
    )
    assert_error(issues, f"{T0}.entry_points[0].id", "must be a string, got integer 1000")
    assert_error(
        issues, f"{T0}.faces.fusion.pool_id", "must be a string, got integer 61 (YAML reads the unquoted 1:1"
    )


def test_version_and_missing_tenants(tmp_path: pathlib.Path) -> None:
    _, issues = check_config_text("version: 2\n", base_dir=tmp_path)
    assert_error(issues, "version", "must be 1 (the only file format version), got 2")
    assert_error(issues, "tenants", "is required")


def test_demo_only_switches(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["tenants"][0]["faces"] = {"ece": {"demo_auto_agent": True}}
    data["tenants"][0]["crm"] = {"allow_reset": True}
    _, issues = check_dict(data, tmp_path)
    assert_error(issues, f"{T0}.faces.ece.demo_auto_agent", "only on a tenant with demo: true")
    assert_error(issues, f"{T0}.crm.allow_reset", "only on a tenant with demo: true")


def test_cross_field_timer_rules(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["server"] = {"cluster": {"lease_seconds": 10, "renew_seconds": 5}}
    data["tenants"][0]["faces"] = {
        "native": {"ws_heartbeat_seconds": 30, "ws_idle_timeout_seconds": 60},
        "rightnow": {"wss_created_window_seconds": 400, "wss_nonce_window_seconds": 600},
    }
    _, issues = check_dict(data, tmp_path)
    assert_error(
        issues,
        "server.cluster.renew_seconds",
        "must be below half of server.cluster.lease_seconds (10), got 5",
    )
    assert_error(
        issues, f"{T0}.faces.native.ws_idle_timeout_seconds", "more than twice ws_heartbeat_seconds (30)"
    )
    assert_error(issues, f"{T0}.faces.rightnow.wss_nonce_window_seconds", "at least 800, got 600")


def test_value_types(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["server"] = {"trusted_proxies": ["10.0.0.0/8", "not-an-ip"], "public_base_url": "ftp://x"}
    data["tenants"][0]["id"] = "Acme"
    data["tenants"][0]["domains"] = ["Shop.Example"]
    data["tenants"][0]["faces"] = {"native": {"cors_allowed_origins": ["*", "https://a.example"]}}
    data["tenants"][0]["users"][0]["login"] = "Ann Lee"
    _, issues = check_dict(data, tmp_path)
    assert_error(
        issues,
        "server.trusted_proxies[1]",
        'IPv4 or IPv6 address or network like 10.0.0.0/8, got "not-an-ip"',
    )
    assert_error(issues, "server.public_base_url", 'must be an absolute http or https URL, got "ftp://x"')
    assert_error(issues, "tenants[0](Acme).id", "must be a tenant id")
    assert_error(issues, "tenants[0](Acme).domains[0]", "must be a lower-case host name")
    assert_error(issues, "tenants[0](Acme).faces.native.cors_allowed_origins[0]", "must be the only element")
    assert_error(issues, "tenants[0](Acme).users[0](Ann Lee).login", "must be a login of 1 to 64 characters")


def test_parse_config_dict_and_duplicate_yaml_keys(tmp_path: pathlib.Path) -> None:
    config, issues = parse_config_dict(minimal())
    assert config is not None and issues == []
    _, issues = check_config_text("tenants:\n  - id: a\n    id: b\n", base_dir=tmp_path)
    assert_error(issues, "tenants[0](b).id", "duplicate key")


def test_host_without_tls_warns(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["server"] = {"host": "0.0.0.0"}
    config, issues = check_dict(data, tmp_path)
    assert config is not None
    assert [(i.path, i.severity) for i in issues] == [("server.host", "warning")]
    assert "credentials travel in clear text" in issues[0].message


# ------------------------------------------------------------------------------------------- CLI and loading


def test_check_config_cli_exit_codes(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(minimal()), encoding="utf-8")
    assert check_config_cli(str(good), False) == 0
    assert capsys.readouterr().out == ""

    bad_data = minimal()
    bad_data["tenants"][0]["queues"][0]["priority"] = 300
    bad_data["tenants"][0]["colour"] = "red"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(bad_data), encoding="utf-8")
    assert check_config_cli(str(bad), True) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"error: {T0}.queues[0](support).priority: must be an integer from -100 to 100, got 300",
        f"error: {T0}.colour: unknown key",
    ]

    broken = tmp_path / "broken.yaml"
    broken.write_text("tenants: [\n", encoding="utf-8")
    assert check_config_cli(str(broken), False) == 2
    assert capsys.readouterr().out.startswith(f"error: {broken}: not valid YAML:")

    assert check_config_cli(str(tmp_path / "missing.yaml"), False) == 2
    assert "cannot read the file" in capsys.readouterr().out


def test_load_config_raises_with_every_issue(tmp_path: pathlib.Path) -> None:
    data = minimal()
    data["tenants"][0]["queues"][0]["priority"] = 300
    data["tenants"][0]["timers"] = {"typing_ttl_seconds": 100}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert {i.path for i in info.value.issues} == {
        f"{T0}.queues[0](support).priority",
        f"{T0}.timers.typing_ttl_seconds",
    }
    assert info.value.unreadable is False
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "none.yaml")
    assert info.value.unreadable is True


def test_overrides_precedence(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = minimal()
    data["server"] = {"host": "127.0.0.2", "port": 9000, "data_dir": "file-dir"}
    path = tmp_path / "fd.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("FRONTDESK_HOST", "FRONTDESK_PORT", "FRONTDESK_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)

    config = load_config(path)  # file
    assert (config.server.host, config.server.port) == ("127.0.0.2", 9000)
    assert config.server.data_dir == str(tmp_path / "file-dir")

    monkeypatch.setenv("FRONTDESK_HOST", "127.0.0.3")
    monkeypatch.setenv("FRONTDESK_PORT", "9001")
    monkeypatch.setenv("FRONTDESK_DATA_DIR", "env-dir")
    config = load_config(path)  # env beats file
    assert (config.server.host, config.server.port) == ("127.0.0.3", 9001)
    assert config.server.data_dir == str(tmp_path / "env-dir")
    assert config.server.files.dir == str(tmp_path / "env-dir" / "files")

    config = load_config(path, overrides={"host": "127.0.0.4", "port": 9002, "data_dir": "flag-dir"})
    assert (config.server.host, config.server.port) == ("127.0.0.4", 9002)  # flag beats env
    assert config.server.data_dir == str(tmp_path / "flag-dir")

    monkeypatch.setenv("FRONTDESK_PORT", "eighty")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.issues[0].path == "server.port"
    assert "FRONTDESK_PORT must be an integer" in info.value.issues[0].message


def test_load_config_default_source(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRONTDESK_CONFIG", raising=False)
    assert load_config().source_path == demo_config_path()
    path = tmp_path / "fd.yaml"
    path.write_text(yaml.safe_dump(minimal()), encoding="utf-8")
    monkeypatch.setenv("FRONTDESK_CONFIG", str(path))
    config = load_config()
    assert config.source_path == path.resolve()
    assert config.tenants[0].id == "acme.test"
