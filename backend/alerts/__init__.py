"""Alerts in over HTTP: sources, the senders' formats, mapping rules, the receiver.

Alertmanager (and Grafana's webhook contact point), PagerDuty-shaped events and plain
JSON post here; what they send becomes probe results through the same path as the
spool (`probe_health.apply`), so its exactly-once and incident rules hold.
"""
