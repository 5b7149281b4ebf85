"""image: the fork's proxy image, upstream's image with LiteLLM replaced by the patched wheel.

- the tag is `<upstream version>-<label>.<revision>` (e.g. 1.110.2-fork.2), from the pin and
  patches/release.toml: the wheel's version with `-` for `+`, which image tags cannot hold;
- the build context (.work/image/context) holds exactly one file the Containerfile copies,
  wheel/<the wheel>, byte for byte the one `nox -s build` made and the suite tested;
- the base is upstream's image for the pin, or (`--local-base`) a stand-in built here from Debian
  packages (forkkit.image_base);
- `check` runs the image once without network and proves the LiteLLM inside is the wheel's: its
  version, every installed file against its RECORD, and that RECORD against the wheel's own.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from forkkit.errors import ForkKitError
from forkkit.image_base import local_base
from forkkit.jsonfile import write_versioned
from forkkit.pin import Pin, load_pin
from forkkit.podman import podman, podman_env
from forkkit.project import Project
from forkkit.release import Release, load_release

UPSTREAM_IMAGE = "ghcr.io/berriai/litellm"
LOCAL_REPOSITORY = "localhost/litellm-fork-kit"
CONTAINERFILE = "Containerfile"
IMAGE_SCHEMA = "forkkit.image"  # .work/image/image.json: the last image built
WHEEL_DIR = "wheel"  # the context folder the Containerfile copies
CONTEXT_MTIME = 315532800  # 1980-01-01, the earliest time a zip (a wheel) can hold
_CHECK_SCRIPT = """
import importlib.metadata as m, json, os
from forkkit.installed import check_installed
from forkkit.errors import ForkKitError
d = m.distribution("litellm")
try:
    intact = check_installed("litellm")
except ForkKitError as exc:
    intact = "error: " + str(exc)
print(json.dumps({"version": d.version, "record": d.read_text("RECORD") or "",
                  "intact": intact, "uid": os.getuid()}))
"""


@dataclass(frozen=True)
class BuiltImage:
    ref: str  # repository:tag
    tag: str
    digest: str  # the image manifest's sha256
    image_id: str
    base: str
    wheel: str


def image_tag(pin: Pin, release: Release) -> str:
    return f"{pin.version}-{release.local_version()}"


def upstream_image(pin: Pin) -> str:
    """Upstream's own image for the pinned release (its release tags are `main-v<version>`)."""
    return f"{UPSTREAM_IMAGE}:main-v{pin.version}"


def plan(project: Project) -> dict[str, str]:
    pin = load_pin(project.pin_file)
    release = load_release(project.release_file)
    return {
        "tag": image_tag(pin, release),
        "version": f"{pin.version}+{release.local_version()}",
        "upstream_image": upstream_image(pin),
        "local_repository": LOCAL_REPOSITORY,
    }


def prepare_context(project: Project, wheel: Path) -> Path:
    """.work/image/context with wheel/ holding this wheel alone (earlier ones removed)."""
    pin = load_pin(project.pin_file)
    release = load_release(project.release_file)
    expected = f"{pin.version}+{release.local_version()}"
    if not wheel.is_file():
        raise ForkKitError(f"no wheel at {wheel}; run `nox -s build` first")
    found = wheel_version(wheel)
    if found != expected:
        raise ForkKitError(f"{wheel.name} is {found}, the pin and release say {expected}")
    context = project.work_dir / "image" / "context"
    shutil.rmtree(context, ignore_errors=True)
    (context / WHEEL_DIR).mkdir(parents=True)
    shutil.copyfile(wheel, context / WHEEL_DIR / wheel.name)
    # A fixed mtime: podman's layer cache hashes what COPY adds, timestamps included, so the
    # same wheel bytes reuse the cached layer (and image) however often the context is rebuilt.
    for path in (context / WHEEL_DIR / wheel.name, context / WHEEL_DIR, context):
        os.utime(path, (CONTEXT_MTIME, CONTEXT_MTIME))
    return context


