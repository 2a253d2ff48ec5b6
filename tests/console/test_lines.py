"""What a captured line keeps: what the terminal showed, not the escapes and redraws that drew it."""

from __future__ import annotations

from epochlog.console.lines import CUT_MARK, MAX_LINE, LineAssembler, visible


def test_colours_and_cursor_escapes_are_removed() -> None:
    assert visible("\x1b[1;31mError\x1b[0m: \x1b[2Kdisk full") == "Error: disk full"
    assert visible("\x1b]0;title\x07ready") == "ready"


def test_a_progress_bar_redrawn_with_carriage_returns_keeps_its_last_frame() -> None:
    assert visible("\r 10%|#  |\r 50%|## |\r100%|###|") == "100%|###|"
    assert visible("\r 99%|###|\r          \r") == " 99%|###|"  # erased with spaces: the last frame shown


def test_pieces_become_lines_only_at_their_newline() -> None:
    lines = LineAssembler()
    assert lines.feed("epoch 1 ") == []
    assert lines.feed("loss 0.5\nepoch 2") == ["epoch 1 loss 0.5"]
    assert lines.feed("\r\repoch 2 loss 0.4\n\n") == ["epoch 2 loss 0.4", ""]
    assert lines.feed("unfinished") == []
    assert lines.rest() == ["unfinished"]
    assert lines.rest() == []


def test_a_huge_line_is_cut_and_marked() -> None:
    lines = LineAssembler()
    for _ in range(5):
        lines.feed("x" * MAX_LINE)
    [line] = lines.feed("\n")
    assert line == "x" * MAX_LINE + CUT_MARK
