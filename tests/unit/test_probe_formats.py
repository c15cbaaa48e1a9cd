"""The probe file parsers: every format good, broken and hostile against the files in
fixtures/probes/, the naming contract, state mappings, perfdata, encodings, and a
hypothesis property that nothing but FormatError ever comes out of a parser."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsdeck.backend import probes as pf
from opsdeck.backend.probes import FormatError, ParsedResult, PerfDatum

FIXTURES = Path(__file__).parents[2] / "fixtures" / "probes"
T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # unix 1795834800, the fixtures' "now"
RESULT_KINDS = {"nagios", "plugin_out", "prometheus", "health", "jsonl"}


def at(seconds: int, micros: int = 0) -> datetime:
    """A time given as seconds from T0 (negative: before)."""
    return T0 + timedelta(seconds=seconds, microseconds=micros)


def read(rel: str, encoding: str = "utf-8") -> str:
    text, replaced = pf.decode((FIXTURES / rel).read_bytes(), encoding)
    assert not replaced, rel
    return text


def parse_file(path: Path, encoding: str = "utf-8") -> list[ParsedResult]:
    """What the ingest does with one file: detect, decode, parse (with the .rc beside a .out)."""
    raw = path.read_bytes()
    kind = pf.detect(path.name, raw[:512])
    text, _ = pf.decode(raw, encoding)
    stem = path.name.rsplit(".", 1)[0]
    if kind == "nagios":
        return pf.parse_nagios(text)[1]
    if kind == "plugin_out":
        rc = path.with_suffix(".rc")
        return [pf.parse_plugin(stem, text, rc.read_text("ascii") if rc.exists() else None)]
    if kind == "prometheus":
        return pf.parse_prometheus(stem, text)
    if kind == "health":
        return pf.parse_health(stem, text)
    if kind == "jsonl":
        return pf.parse_jsonl(stem, text)
    raise AssertionError(f"{path.name} is not a result file (detected {kind})")


def by_probe(results: list[ParsedResult]) -> dict[str, ParsedResult]:
    named = {r.probe: r for r in results}
    assert len(named) == len(results), "a probe name came twice"
    return named


def result_files(folder: str) -> list[Path]:
    paths = sorted(p for p in (FIXTURES / folder).iterdir() if p.is_file())
    return [p for p in paths if pf.detect(p.name, p.read_bytes()[:512]) in RESULT_KINDS]


def ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


# -- the fixtures as a whole ---------------------------------------------------------------


def readme_names() -> dict[str, set[str]]:
    """The file names each README section lists; `x.out` + `.rc` lists both."""
    sections: dict[str, set[str]] = {}
    current: set[str] = set()
    for line in (FIXTURES / "README.md").read_text("utf-8").splitlines():
        heading = re.match(r"## (\w+)/", line)
        if heading:
            current = sections.setdefault(heading[1], set())
        elif line.startswith("| `"):
            tokens = re.findall(r"`([^`]+)`", line.split(" | ")[0])
            for token in tokens:
                current.add(tokens[0].rsplit(".", 1)[0] + token if token in (".rc", ".ok") else token)
    return sections


def test_every_fixture_file_is_listed_in_the_readme() -> None:
    listed = readme_names()
    on_disk = {
        folder.name: {p.name for p in folder.iterdir() if p.is_file()}
        for folder in FIXTURES.iterdir()
        if folder.is_dir()
    }
    assert set(listed) == set(on_disk) == {"good", "gb18030", "broken", "hostile", "ignored"}
    for folder, names in on_disk.items():
        assert names == listed[folder], folder


@pytest.mark.parametrize("path", result_files("good"), ids=ids(result_files("good")))
def test_every_good_file_parses_cleanly(path: Path) -> None:
    raw = path.read_bytes()
    assert not pf.is_binary(raw)
    assert pf.decode(raw)[1] is False
    results = parse_file(path)
    assert results
    for result in results:
        assert result.state in pf.STATES
        assert result.probe
        assert result.kind in {"nagios", "plugin", "prometheus", "health", "jsonl"}
        for moment in (result.at, result.last_success):
            assert moment is None or moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize("path", result_files("broken"), ids=ids(result_files("broken")))
def test_every_broken_file_is_refused(path: Path) -> None:
    raw = path.read_bytes()
    if pf.is_binary(raw):
        return
    with pytest.raises(FormatError):
        parse_file(path)


def test_the_binary_fixture_is_binary() -> None:
    assert pf.is_binary((FIXTURES / "broken/binary-nul.out").read_bytes())


@pytest.mark.parametrize("path", sorted((FIXTURES / "ignored").iterdir()), ids=lambda p: p.name)
def test_detect_leaves_the_ignored_files_alone(path: Path) -> None:
    assert pf.detect(path.name, path.read_bytes()[:512]) is None


# -- detect --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "head", "kind"),
    [
        ("cLAN001", b"### Active Check Result File ###\nfile_time=1795834800\n", "nagios"),
        ("cNRDP01", b"### NRDP Check ###\nstart_time=1795834500.0\n", "nagios"),
        ("cAbC123", b"host_name=web01\noutput=OK\n", "nagios"),
        ("cAbC123", b"file_time=1795834800\n", "nagios"),
        ("cAbC123", b"\xef\xbb\xbf### Nagios Service Check Result ###\n", "nagios"),
        ("/var/spool/opsdeck/cAbC123", b"host_name=web01\n", "nagios"),
        ("changes", b"see CHANGELOG\n", None),  # c + six letters, but not a check result
        ("cAbC123", b"", None),  # mkstemp made it, nothing written yet
        ("cAbC12", b"host_name=web01\n", None),
        ("cAbC1234", b"host_name=web01\n", None),
        ("c_bC123", b"host_name=web01\n", None),
        ("cAbC123.ok", b"", "nagios_ok"),
        ("notes.ok", b"", None),
        ("web01-load.out", b"LOAD OK", "plugin_out"),
        ("web01-load.rc", b"0\n", "plugin_rc"),
        ("local-checks.prom", b"", "prometheus"),
        ("LOCAL.PROM", b"", "prometheus"),
        ("local-checks.prom.tmp", b"", None),
        ("local-checks.prom.4711", b"", None),
        ("local-checks.prom.part", b"", None),
        ("local-checks.prom~", b"", None),
        (".local-checks.prom", b"", None),
        (".out", b"", None),
        ("portal-health.json", b'{\n  "status": "pass"\n}\n', "health"),
        ("portal-health.json", b'{"status": "pass"}\n', "health"),
        ("portal-health.json", b"[1, 2]", "health"),
        ("events.json", b'{"probe": "a", "status": 0}\n{"probe": "b", "status": 1}\n', "jsonl"),
        ("events.jsonl", b"", "jsonl"),
        ("events.ndjson", b"", "jsonl"),
        ("notes.txt", b"host_name=web01\n", None),
        ("README", b"### notes\n", None),
    ],
)
def test_detect(name: str, head: bytes, kind: str | None) -> None:
    assert pf.detect(name, head) == kind


# -- decode and is_binary ------------------------------------------------------------------

GB18030_OUT = FIXTURES / "gb18030" / "win-av-cn.out"


def test_gb18030_output_is_clean_in_its_spool_encoding() -> None:
    raw = GB18030_OUT.read_bytes()
    assert not pf.is_binary(raw, "gb18030")
    text, replaced = pf.decode(raw, "gb18030")
    assert replaced is False
    result = pf.parse_plugin("win-av-cn", text, (FIXTURES / "gb18030/win-av-cn.rc").read_text("ascii"))
    assert result.state == "CRITICAL"
    assert result.output == (
        "CRITICAL - 病毒库已过期 3 天(版本 2026.11.25),12 台客户端未更新\n"
        "终端 PC-财务-07:发现木马 Trojan.Win32.Agent,已隔离\n"
        "终端 PC-人事-02:实时防护已关闭"
    )
    assert [(p.label, p.value, p.warn, p.crit) for p in result.perfdata] == [
        ("outdated_days", 3.0, "1", "2"),
        ("outdated_clients", 12.0, "1", "5"),
    ]


def test_gb18030_output_read_as_utf8_is_binary_and_flagged() -> None:
    raw = GB18030_OUT.read_bytes()
    assert pf.is_binary(raw)
    text, replaced = pf.decode(raw)
    assert replaced is True
    assert "\ufffd" in text
    assert text.startswith("CRITICAL - ")


def test_decode_drops_a_byte_order_mark() -> None:
    assert pf.decode(b"\xef\xbb\xbfOK - fine") == ("OK - fine", False)
    assert pf.decode("\ufeffOK - 正常".encode("gb18030"), "gb18030") == ("OK - 正常", False)


def test_decode_replaces_and_says_so() -> None:
    assert pf.decode(b"disk \xff full") == ("disk \ufffd full", True)
    assert pf.decode(b"disk full") == ("disk full", False)


def test_decode_keeps_control_characters() -> None:
    raw = "a\x1b]52;c;eA==\x07b\u009bc\u202ed\x85e".encode()
    assert pf.decode(raw) == ("a\x1b]52;c;eA==\x07b\u009bc\u202ed\x85e", False)


@pytest.mark.parametrize(
    ("raw", "binary"),
    [
        (b"", False),
        (b"OK - fine\n", False),
        (b"OK\x00", True),
        (b"a" * 90 + b"\xff" * 10, False),  # exactly 10 %: not more than 10 %
        (b"a" * 89 + b"\xff" * 11, True),
        (b"\x1b[2J\x9b", True),  # one undecodable byte in five is 20 %
        (b"\x1b[2J\xc2\x9b" + b"a" * 10, False),  # U+009B written as UTF-8 decodes fine
    ],
)
def test_is_binary(raw: bytes, binary: bool) -> None:
    assert pf.is_binary(raw) is binary


def test_is_binary_judges_utf16_by_its_characters() -> None:
    raw = "OK - 正常\n".encode("utf-16")
    assert pf.is_binary(raw, "utf-16") is False
    assert pf.is_binary(raw) is True  # its NUL bytes, read as UTF-8


def test_check_encoding() -> None:
    assert pf.check_encoding("GB18030") == "gb18030"
    assert pf.check_encoding("UTF8") == "utf-8"
    with pytest.raises(ValueError, match="not a text encoding"):
        pf.check_encoding("klingon")


@given(st.binary(max_size=400), st.sampled_from(["utf-8", "gb18030", "utf-16", "latin-1"]))
def test_decode_and_is_binary_never_raise_on_random_bytes(raw: bytes, encoding: str) -> None:
    text, replaced = pf.decode(raw, encoding)
    try:
        raw.decode(encoding)
        assert replaced is False
    except UnicodeDecodeError:
        assert replaced is True
        assert "\ufffd" in text
    binary = pf.is_binary(raw, encoding)
    if encoding in ("utf-8", "gb18030", "latin-1") and b"\x00" in raw:
        assert binary


@given(st.text(), st.sampled_from(["utf-8", "gb18030"]))
def test_text_without_nul_is_not_binary(text: str, encoding: str) -> None:
    raw = text.replace("\x00", "").encode(encoding)
    assert pf.is_binary(raw, encoding) is False
    assert pf.decode(raw, encoding) == (text.replace("\x00", "").removeprefix("\ufeff"), False)


# -- Nagios checkresult files ----------------------------------------------------------------


def test_nagios_core_file_with_services_and_a_host() -> None:
    file_time, results = pf.parse_nagios(read("good/cLAN001"))
    assert file_time == T0
    assert [(r.probe, r.state) for r in results] == [
        ("core-sw01/LAN uplink traffic", "WARNING"),
        ("core-sw01/LAN latency", "OK"),
        ("core-sw01", "OK"),
    ]
    traffic, latency, host = results
    assert traffic.output == (
        "TRAFFIC WARNING - Gi1/0/48 in 812.4 Mbit/s (81%), out 402.9 Mbit/s (40%)\n"
        "Gi1/0/47 in 12.3 Mbit/s, out 8.1 Mbit/s\n"
        "Gi1/0/46 admin down\n"
        "CRC errors since last check: 3"
    )
    assert traffic.perfdata == (
        PerfDatum("Gi1/0/48 in", 812400000.0, "", "750000000", "900000000", 0.0, 1000000000.0),
        PerfDatum("Gi1/0/48 out", 402900000.0, "", "750000000", "900000000", 0.0, 1000000000.0),
        PerfDatum("Gi1/0/48 crc", 3.0, "c", "10", "100", 0.0, None),
    )
    # finish_time, as seconds.microseconds with the microseconds not zero-padded (%lu.%lu)
    assert traffic.at == at(-4, 981200)
    assert latency.at == at(-6, 7730)
    assert host.at == at(-12, 402311)
    assert latency.output == "PING OK - Packet loss = 0%, RTA = 0.42 ms"
    assert latency.perfdata[0] == PerfDatum("rta", 0.42, "ms", "100.000000", "500.000000", 0.0, None)
    assert {r.kind for r in results} == {"nagios"}


def test_nsca_file_is_named_by_service_description_not_by_its_section_title() -> None:
    file_time, [result] = pf.parse_nagios(read("good/cNSCA01"))
    assert file_time == at(-110)
    assert result.probe == "fw-edge01/Security device log ingest"  # under "### Host Check Result ###"
    assert result.state == "CRITICAL"
    assert result.at == at(-112)
    assert result.output == (
        "LOG CRITICAL - no syslog from fw-edge01 for 31 min (last message 02:27:02)\n"
        "expected at least 1 message a minute; collector logs01 is reachable"
    )


def test_nrdp_file_without_file_time_ages_by_its_start_time() -> None:
    file_time, [result] = pf.parse_nagios(read("good/cNRDP01"))
    assert file_time is None
    assert result.at == at(-300)  # start_time; NRDP writes no finish_time
    assert result.probe == "db01/Database audit trail"
    assert result.state == "OK"
    assert result.output == (  # NRDP's trailing \n is not part of the output
        "AUDIT OK - 14213 audit records in the last hour, trail continuous\n"
        "last record 2026-11-28 02:54:51 (user app_rw, UPDATE on payments)"
    )


def test_a_file_without_its_marker_still_parses() -> None:
    assert not (FIXTURES / "good/cWAIT01.ok").exists()
    file_time, [result] = pf.parse_nagios(read("good/cWAIT01"))
    assert (file_time, result.probe, result.state) == (at(5), "web01/OS audit records", "OK")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("cNOHST1", "line 2: check result without host_name"),
        ("cBADRC1", "line 5: return_code 'OK' is not a number"),
        ("cBADTIM", "line 2: file_time 'yesterday' is not a unix time"),
    ],
)
def test_broken_nagios_files(name: str, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        pf.parse_nagios(read(f"broken/{name}"))
    assert str(caught.value) == message


def nagios(*lines: str) -> list[ParsedResult]:
    return pf.parse_nagios("\n".join(lines) + "\n")[1]


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("0", "OK"),
        ("1", "WARNING"),
        ("2", "CRITICAL"),
        ("3", "UNKNOWN"),
        ("4", "UNKNOWN"),
        ("-1", "UNKNOWN"),
        ("255", "UNKNOWN"),
    ],
)
@pytest.mark.parametrize("service", [True, False], ids=["service", "host"])
def test_nagios_return_codes_map_alike_for_hosts_and_services(code: str, state: str, service: bool) -> None:
    lines = ["host_name=web01", *(["service_description=HTTP"] if service else []), f"return_code={code}", "output=x"]
    [result] = nagios(*lines)
    assert result.state == state
    assert result.probe == ("web01/HTTP" if service else "web01")


def test_nagios_missing_keys_are_tolerated() -> None:
    [result] = nagios("host_name=web01", "service_description=HTTP")
    assert (result.state, result.output, result.at, result.perfdata) == ("UNKNOWN", "", None, ())


def test_nagios_timeouts_and_bad_exits_override_the_return_code() -> None:
    [timed_out] = nagios("host_name=a", "early_timeout=1", "return_code=0", "output=")
    [bad_exit] = nagios("host_name=a", "exited_ok=0", "return_code=0", "output=")
    assert (timed_out.state, bad_exit.state) == ("CRITICAL", "UNKNOWN")


def test_nagios_unescapes_output_as_core_does() -> None:
    [result] = nagios("host_name=a", "return_code=0", r"output=one\ntwo\\nthree\\\\four\tfive")
    assert result.output == "one\ntwo\\nthree\\\\four\\tfive"


def test_nagios_output_may_hold_equals_signs_and_pipes_in_long_output() -> None:
    [result] = nagios("host_name=a", "return_code=0", r"output=x=1 | a=1\nlong=2 | b=2c")
    assert result.output == "x=1\nlong=2"
    assert [(p.label, p.uom) for p in result.perfdata] == [("a", ""), ("b", "c")]


def test_nagios_windows_line_ends() -> None:
    [result] = pf.parse_nagios("file_time=1795834800\r\n\r\nhost_name=web01\r\nreturn_code=2\r\noutput=DOWN\r\n")[1]
    assert (result.probe, result.state, result.output) == ("web01", "CRITICAL", "DOWN")


def test_nagios_file_time_may_come_anywhere() -> None:
    file_time, results = pf.parse_nagios("host_name=a\noutput=x\nreturn_code=0\n\nfile_time=1795834800\n")
    assert file_time == T0
    assert len(results) == 1


def test_nagios_time_without_microseconds_and_zero_time() -> None:
    [with_seconds] = nagios("host_name=a", "output=x", "finish_time=1795834800")
    [zero] = nagios("host_name=a", "output=x", "start_time=0.0", "finish_time=0.0")
    assert (with_seconds.at, zero.at) == (T0, None)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "### Active Check Result File ###\nfile_time=1795834800\n",
        "garbage without equals signs\nmore garbage\n",
        "# only comments\n",
    ],
)
def test_nagios_file_without_a_result_is_refused(text: str) -> None:
    with pytest.raises(FormatError, match="no check result"):
        pf.parse_nagios(text)


def test_nagios_bad_finish_time_names_its_line() -> None:
    with pytest.raises(FormatError, match=r"^line 3: finish_time '17958348xx' is not a unix time$"):
        nagios("host_name=a", "output=x", "finish_time=17958348xx")


# -- Monitoring Plugins output --------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "state", "summary", "labels"),
    [
        ("web01-load", "OK", "LOAD OK - total load average: 0.42, 0.51, 0.47", ["load1", "load5", "load15"]),
        (
            "portal-http",
            "WARNING",
            "HTTP WARNING: HTTP/1.1 200 OK - 48211 bytes in 3.412 second response time",
            ["time", "size"],
        ),
        ("nas01-backup-volume", "CRITICAL", "DISK CRITICAL - free space: /backup 41 GB (4% inode=97%);", ["/backup"]),
        (
            "web01-access-log",
            "WARNING",
            "LOG WARNING - 1832 HTTP 401 responses in 10 min from 3 addresses (warn at 1000)",
            ["http_401", "sources"],
        ),
        (
            "av-servers",
            "OK",
            "OK: signatures current on 38/38 servers (engine 6.4.2, definitions 2026-11-28.01)",
            ["outdated", "infections_24h"],
        ),
        (
            "app01-business-audit",
            "OK",
            "AUDIT OK - business audit log: 2208 entries since 00:00, hash chain verified",
            ["entries"],
        ),
        (
            "vuln-scan-weekly",
            "WARNING",
            "VULN WARNING - weekly scan 2026-11-27: 0 critical, 3 high, 12 medium findings",
            ["critical", "high", "medium"],
        ),
        ("switch-stack", "UNKNOWN", "stack members: 4 of 4 present, master sw-stack-1", []),
        ("raid-legacy", "UNKNOWN", "/usr/lib/nagios/plugins/check_raid: not found", []),
    ],
)
def test_plugin_fixtures(stem: str, state: str, summary: str, labels: list[str]) -> None:
    [result] = parse_file(FIXTURES / "good" / f"{stem}.out")
    assert (result.probe, result.state, result.kind, result.at) == (stem, state, "plugin", None)
    assert result.output.split("\n")[0] == summary
    assert [p.label for p in result.perfdata] == labels


def test_plugin_perfdata_units() -> None:
    [http] = parse_file(FIXTURES / "good/portal-http.out")
    assert http.perfdata == (
        PerfDatum("time", 3.412, "s", "2.000000", "5.000000", 0.0, 10.0),
        PerfDatum("size", 48211.0, "B", "", "", 0.0, None),
    )
    [disk] = parse_file(FIXTURES / "good/nas01-backup-volume.out")
    assert disk.perfdata == (PerfDatum("/backup", 982016.0, "MB", "921600", "972800", 0.0, 1024000.0),)


def test_plugin_long_output_carries_perfdata_to_the_end() -> None:
    [result] = parse_file(FIXTURES / "good/db01-mysql.out")
    assert result.output == (
        "MYSQL OK - 41 threads connected, 3.2 queries/s, replica lag 0s\n"
        "InnoDB buffer pool hit rate 99.87%\n"
        "Slow queries in the last hour: 2"
    )
    assert result.perfdata == (
        PerfDatum("threads connected", 41.0, "", "150", "200", 0.0, 500.0),
        PerfDatum("queries per second", 3.2, "", "", "", 0.0, None),
        PerfDatum("replica lag", 0.0, "s", "60", "300", 0.0, None),
        PerfDatum("buffer pool hit", 99.87, "%", "95:", "90:", 0.0, 100.0),
        PerfDatum("slow queries", 2.0, "c", "", "", 0.0, None),
    )


@pytest.mark.parametrize(
    ("rc", "state"),
    [
        ("0", "OK"),
        ("1\n", "WARNING"),
        (" 2 \r\n", "CRITICAL"),
        ("3", "UNKNOWN"),
        ("4", "UNKNOWN"),
        ("127\n", "UNKNOWN"),
        ("-1", "UNKNOWN"),
        ("", "UNKNOWN"),
        ("OK", "UNKNOWN"),
        ("9" * 40, "UNKNOWN"),
        ("٢", "UNKNOWN"),  # an Arabic-Indic two: int() would take it, an exit code is ASCII
    ],
)
def test_exit_codes(rc: str, state: str) -> None:
    assert pf.parse_plugin("x", "OK - the exit code wins", rc).state == state


@pytest.mark.parametrize(
    ("summary", "state"),
    [
        ("DISK CRITICAL - free space: / 3326 MB (5%)", "CRITICAL"),
        ("OK: all fine", "OK"),
        ("HTTP WARNING: HTTP/1.1 403 Forbidden", "WARNING"),
        ("CRITICAL", "CRITICAL"),
        ("UNKNOWN - plugin timed out", "UNKNOWN"),
        ("SSL_CERT OK", "OK"),
        ("PROCS OK: 120 processes", "OK"),
        ("FILE_AGE WARNING - /var/backup/last is 26 h old", "WARNING"),
        ("NTP CRITICAL: Offset unknown|offset=U", "CRITICAL"),
        ("MY SQL SLAVE OK - lag 0", "OK"),
        ("OK, 5 files", "OK"),
        ("check_x OK", None),
        ("Everything is OK", None),
        ("NO CRITICAL alarms", None),
        ("OKAY then", None),
        ("ok: lower case", None),
        ("A B C D OK - more than three words before it", None),
        ("", None),
    ],
)
def test_status_word_decides_without_an_exit_code(summary: str, state: str | None) -> None:
    assert pf.status_word(summary) == state
    assert pf.parse_plugin("x", summary + "\nlong output OK: not this line", None).state == (state or "UNKNOWN")


def test_plugin_output_is_kept_as_received() -> None:
    result = pf.parse_plugin("x", "WARNING -  two  spaces\r\n\tindented long line \r\n\n\n", None)
    assert result.output == "WARNING -  two  spaces\n\tindented long line "


def test_plugin_output_without_summary_text_or_anything() -> None:
    assert pf.parse_plugin("x", "", "0") == ParsedResult("x", "OK", "", None, (), kind="plugin")
    only_perf = pf.parse_plugin("x", "| a=1\nlong | b=2\n", "0")
    assert (only_perf.output, [p.label for p in only_perf.perfdata]) == ("\nlong", ["a", "b"])


def test_plugin_long_output_line_that_is_only_perfdata() -> None:
    result = pf.parse_plugin("x", "OK - sum\n| a=1\nb=2\n", None)
    assert result.output == "OK - sum"
    assert [p.label for p in result.perfdata] == ["a", "b"]


# -- performance data -----------------------------------------------------------------------


def datum(
    label: str,
    value: float | None,
    uom: str = "",
    warn: str = "",
    crit: str = "",
    low: float | None = None,
    high: float | None = None,
) -> PerfDatum:
    return PerfDatum(label, value, uom, warn, crit, low, high)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("time=0.1s;1;2;0;10", [datum("time", 0.1, "s", "1", "2", 0.0, 10.0)]),
        ("'a b''c'=5", [datum("a b'c", 5.0)]),
        ("''''=1", [datum("'", 1.0)]),
        ("'a=b'=1", [datum("a=b", 1.0)]),
        ("'free space'=U", [datum("free space", None)]),
        ("x=U;1;2", [datum("x", None, "", "1", "2")]),
        ("x=5%", [datum("x", 5.0, "%")]),
        (
            "x=5B y=5KB z=5MB w=5TB",
            [datum("x", 5.0, "B"), datum("y", 5.0, "KB"), datum("z", 5.0, "MB"), datum("w", 5.0, "TB")],
        ),
        ("x=5c y=5ms z=5us", [datum("x", 5.0, "c"), datum("y", 5.0, "ms"), datum("z", 5.0, "us")]),
        ("x=1;~:95;@10:20", [datum("x", 1.0, "", "~:95", "@10:20")]),
        ("x=1;10:;5:", [datum("x", 1.0, "", "10:", "5:")]),
        ("x=1;-5:-1;@~:0", [datum("x", 1.0, "", "-5:-1", "@~:0")]),
        ("x=1", [datum("x", 1.0)]),
        ("x=1;;;", [datum("x", 1.0)]),
        ("x=1;;;;", [datum("x", 1.0)]),
        ("x=1;;;0;", [datum("x", 1.0, low=0.0)]),
        ("x=1;;;U;U", [datum("x", 1.0)]),
        ("x=1.5e3 y=-5.5 z=.5 w=+2", [datum("x", 1500.0), datum("y", -5.5), datum("z", 0.5), datum("w", 2.0)]),
        ("  a=1\t b=2\n c=3  ", [datum("a", 1.0), datum("b", 2.0), datum("c", 3.0)]),
        ("a=1 b= c=2", [datum("a", 1.0), datum("c", 2.0)]),
        ("=1 a=2", [datum("a", 2.0)]),
        ("a=1;2;3;4;5;6 b=1", [datum("b", 1.0)]),
        ("a=x b=--1 c=1e999 d=NaN e=1", [datum("e", 1.0)]),
        ("a=1;80%;90 b=1;;;min c=1", [datum("c", 1.0)]),
        ("lonely a=1", [datum("a", 1.0)]),
        ("a=1 'b c=2", [datum("a", 1.0)]),
        ("'quoted' =1 a=2", [datum("a", 2.0)]),
        ("", []),
    ],
)
def test_parse_perfdata(text: str, expected: list[PerfDatum]) -> None:
    assert list(pf.parse_perfdata(text)) == expected


@given(st.text())
def test_parse_perfdata_never_raises(text: str) -> None:
    for item in pf.parse_perfdata(text):
        assert item.label.strip()
        assert item.value is None or math.isfinite(item.value)


# -- Prometheus text exposition ---------------------------------------------------------------


def test_blackbox_probes_are_named_by_instance_with_details_in_the_output() -> None:
    results = pf.parse_prometheus("blackbox-portal", read("good/blackbox-portal.prom"))
    assert [(r.probe, r.state, r.output) for r in results] == [
        ("https://portal.example.org/", "OK", "probe succeeded; took 0.183 s; HTTP 200"),
        ("https://pay.example.org/health", "CRITICAL", "probe failed; took 10.002 s; HTTP 503"),
    ]
    assert {(r.kind, r.at, r.last_success) for r in results} == {("prometheus", None, None)}


def test_blackbox_probe_without_instance_is_named_by_the_file_stem() -> None:
    [result] = pf.parse_prometheus("blackbox-dns", read("good/blackbox-dns.prom"))
    assert (result.probe, result.state, result.output) == ("blackbox-dns", "OK", "probe succeeded; took 0.004212 s")


def test_local_checks_are_named_by_their_probe_label() -> None:
    results = pf.parse_prometheus("local-checks", read("good/local-checks.prom"))
    assert {r.probe: r.state for r in results} == {
        "lan-core-uplink-util": "WARNING",
        "lan-dhcp-pool-floor3": "OK",
        "fw-edge01-access-log": "OK",
        "backup-storage-nas01": "CRITICAL",
        "av-definitions-clients": "UNKNOWN",
    }


def test_readiness_gauges_leave_the_state_to_the_ingest() -> None:
    results = by_probe(pf.parse_prometheus("readiness-backups", read("good/readiness-backups.prom")))
    assert {r.state for r in results.values()} == {"UNKNOWN"}
    assert {name: r.last_success for name, r in results.items()} == {
        "backup-os-config-local": at(-14400),
        "backup-os-config-remote": at(-13500),
        "backup-os-config-offsite": at(-99000),
        "backup-app-data-local": at(-7200),
        "backup-app-data-remote": at(-6300),
        "backup-app-data-offsite": at(-162000),  # written as 1.7956728e+09
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "bad-line.prom",
            r"^line 3: not Prometheus text format \(.*\): 'opsdeck_probe_status\{probe=\"lan-dhcp-pool-floor3\" 1'$",
        ),
        (
            "duplicate-series.prom",
            r'^line 4: duplicate series opsdeck_probe_status\{probe="lan-core-uplink-util",site="hq"\} \(first on line 2\)$',
        ),
        ("client-timestamps.prom", r"^line 2: opsdeck_probe_status has a client-side timestamp"),
        ("nan-status.prom", r"^line 3: opsdeck_probe_status is NaN: a state is 0, 1, 2 or 3$"),
        ("out-of-range.prom", r"^line 1: opsdeck_probe_status is 4: a state is 0, 1, 2 or 3$"),
        ("probe-success-half.prom", r"^line 1: probe_success is 0.5: it must be 1 \(success\) or 0 \(failure\)$"),
        (
            "missing-probe-label.prom",
            r'^line 1: opsdeck_probe_status has no probe label: write opsdeck_probe_status\{probe="NAME"\}$',
        ),
        ("second-type.prom", r"^line 3: second TYPE line for opsdeck_probe_status \(first on line 1\)$"),
        ("probe-twice.prom", r"^line 2: probe 'backup-storage-nas01' is given twice \(first on line 1\)$"),
        ("no-probe-metric.prom", r"^no probe metric in the file"),
    ],
)
def test_prometheus_rejections(name: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        pf.parse_prometheus(name.removesuffix(".prom"), read(f"broken/{name}"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("probe_success 1 2 3", "line 1: probe_success has a client-side timestamp"),
        ("probe_success +Inf", "line 1: probe_success is inf"),
        ("probe_success NaN", "line 1: probe_success is NaN"),
        ('opsdeck_probe_status{probe="a"} 1.5', "line 1: opsdeck_probe_status is 1.5"),
        ('opsdeck_probe_status{probe="a"} -1', "line 1: opsdeck_probe_status is -1"),
        ('opsdeck_probe_status{probe="a"} ' + "9" * 400, "line 1: opsdeck_probe_status is 99999999999999999..."),
        ('opsdeck_probe_status{probe=""} 0', "line 1: opsdeck_probe_status has no probe label"),
        (
            'opsdeck_last_success_timestamp_seconds{probe="a"} -5',
            "line 1: opsdeck_last_success_timestamp_seconds is -5",
        ),
        (
            'opsdeck_last_success_timestamp_seconds{probe="a"} NaN',
            "line 1: opsdeck_last_success_timestamp_seconds is NaN",
        ),
        ('opsdeck_last_success_timestamp_seconds{probe="a"} 1795834800000', "give unix seconds"),
        ("probe_success 1\n\nprobe_success 1", "line 3: duplicate series probe_success{} (first on line 1)"),
        (
            'opsdeck_probe_status{probe="a"} 0\nopsdeck_last_success_timestamp_seconds{probe="a"} 1795834800',
            "line 2: probe 'a' is given twice",
        ),
        ("# TYPE x nonsense\nprobe_success 1", "line 1: not Prometheus text format (Invalid metric type: nonsense)"),
        ("# HELP x one\n# HELP x two\nprobe_success 1", "line 2: second HELP line for x (first on line 1)"),
        ("x_total 1\n# TYPE x counter\nprobe_success 1", "line 2: TYPE line for x comes after its samples"),
        ('probe_success{instance="a",instance="b"} 1', "line 1: not Prometheus text format (Invalid labels"),
        ("probe_success{} ", "line 1: not Prometheus text format"),
        ("", "no probe metric in the file"),
    ],
)
def test_prometheus_rejections_inline(text: str, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        pf.parse_prometheus("stem", text)
    assert message in str(caught.value)


def test_prometheus_accepts_what_node_exporter_accepts() -> None:
    text = (
        "# A free comment\n"
        "# HELP opsdeck_probe_status Help with \\\\ and \\n escapes.\n"
        "# TYPE opsdeck_probe_status gauge\n"
        '  opsdeck_probe_status{probe="a \\"quoted\\" name",site="hq"}   2  \n'
        "\n"
        "node_load1 +Inf\n"
        'opsdeck_probe_status{probe="b"} 0.0\n'
        'opsdeck_last_success_timestamp_seconds{probe="c"} 1795834800.5\n'
    )
    results = by_probe(pf.parse_prometheus("stem", text))
    assert {name: r.state for name, r in results.items()} == {'a "quoted" name': "CRITICAL", "b": "OK", "c": "UNKNOWN"}
    assert results["c"].last_success == at(0, 500000)


# -- application/health+json ----------------------------------------------------------------


def test_health_document_and_its_checks() -> None:
    results = pf.parse_health("portal-health", read("good/portal-health.json"))
    assert [(r.probe, r.state) for r in results] == [
        ("portal", "WARNING"),
        ("portal/postgres:responseTime", "WARNING"),
        ("portal/disk:utilization/app01", "OK"),
        ("portal/disk:utilization/app02", "OK"),
        ("portal/uptime", "OK"),
    ]
    main, database, app01, _, uptime = results
    assert main.output == "citizen service portal\npostgres:responseTime: WARNING - p95 above 200 ms"
    assert main.at is None
    assert database.output == "p95 above 200 ms"
    assert database.at == at(-19)
    assert database.perfdata == (PerfDatum("postgres:responseTime", 250.0, "ms", "", "", None, None),)
    assert app01.output == "observed 61.5 percent"
    assert uptime.at == at(-20)  # written as 10:59:40+08:00
    assert {r.kind for r in results} == {"health"}


def test_health_document_without_service_id_is_named_by_the_stem() -> None:
    results = pf.parse_health("backup-storage", read("good/backup-storage.json"))
    assert [(r.probe, r.state) for r in results] == [
        ("backup-storage", "OK"),
        ("backup-storage/nas01:freeSpace", "OK"),
        ("backup-storage/offsite:replication", "CRITICAL"),
    ]
    assert results[0].output == (
        "backup targets reachable\n"
        "offsite:replication: CRITICAL - replication to the off-site vault paused since 2026-11-27T22:00:00Z"
    )
    assert results[1].perfdata == (PerfDatum("nas01:freeSpace", 512.0, "GiB", "", "", None, None),)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pass", "OK"),
        ("Pass", "OK"),
        ("ok", "OK"),
        ("UP", "OK"),
        ("warn", "WARNING"),
        ("WARNING", "WARNING"),
        ("fail", "CRITICAL"),
        ("down", "CRITICAL"),
        ("Critical", "CRITICAL"),
        (" fail ", "CRITICAL"),
        ("unknown", "UNKNOWN"),
        ("degraded", "UNKNOWN"),
        (0, "OK"),
        (1, "WARNING"),
        (2, "CRITICAL"),
        (3, "UNKNOWN"),
        (7, "UNKNOWN"),
        (1.0, "WARNING"),
        (1.5, "UNKNOWN"),
    ],
)
def test_status_words_and_codes(status: object, state: str) -> None:
    [health] = pf.parse_health("x", json.dumps({"status": status}))
    line = pf.parse_jsonl_line("x", json.dumps({"status": status}), 1)
    assert (health.state, line.state) == (state, state)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"status": null}', "status: a status must be a word like pass or fail, or a number 0-3, not null"),
        ('{"status": true}', "status: a status must be a word like pass or fail, or a number 0-3, not true/false"),
        ('{"status": "pass", "serviceId": 7}', "serviceId: must be text, not a number"),
        ('{"status": "pass", "checks": []}', "checks: must be an object of lists of check results"),
        ('{"status": "pass", "checks": {"db": 5}}', "checks['db']: must be a list of check results"),
        ('{"status": "pass", "checks": {"db": [5]}}', "checks['db'][0]: must be an object"),
        ('{"status": "pass", "checks": {"db": [{"status": []}]}}', "checks['db'][0].status: a status must be"),
        (
            '{"status": "pass", "checks": {"db": [{"time": "yesterday"}]}}',
            "checks['db'][0].time: 'yesterday' is not an RFC 3339 time",
        ),
        (
            '{"status": "pass", "checks": {"db": [{"componentId": "a"}, {"componentId": "a"}]}}',
            "checks: 'x/db/a' is given twice",
        ),
        ('{"status": "pass", "output": ["a"]}', "output: must be text, not a list"),
        ('{"status": "pass"} {"status": "pass"}', "line 1 column 20: not valid JSON: Extra data"),
        ('{"status": NaN}', "line 1: not valid JSON: NaN is not a JSON number"),
        ("", "line 1 column 1: not valid JSON: Expecting value"),
    ],
)
def test_health_rejections(document: str, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        pf.parse_health("x", document)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("truncated.json", "line 16 column 19: not valid JSON: Unterminated string"),
        ("no-status.json", "not an application/health+json document: expected one JSON object with a status"),
        ("list.json", "not an application/health+json document"),
    ],
)
def test_broken_health_files(name: str, message: str) -> None:
    with pytest.raises(FormatError) as caught:
        pf.parse_health("x", read(f"broken/{name}"))
    assert message in str(caught.value)


def test_health_check_entries_in_short_forms() -> None:
    results = pf.parse_health("x", '{"status": "pass", "checks": {"db": {"observedValue": true}, "disk": [{}, {}]}}')
    assert [(r.probe, r.state, r.output, r.perfdata) for r in results[1:]] == [
        ("x/db", "UNKNOWN", "observed true", ()),  # a lone entry, not in a list; a boolean is no perfdata
        ("x/disk/1", "UNKNOWN", "", ()),
        ("x/disk/2", "UNKNOWN", "", ()),
    ]


# -- JSON Lines -----------------------------------------------------------------------------


def test_security_events() -> None:
    results = pf.parse_jsonl("security-events", read("good/security-events.jsonl"))
    assert [(r.probe, r.state, r.result_id, r.at) for r in results] == [
        ("pc-fin-07/antivirus", "CRITICAL", "av-77120", at(-1131)),  # 10:41:09+08:00
        ("web01/os-audit", "OK", "1795834000", at(-800)),
        ("vuln-notices", "WARNING", "cnvd-notice-2026-1128-01", at(-7200)),
        ("lan-traffic-floor3", "CRITICAL", None, None),
        ("av-definitions", "OK", None, None),
        ("security-events", "UNKNOWN", None, None),
    ]
    assert results[0].output == "Trojan.Win32.Agent quarantined: C:\\Users\\li.na\\Downloads\\invoice.exe"
    assert {(r.kind, r.last_success) for r in results} == {("jsonl", None)}


def test_readiness_lines_carry_last_success_and_no_state() -> None:
    results = pf.parse_jsonl("readiness-runs", read("good/readiness-runs.jsonl"))
    assert [(r.probe, r.state, r.last_success, r.result_id) for r in results] == [
        ("spare-server-test", "UNKNOWN", datetime(2026, 11, 21, 1, 30, tzinfo=UTC), "drill-2026-11"),
        ("spare-domain", "UNKNOWN", at(-14800), None),
        ("bak01/app-data-offsite-copy", "UNKNOWN", at(-34800), "bak01-run-5521"),  # its status "fail" is not read
    ]
    assert results[1].at == at(-1200)
    assert results[2].output == "tonight's copy failed (vault quota); last good copy kept"


@pytest.mark.parametrize(
    ("record", "name"),
    [
        ({"probe": "p", "host": "h", "check": "c"}, "p"),
        ({"host": "h", "check": "c"}, "h/c"),
        ({"host": "h"}, "h"),
        ({"check": "c"}, "c"),
        ({}, "stem"),
        ({"probe": "", "host": "h", "check": ""}, "h"),
        ({"probe": None, "host": None}, "stem"),
    ],
)
def test_jsonl_naming_contract(record: dict[str, object], name: str) -> None:
    assert pf.parse_jsonl_line("stem", json.dumps({**record, "status": 0}), 1).probe == name


def test_jsonl_state_field_and_status_preference() -> None:
    assert pf.parse_jsonl_line("s", '{"state": 2}', 1).state == "CRITICAL"
    assert pf.parse_jsonl_line("s", '{"status": "ok", "state": 2}', 1).state == "OK"
    assert pf.parse_jsonl_line("s", '{"status": null, "state": 1}', 1).state == "WARNING"


@pytest.mark.parametrize(
    ("line_no", "message"),
    [
        (2, "line 2 column 52: not valid JSON: Expecting ',' delimiter"),
        (3, "line 3: last_success: '2026-11-28 03:00:00' has no UTC offset: write Z or +08:00"),
        (4, "line 4: no status: give status (a word or 0-3), state (0-3) or last_success"),
        (5, "line 5: a result must be a JSON object"),
        (6, "line 6: time: 1795834800000 is not a unix time (seconds since 1970, not milliseconds)"),
        (7, "line 7: status: a status must be a word like pass or fail, or a number 0-3, not an object"),
    ],
)
def test_broken_jsonl_lines(line_no: int, message: str) -> None:
    lines = read("broken/bad-lines.jsonl").split("\n")
    assert pf.parse_jsonl_line("bad-lines", lines[0], 1).last_success == at(-2400)
    with pytest.raises(FormatError) as caught:
        pf.parse_jsonl_line("bad-lines", lines[line_no - 1], line_no)
    assert str(caught.value) == message


def test_parse_jsonl_stops_at_the_first_bad_line() -> None:
    with pytest.raises(FormatError, match=r"^line 2 column 52: "):
        pf.parse_jsonl("bad-lines", read("broken/bad-lines.jsonl"))


@pytest.mark.parametrize(
    ("line", "outcome"),
    [
        ('{"status": 0, "id": true}', "line 1: id must be text or an integer"),
        ('{"status": 0, "output": 5}', "line 1: output: must be text, not a number"),
        ('{"status": 0, "probe": ["a"]}', "line 1: probe: must be text, not a list"),
        ('{"last_success": "soon"}', "line 1: last_success: 'soon' is not an RFC 3339 time"),
        ('{"last_success": false}', "line 1: last_success: False is not a time"),
        ("", "line 1 column 1: not valid JSON"),
        ('{"status": 0}\r', "OK"),
    ],
)
def test_jsonl_line_checks(line: str, outcome: str) -> None:
    if outcome in pf.STATES:
        assert pf.parse_jsonl_line("s", line, 1).state == outcome
        return
    with pytest.raises(FormatError) as caught:
        pf.parse_jsonl_line("s", line, 1)
    assert str(caught.value).startswith(outcome)


def test_numbers_a_parser_must_survive() -> None:
    lines = read("hostile/numbers.jsonl").split("\n")
    assert pf.parse_jsonl_line("n", lines[0], 1).state == "UNKNOWN"  # a 400-digit status
    assert pf.parse_jsonl_line("n", lines[1], 2).state == "UNKNOWN"  # 1e999 is infinity
    for number, message in [(3, "NaN is not a JSON number"), (4, "not valid JSON"), (5, "is not a unix time")]:
        with pytest.raises(FormatError, match=f"^line {number}: .*{message}"):
            pf.parse_jsonl_line("n", lines[number - 1], number)


# -- hostile input ----------------------------------------------------------------------------

OSC52 = "\x1b]52;c;Y3VybCBodHRwOi8vZXZpbC5leGFtcGxlL3ggfCBzaA==\x07"
TITLE = "\x1b]0;ALL SYSTEMS NORMAL\x07"
CLEAR = "\x1b[2J\x1b[H"
C1 = "\u009b31mred via 8-bit CSI\u009b0m"
BIDI = "owner: \u202eredro-kcab\u202c"


def test_plugin_output_keeps_escape_sequences_exactly() -> None:
    [result] = parse_file(FIXTURES / "hostile/escapes.out")
    assert result.state == "CRITICAL"
    assert result.output == (
        f"HTTP CRITICAL - {OSC52}{TITLE}{CLEAR}portal down\n{C1}\n{BIDI}\n"
        "\x1bP+q544e\x1b\\ DCS query, \x85NEL and \x1c FS kept"
    )
    assert result.perfdata == (PerfDatum("time", 10.0, "s", "2", "5", None, None),)


def test_nagios_keeps_escape_sequences_in_names_and_output() -> None:
    [result] = pf.parse_nagios(read("hostile/cESC001"))[1]
    assert result.probe == f"web01/HTTP{TITLE}"
    assert result.output == f"OK{OSC52}{CLEAR}\n{BIDI}\n{C1}"


def test_json_keeps_escape_sequences() -> None:
    lines = read("hostile/escapes.jsonl").split("\n")
    assert pf.parse_jsonl_line("e", lines[0], 1).output == f"{OSC52}{TITLE}{CLEAR}{C1}{BIDI}"
    assert pf.parse_jsonl_line("e", lines[1], 2).output == "raw ESC \x1b[2J and BEL \x07 inside a JSON string"
    assert pf.parse_jsonl_line("e", lines[2], 3).probe == f"evil{BIDI}"
    main, check = pf.parse_health("e", read("hostile/escapes-health.json"))
    assert main.output == f"{CLEAR}{TITLE}database unreachable\ndb: CRITICAL - {OSC52}"
    assert check.output == OSC52


def test_prometheus_keeps_escape_sequences_in_labels() -> None:
    [result] = pf.parse_prometheus("e", read("hostile/escapes.prom"))
    assert (result.probe, result.state) == (f"lan-{CLEAR}core{TITLE}", "CRITICAL")


def test_a_raw_c1_byte_in_utf8_is_replaced_and_flagged_not_binary() -> None:
    raw = (FIXTURES / "hostile/c1-raw-byte.out").read_bytes()
    assert not pf.is_binary(raw)
    text, replaced = pf.decode(raw)
    assert replaced
    result = pf.parse_plugin("c1-raw-byte", text, "1")
    assert result.output == "DISK WARNING - raw 8-bit CSI \ufffd2J in a UTF-8 file"
    assert result.perfdata == (PerfDatum("/", 91.0, "%", "90", "95", None, None),)


def test_perfdata_garbage_keeps_the_good_items() -> None:
    [result] = parse_file(FIXTURES / "hostile/perfdata-garbage.out")
    assert result.perfdata == (
        datum("'", 1.0),
        datum("x y", 5.0),
        datum("d", 1.0, "", "@~:"),
        datum("g", None),
        datum("h", 7.0, "", "@10:20", "~:95"),
    )


def test_deeply_nested_json_is_refused_not_a_crash() -> None:
    with pytest.raises(FormatError, match="nested too deeply"):
        pf.parse_health("deep-nesting", read("hostile/deep-nesting.json"))
    with pytest.raises(FormatError, match="nested too deeply"):
        pf.parse_jsonl_line("deep", "[" * 100_000, 1)


def test_a_2_mib_file_parses_quickly() -> None:
    path = FIXTURES / "hostile/huge.out"
    raw = path.read_bytes()
    assert len(raw) == 2 * 1024 * 1024
    started = time.perf_counter()
    assert not pf.is_binary(raw)
    [result] = parse_file(path)
    assert time.perf_counter() - started < 2.0
    assert result.state == "WARNING"
    assert len(result.output) == len(raw) - len(" | lines=26000;;;0;") - 1
    assert result.perfdata == (PerfDatum("lines", 26000.0, "", "", "", 0.0, None),)


def test_a_large_prometheus_file_parses_in_reasonable_time() -> None:
    text = "\n".join(f'opsdeck_probe_status{{probe="p{i}"}} {i % 4}' for i in range(20_000))
    started = time.perf_counter()
    results = pf.parse_prometheus("many", text)
    assert time.perf_counter() - started < 10.0
    assert len(results) == 20_000
    assert results[-1] == ParsedResult("p19999", "UNKNOWN", "", None, kind="prometheus")


# -- no parser raises anything but FormatError -------------------------------------------------

FRAGMENTS = [
    "\n",
    "\r\n",
    "=",
    "|",
    ";",
    "'",
    "''",
    '"',
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "#",
    " ",
    "@",
    "~",
    "U",
    "NaN",
    "+Inf",
    "1",
    "0",
    "-1",
    "1e999",
    "9" * 30,
    ".",
    "\\n",
    "\\",
    "\x00",
    "\x1b]52;c;",
    "\x07",
    "\x9b",
    "\u202e",
    "中",
    "### Nagios Service Check Result ###\n",
    "file_time=",
    "host_name=",
    "service_description=",
    "return_code=",
    "start_time=",
    "finish_time=",
    "early_timeout=1",
    "output=",
    "probe_success",
    "opsdeck_probe_status",
    "opsdeck_last_success_timestamp_seconds",
    '{probe="',
    'instance="',
    "# TYPE ",
    "# HELP ",
    " gauge",
    '"status":',
    '"checks":',
    '"probe":',
    '"last_success":',
    '"time":',
    '"id":',
    '"observedValue":',
    "null",
    "true",
    "pass",
    "fail",
    "OK",
    "CRITICAL",
    " - ",
]
HOSTILE_TEXT = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.characters()), max_size=60).map("".join)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["pass", "warn", "fail", "OK", "2026-11-28T03:00:00Z", "1795834800", "a/b"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "status",
                    "state",
                    "checks",
                    "probe",
                    "host",
                    "check",
                    "output",
                    "time",
                    "id",
                    "last_success",
                    "serviceId",
                    "observedValue",
                    "observedUnit",
                    "componentId",
                    "description",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)
PARSERS: list[Callable[[str], list[ParsedResult]]] = [
    lambda t: pf.parse_nagios(t)[1],
    lambda t: [pf.parse_plugin("s", t, t)],
    lambda t: [pf.parse_plugin("s", t, None)],
    lambda t: pf.parse_prometheus("s", t),
    lambda t: pf.parse_health("s", t),
    lambda t: [pf.parse_jsonl_line("s", t, 1)],
    lambda t: pf.parse_jsonl("s", t),
]


def check_parsers(text: str) -> None:
    """Every parser returns results in the four states, or raises FormatError with a message."""
    for parse in PARSERS:
        try:
            results = parse(text)
        except FormatError as error:
            assert str(error)
            continue
        for result in results:
            assert result.state in pf.STATES
            assert isinstance(result.probe, str)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), HOSTILE_TEXT))
def test_no_parser_raises_anything_but_format_error_on_any_text(text: str) -> None:
    check_parsers(text)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_no_parser_raises_anything_but_format_error_on_any_json(value: object) -> None:
    check_parsers(json.dumps(value))


PROM_LINES = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "probe_success",
                "opsdeck_probe_status",
                "opsdeck_last_success_timestamp_seconds",
                "probe_duration_seconds",
                "probe_http_status_code",
                "x",
                "# TYPE x gauge",
                "# HELP x h",
            ]
        ),
        st.sampled_from(["", '{probe="a"}', '{probe="b"}', '{instance="i"}', "{}", '{probe=""}', '{probe="a",x="1"}']),
        st.sampled_from(["0", "1", "2", "3", "4", "0.5", "NaN", "+Inf", "-1", "1795834800", "1e999", "", "1 2"]),
    ).map(lambda t: t[0] if t[0].startswith("#") else f"{t[0]}{t[1]} {t[2]}"),
    max_size=8,
).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(PROM_LINES)
def test_prometheus_lines_either_parse_to_states_or_are_refused(text: str) -> None:
    try:
        results = pf.parse_prometheus("s", text)
    except FormatError as error:
        assert str(error)
        return
    assert len({r.probe for r in results}) == len(results)
    for result in results:
        assert result.state in pf.STATES
        assert (result.last_success is None) or (result.state == "UNKNOWN")


@given(st.text(max_size=40), st.binary(max_size=200))
def test_detect_never_raises(name: str, head: bytes) -> None:
    assert pf.detect(name, head) in {
        None,
        "nagios",
        "nagios_ok",
        "plugin_out",
        "plugin_rc",
        "prometheus",
        "health",
        "jsonl",
    }


def test_a_passive_nagios_result_keeps_its_return_code_with_early_timeout() -> None:
    """NRDP writes early_timeout=1 on every result; Nagios applies the timeout to active checks only."""
    [passive_ok] = nagios("host_name=a", "check_type=1", "early_timeout=1", "return_code=0", "output=OK")
    [passive_warn] = nagios("host_name=a", "check_type=1", "early_timeout=1", "return_code=1", "output=W")
    [active] = nagios("host_name=a", "check_type=0", "early_timeout=1", "return_code=0", "output=")
    assert (passive_ok.state, passive_warn.state, active.state) == ("OK", "WARNING", "CRITICAL")


def test_health_entries_with_one_component_id_are_told_apart_by_node() -> None:
    """The draft's own example: one componentId, several nodes."""
    document = {
        "status": "pass",
        "serviceId": "svc",
        "checks": {
            "cassandra:responseTime": [
                {"componentId": "dfd6cf2b", "node": 1, "status": "pass", "observedValue": 250},
                {"componentId": "dfd6cf2b", "node": 2, "status": "warn", "observedValue": 900},
            ]
        },
    }
    results = pf.parse_health("x", json.dumps(document))
    assert [(r.probe, r.state) for r in results[1:]] == [
        ("svc/cassandra:responseTime/dfd6cf2b@1", "OK"),
        ("svc/cassandra:responseTime/dfd6cf2b@2", "WARNING"),
    ]
