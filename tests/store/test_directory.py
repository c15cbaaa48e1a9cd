"""The roster, contacts and system catalog, imported from TOML, JSON and CSV files
through `Service.import_records`: what is stored, what is refused and what the refusal
says, against a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsdeck.backend import directory, queries
from opsdeck.backend.errors import DomainError, ErrorKind, InvalidInput
from opsdeck.backend.schema import SEED_ACTOR
from opsdeck.backend.service import Service
from opsdeck.backend.store import Store

from ..conftest import demo_fixture

TWO_MEMBERS = """
[[member]]
login = "boss"
name = "Zhou Ming 周明"
permission = "lead"
duties = ["command"]
phone = "+86 10 5550 0100"
on_duty = true

[[member]]
login = "ops1"
name = "Li Na"
duties = ["web", "dns"]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def roster(store: Store) -> list[dict]:
    with store.read() as session:
        return queries.roster(session)


def contacts(store: Store) -> list[dict]:
    with store.read() as session:
        return queries.contacts(session)


def systems(store: Store) -> dict[str, dict]:
    with store.read() as session:
        return {s["name"]: s for s in queries.systems(session)}


def system_trail(store: Store) -> list[dict]:
    with store.read() as session:
        return queries.audit_trail(session, None)


def refused(store: Store, login: str, kind: str, path: Path) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        Service(store, login).import_records(kind, path)
    assert info.value.kind is ErrorKind.INVALID
    return info.value


# -- formats ------------------------------------------------------------------------------


def test_toml_roster_stores_every_member_with_its_fields(store: Store, tmp_path: Path) -> None:
    result = Service(store, "alice").import_records("roster", write(tmp_path, "roster.toml", TWO_MEMBERS))
    assert result.counts() == {"added": 2, "updated": 0, "unchanged": 0}
    boss, ops1 = roster(store)
    assert (boss["login"], boss["name"], boss["permission"]) == ("boss", "Zhou Ming 周明", "lead")
    assert boss["duties"] == ["command"] and boss["on_duty"] is True and boss["phone"] == "+86 10 5550 0100"
    assert (ops1["login"], ops1["permission"], ops1["duties"], ops1["on_duty"]) == (
        "ops1",
        "operator",
        ["web", "dns"],
        False,
    )


def test_json_roster_as_a_bare_list(store: Store, tmp_path: Path) -> None:
    data = [{"login": "boss", "name": "Boss", "permission": "LEAD", "on_duty": "yes"}]
    Service(store, "alice").import_records("roster", write(tmp_path, "r.json", json.dumps(data)))
    [member] = roster(store)
    assert (member["login"], member["permission"], member["on_duty"]) == ("boss", "lead", True)


def test_json_roster_under_a_members_key(store: Store, tmp_path: Path) -> None:
    data = {"members": [{"login": "boss", "name": "Boss"}, {"login": "ops1", "name": "Ops", "on_duty": 1}]}
    result = Service(store, "alice").import_records("roster", write(tmp_path, "r.json", json.dumps(data)))
    assert result.added == ["boss", "ops1"]
    assert [(m["login"], m["on_duty"]) for m in roster(store)] == [("boss", False), ("ops1", True)]


def test_csv_roster_from_a_spreadsheet_export(store: Store, tmp_path: Path) -> None:
    text = (
        "\ufefflogin, name ,permission,duties,on_duty,phone\n"
        "boss,周明,lead,command;dns,yes,+86 10 5550 0100\n"
        ",,,,,\n"
        "ops1,Li Na,,web,no,\n"
    )
    result = Service(store, "alice").import_records("roster", write(tmp_path, "roster.csv", text))
    assert result.counts() == {"added": 2, "updated": 0, "unchanged": 0}
    boss, ops1 = roster(store)
    assert (boss["name"], boss["permission"], boss["duties"], boss["on_duty"]) == (
        "周明",
        "lead",
        ["command", "dns"],
        True,
    )
    assert (ops1["permission"], ops1["duties"], ops1["on_duty"], ops1["phone"]) == ("operator", ["web"], False, "")


