"""`opsdeck`: the command line scripts and other tools call (`python -m opsdeck.cli` too).

main() chooses the language, parses, runs the one command named, and turns every
refusal into one `opsdeck: error:` line and an exit code from 0 to 5
(docs/cli.md#exit-codes-and-errors). Only the named command's group module is imported,
and Textual only by a command that draws.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from opsdeck.backend import config as config_mod
from opsdeck.backend.errors import InvalidInput, OpsdeckError
from opsdeck.backend.i18n import _, choose, set_language
from opsdeck.backend.sanitize import clean, literal
from opsdeck.cli import collector
from opsdeck.cli import parser as cli_parser
from opsdeck.cli.logfile import log_beside_the_dashboard
from opsdeck.cli.registry import NO, find


def main(argv: Sequence[str] | None = None) -> int:
    collector.hold()  # until the command's modules are in (cli/collector.py)
    try:
        return _main(argv)
    finally:
        collector.release()


def entry(argv: Sequence[str] | None = None) -> int:
    """The `opsdeck` program (its console script, `python -m opsdeck.cli`): `main()`, then
    the process ends, its exit code `main()`'s."""
    try:
        return main(argv)
    finally:
        collector.ending()


def _main(argv: Sequence[str] | None) -> int:
    args_list = cli_parser.rewrite_aliases(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in args_list
    plugin = cli_parser.command_word(args_list) == "check"  # `opsdeck check` answers with the plugin's exit codes
    try:
        _choose_language(args_list)
        _refuse_undecodable(args_list)
        args = cli_parser.build_parser(args_list).parse_args(args_list)
        return run(args)
    except OpsdeckError as error:
        if debug:
            raise
        if plugin:
            return _plugin_refused(error)
        _report(str(error))
        return int(error.kind)
    except SystemExit as done:
        # `check --help`: a plugin's help answers UNKNOWN, as the Monitoring Plugins' own do
        if plugin and done.code in (0, None):
            return 3
        raise
    except KeyboardInterrupt:
        # 130 is the shell's convention, but opsdeck's codes stay within 0-5 (docs/cli.md#exit-codes-and-errors)
        _report(_("interrupted — nothing was left half-done (each change is one transaction): run it again"))
        return 3 if plugin else 1
    except BrokenPipeError:
        # `opsdeck incident list | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except PermissionError as error:  # the OS refused a file: the store, its folder, the config, an output
        if debug:
            raise
        if plugin:
            return _plugin_refused(error)
        _report(
            _(
                "permission denied: {path} — ask its owner to let your login read it (a shared store: add you to its group)"
            ).format(path=literal(str(error.filename or error)))
        )
        return 1  # refused by a permission (docs/cli.md#exit-codes-and-errors)
    except Exception as error:  # a bug: say so plainly, traceback only with --debug
        if debug:
            raise
        if plugin:
            return _plugin_refused(error)
        _report(
            _("internal error: {kind}: {error} — rerun with --debug and report it").format(
                kind=type(error).__name__, error=error
            )
        )
        return 1  # a bug; the message says so (the codes stay within 0-5: docs/cli.md#exit-codes-and-errors)


def run(args: argparse.Namespace) -> int:
    """Run the command `args` name, after the permission it is declared with is checked."""
    if args.command is None:
        return _no_command(args)
    from opsdeck.cli.context import Context  # the store's modules: never for --help or a refused command line

    found = find(args.command, getattr(args, "action", None))
    ctx = Context(args)
    try:
        if not found.logs:
            log_beside_the_dashboard()
        ctx.may_create = found.writes is not NO  # a read never creates a store
        if found.writes is not NO:
            from opsdeck.backend.access import refuse_unless_writer  # only a writing command checks (start-up)

            refuse_unless_writer(f"opsdeck {found.name}", ctx.login, read_only=ctx.read_only, db_url=ctx.config.db)
        collector.release()
        return found.handler(ctx)
    finally:
        ctx.close()


def _no_command(args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InvalidInput(
            "no_terminal",
            _("no command given and no terminal to draw the board on"),
            _("give a command (opsdeck --help), or run opsdeck in a terminal"),
        )
    from opsdeck.cli.context import Context  # as in run()
    from opsdeck.cli.dashboard import dashboard  # the board: the one place with no command word

    ctx = Context(args)
    try:
        return dashboard(ctx, demo=bool(args.demo))
    finally:
        ctx.close()


def _plugin_refused(error: BaseException) -> int:
    from opsdeck.cli.check import refused  # the plugin's own answer (exit codes 0-3)

    return refused(error)


def _refuse_undecodable(argv: list[str]) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates: refuse them here, named,
    rather than fail wherever the text is stored or printed."""
    for number, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = clean(arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            raise InvalidInput(
                "bad_utf8",
                _("argument {number} ({text!r}) is not valid UTF-8").format(number=number, text=shown[:60]),
                _("give text in UTF-8 (check the terminal's or the script's encoding)"),
            ) from None


def _choose_language(argv: list[str]) -> None:
    """Before the parser is built (its help is translated) and before any screen is
    imported. JSON output, errors included, is always English: scripts read it."""
    cli_parser.speak_argparse()
    if cli_parser.prints_json(argv):
        set_language("en")
        return
    try:
        configured = config_mod.load({}, checked=False).language  # the command checks it all
    except OpsdeckError:  # the command reports a broken config itself, once the language is known
        configured = os.environ.get("OPSDECK_LANG")
    try:
        set_language(choose(configured, os.environ))
    except OpsdeckError:
        set_language("en")


def _report(message: str) -> None:
    first = message.strip().splitlines()[0] if message.strip() else "error"
    first = clean(first)  # a bad argument or login is echoed: never an escape sequence
    print(f"opsdeck: error: {first}", file=sys.stderr)


if __name__ == "__main__":  # `python -m opsdeck.cli`: how `opsdeck serve` starts each wall
    sys.exit(entry())
