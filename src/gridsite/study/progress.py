"""Progress of a run: the events a library user's callback receives, and how stages report steps.

A run calls its callback with a :class:`Progress` event when a stage starts (``done == 0``) and
as its steps complete. Stages that count their work (the raster stage per criterion or per
chunk, routing per site, hosting capacity per bus and hour, supply sizing per site) give a
``total``; their events have ``0 <= done <= total``, never go back, and the last one has
``done == total``. Other stages send only their start, with ``total`` None.

Pure modules know nothing of this: they take at most a plain ``progress(done, total)`` callable
(:data:`Step`), and the orchestration hands them :class:`StageProgress` objects, or parts of one
(:func:`sub_steps`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Progress", "ProgressCallback", "StageProgress", "Step", "sub_steps"]

#: What a pure function may accept to report its progress: ``progress(done, total)``.
Step = Callable[[int, int], None]

#: Events sent per stage at most (besides the start and the end): steps that move less than
#: 1/200 of the total are not reported, so a callback is never swamped by a per-bus loop.
_RESOLUTION = 200


@dataclass(frozen=True)
class Progress:
    """How far one stage of a run is.

    Attributes
    ----------
    stage
        The stage's name, as in the manifest's timings (``"rasters"``, ``"connection"``...).
    done
        Steps completed so far; 0 when the stage starts.
    total
        Steps of the stage; None for a stage that does not count its work.
    """

    stage: str
    done: int
    total: int | None

    @property
    def fraction(self) -> float | None:
        """``done / total`` in [0, 1]; None without a total (and 1 for an empty stage)."""
        if self.total is None:
            return None
        return 1.0 if self.total == 0 else self.done / self.total


#: A library user's progress callback: receives every :class:`Progress` event of a run in order.
ProgressCallback = Callable[[Progress], None]


class StageProgress:
    """Turn one stage's ``(done, total)`` steps into :class:`Progress` events for a callback.

    Creating it sends the start event; calling it reports a step (the callable a pure function
    takes as its ``progress`` argument); :meth:`finish` sends ``done == total`` if the steps did
    not reach it. Steps are clamped to ``[0, total]``, steps that go back are ignored, and steps
    of less than 1/200 of the total are not sent. Without a callback it does nothing.

    Examples
    --------
    >>> events = []
    >>> steps = StageProgress(events.append, "routing", total=3)
    >>> steps(1, 3); steps(1, 3); steps(5, 3); steps.finish()
    >>> [(e.done, e.total) for e in events]
    [(0, 3), (1, 3), (3, 3)]
    """

    def __init__(self, callback: ProgressCallback | None, stage: str, total: int | None) -> None:
        self._callback = callback
        self.stage = stage
        self.total = total
        self.done = 0
        self._last: tuple[int, int | None] | None = None
        self._send()

    def __call__(self, done: int, total: int) -> None:
        """Report that ``done`` of ``total`` steps are complete (``total`` may change)."""
        if total != self.total:
            self.total = max(0, int(total))
            self.done = min(self.done, self.total)
        self.done = max(self.done, min(int(done), self.total))
        self._maybe_send()

    def finish(self) -> None:
        """Send the last event, ``done == total``, unless it was sent (no-op without a total)."""
        if self.total is not None:
            self.done = self.total
            self._maybe_send()

    def _maybe_send(self) -> None:
        last, total = self._last, self.total
        if last == (self.done, total):
            return
        # Under the same total, send a step only when it enters a new 1/_RESOLUTION of it.
        if (
            last is not None
            and last[1] == total
            and total is not None
            and self.done < total
            and _bucket(self.done, total) == _bucket(last[0], total)
        ):
            return
        self._send()

    def _send(self) -> None:
        self._last = (self.done, self.total)
        if self._callback is not None:
            self._callback(Progress(self.stage, self.done, self.total))


def _bucket(done: int, total: int) -> int:
    return done * _RESOLUTION // max(total, 1)


def sub_steps(step: Step, *, offset: int, total: int) -> Step:
    """Map a part's ``(done, part_total)`` onto a stage of ``total`` steps: ``offset + done``.

    For a stage made of several calls of one pure function (hosting capacity: a call per hour),
    each call reports its own steps; this shifts them by the steps of the calls before it.

    Examples
    --------
    >>> seen = []
    >>> part = sub_steps(lambda d, t: seen.append((d, t)), offset=10, total=30)
    >>> part(4, 10); seen
    [(14, 30)]
    """

    def report(done: int, part_total: int) -> None:
        step(offset + done, total)

    return report
