"""Whole-file validation: top level, tenants, and the rules that span tenants (§1.3, §4)."""

from __future__ import annotations

import json
import pathlib
from typing import Any

from .models import Config, ConfigIssue, ServerConfig, TenantConfig
from .reader import ROOT, Ctx, KeyPath, Obj
from .server import read_server
from .tenant import read_tenant
from .values import describe
from .yamlsrc import YamlSources

DEMO_MESSAGE = "demo credentials are active; do not expose this server"
# Clear passwords and the argon2 hashes published in design/demo.yaml: whoever copies them into a
# real tenant runs with credentials everyone knows.
WELL_KNOWN_PASSWORDS = frozenset({"demo", "limited"})
WELL_KNOWN_HASHES = frozenset(
    {
        "$argon2id$v=19$m=65536,t=3,p=4$rTpOvJoBcvUPNOxdnnf3eQ$hpAAxH8VzPyr+g54uL0oVwjvUy1+Ft9bVoV2u8nKrzE",
        "$argon2id$v=19$m=65536,t=3,p=4$OCCrw/Kr99qNL45i60o4cw$u88l0pWs5ez6JxKILtl7L57eZlbXzPSCl9eNn7dn6sI",
        "$argon2id$v=19$m=65536,t=3,p=4$ftwJ6nZBJvuBYDkS7SEjPg$S8JLUav804MTu8WqvHlFG69jAehApN/ybnCdIt/PRPE",
        "$argon2id$v=19$m=65536,t=3,p=4$fPKRofKAj/RB437NFTJ6gA$f/2YHTgM0ZXrxYusRT8iED6KZr5Jg8akxmm4TU6Ibzo",
        "$argon2id$v=19$m=65536,t=3,p=4$w4jNZyxDtP+hg/kjFjka+w$6T9UDwsUI2I1CRVUoXHMc9vt1UJs0QxyaK/StjBPM3o",
        "$argon2id$v=19$m=65536,t=3,p=4$L7Z/cET3ObVz7JNn7k+BBg$0gi/6bNS1FYZTksf+kfHRcEy7HHFFhvryPN+C3bNXY8",
    }
)


def parse_config_dict(data: dict[str, Any]) -> tuple[Config | None, list[ConfigIssue]]:
    """Validates an already-loaded mapping; relative paths resolve against the current directory."""
    return validate_tree(data, sources=None, base_dir=pathlib.Path.cwd())


def validate_tree(
    data: Any,
    *,
    sources: YamlSources | None,
    base_dir: pathlib.Path,
    pre_issues: list[ConfigIssue] | None = None,
) -> tuple[Config | None, list[ConfigIssue]]:
    """Returns the Config (None when there is any error) and every issue, errors and warnings."""
    ctx = Ctx(sources, base_dir)
    ctx.issues.extend(pre_issues or [])
    if not isinstance(data, dict):
        ctx.error(
            ROOT, f"the file must be a YAML mapping with version, server and tenants, got {describe(data)}"
        )
        return None, ctx.issues
    top = Obj(ctx, data, ROOT)
    version = top.integer("version", 1)
    if version != 1:
        ctx.error(top.p("version"), f"must be 1 (the only file format version), got {version}")
    server = read_server(ctx, top.obj("server") or Obj(ctx, {}, top.p("server")))
    tenants: list[TenantConfig] = []
    tenant_paths: list[KeyPath] = []
    elements = top.items("tenants")
    if elements is None:
        ctx.error(top.p("tenants"), "is required (a list of at least one tenant)")
    elif not elements and isinstance(data.get("tenants"), list):
        ctx.error(top.p("tenants"), "must list at least one tenant")
    for i, item in elements or []:
        t = top.item_obj("tenants", i, item, "id")
        if t is None:
            continue
        tenants.append(read_tenant(ctx, t))
        tenant_paths.append(t.path)
    top.finish()
    _cross_tenant(ctx, top, server, tenants, tenant_paths)
    _warnings(ctx, tenants, tenant_paths)
    issues = _ordered(ctx.issues)
    if any(i.severity == "error" for i in issues):
        return None, issues
    config = Config(version=version, server=server, tenants=tenants)
    config.warnings = [i for i in issues if i.severity == "warning"]
    return config, issues


