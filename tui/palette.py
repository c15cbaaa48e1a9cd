"""The command palette (ctrl+p): every incident action and screen, by name, for the
screen in front; what this login may not do is not offered."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from opsdeck.backend.i18n import _
from opsdeck.tui.triage import ACTIONS


def screen_commands() -> list[tuple[str, str, str]]:
    """The screens' own actions: (action, label, help), looked up when the palette opens."""
    return [
        ("new_incident", _("Report a new incident"), _("an external warning, by hand")),
        ("history", _("History"), _("resolved and closed incidents, with the same filters")),
        ("handover", _("Handover"), _("open incidents by urgency, breaches, obligations, probes")),
        ("warnings", _("Warnings"), _("the open warnings (预警), most urgent first")),
        ("shift", _("Take or end the shift"), _("go on or off duty (audited)")),
        ("schedule", _("Duty schedule"), _("the week grid: who is on duty, gaps, overrides")),
        ("filter", _("Filter"), _("words, level:, cat:, owner:, status:, system:")),
        ("sort", _("Sort"), _("due, level, age, id")),
        ("toggle_panels", _("Probes, readiness and roster"), _("the side panels on a narrow terminal")),
        ("help", _("Help"), _("every key and the legend")),
    ]


class OpsdeckCommands(Provider):
    def _commands(self) -> list[tuple[str, str, str]]:
        screen = self.screen
        found = []
        for action in ACTIONS:
            found.append((action.name, f"{action.label} ({action.key})", action.help))
        found += screen_commands()
        return [
            (name, label, help_text)
            for name, label, help_text in found
            if hasattr(screen, f"action_{name}") and screen.check_action(name, ()) is True
        ]

    async def discover(self) -> Hits:
        for name, label, help_text in self._commands():
            yield DiscoveryHit(label, partial(self.screen.run_action, name), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, label, help_text in self._commands():
            score = matcher.match(f"{label} {help_text}")
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(self.screen.run_action, name), help=help_text)
