"""Every key binding, and whether pressing it changes the store.

The screens hide writing keys from a viewer or a read-only session; a test holds this
list to the code (a binding that is not here fails it) and presses each writing key as
a viewer. The CLI's commands are declared in cli/ (cli/registry.py).
"""

from __future__ import annotations

# Binding id -> does pressing it change the store. Forms' own keys (submit, cancel) are
# reached only through a writing key, which a viewer never sees.
BINDINGS: dict[str, bool] = {
    "board.new": True,
    "board.shift": True,
    "board.filter": False,
    "board.clear_filter": False,
    "board.sort": False,
    "board.panels": False,
    "board.help": False,
    "board.history": False,
    "board.handover": False,
    "board.warnings": False,
    "board.schedule": False,
    "board.stats": False,
    "stats.back": False,
    "stats.previous": False,
    "stats.next": False,
    "stats.grouping": False,
    "stats.chart": False,
    "stats.table": False,
    "schedule.back": False,
    "schedule.previous": False,
    "schedule.next": False,
    "schedule.override": True,
    "board.quit": False,
    "board.replay": False,
    "replay.back": False,
    "replay.earlier": False,
    "replay.later": False,
    "replay.time": False,
    "history.back": False,
    "handover.back": False,
    "warnings.back": False,
    "warnings.raise": True,
    "warning.back": False,
    "warning.tick": True,
    "warning.analysis": True,
    "warning.note": True,
    "warning.attest": True,
    "warning.promote": True,
    "warning.close": True,
    "help.close": False,
    "form.help": False,  # f1 in a form (`?` is text there)
    "record.help": False,  # f1 in the record editor
    "detail.back": False,
    "record.back": False,
    "record.file": True,
    "incident.record": False,
    "detail.tick": True,
    "detail.skip": True,
    "detail.step_down": False,
    "detail.step_up": False,
    "detail.page_down": False,
    "detail.page_up": False,
    "detail.top": False,
    "detail.bottom": False,
    "app.help": False,
    "list.up": False,
    "list.down": False,
    "list.top": False,
    "list.bottom": False,
    "list.page_up": False,
    "list.page_down": False,
    "list.open": False,
    "list.mark": False,
    "form.submit": True,
    "form.cancel": False,
    "form.editor": False,
    **{f"form.category{n}": False for n in range(1, 9)},
    **{
        f"incident.{name}": True
        for name in (
            "ack",
            "classify",
            "level",
            "assign",
            "note",
            "cause",
            "outage",
            "attest",
            "regrade",
            "resolve",
            "close",
            "reopen",
            "call",
        )
    },
}