def test_contacts_from_csv_and_json(seeded: Store, tmp_path: Path) -> None:
    csv_path = write(tmp_path, "c.csv", "key,name,kind,phone\nisp,China Telecom,vendor_support,10000\n")
    json_path = write(
        tmp_path, "c.json", json.dumps({"contacts": [{"key": "dept-hr", "name": "HR", "kind": "business_department"}]})
    )
    assert Service(seeded, "lead").import_records("contacts", csv_path).added == ["isp"]
    assert Service(seeded, "lead").import_records("contacts", json_path).added == ["dept-hr"]
    stored = {c["key"]: c for c in contacts(seeded)}
    assert (stored["isp"]["kind"], stored["isp"]["phone"]) == ("vendor_support", "10000")
    assert stored["dept-hr"]["kind"] == "business_department"


def test_systems_from_toml_resolve_parent_and_vendor(seeded: Store, tmp_path: Path) -> None:
    text = """
[[system]]
name = "payroll-api"
parent = "payroll-db"
vendor_contact = "vendor-db"
maintenance_contract = true

[[system]]
name = "payroll-db"
duty_area = "servers"
"""
    result = Service(seeded, "lead").import_records("systems", write(tmp_path, "s.toml", text))
    assert sorted(result.added) == ["payroll-api", "payroll-db"]
    catalog = systems(seeded)
    assert catalog["payroll-api"]["parent"] == "payroll-db"
    assert catalog["payroll-api"]["vendor_contact"] == "vendor-db"
    assert catalog["payroll-api"]["maintenance_contract"] is True
    assert catalog["payroll-db"]["duty_area"] == "servers" and catalog["payroll-db"]["parent"] is None


def test_systems_from_csv(seeded: Store, tmp_path: Path) -> None:
    text = "name,duty_area,parent,maintenance_contract\nhr-app,web,portal,1\n"
    Service(seeded, "lead").import_records("systems", write(tmp_path, "s.csv", text))
    hr = systems(seeded)["hr-app"]
    assert (hr["duty_area"], hr["parent"], hr["maintenance_contract"]) == ("web", "portal", True)


def test_demo_fixtures_import_as_the_seed_expects(seeded: Store) -> None:
    assert [m["login"] for m in roster(seeded)] == ["auditor", "dns", "lead", "servers", "telecom", "web"]
    assert len(contacts(seeded)) == 6
    catalog = systems(seeded)
    assert catalog["benefits-app"]["parent"] == "db-cluster"
    assert catalog["db-cluster"]["maintenance_contract"] is True
    assert catalog["benefits-app"]["maintenance_contract"] is False


# -- bad input: the message names the file, the record, the key and the fix ---------------


def test_unknown_key_names_file_record_key_and_the_allowed_keys(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "roster.toml", TWO_MEMBERS + 'nickname = "Nana"\n')
    error = refused(store, "alice", "roster", path)
    assert f"{path}: record 2: nickname: unknown key" in str(error)
    assert "use only" in str(error) and "login" in str(error)
    assert roster(store) == []


def test_bad_permission_in_csv_names_the_line_and_the_allowed_values(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "roster.csv", "login,name,permission\nboss,Boss,lead\nops1,Ops,boss\n")
    error = refused(store, "alice", "roster", path)
    assert f"{path}: line 3: permission:" in str(error)
    assert "'boss' is not a permission" in str(error)
    assert "use one of viewer, operator, lead" in str(error)
    assert roster(store) == []


