"""The Textual app: built by one factory from a validated config and an opened store.

`build_app` is what the CLI and the tests call; `compose()` never parses argv or reads
files. The embedded worker (single-user mode) and the demo probe writer are started
and stopped with the app.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.terminal_theme import TerminalTheme
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

from opsdeck.backend import board_page
from opsdeck.backend.config import Config
from opsdeck.backend.domain import Permission
from opsdeck.backend.errors import InvalidInput
from opsdeck.backend.i18n import _
from opsdeck.backend.reader import Reader
from opsdeck.backend.sanitize import clean
from opsdeck.screens.board import BoardScreen
from opsdeck.tui import deferred, keymap
from opsdeck.tui.ascii import AsciiFilter
from opsdeck.tui.context import BoardContext

if TYPE_CHECKING:
    from textual.command import Provider

__all__ = ["Background", "BoardContext", "OpsdeckApp", "WallApp", "build_app"]

BACKGROUND_AT_LATEST_S = 2.0  # the app's threads start by then, even with no first page drawn

# Okabe & Ito's palette, told apart with every common colour-vision deficiency. The theme
# sets Textual's variables ($error, $warning, ...); the ANSI theme recolours the named
# colours Rich text uses (red, yellow, green, blue, magenta) the same way, so every
# severity on every screen follows it. Severity is never colour alone in any theme.
VERMILLION, ORANGE, BLUISH_GREEN, BLUE, SKY_BLUE, REDDISH_PURPLE = (
    "#D55E00",
    "#E69F00",
    "#009E73",
    "#0072B2",
    "#56B4E9",
    "#CC79A7",
)
COLOUR_BLIND = Theme(
    name="opsdeck-colour-blind",
    primary=SKY_BLUE,
    secondary=BLUE,
    accent=REDDISH_PURPLE,
    warning=ORANGE,
    error=VERMILLION,
    success=BLUISH_GREEN,
    foreground="#E8E8E8",
    background="#111111",
    surface="#1B1B1B",
    panel="#262626",
    dark=True,
)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


_ANSI = [(0, 0, 0), *map(_rgb, (VERMILLION, BLUISH_GREEN, ORANGE, BLUE, REDDISH_PURPLE, SKY_BLUE)), (229, 229, 229)]
COLOUR_BLIND_ANSI = TerminalTheme((17, 17, 17), (232, 232, 232), _ANSI, [(127, 127, 127), *_ANSI[1:7], (255, 255, 255)])


def _commands() -> type[Provider]:
    """The palette's incident actions, loaded when the palette first opens."""
    from opsdeck.tui.palette import OpsdeckCommands

    return OpsdeckCommands


def _history(context: BoardContext) -> Screen[Any]:
    """The history view (H): a BoardScreen of its own, loaded when first opened."""
    from opsdeck.screens.history import HistoryScreen

    return HistoryScreen(context)


