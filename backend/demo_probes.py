"""The demo's probe writer: results for every monitoring item of the plan
(docs/plan.md#monitoring) and every readiness check (docs/plan.md#readiness), in the real
formats the ingest reads, written into a spool the way real agents write them, with the
occasional failure that opens an incident (and one agent whose output carries escape
sequences, as hostile input)."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

# (probe, format, what it watches): the plan's monitoring items, one or more each.
PLUGINS = [
    ("lan-core-traffic", "LAN traffic and performance", "TRAFFIC OK - core uplinks at {n}% | util={n}%;80;95"),
    ("web01-load", "server performance", "LOAD OK - load average: 0.{n}, 0.4, 0.3 | load1=0.{n};4;8"),
    ("db01-mysql", "database performance", "MYSQL OK - {n} threads connected | threads={n};200;400"),
    ("portal-http", "application performance", "HTTP OK - 200 in 0.{n}s | time=0.{n}s;1;5"),
    ("nas01-backup-volume", "backup storage", "DISK OK - /backup {n}% free | free={n}%;20;10"),
]
FAIL = {
    "lan-core-traffic": "TRAFFIC CRITICAL - uplink Gi1/0/48 down, traffic on backup line",
    "db01-mysql": "MYSQL CRITICAL - connection refused on 3306",
    "portal-http": "HTTP CRITICAL - 503 Service Unavailable from the portal",
    "nas01-backup-volume": "DISK CRITICAL - /backup 3% free",
}
READINESS = [
    ("backup-os-config-local", 3),
    ("backup-os-config-remote", 4),
    ("backup-os-config-offsite", 20),
    ("backup-app-data-local", 2),
    ("backup-app-data-remote", 5),
    ("backup-app-data-offsite", 30),
    ("spare-server-test", 24 * 9),
    ("spare-domain", 26),
]


class DemoProbes:
    def __init__(
        self, spool: Path, *, seed: int = 7, period: float = 3.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.spool, self.period, self.clock = spool, period, clock
        self.random = random.Random(seed)
        self.failing: dict[str, int] = {}  # probe -> cycles left
        self.cycle = 0

    def run(self, stop: threading.Event) -> None:
        self.spool.mkdir(parents=True, exist_ok=True)
        while not stop.is_set():
            self.write_cycle()
            stop.wait(self.period)

    def write_cycle(self) -> None:
        self.cycle += 1
        if self.cycle % 12 == 4 and not self.failing:  # now and then something breaks for a while
            self.failing[self.random.choice(sorted(FAIL))] = 5
        for name, _what, template in PLUGINS:
            if self.failing.get(name):
                self._plugin(name, FAIL[name], 2)
            else:
                self._plugin(name, template.format(n=self.random.randint(10, 60)), 0)
        self.failing = {k: v - 1 for k, v in self.failing.items() if v > 1}
        self._nagios_logs()
        self._jsonl_audit()
        self._prom_antivirus()
        self._prom_readiness()
        self._health()

    def _plugin(self, name: str, output: str, rc: int) -> None:
        self._atomic(f"{name}.out", output + "\n")
        self._atomic(f"{name}.rc", f"{rc}\n")

    def _nagios_logs(self) -> None:
        """Network and security device logs, access logs: as Nagios writes checkresults."""
        now = self.clock()
        blocks = []
        for host, service, code, text in (
            ("fw-edge01", "Security device log", 0, "LOG OK - 0 denied bursts in 5 min"),
            (
                "web01",
                "Access log",
                1 if self.cycle % 7 == 0 else 0,
                "LOG WARNING - 412 HTTP 401 in 5 min" if self.cycle % 7 == 0 else "LOG OK - 3 HTTP 401 in 5 min",
            ),
        ):
            blocks.append(
                "### Nagios Service Check Result ###\n"
                f"host_name={host}\nservice_description={service}\ncheck_type=1\nreturn_code={code}\n"
                f"start_time={now - 1:.6f}\nfinish_time={now:.6f}\noutput={text}\n"
            )
        name = f"c{self.random.randrange(16**6):06x}"
        self._atomic(name, f"### Passive Check Result File ###\nfile_time={int(now)}\n\n" + "\n".join(blocks))
        self._atomic(name + ".ok", "")

    def _jsonl_audit(self) -> None:
        """OS, database and business audit records; vulnerability and virus notices."""
        now = self.clock()
        lines: list[dict[str, object]] = [
            {"probe": "os-audit", "status": "ok", "output": "auditd: 0 policy violations", "time": now},
            {"probe": "db-audit", "status": "ok", "output": "database audit trail shipping", "time": now},
            {"probe": "business-audit", "status": "ok", "output": "payment audit log complete", "time": now},
            {
                "probe": "vuln-scan",
                "status": "warn" if self.cycle % 9 == 0 else "ok",
                "output": "weekly scan: 2 medium findings" if self.cycle % 9 == 0 else "no new notices",
                "time": now,
            },
            # An agent with hostile output: an OSC 52 clipboard write and a title change.
            {
                "probe": "dmz-ids",
                "status": "ok",
                "time": now,
                "output": "IDS OK \x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07\x1b]0;pwned\x07 signatures current",
            },
        ]
        with (self.spool / "audit.jsonl").open("a", encoding="utf-8") as handle:
            for line in lines:
                handle.write(json.dumps({**line, "id": f"{line['probe']}-{self.cycle}"}) + "\n")

    def _prom_antivirus(self) -> None:
        self._atomic(
            "antivirus.prom",
            (
                "# TYPE opsdeck_probe_status gauge\n"
                'opsdeck_probe_status{probe="antivirus-servers"} 0\n'
                f'opsdeck_probe_status{{probe="antivirus-clients"}} {1 if self.cycle % 10 == 0 else 0}\n'
            ),
        )

    def _prom_readiness(self) -> None:
        now = self.clock()
        lines = ["# TYPE opsdeck_last_success_timestamp_seconds gauge"]
        lines += [
            f'opsdeck_last_success_timestamp_seconds{{probe="{name}"}} {int(now - hours * 3600)}'
            for name, hours in READINESS
        ]
        self._atomic("readiness.prom", "\n".join(lines) + "\n")

    def _health(self) -> None:
        status = "warn" if self.cycle % 8 == 0 else "pass"
        document = {
            "status": status,
            "serviceId": "portal-health",
            "output": "response time high" if status == "warn" else "",
            "checks": {"postgres:responseTime": [{"status": status, "observedValue": 12, "observedUnit": "ms"}]},
        }
        self._atomic("portal-health.json", json.dumps(document))

    def _atomic(self, name: str, text: str) -> None:
        tmp = self.spool / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.spool / name)