def _ordered(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    """Errors first, each group in the order found (roughly file order)."""
    return [i for i in issues if i.severity == "error"] + [i for i in issues if i.severity == "warning"]


def _cross_tenant(
    ctx: Ctx, top: Obj, server: ServerConfig, tenants: list[TenantConfig], paths: list[KeyPath]
) -> None:
    server_path = top.p("server")
    ids: dict[str, int] = {}
    domains: dict[str, str] = {}
    entry_ids: dict[tuple[str, str], str] = {}
    fusion_users: dict[str, str] = {}
    crm_users: dict[str, str] = {}
    for ti, (tenant, path) in enumerate(zip(tenants, paths, strict=True)):
        if tenant.id:
            if tenant.id in ids:
                ctx.error(
                    path.key("id"),
                    f"duplicate tenant id {json.dumps(tenant.id)} (also tenants[{ids[tenant.id]}])",
                )
            else:
                ids[tenant.id] = ti
        for j, domain in enumerate(tenant.domains):
            if domain in domains and domains[domain] != tenant.id:
                ctx.error(
                    path.key("domains").at(j),
                    f"domain {json.dumps(domain)} is already used by tenant {domains[domain]}; "
                    "domains are unique per server",
                )
            domains.setdefault(domain, tenant.id)
        for j, ep in enumerate(tenant.entry_points):
            if not ep.face or not ep.id:
                continue
            # ServicePattern appIds are unique in the tenant; the other faces route by id, so per server.
            scope = tenant.id if ep.face == "servicepattern" else "*"
            key = (ep.face, f"{scope}/{ep.id}")
            ep_path = path.key("entry_points").at(j, ep.id).key("id")
            if key in entry_ids:
                where = "in the tenant" if scope != "*" else "per server"
                ctx.error(
                    ep_path,
                    f"duplicate {ep.face} entry point id {json.dumps(ep.id)} (also {entry_ids[key]}); "
                    f"it must be unique {where}",
                )
            else:
                entry_ids[key] = f"tenant {tenant.id}"
        for j, cred in enumerate(tenant.faces.fusion.credentials):
            if not cred.username:
                continue
            if cred.username in fusion_users and fusion_users[cred.username] != tenant.id:
                ctx.error(
                    path.key("faces").key("fusion").key("credentials").at(j, cred.username).key("username"),
                    f"Fusion username {json.dumps(cred.username)} is already used by tenant "
                    f"{fusion_users[cred.username]}; "
                    "usernames are unique per server",
                )
            fusion_users.setdefault(cred.username, tenant.id)
        seed_users = (tenant.crm.seed or {}).get("users")
        for j, user in enumerate(seed_users if isinstance(seed_users, list) else []):
            sign_in = user.get("SignInId") if isinstance(user, dict) else None
            if not isinstance(sign_in, str):
                continue
            folded = sign_in.casefold()
            if folded in crm_users and crm_users[folded] != tenant.id:
                ctx.error(
                    path.key("crm").key("seed").key("users").at(j, sign_in).key("SignInId"),
                    f"CRM sign-in id {json.dumps(sign_in)} is already used by tenant {crm_users[folded]}; "
                    "sign-in ids are unique per server, case-insensitively",
                )
            crm_users.setdefault(folded, tenant.id)
    if tenants:
        if not server.default_tenant:
            server.default_tenant = tenants[0].id
        elif server.default_tenant not in ids:
            ctx.error(
                server_path.key("default_tenant"),
                f"must name a tenant id of this file, got {json.dumps(server.default_tenant)}",
            )


def _warnings(ctx: Ctx, tenants: list[TenantConfig], paths: list[KeyPath]) -> None:
    for tenant, path in zip(tenants, paths, strict=True):
        if tenant.demo:
            ctx.warn(path.key("demo"), DEMO_MESSAGE)
            continue
        found = _well_known_credential(tenant, path)
        if found is not None:
            ctx.warn(found, DEMO_MESSAGE)


def _well_known_credential(tenant: TenantConfig, path: KeyPath) -> KeyPath | None:
    faces = path.key("faces")
    for j, rn in enumerate(tenant.faces.rightnow.credentials):
        if rn.password in WELL_KNOWN_PASSWORDS:
            return faces.key("rightnow").key("credentials").at(j, rn.username).key("password")
    for j, fu in enumerate(tenant.faces.fusion.credentials):
        if fu.password in WELL_KNOWN_PASSWORDS or fu.password_hash in WELL_KNOWN_HASHES:
            return faces.key("fusion").key("credentials").at(j, fu.username)
    for j, user in enumerate(tenant.users):
        if user.password_hash in WELL_KNOWN_HASHES:
            return path.key("users").at(j, user.login).key("password_hash")
    seed_users = (tenant.crm.seed or {}).get("users")
    for j, su in enumerate(seed_users if isinstance(seed_users, list) else []):
        if isinstance(su, dict) and su.get("PasswordHash") in WELL_KNOWN_HASHES:
            return path.key("crm").key("seed").key("users").at(j).key("PasswordHash")
    return None