class OpsdeckApp(App[None]):
    CSS_PATH = "opsdeck.tcss"
    TITLE = "opsdeck"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {_commands}
    # `?` on every screen (the board binds its own): the keys of the screen below and the legend;
    # F1 as well, where `?` is text typed into an editor or a field (the record, a form).
    BINDINGS = [Binding("question_mark,f1", "help", _("Help"), id="app.help", show=False)]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Help and the palette wait for the ORM's modules, a moment after the board's
        first page (tui/deferred.py): each starts threads that read through them."""
        if action in ("help", "command_palette") and not deferred.ready():
            return None
        return super().check_action(action, parameters)

    def action_help(self) -> None:
        from opsdeck.screens.help import HelpScreen  # on `?`: not before the board's first frame

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.context))

    def __init__(self, context: BoardContext) -> None:
        super().__init__()
        self.context = context
        if context.history is None:
            context.history = _history
        self.register_theme(COLOUR_BLIND)
        if context.theme not in self.available_themes:
            raise InvalidInput(
                "config_theme",
                _("theme: no theme named {theme!r}").format(theme=context.theme),
                _("set theme to one of: {themes}").format(themes=", ".join(sorted(self.available_themes))),
            )
        self.theme = context.theme
        if context.ascii:
            self._filters.append(AsciiFilter())  # Textual applies its line filters to every widget
        if context.keymap:
            self.set_keymap(context.keymap)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own palette entries (theme, quit, keys, screenshot) in the chosen language."""
        words = {  # by Textual's help text, which tells the two "Keys" apart
            "Change the current theme": (_("Theme"), _("Change the current theme")),
            "Quit the application as soon as possible": (_("Quit"), _("Quit the application as soon as possible")),
            "Hide the keys and widget help panel": (_("Keys"), _("Hide the keys and widget help panel")),
            "Show help for the focused widget and a summary of available keys": (
                _("Keys"),
                _("Show help for the focused widget and a summary of available keys"),
            ),
            "Minimize the widget and restore to normal size": (
                _("Minimize"),
                _("Minimize the widget and restore to normal size"),
            ),
            "Maximize the focused widget": (_("Maximize"), _("Maximize the focused widget")),
            "Save an SVG 'screenshot' of the current screen": (
                _("Screenshot"),
                _("Save an SVG 'screenshot' of the current screen"),
            ),
        }
        for command in super().get_system_commands(screen):
            title, help_text = words.get(command.help, (command.title, command.help))
            yield command._replace(title=title, help=help_text)

    def action_command_palette(self) -> None:
        """Textual's palette (as its own action opens it), its prompt in the chosen language."""
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(CommandPalette(id="--command-palette", placeholder=_("Search for commands…")))

    def get_key_display(self, binding: Binding) -> str:
        """Key names as Textual shows them (⏎, ↑), or their plain names in ASCII mode."""
        shown = super().get_key_display(binding)
        return shown if shown.isascii() or not self.context.ascii else binding.key.split(",")[0]

    @property
    def ansi_theme(self) -> TerminalTheme:
        """How Rich's named colours become RGB: the colour-blind theme brings its own."""
        if self.current_theme.name == COLOUR_BLIND.name:
            return COLOUR_BLIND_ANSI
        return super().ansi_theme

    def first_screen(self) -> Screen[Any]:
        """The screen in front when the app starts: the board."""
        return BoardScreen(self.context)

    def on_mount(self) -> None:
        self.push_screen(self.first_screen())
        self.set_timer(BACKGROUND_AT_LATEST_S, self.start_background)

    def on_board_screen_first_page(self) -> None:
        self.start_background()

    def start_background(self) -> None:
        """The app's threads (the embedded worker, the demo's pager and probe writer) start
        once the board's first page is drawn, or BACKGROUND_AT_LATEST_S after the mount
        (a store that cannot be read): started with the board, the worker's imports (httpx,
        the senders) and first sweep held the first row back (bench
        board_pty.start_to_first_row, the lead's board)."""
        deferred.import_deferred()  # before the threads import them (tui/deferred.py)
        for item in self.context.background:
            item.start()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Messages carry user text (titles, names in errors): never markup, never escapes."""
        super().notify(
            clean(message, one_line=False), title=clean(title), severity=severity, timeout=timeout, markup=False
        )

    def on_unmount(self) -> None:
        for item in self.context.background:
            item.stop()


class Background:
    """A thread the app owns: an embedded worker (`escalates`), the demo probe writer."""

    def __init__(self, name: str, target: Callable[[threading.Event], None], *, escalates: bool = False) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=target, args=(self.stop_event,), name=name, daemon=True)
        self.escalates = escalates
        self.started_at: float | None = None  # time.monotonic() when started

    def start(self) -> Background:
        """Start the thread, once; never after `stop`."""
        if self.thread.ident is None and not self.stop_event.is_set():
            self.started_at = time.monotonic()
            self.thread.start()
        return self

    def starting(self, within_s: float) -> bool:
        """An embedded worker not started yet, or started less than `within_s` ago and
        still running: its first heartbeat may not be in yet."""
        if not self.escalates or self.stop_event.is_set():
            return False
        if self.started_at is None:
            return True
        return self.thread.is_alive() and time.monotonic() - self.started_at < within_s

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread.ident is not None:  # started
            self.thread.join(timeout=5)


class WallApp(OpsdeckApp):
    """The app with the wall in front instead of the board: no command palette (it
    offers writing commands), the mouse off unless `run(mouse=True)` asks for it."""

    TITLE = "opsdeck wall"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, context: BoardContext, *, bell: bool = True, page_seconds: float = 10.0) -> None:
        super().__init__(context)
        self.wall_bell = bell
        self.page_seconds = page_seconds

    def first_screen(self) -> Screen[Any]:
        from opsdeck.screens.wall import WallScreen  # only `opsdeck wall`: not the board's start

        deferred.import_deferred()  # before the wall's threads import them (tui/deferred.py)
        return WallScreen(self.context, bell=self.wall_bell, page_seconds=self.page_seconds)

    def action_help(self) -> None:
        """No help over the wall: a key opens nothing on a screen nobody operates."""

    def run(self, **options: Any) -> Any:  # what `exit()` was given: None here, a picture under the snapshot plugin
        """Textual's run, the mouse off by default: nothing on the wall is for clicking."""
        return super().run(**({"mouse": False} | options))

    async def run_async(self, **options: Any) -> Any:
        return await super().run_async(**({"mouse": False} | options))


def build_app(
    config: Config,
    store: Reader,
    login: str,
    *,
    demo: bool = False,
    wall: bool = False,
    by: str | None = None,
    read_only: bool = False,
    background: Sequence[Background] = (),
    bell: bool | None = None,
    page_seconds: float = 10.0,
    where: str | None = None,
) -> OpsdeckApp:
    """The app the CLI runs and the tests drive, from a validated config and an opened
    store: the login's permission as the roster says, the keymap checked whole and the
    theme by name (both refused before anything starts), the board in front, or the wall
    (`wall=True`: a viewer whatever the login; `bell` defaults to the config's).

    `by`: who used `--as` to act as `login`; `background`: threads the app stops on
    exit; `where`: how the header names the store (default: its URL, no password)."""
    with store.connection() as connection:  # Core: the ORM and the models come after the first page
        permission = board_page.permission(connection, login, read_only)
    named = where if where is not None else store.describe()
    context = BoardContext(
        reader=store,
        login=login,
        by=by,
        permission=Permission.VIEWER.value if wall else permission.value,
        read_only=wall or read_only or not permission.can_write,
        zone=config.zone(),
        clock=store.clock,
        where=_("demo {where}").format(where=named) if demo else named,
        background=list(background),
        keymap=keymap.load(Path(config.keymap)),
        theme=config.theme,
        ascii=config.ascii,
        bell=config.board_bell,
    )
    if wall:
        return WallApp(context, bell=config.bell if bell is None else bell, page_seconds=page_seconds)
    return OpsdeckApp(context)
