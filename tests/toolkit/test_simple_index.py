"""`forkkit index`: the static simple index, read back by pip and uv over loopback HTTP."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from uv import find_uv_bin

from forkkit.cli import main
from forkkit.errors import ForkKitError
from forkkit.simple_index import add_to_index
from tests.loopback import serving
from tests.toolkit.synthetic_wheels import make_wheel

TAG = "py3-none-any"


def fork_wheel(out: Path, revision: int, body: bytes = b"") -> Path:
    version = f"1.0+fork.{revision}"
    provenance = json.dumps({"upstream": {"version": "1.0"}, "revision": revision}).encode()
    files = {
        "demo/__init__.py": b"REVISION = %d\n" % revision + body,
        f"demo-{version}.dist-info/FORK_PROVENANCE.json": provenance,
    }
    return make_wheel(out, "demo", version, TAG, files)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs))


def links(page: Path) -> list[dict[str, str | None]]:
    parser = _Links()
    parser.feed(page.read_text())
    return parser.links


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_links_carry_sha256_and_metadata_and_keep_earlier_revisions(tmp_path: Path) -> None:
    index = tmp_path / "simple"
    first = fork_wheel(tmp_path / "dist1", 1)
    add_to_index([first], index)
    second = fork_wheel(tmp_path / "dist2", 2)
    add_to_index([second], index)

    page = links(index / "demo" / "index.html")
    assert [link["href"] for link in page] == [
        f"demo-1.0%2Bfork.{n}-{TAG}.whl#sha256={sha256(w)}" for n, w in ((1, first), (2, second))
    ]
    for link, wheel in zip(page, (first, second), strict=True):
        metadata = index / "demo" / f"{wheel.name}.metadata"
        assert link["data-core-metadata"] == f"sha256={sha256(metadata)}"
        assert metadata.read_text().startswith("Metadata-Version:")
        sidecar = index / "demo" / f"{wheel.name}.FORK_PROVENANCE.json"
        assert json.loads(sidecar.read_text())["revision"] == int(wheel.name.split(".")[2][0])
    assert [link["href"] for link in links(index / "index.html")] == ["demo/"]
    listing = json.loads((index / "demo" / "index.json").read_text())
    assert listing["versions"] == ["1.0+fork.1", "1.0+fork.2"]
    assert [f["hashes"]["sha256"] for f in listing["files"]] == [sha256(first), sha256(second)]


def test_same_wheels_give_the_same_bytes(tmp_path: Path) -> None:
    wheels = [fork_wheel(tmp_path / "dist", n) for n in (1, 2)]
    add_to_index(wheels, tmp_path / "a")
    add_to_index(list(reversed(wheels)), tmp_path / "b")
    for page in ("index.html", "index.json", "demo/index.html", "demo/index.json"):
        assert (tmp_path / "a" / page).read_bytes() == (tmp_path / "b" / page).read_bytes()


def test_a_published_file_never_changes(tmp_path: Path) -> None:
    index = tmp_path / "simple"
    add_to_index([fork_wheel(tmp_path / "old", 1)], index)
    rebuilt = fork_wheel(tmp_path / "new", 1, body=b"# other bytes\n")
    with pytest.raises(ForkKitError, match=r"already in .* with other bytes; .*bump the revision"):
        add_to_index([rebuilt], index)
    add_to_index([rebuilt], index, replace=True)
    assert sha256(index / "demo" / rebuilt.name) == sha256(rebuilt)


def test_a_wheel_without_provenance_is_refused(tmp_path: Path) -> None:
    plain = make_wheel(tmp_path, "demo", "1.0", TAG, {"demo/__init__.py": b""})
    with pytest.raises(ForkKitError, match=r"carries no FORK_PROVENANCE\.json"):
        add_to_index([plain], tmp_path / "simple")


def test_cli_says_what_is_missing_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--root", str(tmp_path), "index"])
    assert code == 1
    assert capsys.readouterr().err == "error: no wheel to index; run `nox -s build` first\n"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """tmp_path/simple on a loopback HTTP server, as a user would serve dist/simple."""
    root = tmp_path / "simple"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    with serving(server):
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"


def _installed_revision(python: Path) -> str:
    code = "import demo, importlib.metadata as m; print(demo.REVISION, m.version('demo'))"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_pip_and_uv_install_a_pinned_earlier_revision_from_the_served_index(
    tmp_path: Path, served: tuple[Path, str], installer: str
) -> None:
    root, url = served
    add_to_index([fork_wheel(tmp_path / "d", n) for n in (1, 2)], root)
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    if installer == "pip":
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        install = [python, "-m", "pip", "install", "-q", "--no-cache-dir", "--index-url", url]
    else:
        uv = find_uv_bin()
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, venv], check=True)
        install = [uv, "pip", "install", "-q", "--no-cache", "--python", python, "--index-url", url]
    result = subprocess.run(
        [*install, "demo==1.0+fork.1"], capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert _installed_revision(python).split() == ["1", "1.0+fork.1"]