def test_missing_name_in_json_names_the_record_and_the_fix(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", json.dumps([{"login": "boss", "name": "Boss"}, {"login": "ops1"}]))
    error = refused(store, "alice", "roster", path)
    assert f"{path}: record 2: name: missing" in str(error)
    assert "give every record a name" in str(error)
    assert roster(store) == []


def test_login_that_is_not_an_os_login_is_refused(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "r.toml", '[[member]]\nlogin = "Zhou Ming"\nname = "Zhou"\n')
    error = refused(store, "alice", "roster", path)
    assert f"{path}: record 1: login:" in str(error)
    assert "lower-case letters" in str(error)
    assert roster(store) == []


def test_yes_no_field_that_is_neither_is_refused(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "login,name,on_duty\nboss,Boss,maybe\n")
    error = refused(store, "alice", "roster", path)
    assert f"{path}: line 2: on_duty: 'maybe' is not yes or no" in str(error)
    assert "write true/false, yes/no or 1/0" in str(error)
    assert roster(store) == []


def test_unknown_duty_is_refused(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "r.toml", '[[member]]\nlogin = "boss"\nname = "Boss"\nduties = ["command", "coffee"]\n')
    error = refused(store, "alice", "roster", path)
    assert f"{path}: record 1: duties: 'coffee' is not a duty" in str(error)
    assert "command, web, dns, servers, telecom" in str(error)


def test_channels_in_csv_are_refused_with_the_toml_fix(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "login,name,channels\nboss,Boss,https://hook.example\n")
    error = refused(store, "alice", "roster", path)
    assert f"{path}: line 2: channels: must be a table" in str(error)
    assert "TOML/JSON only" in str(error)


def test_unknown_contact_kind_is_refused(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "c.toml", '[[contact]]\nkey = "mom"\nname = "Mom"\nkind = "family"\n')
    error = refused(seeded, "lead", "contacts", path)
    assert f"{path}: record 1: kind: 'family' is not a contact kind" in str(error)
    assert "leadership" in str(error)
    assert "mom" not in {c["key"] for c in contacts(seeded)}


def test_unknown_system_duty_area_is_refused(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "name,duty_area\nhr-app,catering\n")
    error = refused(seeded, "lead", "systems", path)
    assert f"{path}: line 2: duty_area: 'catering' is not a duty" in str(error)
    assert "hr-app" not in systems(seeded)


def test_bad_toml_syntax_names_the_file_and_the_fix(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "r.toml", '[[member]]\nlogin = "boss\n')
    error = refused(store, "alice", "roster", path)
    assert str(error).startswith(f"{path}: not valid TOML")
    assert "fix the syntax at that line" in str(error)


def test_bad_json_syntax_names_the_file_and_the_fix(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", '[{"login": "boss",}]')
    error = refused(store, "alice", "roster", path)
    assert str(error).startswith(f"{path}: not valid JSON")
    assert "fix the syntax there" in str(error)


def test_toml_without_member_tables_says_how_to_write_them(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "r.toml", '[people]\nlogin = "boss"\n')
    error = refused(store, "alice", "roster", path)
    assert f"{path}: no [[member]] records" in str(error)
    assert "[[member]] table" in str(error)


def test_records_that_are_not_tables_are_refused(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", json.dumps({"members": ["boss", "ops1"]}))
    error = refused(store, "alice", "roster", path)
    assert f"{path}: records must be tables" in str(error)


def test_unknown_file_type_names_the_supported_ones(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "roster.xlsx", "login,name\n")
    error = refused(store, "alice", "roster", path)
    assert f"{path}: unknown file type .xlsx" in str(error)
    assert "use a .toml, .json or .csv file" in str(error)


def test_missing_file_is_named(store: Store, tmp_path: Path) -> None:
    error = refused(store, "alice", "roster", tmp_path / "nope.toml")
    assert f"{tmp_path / 'nope.toml'}: no such file" in str(error)


def test_file_that_is_not_utf8_says_how_to_save_it(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes("login,name\nboss,周明\n".encode("gbk"))
    error = refused(store, "alice", "roster", path)
    assert f"{path}: not UTF-8 text" in str(error)
    assert "save the file as UTF-8" in str(error)


def test_csv_line_with_more_values_than_columns_is_refused(store: Store, tmp_path: Path) -> None:
    # An unquoted comma in a value shifts the rest of the line; the surplus value must
    # not vanish silently (here the stored phone would be cut to "+86 10").
    path = write(tmp_path, "r.csv", "login,name,phone\nboss,Boss,+86 10, 5550 0100\n")
    error = refused(store, "alice", "roster", path)
    assert f"{path}: line 2" in str(error)
    assert roster(store) == []


def test_nothing_from_a_bad_file_is_stored_even_when_its_first_records_are_good(seeded: Store, tmp_path: Path) -> None:
    before = roster(seeded)
    events = len(system_trail(seeded))
    text = (
        "login,name,permission,phone\n"
        "newbie,New,operator,1\n"  # would be added
        "web,Li Na,operator,999\n"  # would be updated
        "bad one,Bad,operator,2\n"
    )
    error = refused(seeded, "lead", "roster", write(tmp_path, "r.csv", text))
    assert "line 4: login" in str(error)
    assert roster(seeded) == before
    assert len(system_trail(seeded)) == events


# -- duplicates within one file -----------------------------------------------------------


def test_duplicate_login_in_one_file_names_both_records(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "r.toml", TWO_MEMBERS + '\n[[member]]\nlogin = "boss"\nname = "Other"\n')
    error = refused(store, "alice", "roster", path)
    assert f"{path}: record 3: login: 'boss' appears twice (first at {path}: record 1)" in str(error)
    assert "keep one record for each" in str(error)
    assert roster(store) == []


def test_duplicate_contact_key_in_csv_is_refused(seeded: Store, tmp_path: Path) -> None:
    text = "key,name,kind\nisp,A,vendor_support\nisp,B,vendor_support\n"
    path = write(tmp_path, "c.csv", text)
    error = refused(seeded, "lead", "contacts", path)
    assert f"{path}: line 3: key: 'isp' appears twice (first at {path}: line 2)" in str(error)
    assert "isp" not in {c["key"] for c in contacts(seeded)}


def test_duplicate_system_name_is_refused(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "name\nhr-app\nhr-app\n")
    error = refused(seeded, "lead", "systems", path)
    assert f"{path}: line 3: name: 'hr-app' appears twice" in str(error)
    assert "hr-app" not in systems(seeded)


# -- re-import: upsert counts -------------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing_and_writes_no_audit_event(seeded: Store) -> None:
    events = len(system_trail(seeded))
    result = Service(seeded, "lead").import_records("roster", demo_fixture("roster.toml"))
    assert result.counts() == {"added": 0, "updated": 0, "unchanged": 6}
    assert len(system_trail(seeded)) == events


def test_reimport_counts_added_updated_and_unchanged(seeded: Store, tmp_path: Path) -> None:
    text = (
        "login,name,permission,duties,phone,on_duty\n"
        "lead,Zhou Ming 周明 (demo),lead,command,+86 10 5550 0100,yes\n"  # email and demo now empty
        "web,Li Na 李娜 (demo),operator,web,+86 10 9999 0000,no\n"
        "newbie,New Person,operator,dns,,no\n"
    )
    result = Service(seeded, "lead").import_records("roster", write(tmp_path, "r.csv", text))
    assert result.counts() == {"added": 1, "updated": 2, "unchanged": 0}
    assert (result.added, sorted(result.updated)) == (["newbie"], ["lead", "web"])
    stored = {m["login"]: m for m in roster(seeded)}
    assert stored["web"]["phone"] == "+86 10 9999 0000"
    assert stored["newbie"]["duties"] == ["dns"]
    assert "servers" in stored  # members missing from the file stay


def test_exact_reimport_of_an_edited_member_counts_one_update(seeded: Store, tmp_path: Path) -> None:
    text = demo_fixture("roster.toml").read_text("utf-8").replace("+86 10 5550 0101", "+86 10 5550 7777")
    result = Service(seeded, "lead").import_records("roster", write(tmp_path, "roster.toml", text))
    assert result.counts() == {"added": 0, "updated": 1, "unchanged": 5}
    assert result.updated == ["web"]
    [event] = [e for e in system_trail(seeded) if e["action"] == "roster_import"][-1:]
    assert event["actor"] == "lead"
    assert (event["details"]["added"], event["details"]["updated"]) == ([], ["web"])


def test_changing_only_a_systems_parent_counts_as_an_update(seeded: Store, tmp_path: Path) -> None:
    text = demo_fixture("systems.toml").read_text("utf-8").replace('parent = "core-network"', 'parent = "dns"')
    result = Service(seeded, "lead").import_records("systems", write(tmp_path, "systems.toml", text))
    assert result.counts() == {"added": 0, "updated": 1, "unchanged": 4}
    assert result.updated == ["portal"]
    assert systems(seeded)["portal"]["parent"] == "dns"


def test_reimporting_the_demo_systems_is_all_unchanged(seeded: Store) -> None:
    result = Service(seeded, "lead").import_records("systems", demo_fixture("systems.toml"))
    assert result.counts() == {"added": 0, "updated": 0, "unchanged": 5}


# -- systems: references must resolve, no cycles -----------------------------------------


def test_unknown_vendor_contact_is_refused_and_nothing_stored(seeded: Store, tmp_path: Path) -> None:
    text = '[[system]]\nname = "hr-app"\n\n[[system]]\nname = "mail"\nvendor_contact = "nobody"\n'
    error = refused(seeded, "lead", "systems", write(tmp_path, "s.toml", text))
    assert "'mail'" in str(error) and "vendor_contact 'nobody' is not a contact" in str(error)
    assert "import contacts first" in str(error)
    assert "hr-app" not in systems(seeded) and "mail" not in systems(seeded)


def test_unknown_vendor_contact_error_names_the_file_and_record(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "s.toml", '[[system]]\nname = "hr-app"\n\n[[system]]\nname = "mail"\nvendor_contact = "x"\n')
    error = refused(seeded, "lead", "systems", path)
    assert f"{path}: record 2: vendor_contact" in str(error)


def test_unknown_parent_is_refused_and_nothing_stored(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "name,parent\nhr-app,portal\nmail,exchange\n")
    error = refused(seeded, "lead", "systems", path)
    assert "'mail'" in str(error) and "parent 'exchange' is not a system" in str(error)
    assert "add the parent to the file or the catalog" in str(error)
    assert "hr-app" not in systems(seeded)


def test_unknown_parent_error_names_the_file_and_line(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "name,parent\nhr-app,portal\nmail,exchange\n")
    error = refused(seeded, "lead", "systems", path)
    assert f"{path}: line 3: parent" in str(error)


def test_parent_cycle_within_the_file_is_refused(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "name,parent\nhr-a,hr-b\nhr-b,hr-a\n")
    error = refused(seeded, "lead", "systems", path)
    assert "is its own ancestor" in str(error)
    assert "fix the parent chain in the file" in str(error)
    assert "hr-a" not in systems(seeded) and "hr-b" not in systems(seeded)


def test_system_that_is_its_own_parent_is_refused(seeded: Store, tmp_path: Path) -> None:
    error = refused(seeded, "lead", "systems", write(tmp_path, "s.csv", "name,parent\nloop,loop\n"))
    assert "'loop' is its own ancestor" in str(error)
    assert "loop" not in systems(seeded)


def test_cycle_through_the_existing_catalog_is_refused_and_the_catalog_kept(seeded: Store, tmp_path: Path) -> None:
    # benefits-app's parent is db-cluster; making db-cluster a child of benefits-app loops.
    path = write(tmp_path, "s.toml", '[[system]]\nname = "db-cluster"\nparent = "benefits-app"\n')
    before = systems(seeded)
    error = refused(seeded, "lead", "systems", path)
    assert "is its own ancestor" in str(error)
    assert systems(seeded) == before


def test_parent_cycle_error_names_the_file(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "name,parent\nhr-a,hr-b\nhr-b,hr-a\n")
    error = refused(seeded, "lead", "systems", path)
    assert str(path) in str(error)


# -- who may import: bootstrap, then leads only ------------------------------------------


def test_while_nobody_leads_anyone_may_import_and_is_recorded_as_the_actor(store: Store, tmp_path: Path) -> None:
    Service(store, "stranger").import_records("roster", write(tmp_path, "r.toml", TWO_MEMBERS))
    assert [m["login"] for m in roster(store)] == ["boss", "ops1"]
    [event] = [e for e in system_trail(store) if e["action"] == "roster_import"]
    assert event["actor"] == "stranger"
    assert event["details"]["added"] == ["boss", "ops1"]


def test_bootstrap_lasts_while_the_roster_has_no_lead(store: Store, tmp_path: Path) -> None:
    no_lead = '[[member]]\nlogin = "ops1"\nname = "Ops"\n'
    Service(store, SEED_ACTOR).import_records("roster", write(tmp_path, "a.toml", no_lead))
    result = Service(store, "ops1").import_records("roster", write(tmp_path, "b.toml", TWO_MEMBERS))
    assert result.added == ["boss"]


def test_once_a_lead_exists_an_operators_import_is_refused_naming_the_leads(seeded: Store, tmp_path: Path) -> None:
    before = roster(seeded)
    with pytest.raises(DomainError) as info:
        Service(seeded, "servers").import_records("roster", write(tmp_path, "r.toml", TWO_MEMBERS))
    assert info.value.kind is ErrorKind.REFUSED
    assert "roster import is for leads; servers is operator" in str(info.value)
    assert "ask a lead: lead" in str(info.value)
    assert roster(seeded) == before


def test_refusal_names_every_lead(seeded: Store, tmp_path: Path) -> None:
    Service(seeded, "lead").import_records("roster", write(tmp_path, "r.toml", TWO_MEMBERS))
    with pytest.raises(DomainError) as info:
        Service(seeded, "web").import_records("contacts", demo_fixture("contacts.toml"))
    assert "ask a lead: boss, lead" in str(info.value)


def test_viewer_import_is_refused(seeded: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "key,name,kind\nisp,ISP,vendor_support\n")
    with pytest.raises(DomainError) as info:
        Service(seeded, "auditor").import_records("contacts", path)
    assert "auditor is viewer" in str(info.value)
    assert "isp" not in {c["key"] for c in contacts(seeded)}


def test_login_not_on_the_roster_is_a_viewer_and_refused(seeded: Store, tmp_path: Path) -> None:
    with pytest.raises(DomainError) as info:
        Service(seeded, "stranger").import_records("roster", write(tmp_path, "r.toml", TWO_MEMBERS))
    assert "stranger is viewer" in str(info.value)
    assert "boss" not in {m["login"] for m in roster(seeded)}


def test_read_only_session_cannot_bootstrap(store: Store, tmp_path: Path) -> None:
    with pytest.raises(DomainError) as info:
        Service(store, "alice", read_only=True).import_records("roster", write(tmp_path, "r.toml", TWO_MEMBERS))
    assert "read-only" in str(info.value)
    assert roster(store) == []


def test_lead_may_import(seeded: Store, tmp_path: Path) -> None:
    result = Service(seeded, "lead").import_records("roster", write(tmp_path, "r.toml", TWO_MEMBERS))
    assert result.added == ["boss", "ops1"]


# -- the parser alone ---------------------------------------------------------------------


def test_parse_file_reports_where_each_record_came_from(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "login,name\nboss,Boss\n\nops1,Ops\n")
    parsed = directory.parse_file(path, "roster")
    assert [record.where for record, _ in parsed] == [f"{path}: line 2", f"{path}: line 4"]
    assert [data["login"] for _, data in parsed] == ["boss", "ops1"]


def test_record_error_carries_where_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "r.toml", '[[member]]\nlogin = "boss"\nname = 3.5e0\nphone = true\n')
    with pytest.raises(directory.RecordError) as info:
        directory.parse_file(path, "roster")
    assert info.value.params == {"where": f"{path}: record 1", "key": "phone"}
    assert "phone: must be text" in str(info.value)
