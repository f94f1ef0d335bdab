"""Reading ahead: a generator's items produced in a thread of their own, a few ahead, so
parsing, checking and counting a file's blocks overlap (pyarrow and numpy release the
GIL). Dropping the reader stops its thread without waiting."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _Raised:
    error: BaseException


def _produce(
    blocks: Iterator[Any], ready: queue.Queue[Any], stop: threading.Event, done: object
) -> None:
    """`ReadAhead`'s thread: hand each block over, then `done` (or the error raised).
    It never waits on a full queue once told to stop."""

    def hand_over(item: Any) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                ready.put(item, timeout=0.05)
                return True
        return False

    try:
        for block in blocks:
            if not hand_over(block):
                return
    except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
        hand_over(_Raised(exc))
        return
    finally:  # a generator's own clean-up (a nested ReadAhead) runs in this thread
        close = getattr(blocks, "close", None)
        if close is not None:
            close()
    hand_over(done)


class ReadAhead:
    """Blocks made up to `depth` ahead in a thread, started at once, while the caller
    works on the current one: pyarrow's parsing and numpy's array work release the GIL,
    so the stages overlap (parse | check | count: 1M rows 5.2 s -> about 2 s). An error in
    the thread is raised in the caller. `close()` stops the thread, which closes
    `blocks` there, and waits for it; dropping a ReadAhead stops it without waiting."""

    def __init__(self, blocks: Iterator[Any], depth: int = 2) -> None:
        self._ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop, self._done = threading.Event(), object()
        self._finished = False
        # the thread holds no reference to self, so dropping self stops it (__del__)
        args = (blocks, self._ready, self._stop, self._done)
        self._thread = threading.Thread(
            target=_produce, args=args, name="alignscan-read-ahead", daemon=True
        )
        self._thread.start()

    def __iter__(self) -> ReadAhead:
        return self

    def __next__(self) -> Any:
        if self._finished:
            raise StopIteration
        item = self._ready.get()
        if item is self._done or isinstance(item, _Raised):
            self.close()
            if isinstance(item, _Raised):
                error, item = item.error, None  # no cycle: error -> frame -> item -> error
                try:
                    raise error
                finally:
                    del error
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop reading: let the thread finish (it may be waiting to hand a block over)."""
        self._finished = True
        self._stop.set()
        if threading.current_thread() is self._thread:  # dropped by its own thread
            return
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._ready.get(timeout=0.05)
        self._thread.join()

    def __del__(self) -> None:
        # never wait here: garbage collection may run this in the thread we'd wait for
        if hasattr(self, "_stop"):
            self._finished = True
            self._stop.set()


def read_ahead(blocks: Iterator[Any], depth: int = 2) -> ReadAhead:
    """`blocks`, read up to `depth` ahead in a thread that starts now (see `ReadAhead`)."""
    return ReadAhead(blocks, depth)
