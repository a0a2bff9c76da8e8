"""A small library with the classic reference cycles, used by the demo tests."""

from __future__ import annotations


class Graph:
    """PyMOTW's gc example: nodes that point to the next one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.next: Graph | None = None

    def set_next(self, next: Graph) -> None:
        self.next = next

    def __repr__(self) -> str:
        return f"Graph({self.name!r})"


class Client:
    """Keeps its last error: the traceback's frame holds `self`, closing a cycle."""

    def __init__(self) -> None:
        self.error: Exception | None = None

    def call(self) -> None:
        try:
            raise ConnectionError("server went away")
        except ConnectionError as exc:
            self.error = exc


class Handler:
    """An event subscription."""

    def __init__(self, event: str, callback: object) -> None:
        self.event = event
        self.callback = callback

    def __repr__(self) -> str:
        return f"Handler({self.event!r})"


_HANDLERS: list[Handler] = []


def subscribe(event: str, callback: object) -> None:
    """Adds a handler on every call and never removes it: the list grows for ever."""
    _HANDLERS.append(Handler(event, callback))
