"""Where a command's log lines go: the dashboard's log file, never over the screen."""

from __future__ import annotations

import logging
from pathlib import Path

import platformdirs


def log_to_file() -> None:
    """The screen is the terminal: log lines go to a file, never to stderr (Textual draws there)."""
    root = logging.getLogger("opsdeck")
    root.handlers[:] = [_log_file_handler()]
    root.setLevel(logging.INFO)
    root.propagate = False


def log_beside_the_dashboard() -> None:
    """A one-shot command's log lines (a refusal's access-log line) go to the dashboard's
    log file: the user already reads the refusal as the error, not twice on stderr."""
    logger = logging.getLogger("opsdeck")
    if not logger.handlers:
        logger.addHandler(_log_file_handler())


def _log_file_handler() -> logging.Handler:
    """The log file in the user's log folder; with no writable folder, nowhere (a command
    does not fail for want of its log)."""
    folder = Path(platformdirs.user_log_dir("opsdeck"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(folder / "opsdeck.log", encoding="utf-8", delay=True)
    except OSError:
        return logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    return handler
