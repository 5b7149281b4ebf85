"""Sending many rows at once, each lane (a proxy of its own) taking its rows one at a time.

A row's verdict is read off what its lane's proxy recorded while the row was in flight, so a
lane must never have two rows in flight: concurrency comes from lanes, never within one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

L = TypeVar("L")
T = TypeVar("T")
R = TypeVar("R")


def in_lanes(work: Callable[[L, T], R], rows: Sequence[T], lanes: Sequence[L]) -> list[R]:
    """`work(lane, row)` for every row, lanes concurrently; results in the order of `rows`."""
    results: dict[int, R] = {}

    def run(lane_index: int) -> None:
        for index in range(lane_index, len(rows), len(lanes)):
            results[index] = work(lanes[lane_index], rows[index])

    with ThreadPoolExecutor(len(lanes), thread_name_prefix="lane") as pool:
        for done in [pool.submit(run, lane) for lane in range(len(lanes))]:
            done.result()  # a lane's failure is the fixture's
    return [results[index] for index in range(len(rows))]


def selected_params(request: pytest.FixtureRequest, name: str) -> list[object]:
    """The values of parameter `name` the session's selected tests of this module use, once each."""
    module = request.module
    found: dict[int, object] = {}
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if getattr(item, "module", None) is module and callspec and name in callspec.params:
            value = callspec.params[name]
            found.setdefault(id(value), value)
    return list(found.values())
