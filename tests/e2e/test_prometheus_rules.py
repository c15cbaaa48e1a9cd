"""The sample alerting rules (integrations/prometheus/opsdeck-rules.yml), checked and
unit-tested by Prometheus's own `promtool` (Debian's prometheus package)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "integrations" / "prometheus" / "opsdeck-rules.yml"

UNIT_TESTS = """rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'opsdeck_duty_lease_renewal_age_seconds{{duty="escalate"}}'
        values: '2 2 2 62 122 182 242'
      - series: 'opsdeck_duty_lease_renewal_age_seconds{{duty="notify"}}'
        values: '2 2 2 2 2 2 2'
      - series: 'opsdeck_notifications{{state="pending"}}'
        values: '0 5 30+5x15'
      - series: 'opsdeck_notifications{{state="dead"}}'
        values: '0 0 0 0 1 1 1'
    alert_rule_test:
      - eval_time: 2m
        alertname: OpsdeckDutyWithoutLiveHolder
        exp_alerts: []
      - eval_time: 5m
        alertname: OpsdeckDutyWithoutLiveHolder
        exp_alerts:
          - exp_labels: {{severity: page, duty: escalate}}
            exp_annotations:
              summary: "opsdeck duty escalate: no live worker for 3m 2s"
              description: "Start or fix `opsdeck worker` on a host that shares the store."
      - eval_time: 5m
        alertname: OpsdeckMetricsStale
        exp_alerts: []
      - eval_time: 5m
        alertname: OpsdeckNotificationsPilingUp
        exp_alerts: []
      - eval_time: 13m
        alertname: OpsdeckNotificationsPilingUp
        exp_alerts:
          - exp_labels: {{severity: page}}
            exp_annotations:
              summary: "85 opsdeck notifications undelivered for 10 minutes"
              description: "See `opsdeck notify list`; is the notify duty running, is the channel up?"
      - eval_time: 5m
        alertname: OpsdeckNotificationsDead
        exp_alerts:
          - exp_labels: {{severity: ticket, state: dead}}
            exp_annotations:
              summary: "1 opsdeck notifications were given up on"
              description: "See `opsdeck notify list --state dead`, then `opsdeck notify retry ID`."
  - interval: 1m
    input_series: []
    alert_rule_test:
      - eval_time: 6m
        alertname: OpsdeckMetricsStale
        exp_alerts:
          - exp_labels: {{severity: page}}
            exp_annotations:
              summary: "opsdeck reports no duty leases (no worker ever ran, or `opsdeck metrics` stopped)"
"""


@pytest.fixture
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed here (apt-get install prometheus)")
    return found


def test_the_rules_pass_promtool_check_rules(promtool: str) -> None:
    done = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 rules found" in done.stdout


def test_the_rules_page_when_the_worker_stops_and_notifications_pile_up(promtool: str, tmp_path: Path) -> None:
    tests = tmp_path / "opsdeck-rules-test.yml"
    tests.write_text(UNIT_TESTS.format(rules=RULES))
    done = subprocess.run([promtool, "test", "rules", str(tests)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
