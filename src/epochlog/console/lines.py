"""Text as a terminal shows it, one line at a time: ANSI escapes removed, carriage-return redraws collapsed.

A progress bar (tqdm, Keras' progbar) redraws one line with `\\r`; a captured console keeps what the terminal
showed last on that line, not every frame. A line longer than `MAX_LINE` characters is cut there and marked.
"""

from __future__ import annotations

import re

MAX_LINE = 65_536  # characters kept of one line (a binary dump printed by mistake must not fill the log)
CUT_MARK = " …[cut]"

# CSI sequences (colours, cursor moves, erase line), OSC sequences (window titles, hyperlinks), and the
# two-character escapes; what a terminal interprets rather than shows.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def visible(line: str) -> str:
    """What a terminal shows of one line (no `\\n`): the text after the last carriage return that is not
    blank (a bar erased with spaces keeps its last frame), without escapes, at most `MAX_LINE` characters."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if "\r" in line:
        frames = [frame for frame in line.split("\r") if frame.strip()]
        line = frames[-1] if frames else ""
    if len(line) > MAX_LINE:
        line = line[:MAX_LINE] + CUT_MARK
    return line


class LineAssembler:
    """Pieces of one stream in, complete lines out; the unfinished rest waits for its newline."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, text: str) -> list[str]:
        """The lines `text` completes, made `visible`."""
        text = self._pending + text
        if "\n" not in text:
            self._pending = _bounded(text)
            return []
        *complete, self._pending = text.split("\n")
        if len(text) <= MAX_LINE and "\x1b" not in text and "\r" not in text:  # plain text, shown as it is
            return complete
        return [visible(line) for line in complete]

    def rest(self) -> list[str]:
        """The unfinished line, if any (at the end of a run), as a line of its own."""
        pending, self._pending = self._pending, ""
        shown = visible(pending)
        return [shown] if shown else []


def _bounded(pending: str) -> str:
    """An unfinished line cannot grow without bound: beyond twice `MAX_LINE`, it is collapsed to what it shows
    (a trailing carriage return kept, so the next frame replaces the last)."""
    if len(pending) <= 2 * MAX_LINE:
        return pending
    return visible(pending) + ("\r" if pending.endswith("\r") else "")
