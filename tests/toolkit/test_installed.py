"""check-installed: an installed distribution edited after installation is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from forkkit.errors import ForkKitError
from forkkit.installed import check_installed
from tests.toolkit.synthetic_wheels import record_hash


def install_fake(site: Path) -> Path:
    """site-packages holding demo-dist 1.0: one module and a RECORD with its hash."""
    module = site / "demo_dist" / "__init__.py"
    module.parent.mkdir(parents=True)
    module.write_bytes(b"VALUE = 1\n")
    dist_info = site / "demo_dist-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-dist\nVersion: 1.0\n")
    rows = [
        f"demo_dist/__init__.py,{record_hash(module.read_bytes())},{len(module.read_bytes())}",
        "demo_dist-1.0.dist-info/METADATA,,",
        "demo_dist-1.0.dist-info/RECORD,,",
    ]
    (dist_info / "RECORD").write_text("\n".join(rows) + "\n")
    return module


def test_an_untouched_install_passes(tmp_path: Path) -> None:
    install_fake(tmp_path)
    assert "every installed file matches" in check_installed("demo-dist", [str(tmp_path)])


def test_an_edited_install_is_one_line_naming_the_file(tmp_path: Path) -> None:
    install_fake(tmp_path).write_bytes(b"VALUE = 2  # edited in place\n")
    with pytest.raises(ForkKitError, match=r"demo_dist/__init__\.py") as caught:
        check_installed("demo-dist", [str(tmp_path)])
    assert "uv cache clean demo-dist" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_distribution_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ForkKitError, match="not installed"):
        check_installed("demo-dist", [str(tmp_path)])
