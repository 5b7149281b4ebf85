"""check-installed: an installed distribution edited after installation is caught."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from forkkit.errors import ForkKitError
from forkkit.installed import check_installed, installed_from
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


def test_a_cached_pass_does_not_hide_a_later_edit(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    module = install_fake(site)
    first = check_installed("demo-dist", [str(site)], cache_dir=cache)
    assert "every installed file matches" in first and "unchanged since" not in first
    again = check_installed("demo-dist", [str(site)], cache_dir=cache)
    assert "unchanged since" in again  # nothing changed: the files were not read again
    module.write_bytes(b"VALUE = 3  # same size, edited through a shared link\n"[:10])
    with pytest.raises(ForkKitError, match=r"demo_dist/__init__\.py"):
        check_installed("demo-dist", [str(site)], cache_dir=cache)


def test_installed_from_says_whether_the_files_are_the_wheels(tmp_path: Path) -> None:
    site = tmp_path / "site"
    module = install_fake(site)
    record = (site / "demo_dist-1.0.dist-info" / "RECORD").read_text()
    same, other = tmp_path / "same.whl", tmp_path / "other.whl"
    with zipfile.ZipFile(same, "w") as archive:
        archive.writestr("demo_dist-1.0.dist-info/RECORD", record)
    with zipfile.ZipFile(other, "w") as archive:
        changed = record.replace(record_hash(module.read_bytes()), record_hash(b"VALUE = 2\n"))
        archive.writestr("demo_dist-1.0.dist-info/RECORD", changed)
    assert installed_from(same, "demo-dist", [str(site)])
    assert not installed_from(other, "demo-dist", [str(site)])
    assert not installed_from(same, "absent-dist", [str(site)])
