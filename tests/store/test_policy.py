"""The policy (playbooks per category): the defaults, `Service.apply_policy` storing
versions in the store and the system audit chain, refusals that name the file and the
key path, and the playbook an incident gets from the policy in force."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from opsdeck.backend import documents, policy, queries
from opsdeck.backend.domain import CLASSIFIED_CATEGORIES
from opsdeck.backend.errors import DomainError, ErrorKind, InvalidInput
from opsdeck.backend.models import PolicyVersion
from opsdeck.backend.schema import SEED_ACTOR
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

As = Callable[[str], Service]

NETWORK_FAULT = """
[playbooks.network_fault]
steps = [
  { key = "ping_gateway", en = "Ping the gateway", zh = "检查网关" },
  { key = "call_isp", en = "Call the ISP", zh = "联系运营商" },
]
"""

SERVER_WHEN = "maintenance_contract", "no_maintenance_contract"
SERVER_CONTRACT_KEYS = ["restart", "inspect", "keep_state", "image_backup", "quick_restore", "restore_with_consent"]
SERVER_ALL_KEYS = [
    "restart",
    "tell_account_manager",
    "inspect",
    "keep_state",
    "image_backup",
    "quick_restore",
    "restore_with_consent",
    "vendor_support",
]


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def versions(store: Store) -> list[PolicyVersion]:
    with store.read() as session:
        return list(session.execute(select(PolicyVersion).order_by(PolicyVersion.version)).scalars())  # type: ignore[arg-type]


def system_trail(store: Store) -> list[dict]:
    with store.read() as session:
        return queries.audit_trail(session, None)


def show(store: Store, incident_id: int) -> dict:
    with store.read() as session:
        return queries.incident_detail(session, incident_id)


def steps(store: Store, incident_id: int) -> list[tuple[str, str, str]]:
    return [(s["key"], s["category"], s["state"]) for s in show(store, incident_id)["playbook"]]


def keys(store: Store, incident_id: int) -> list[str]:
    return [s["key"] for s in show(store, incident_id)["playbook"]]


def opened(as_: As, **kwargs) -> int:  # type: ignore[no-untyped-def]
    incident = as_("servers").open("Service down", **kwargs)
    assert incident.id is not None
    return incident.id


# -- the defaults ---------------------------------------------------------------------------


def test_default_document_has_a_playbook_for_every_category_but_unclassified() -> None:
    playbooks = policy.default_document()["playbooks"]
    assert set(playbooks) == {c.value for c in CLASSIFIED_CATEGORIES}
    assert "unclassified" not in playbooks
    assert all(body["steps"] for body in playbooks.values())


def test_every_default_step_has_english_and_chinese_text() -> None:
    for category, body in policy.default_document()["playbooks"].items():
        for step in body["steps"]:
            assert step["en"] and step["zh"], (category, step["key"])


def test_default_server_fault_playbook_has_both_contract_branches() -> None:
    specs = policy.Policy(1, policy.default_document()).playbook("server_fault")
    assert [s.key for s in specs] == SERVER_ALL_KEYS
    assert {s.when for s in specs} == {None, *SERVER_WHEN}


def test_new_store_holds_the_defaults_as_version_one(store: Store) -> None:
    [row] = versions(store)
    assert (row.version, row.actor, row.source) == (1, SEED_ACTOR, "(built-in defaults)")
    assert row.hash == documents.document_hash(policy.default_document())
    [event] = system_trail(store)
    assert (event["action"], event["actor"], event["details"]["version"]) == ("policy_applied", SEED_ACTOR, 1)


# -- applying a file ------------------------------------------------------------------------


def test_applying_a_valid_file_stores_a_new_version(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, NETWORK_FAULT)
    assert Service(seeded, "lead").apply_policy(path) == (2, True)
    v1, v2 = versions(seeded)
    assert (v2.version, v2.actor, v2.source) == (2, "lead", str(path))
    assert v2.document["playbooks"]["network_fault"]["steps"] == [
        {"key": "ping_gateway", "en": "Ping the gateway", "zh": "检查网关"},
        {"key": "call_isp", "en": "Call the ISP", "zh": "联系运营商"},
    ]
    # Categories the file leaves out keep the defaults.
    assert v2.document["playbooks"]["disaster"] == v1.document["playbooks"]["disaster"]
    assert v2.hash == documents.document_hash(v2.document) != v1.hash


def test_applying_a_file_appends_to_the_system_audit_chain(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, NETWORK_FAULT)
    before = system_trail(seeded)
    Service(seeded, "lead").apply_policy(path)
    after = system_trail(seeded)
    assert after[: len(before)] == before
    [event] = after[len(before) :]
    assert (event["action"], event["actor"], event["seq"]) == ("policy_applied", "lead", before[-1]["seq"] + 1)
    row = event["details"].pop("row")  # the version and a keyed digest of its document (backend/vouch.py)
    assert row["version"] == 2 and row["document"].startswith("hmac-sha256:")
    assert event["details"] == {"version": 2, "hash": versions(seeded)[-1].hash, "source": str(path)}


def test_applying_the_same_file_again_makes_no_new_version(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, NETWORK_FAULT)
    Service(seeded, "lead").apply_policy(path)
    events = len(system_trail(seeded))
    assert Service(seeded, "lead").apply_policy(path) == (2, False)
    assert [v.version for v in versions(seeded)] == [1, 2]
    assert len(system_trail(seeded)) == events


def test_applying_a_file_equal_to_the_defaults_makes_no_new_version(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing to change\n")
    assert Service(seeded, "lead").apply_policy(path) == (1, False)
    assert [v.version for v in versions(seeded)] == [1]


def test_a_second_change_makes_version_three(seeded: Store, tmp_path: Path) -> None:
    Service(seeded, "lead").apply_policy(write(tmp_path, NETWORK_FAULT))
    other = NETWORK_FAULT.replace("Call the ISP", "Call the carrier")
    assert Service(seeded, "lead").apply_policy(write(tmp_path, other, "v3.toml")) == (3, True)
    assert [v.version for v in versions(seeded)] == [1, 2, 3]


# -- invalid files are refused, naming the file and the key path ---------------------------

INVALID = {
    "unknown section": ("[escalation]\nminutes = 30\n", "escalation", "unknown section"),
    "unknown category": ("[playbooks.alien_invasion]\nsteps = []\n", "playbooks.alien_invasion", "unknown category"),
    "unclassified has no playbook": ("[playbooks.unclassified]\nsteps = []\n", "playbooks.unclassified", "unknown"),
    "duplicate step key": (
        '[playbooks.network_attack]\nsteps = [{ key = "cut", en = "Cut" }, { key = "cut", en = "Again" }]\n',
        "playbooks.network_attack.steps[1].key",
        "'cut' appears twice",
    ),
    "bad when": (
        '[playbooks.server_fault]\nsteps = [{ key = "restart", en = "Restart", when = "sometimes" }]\n',
        "playbooks.server_fault.steps[0].when",
        "'sometimes' is not a condition",
    ),
    "missing en": (
        '[playbooks.disaster]\nsteps = [{ key = "a", en = "A" }, { key = "b", zh = "乙" }]\n',
        "playbooks.disaster.steps[1].en",
        "missing",
    ),
    "blank en": ('[playbooks.disaster]\nsteps = [{ key = "a", en = "  " }]\n', "playbooks.disaster.steps[0].en", ""),
    "bad step key": (
        '[playbooks.other]\nsteps = [{ key = "Assess-It", en = "Assess" }]\n',
        "playbooks.other.steps[0].key",
        "'Assess-It' is not a step key",
    ),
    "unknown step field": (
        '[playbooks.other]\nsteps = [{ key = "assess", en = "Assess", owner = "lead" }]\n',
        "playbooks.other.steps[0].owner",
        "unknown key",
    ),
    "extra field beside steps": (
        '[playbooks.other]\nnote = "x"\nsteps = []\n',
        "playbooks.other",
        "must hold only `steps`",
    ),
    "steps not a list": ('[playbooks.other]\nsteps = "assess"\n', "playbooks.other.steps", "must be a list"),
    "zh not text": (
        '[playbooks.other]\nsteps = [{ key = "assess", en = "Assess", zh = 3 }]\n',
        "playbooks.other.steps[0].zh",
        "must be text",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_file_is_refused_naming_file_and_key_path(seeded: Store, tmp_path: Path, case: str) -> None:
    text, key_path, what = INVALID[case]
    path = write(tmp_path, text)
    events = system_trail(seeded)
    with pytest.raises(InvalidInput) as info:
        Service(seeded, "lead").apply_policy(path)
    assert info.value.kind is ErrorKind.INVALID
    assert f"{path}: {key_path}: {what}" in str(info.value)
    assert info.value.params == {"file": str(path), "key": key_path}
    assert [v.version for v in versions(seeded)] == [1]
    assert system_trail(seeded) == events


def test_bad_toml_is_refused_naming_the_file(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, '[playbooks.other]\nsteps = [{ key = "a", en = "A" }\n')
    with pytest.raises(InvalidInput) as info:
        Service(seeded, "lead").apply_policy(path)
    assert str(info.value).startswith(f"{path}: not valid TOML")
    assert "fix the syntax at that line" in str(info.value)
    assert [v.version for v in versions(seeded)] == [1]


def test_missing_file_is_refused_naming_it(seeded: Store, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        Service(seeded, "lead").apply_policy(tmp_path / "nope.toml")
    assert f"{tmp_path / 'nope.toml'}: no such file" in str(info.value)


def test_invalid_file_after_a_change_keeps_the_stored_version(seeded: Store, tmp_path: Path) -> None:
    Service(seeded, "lead").apply_policy(write(tmp_path, NETWORK_FAULT))
    with pytest.raises(InvalidInput):
        Service(seeded, "lead").apply_policy(write(tmp_path, "[playbooks.nope]\n", "bad.toml"))
    assert [v.version for v in versions(seeded)] == [1, 2]
    incident_id = opened_classified(Service(seeded, "servers"), "network_fault")
    assert keys(seeded, incident_id) == ["ping_gateway", "call_isp"]


# -- who may apply ------------------------------------------------------------------------


def test_operator_is_refused_once_a_lead_exists(seeded: Store, tmp_path: Path) -> None:
    with pytest.raises(DomainError) as info:
        Service(seeded, "servers").apply_policy(write(tmp_path, NETWORK_FAULT))
    assert info.value.kind is ErrorKind.REFUSED
    assert "policy apply is for leads; servers is operator" in str(info.value)
    assert "ask a lead: lead" in str(info.value)
    assert [v.version for v in versions(seeded)] == [1]


def test_viewer_is_refused(seeded: Store, tmp_path: Path) -> None:
    with pytest.raises(DomainError):
        Service(seeded, "auditor").apply_policy(write(tmp_path, NETWORK_FAULT))
    assert [v.version for v in versions(seeded)] == [1]


def test_while_nobody_leads_anyone_may_apply(store: Store, tmp_path: Path) -> None:
    assert Service(store, "alice").apply_policy(write(tmp_path, NETWORK_FAULT)) == (2, True)
    assert versions(store)[-1].actor == "alice"


# -- the playbook an incident gets ----------------------------------------------------------


def opened_classified(service: Service, category: str, **kwargs) -> int:  # type: ignore[no-untyped-def]
    incident = service.open("Service down", category=category, level="IV", **kwargs)
    assert incident.id is not None
    return incident.id


def test_incident_classified_after_a_policy_change_gets_the_new_steps(seeded: Store, as_: As, tmp_path: Path) -> None:
    incident_id = opened(as_)
    Service(seeded, "lead").apply_policy(write(tmp_path, NETWORK_FAULT))
    as_("servers").classify(incident_id, category="network_fault", level="IV")
    playbook = show(seeded, incident_id)["playbook"]
    assert [(s["key"], s["title"], s["title_zh"], s["state"]) for s in playbook] == [
        ("ping_gateway", "Ping the gateway", "检查网关", "pending"),
        ("call_isp", "Call the ISP", "联系运营商", "pending"),
    ]


def test_incident_opened_classified_after_a_change_gets_the_new_steps(seeded: Store, tmp_path: Path) -> None:
    Service(seeded, "lead").apply_policy(write(tmp_path, NETWORK_FAULT))
    incident_id = opened_classified(Service(seeded, "servers"), "network_fault")
    assert keys(seeded, incident_id) == ["ping_gateway", "call_isp"]
    assert show(seeded, incident_id)["policy_version"] == 2


def test_a_policy_change_leaves_existing_checklists_alone(seeded: Store, tmp_path: Path) -> None:
    incident_id = opened_classified(Service(seeded, "servers"), "network_fault")
    Service(seeded, "lead").apply_policy(write(tmp_path, NETWORK_FAULT))
    assert keys(seeded, incident_id) == ["check_lines", "backup_line", "call_carrier"]


def test_reclassifying_keeps_ticked_steps_and_appends_the_new_categorys(seeded: Store, as_: As) -> None:
    incident_id = opened_classified(as_("servers"), "network_attack")
    as_("servers").step(incident_id, "disconnect")
    as_("servers").step(incident_id, "shut_servers", skip=True, reason="already off")
    as_("lead").classify(incident_id, category="content_security", level="IV", reason="it was a worm")
    assert steps(seeded, incident_id) == [
        ("disconnect", "network_attack", "done"),
        ("shut_servers", "network_attack", "skipped"),
        ("unplug", "content_security", "pending"),
        ("tell_lan_users", "content_security", "pending"),
        ("isolate", "content_security", "pending"),
        ("clean", "content_security", "pending"),
    ]
    done = show(seeded, incident_id)["playbook"][0]
    assert (done["by"], done["at"]) == ("servers", "2026-11-28T03:00:00Z")


def test_reclassifying_does_not_duplicate_a_ticked_step_the_new_category_shares(seeded: Store, as_: As) -> None:
    incident_id = opened_classified(as_("servers"), "server_fault", system="benefits-app")
    as_("servers").step(incident_id, "restart")
    as_("lead").classify(incident_id, category="software_fault", level="IV", reason="the app, not the box")
    playbook = steps(seeded, incident_id)
    assert [k for k, _, _ in playbook].count("restart") == 1
    assert ("restart", "server_fault", "done") in playbook


def test_after_reclassifying_every_pending_step_is_the_new_categorys(seeded: Store, as_: As) -> None:
    # server_fault and software_fault share step keys (keep_state, vendor_support...) with
    # different wording; the pending ones must read as the new category's steps.
    incident_id = opened_classified(as_("servers"), "server_fault", system="db-cluster")
    as_("lead").classify(incident_id, category="software_fault", level="IV", reason="the app, not the box")
    pending = [s for s in show(seeded, incident_id)["playbook"] if s["state"] == "pending"]
    software = {s.key: s.en for s in policy.Policy(1, policy.default_document()).playbook("software_fault")}
    assert [(s["key"], s["category"], s["title"]) for s in pending] == [
        (key, "software_fault", software[key])
        for key in ["restart", "check_os", "check_application", "keep_state", "restore_with_consent", "vendor_support"]
    ]


def test_reclassifying_into_a_changed_policy_appends_its_new_steps(seeded: Store, as_: As, tmp_path: Path) -> None:
    incident_id = opened_classified(as_("servers"), "other")
    as_("servers").step(incident_id, "assess")
    Service(seeded, "lead").apply_policy(write(tmp_path, NETWORK_FAULT))
    as_("lead").classify(incident_id, category="network_fault", level="IV", reason="lines")
    assert steps(seeded, incident_id) == [
        ("assess", "other", "done"),
        ("ping_gateway", "network_fault", "pending"),
        ("call_isp", "network_fault", "pending"),
    ]


# -- `when`: the system's maintenance contract decides ------------------------------------


def test_contract_steps_only_for_a_system_with_a_contract(seeded: Store, as_: As) -> None:
    incident_id = opened_classified(as_("servers"), "server_fault", system="db-cluster")
    assert keys(seeded, incident_id) == [*SERVER_CONTRACT_KEYS, "vendor_support"]


def test_no_contract_steps_for_a_system_without_one(seeded: Store, as_: As) -> None:
    incident_id = opened_classified(as_("servers"), "server_fault", system="benefits-app")
    assert keys(seeded, incident_id) == ["restart", "tell_account_manager", "vendor_support"]


def test_both_branches_when_the_incident_has_no_system(seeded: Store, as_: As) -> None:
    incident_id = opened_classified(as_("servers"), "server_fault")
    assert keys(seeded, incident_id) == SERVER_ALL_KEYS


def test_classifying_later_also_follows_the_contract(seeded: Store, as_: As) -> None:
    incident_id = opened(as_, system="benefits-app")
    as_("servers").classify(incident_id, category="software_fault", level="IV")
    assert keys(seeded, incident_id) == ["restart", "tell_account_manager", "vendor_support"]


def test_when_in_an_applied_policy_is_honoured(seeded: Store, as_: As, tmp_path: Path) -> None:
    text = """
[playbooks.disaster]
steps = [
  { key = "call_vendor", en = "Call the vendor", when = "maintenance_contract" },
  { key = "call_am", en = "Call the account manager", when = "no_maintenance_contract" },
  { key = "spare_server", en = "Spare server" },
]
"""
    Service(seeded, "lead").apply_policy(write(tmp_path, text))
    with_contract = opened_classified(as_("servers"), "disaster", system="db-cluster")
    without = opened_classified(as_("servers"), "disaster", system="benefits-app")
    no_system = opened_classified(as_("servers"), "disaster")
    assert keys(seeded, with_contract) == ["call_vendor", "spare_server"]
    assert keys(seeded, without) == ["call_am", "spare_server"]
    assert keys(seeded, no_system) == ["call_vendor", "call_am", "spare_server"]
