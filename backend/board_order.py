"""The board's order in memory: every listed incident's place, packed.

A board holds the sort key of every matching incident (100k open ones on a big day) and
reads the fields it shows a page at a time. As a dict of `Key` objects and a list of ids
those keys cost about 190 bytes an incident (19.8 MiB at 100k, bench board_pty.tick_rss);
`Places` keeps them in board order in three arrays, 17 bytes an incident.
"""

from __future__ import annotations

import bisect
import struct
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

_ID = struct.Struct("=q")  # an id as `array("q")` holds it
_SEARCHES = 8  # more changed ids than this: one pass over the ids finds them all


@dataclass(frozen=True, slots=True)
class Key:
    """One incident's place on the board."""

    id: int
    when: float  # epoch seconds the sort orders by: the due time of the clock that ranks it
    # (backend/ranking.py; inf when none) for the due and level sorts, the report time for
    # age and recent. One float, not both: at 100k open incidents the second cost 3 MB.
    rank: int  # 4 for level I ... 0 unclassified
    pressing: bool = False  # ranked by a reporting clock in warning or breached


# backend/ranking.py: pressing reporting clocks first, then the due time (a past one sorts
# first), then level, then id.
SORT_KEYS: dict[str, Callable[[Key], tuple[Any, ...]]] = {
    "due": lambda k: (not k.pressing, k.when, -k.rank, k.id),
    "level": lambda k: (-k.rank, not k.pressing, k.when, k.id),
    "age": lambda k: (k.when, k.id),
    "id": lambda k: (k.id,),
    "recent": lambda k: (-k.when, -k.id),
}


class Places:
    """The keys of a board's incidents in board order: ids, `when`s, and rank and
    pressing in one byte. Owned by one thread at a time (built by a worker, then moved
    only on the event loop)."""

    __slots__ = ("_flags", "_whens", "ids")

    def __init__(self, keys: Iterable[Key] = ()) -> None:
        self.ids = array("q")  # what the list shows, top to bottom
        self._whens = array("d")
        self._flags = bytearray()  # rank << 1 | pressing
        for key in keys:
            self.append(key)

    def append(self, key: Key) -> None:
        """Add `key` below every other: the caller adds them in board order."""
        self.ids.append(key.id)
        self._whens.append(key.when)
        self._flags.append(key.rank << 1 | key.pressing)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> Key:
        flags = self._flags[index]
        return Key(self.ids[index], self._whens[index], flags >> 1, bool(flags & 1))

    def __iter__(self) -> Iterator[Key]:
        return (self[index] for index in range(len(self.ids)))

    def sorted(self, sort: str) -> Places:
        """The same keys in another order (`s` on the board)."""
        return Places(sorted(self, key=SORT_KEYS[sort]))

    def patch(self, changed: frozenset[int], fresh: dict[int, Key], sort_key: Callable[[Key], Any]) -> None:
        """Move only the changed incidents, in place: each changed one out (`_positions`),
        each fresh key in by a bisect over the order (a few keys read back, not a re-sort
        of every open incident: time alone re-ranks a 100k board about once a second).
        Absent from `fresh`: gone. At 100k: ~1 ms for one change, 53 ms for a thousand."""
        found = self._positions(changed)
        for index in sorted(found, reverse=True):
            del self.ids[index], self._whens[index], self._flags[index]
        for key in fresh.values():
            index = bisect.bisect_left(range(len(self.ids)), sort_key(key), key=lambda i: sort_key(self[i]))
            self.ids.insert(index, key.id)
            self._whens.insert(index, key.when)
            self._flags[index:index] = bytes((key.rank << 1 | key.pressing,))

    def _positions(self, wanted: frozenset[int]) -> list[int]:
        """Where each of `wanted` is in the order (those listed): a byte search of the ids
        for each, aligned to whole ids (~0.1-1 ms at 100k); for many, one pass over the ids
        (~6 ms at 100k: a burst of a thousand changes took 0.5 s by searches)."""
        if len(wanted) > _SEARCHES:
            return [index for index, incident_id in enumerate(self.ids) if incident_id in wanted]
        data, found = self.ids.tobytes(), []
        size = self.ids.itemsize
        for incident_id in wanted:
            needle = _ID.pack(incident_id)
            at = data.find(needle)
            while at >= 0 and at % size:
                at = data.find(needle, at + 1)
            if at >= 0:
                found.append(at // size)
        return found