def wheel_version(wheel: Path) -> str:
    parts = wheel.name.split("-")
    if len(parts) < 5 or not wheel.name.endswith(".whl"):
        raise ForkKitError(f"{wheel.name} is not a wheel file name")
    return parts[1]


def build_image(
    project: Project, wheel: Path, base: str | None = None, use_local_base: bool = False
) -> BuiltImage:
    env = podman_env(project.work_dir / "image")
    pin = load_pin(project.pin_file)
    info = plan(project)
    context = prepare_context(project, wheel)
    chosen = local_base(project, pin, env) if use_local_base else base or info["upstream_image"]
    ref = f"{LOCAL_REPOSITORY}:{info['tag']}"
    podman(
        [
            "build",
            "--format=docker",  # keeps HEALTHCHECK, which the OCI image format has no field for
            f"--file={project.root / CONTAINERFILE}",
            f"--build-arg=BASE={chosen}",
            f"--build-arg=FORK_VERSION={info['version']}",
            f"--tag={ref}",
            str(context),
        ],
        env,
    )
    inspect = ["image", "inspect", "--format", "{{.Digest}} {{.Id}}", ref]
    digest, image_id = podman(inspect, env, capture=True).stdout.split()
    built = BuiltImage(ref, info["tag"], digest, image_id, chosen, str(wheel))
    write_versioned(project.work_dir / "image" / "image.json", IMAGE_SCHEMA, 1, asdict(built))
    return built


def check_image(project: Project, ref: str, wheel: Path) -> list[str]:
    """Lines proving the image's LiteLLM is the wheel's; ForkKitError on the first mismatch."""
    env = podman_env(project.work_dir / "image")
    run = ["run", "--rm", "--network=none", "--workdir=/", "--entrypoint=python3"]
    run += [f"--volume={project.root / 'forkkit'}:/forkkit-check/forkkit:ro"]
    run += ["--env=PYTHONPATH=/forkkit-check", "--env=PYTHONDONTWRITEBYTECODE=1"]
    out = podman([*run, ref, "-c", _CHECK_SCRIPT], env, capture=True).stdout
    found = json.loads(out.strip().splitlines()[-1])
    expected = wheel_version(wheel)
    if found["version"] != expected:
        raise ForkKitError(f"{ref} has LiteLLM {found['version']}, the wheel is {expected}")
    if str(found["intact"]).startswith("error: "):
        raise ForkKitError(f"{ref}: {found['intact'][7:]}")
    if found["uid"] == 0:
        raise ForkKitError(f"{ref} runs as root")
    differing = record_mismatches(wheel_record(wheel), parse_record(found["record"]))
    if differing:
        raise ForkKitError(
            f"{ref}: {len(differing)} file(s) differ from {wheel.name}'s RECORD "
            f"({', '.join(differing[:3])})"
        )
    return [
        f"{ref}: LiteLLM {found['version']}, runs as uid {found['uid']}",
        f"{ref}: {found['intact']}",
        f"{ref}: its RECORD has every file of {wheel.name} with the wheel's sha256",
    ]


def wheel_record(wheel: Path) -> dict[str, str]:
    """path -> sha256 (RECORD form) of every file in the wheel, hashed from its bytes."""
    with zipfile.ZipFile(wheel) as archive:
        return {
            name: _record_hash(archive.read(name))
            for name in archive.namelist()
            if not name.endswith("/") and not name.endswith(".dist-info/RECORD")
        }


def parse_record(text: str) -> dict[str, str]:
    return {row[0]: row[1] for row in csv.reader(io.StringIO(text)) if len(row) >= 2 and row[1]}


def record_mismatches(wheel: dict[str, str], installed: dict[str, str]) -> list[str]:
    """Files of the wheel that the installed RECORD lacks or lists with another hash."""
    return sorted(path for path, digest in wheel.items() if installed.get(path) != digest)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"
