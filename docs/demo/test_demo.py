"""Run me: pytest --gc-guard docs/demo"""

from __future__ import annotations

import pytest
from shapes import Client
from shapes import Graph
from shapes import subscribe


def test_ring_of_three() -> None:
    one, two, three = Graph("one"), Graph("two"), Graph("three")
    one.set_next(two)
    two.set_next(three)
    three.set_next(one)


def test_client_keeps_its_error() -> None:
    client = Client()
    client.call()
    assert isinstance(client.error, ConnectionError)


@pytest.mark.allow_cycles(reason="graphs are cyclic by design here")
def test_allowed_ring() -> None:
    node = Graph("self")
    node.set_next(node)


def test_raises_is_the_tests_own_business() -> None:
    with pytest.raises(ZeroDivisionError) as excinfo:
        1 / 0  # noqa: B018
    assert excinfo.type is ZeroDivisionError


def test_subscribes_on_every_call() -> None:
    subscribe("saved", print)


def test_clean() -> None:
    assert Graph("alone").next is None
