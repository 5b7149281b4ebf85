"""Behaviour suite: runs against whatever ``litellm`` this interpreter has installed.

``--negative-control`` turns every ``fixed_by`` test into a strict xfail, so the run passes only
if each of them FAILS, i.e. on an unpatched LiteLLM.
"""

from __future__ import annotations

import importlib.metadata
import os
import re

# Before anything imports litellm: never fetch the model cost map from the network.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import pytest
from packaging.version import Version

from .egress import egress  # noqa: F401
from .inprocess_fixtures import _litellm_imported_frozen, inprocess_proxy  # noqa: F401
from .launcher import (  # noqa: F401
    _launched_proxies,
    pytest_collection_finish,
    pytest_sessionstart,
)
from .live_fixtures import (  # noqa: F401
    live_proxies,
    proxy_main,
    proxy_no_server_key,
    proxy_open,
    proxy_open_no_server_key,
)
from .scheduling import pytest_configure, pytest_xdist_make_scheduler  # noqa: F401
from .unified_route import unified  # noqa: F401

NEGATIVE_CONTROL = "--negative-control"
_STEM = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FIXED_BY_COUNT = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        NEGATIVE_CONTROL,
        action="store_true",
        default=False,
        help="expect every fixed_by test to fail (run against an unpatched LiteLLM)",
    )


def _patches(item: pytest.Item) -> list[str]:
    patches = []
    for marker in item.iter_markers("fixed_by"):
        if len(marker.args) != 1 or not _STEM.match(str(marker.args[0])):
            raise pytest.UsageError(
                f"{item.nodeid}: fixed_by takes one patch stem like 'area-some-subject',"
                f" got {marker.args!r}"
            )
        patches.append(str(marker.args[0]))
    return patches


def _still_broken_upstream(item: pytest.Item) -> bool:
    """False when every fixed_by mark says the installed upstream release gets it right itself.

    `fixed_by(patch, upstream_ok=(first, until))`: unpatched releases in [first, until) (None:
    unbounded) behave right on their own, so the negative control expects a pass there.
    """
    installed = Version(Version(importlib.metadata.version("litellm")).base_version)
    return any(
        not _in_range(installed, m.kwargs.get("upstream_ok")) for m in item.iter_markers("fixed_by")
    )


def _in_range(installed: Version, window: tuple[str | None, str | None] | None) -> bool:
    if window is None:
        return False
    first, until = window
    return (first is None or installed >= Version(first)) and (
        until is None or installed < Version(until)
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    fixed = [(item, _patches(item)) for item in items]
    fixed = [(item, patches) for item, patches in fixed if patches]
    config.stash[_FIXED_BY_COUNT] = len(fixed)
    if not config.getoption(NEGATIVE_CONTROL, default=False):
        return
    if not fixed:
        raise pytest.UsageError(
            f"{NEGATIVE_CONTROL}: no fixed_by test was collected, so nothing would be checked"
        )
    for item, patches in fixed:
        if not _still_broken_upstream(item):
            continue
        reason = "negative control: must fail without " + ", ".join(sorted(set(patches)))
        item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
        _report_failure_in_one_line(item)


def _report_failure_in_one_line(item: pytest.Item) -> None:
    """The expected failure of a negative-control case is counted (xfailed), never shown, so its
    report holds one line instead of a formatted traceback (~20 ms of CPU each, ~700 per run).
    A pass is still reported in full (XPASS(strict) fails the run), as is a failing setup."""

    def one_line(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
        text = excinfo.exconly()
        return text.splitlines()[0][:300] if text else excinfo.typename

    item.repr_failure = one_line  # type: ignore[method-assign]


def pytest_report_collectionfinish(config: pytest.Config) -> str:
    count = config.stash.get(_FIXED_BY_COUNT, 0)
    if config.getoption(NEGATIVE_CONTROL, default=False):
        return f"negative control: {count} fixed_by tests must each fail (strict xfail)"
    return f"fixed_by tests: {count} (run with {NEGATIVE_CONTROL} against unpatched LiteLLM)"
