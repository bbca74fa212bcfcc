"""A table of many keyed rows: filtered as you type, sorted by a column, sized to the screen.

A step of a lycée holds thousands of rows. DataTable measures every cell of
every row it is given (about 0.25 ms a row), so a refill of 3,000 rows would
cost most of a second: the rows live here, with their folded text and their
sort keys computed once; a refill puts in at once the rows a screen can show,
in one `batch_update`, and streams the rest between keystrokes.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work
from textual.widgets import DataTable

# Rows added between two keystrokes while a refilled table fills up: each chunk
# holds the keyboard for its time (about 0.5 ms a row on a loaded machine).
CHUNK = 100
# The cells' padding on each side (DataTable's cell_padding).
PADDING = 1


def fold(text: str) -> str:
    """Comparison form for filters and sorting: no case, no accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A column: its narrowest width, and its share of what the terminal gives beyond."""

    key: str
    label: str
    width: int
    grow: int = 0  # 0: fixed width
    most: int | None = None  # widest it is useful


def share_widths(available: int, specs: Sequence[ColumnSpec]) -> list[int]:
    """Content widths of the columns for `available` cells (padding included).

    Beyond the narrowest widths, the room is shared by weight among the
    growing columns, each up to its `most`; short of room, the growing
    columns give theirs back first (their cells then end in "…", never cut
    silently), down to 4 cells each.
    """
    widths = [spec.width for spec in specs]
    room = available - sum(widths) - 2 * PADDING * len(specs)
    growing = [n for n, spec in enumerate(specs) if spec.grow]
    while room > 0 and growing:
        weight = sum(specs[n].grow for n in growing)
        given = 0
        for n in list(growing):
            share = max(1, room * specs[n].grow // weight)
            most = specs[n].most
            if most is not None:
                share = min(share, most - widths[n])
            share = min(share, room - given)
            widths[n] += share
            given += share
            if most is not None and widths[n] >= most:
                growing.remove(n)
            if given >= room:
                break
        room -= given
        if not given:
            break
    shrinking = [n for n, spec in enumerate(specs) if spec.grow]
    while room < 0 and shrinking:
        shrinking.sort(key=lambda n: -widths[n])
        n = shrinking[0]
        if widths[n] <= 4:
            break
        widths[n] -= 1
        room += 1
    return widths


def share_heights(available: int, needs: Sequence[int], active: int | None) -> list[int]:
    """Heights of stacked tables in `available` lines, none more than its `need` (header
    and rows): three lines each (or its need) first, then the table being worked on
    (`active`) as many as it needs, then the others share what is left."""
    heights = [min(need, 3) for need in needs]
    room = available - sum(heights)
    if active is not None and room > 0:
        grow = min(room, needs[active] - heights[active])
        heights[active] += grow
        room -= grow
    open_ = [n for n, need in enumerate(needs) if heights[n] < need]
    while room > 0 and open_:
        share = max(1, room // len(open_))
        for n in list(open_):
            grow = min(share, needs[n] - heights[n], room)
            heights[n] += grow
            room -= grow
            if heights[n] >= needs[n]:
                open_.remove(n)
            if not room:
                break
    return heights


@dataclass(slots=True)
class Row:
    """One row: its cells, its text for the filter (folded), its sort key per column."""

    key: str
    cells: tuple[Text, ...]
    folded: str
    sort: tuple[Any, ...]


class FittedTable(DataTable[Text]):
    """A DataTable whose columns share its width (the terminal's) as `specs` say."""

    DEFAULT_CSS = """
    FittedTable {
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, columns: Sequence[ColumnSpec], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.specs = list(columns)

    def set_columns(self, columns: Sequence[ColumnSpec]) -> None:
        """Other columns (the rows go: the caller adds them again)."""
        self.specs = list(columns)
        self.clear(columns=True)
        for spec in self.specs:
            self.add_column(spec.label, key=spec.key, width=spec.width)
        self.fit()

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        # The size is the width inside the vertical scrollbar.
        if self.size.width > 0:
            fit_columns(self, self.specs, self.size.width)


class RowTable(FittedTable):
    """A DataTable over `Row`s, in their natural order, a filter's, or a column's.

    Left and Right choose the column that `sort_by_column` sorts by (marked in
    the heading): the table is never wider than the screen, so they have no
    scrolling to do.
    """

    def __init__(self, columns: Sequence[ColumnSpec], **kwargs: Any) -> None:
        super().__init__(columns, cursor_type="row", **kwargs)
        self._rows: dict[str, Row] = {}
        self._order: list[str] = []
        # What the table shows once filled, in order (it may still be filling).
        self.shown: list[str] = []
        self.words: list[str] = []
        self.column = 0  # the column under the column cursor
        self.sorted_by: int | None = None
        self.reverse = False
        # Called once the rows shown changed (the screen's headings follow).
        self.on_shown: Callable[[], None] | None = None

    def on_mount(self) -> None:
        for spec in self.specs:
            self.add_column(spec.label, key=spec.key, width=spec.width)
        self._relabel()

    # -- the rows ---------------------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self._order)

    @property
    def need(self) -> int:
        """Lines to show every row (those to come too) under the header."""
        return max(len(self.shown), 1) + 1

    def load(self, rows: Sequence[Row]) -> None:
        self._rows = {row.key: row for row in rows}
        self._order = [row.key for row in rows]
        self._show()

    def row(self, key: str) -> Row:
        return self._rows[key]

    def replace(self, row: Row) -> None:
        """A row changed (a link, a rejection): its cells now; where it stands, at the next
        filter or sort (a row does not jump away from under the cursor)."""
        self._rows[row.key] = row
        if row.key in self.rows:
            for spec, value in zip(self.specs, row.cells, strict=True):
                self.update_cell(row.key, spec.key, value)

    def highlighted_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    # -- filter and sort ----------------------------------------------------------------------

    def filter(self, text: str) -> None:
        words = fold(text).split()
        if words != self.words:
            self.words = words
            self._show()

    def sort_by_column(self) -> None:
        """Sort by the column under the column cursor; again: the other way."""
        if self.sorted_by == self.column:
            self.reverse = not self.reverse
        else:
            self.sorted_by, self.reverse = self.column, False
        self._relabel()
        self._show()

    def _keys(self) -> list[str]:
        rows = self._rows
        keys = self._order
        if self.words:
            words = self.words
            keys = [k for k in keys if all(w in rows[k].folded for w in words)]
        if self.sorted_by is not None:
            n = self.sorted_by
            keys = sorted(keys, key=lambda k: rows[k].sort[n], reverse=self.reverse)
        return keys

    def _show(self) -> None:
        keys = self._keys()
        if keys == self.shown and self.rows:
            return  # one more letter, the same rows: nothing to repaint
        highlighted = self.highlighted_key()
        self.workers.cancel_group(self, "fill")
        self.shown = keys
        # At once, the rows a screen can show; the rest between keystrokes.
        first = max(self.app.size.height, 24)
        with self.app.batch_update():
            self.clear()
            for key in keys[:first]:
                self.add_row(*self._rows[key].cells, key=key)
        if highlighted is not None and highlighted in self.rows:
            self.move_cursor(row=self.get_row_index(highlighted), scroll=True)
        if len(keys) > first:
            self._fill(keys, first)
        if self.on_shown is not None:
            self.on_shown()

    @work(exclusive=True, group="fill", exit_on_error=False)
    async def _fill(self, keys: list[str], start: int) -> None:
        for begin in range(start, len(keys), CHUNK):
            # Let keystrokes and repaints through between chunks.
            await asyncio.sleep(0)
            with self.app.batch_update():
                for key in keys[begin : begin + CHUNK]:
                    row = self._rows.get(key)
                    if row is not None:
                        self.add_row(*row.cells, key=key)

    def filled(self) -> bool:
        return self.row_count == len(self.shown)

    def go_to(self, key: str) -> bool:
        """Put the cursor on a row, adding the rows before it if still to come."""
        if key not in self.rows:
            try:
                index = self.shown.index(key)
            except ValueError:
                return False
            self.workers.cancel_group(self, "fill")
            with self.app.batch_update():
                for k in self.shown[self.row_count : index + 1]:
                    self.add_row(*self._rows[k].cells, key=k)
            if index + 1 < len(self.shown):
                self._fill(self.shown, index + 1)
        self.move_cursor(row=self.get_row_index(key), scroll=True)
        return True

    # -- columns ------------------------------------------------------------------------------

    def action_cursor_left(self) -> None:
        self.column = max(0, self.column - 1)
        self._relabel()

    def action_cursor_right(self) -> None:
        self.column = min(len(self.specs) - 1, self.column + 1)
        self._relabel()

    def _relabel(self) -> None:
        for n, spec in enumerate(self.specs):
            label = Text(spec.label)
            if n == self.sorted_by:
                label.append(" ▼" if self.reverse else " ▲")
            if n == self.column and self.has_focus:
                label.stylize("reverse")
            else:
                label.stylize("bold")
            self.columns[spec.key].label = label
        self._refresh_all()

    def on_focus(self) -> None:
        self._relabel()

    def on_blur(self) -> None:
        self._relabel()

    def _refresh_all(self) -> None:
        refresh_table(self)


def refresh_table(table: DataTable[Any]) -> None:
    """Repaint after a label or a width changed.

    DataTable keeps its rendered rows and header in caches and sizes itself
    from the columns' widths when told to: both are needed.
    """
    table._require_update_dimensions = True
    table._clear_caches()
    table.refresh()


def fit_columns(table: DataTable[Any], specs: Sequence[ColumnSpec], width: int) -> None:
    """Give the columns of `table` their share of `width` cells."""
    changed = False
    for spec, value in zip(specs, share_widths(width, specs), strict=True):
        column = table.columns.get(spec.key)  # type: ignore[call-overload]
        if column is not None and column.width != value:
            column.width = value
            changed = True
    if changed:
        refresh_table(table)
