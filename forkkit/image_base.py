"""The local stand-in for upstream's image: Debian's Python plus upstream's `litellm[proxy]`.

Upstream's image cannot be pulled where no container registry is reachable, so `nox -s image`
builds a base that has what the fork's Containerfile relies on (LiteLLM for the pin in the
`python3` on PATH, `litellm` as entrypoint, WORKDIR /app) from things that are reachable:

- a Debian rootfs from `mmdebstrap` with the machine's own apt sources, `podman import`ed;
- a wheelhouse prepared on the host: `uv pip compile` of `litellm[proxy]==<pin>` with
  upstream/overrides.txt for the image's Python and platform, then `pip download` of exactly those
  wheels from the user's configured index. pip inside the image installs from it with no network.

Both are content-addressed in the toolkit cache (by their inputs), and so is the base image's
tag, so a warm run builds nothing.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from forkkit.errors import ForkKitError
from forkkit.overrides import load_overrides
from forkkit.pin import Pin
from forkkit.podman import image_exists, podman
from forkkit.project import Project

SUITE = "bookworm"
PYTHON_VERSION = "3.11"  # bookworm's python3
GLIBC_MINOR = 36  # bookworm's glibc 2.36
INCLUDES = ("python3", "python3-venv", "ca-certificates")
SOURCES_ENV = "FORKKIT_APT_SOURCES"
SOURCES_CANDIDATES = ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list")
BASE_CONTAINERFILE = Path("container") / "base.Containerfile"
BASE_REPOSITORY = "localhost/litellm-fork-kit-base"
ROOTFS_REPOSITORY = "localhost/litellm-fork-kit-rootfs"
TOOL_TIMEOUT_S = 1800.0
ARCHES = ("x86_64", "aarch64")  # this machine's: the wheelhouse is for the image podman builds


def local_base_missing() -> str | None:
    """One line saying why the Debian stand-in cannot be built here, or None."""
    if shutil.which("mmdebstrap") is None:
        return "mmdebstrap is not installed (e.g. `apt-get install mmdebstrap`)"
    if machine() not in ARCHES:
        return f"no wheelhouse tags for {machine()} (only {', '.join(ARCHES)})"
    try:
        apt_sources()
    except ForkKitError as exc:
        return str(exc)
    return None


def machine() -> str:
    arch = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)


def local_base(project: Project, pin: Pin, env: dict[str, str]) -> str:
    """The base image's reference, built (rootfs, wheelhouse, image) only where not cached."""
    rootfs = rootfs_image(project, env)
    wheels = wheelhouse(project, pin)
    recipe = (project.root / BASE_CONTAINERFILE).read_bytes()
    key = _digest(rootfs.encode(), wheels.name.encode(), recipe)[:16]
    ref = f"{BASE_REPOSITORY}:{pin.version}-{key}"
    if image_exists(ref, env):
        say(f"local base {ref} is cached")
        return ref
    podman(
        [
            "build",
            "--format=docker",
            f"--file={project.root / BASE_CONTAINERFILE}",
            f"--build-arg=ROOTFS={rootfs}",
            f"--build-arg=UPSTREAM_VERSION={pin.version}",
            f"--tag={ref}",
            str(wheels),
        ],
        env,
    )
    return ref


def apt_sources() -> Path:
    """The apt sources file mmdebstrap takes its mirrors from: the machine's own."""
    chosen = os.environ.get(SOURCES_ENV)
    candidates = [chosen] if chosen else list(SOURCES_CANDIDATES)
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file() and path.read_text().strip():
            return path
    raise ForkKitError(
        f"no apt sources file ({', '.join(candidates)}); set {SOURCES_ENV} to a sources.list or "
        f"deb822 .sources file naming a Debian {SUITE} mirror"
    )


def rootfs_image(project: Project, env: dict[str, str]) -> str:
    """The imported Debian rootfs, keyed by what mmdebstrap is given (and its version)."""
    missing = local_base_missing()
    tool = shutil.which("mmdebstrap")
    if missing or tool is None:
        raise ForkKitError(missing or "mmdebstrap is not installed")
    sources = apt_sources()
    version = _run([tool, "--version"], capture=True).strip()
    inputs = [SUITE, "minbase", ",".join(INCLUDES), version]
    key = _digest(*(part.encode() for part in inputs), sources.read_bytes())[:16]
    ref = f"{ROOTFS_REPOSITORY}:{SUITE}-{key}"
    if image_exists(ref, env):
        return ref
    tarball = project.cache_dir / "image" / "rootfs" / f"{SUITE}-{key}.tar"
    if not tarball.exists():
        say(f"building the {SUITE} rootfs with mmdebstrap ({sources})")
        tarball.parent.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(f".partial-{os.getpid()}.tar")
        include = f"--include={','.join(INCLUDES)}"
        _run([tool, "--quiet", "--variant=minbase", include, SUITE, str(partial), str(sources)])
        partial.rename(tarball)
    podman(["import", "--quiet", str(tarball), ref], env, capture=True)
    return ref


def wheelhouse(project: Project, pin: Pin) -> Path:
    """A build context whose wheelhouse/ holds every wheel of `litellm[proxy]` for the pin."""
    resolved = resolve(project, pin)
    key = _digest(resolved.encode(), " ".join(_platform_args()).encode())[:16]
    context = project.cache_dir / "image" / "wheelhouse" / f"{pin.version}-{key}"
    if (context / "requirements.txt").exists():
        return context
    say(f"downloading the wheelhouse for litellm[proxy]=={pin.version}")
    staging = context.with_name(f"{context.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "wheelhouse").mkdir(parents=True)
    requirements = staging / "requirements.txt.partial"
    requirements.write_text(resolved)
    download = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    download += ["--only-binary=:all:", *_platform_args()]
    _run([*download, "--requirement", str(requirements), "--dest", str(staging / "wheelhouse")])
    requirements.rename(staging / "requirements.txt")
    try:
        staging.rename(context)
    except OSError:  # another run finished first
        shutil.rmtree(staging, ignore_errors=True)
    return context


def resolve(project: Project, pin: Pin) -> str:
    """`litellm[proxy]==<pin>` resolved with the overrides for the image's Python and platform."""
    overrides = load_overrides(project.root)
    target = f"{machine()}-manylinux_2_{GLIBC_MINOR}"
    command = [sys.executable, "-m", "uv", "pip", "compile", "--quiet", "--no-header"]
    command += ["--no-annotate", f"--python-version={PYTHON_VERSION}"]
    command += [f"--python-platform={target}", "--only-binary=:all:", *overrides.uv_args(), "-"]
    return _run(command, capture=True, stdin=f"{pin.project}[proxy]=={pin.version}\n")


def _platform_args() -> list[str]:
    """pip download's tags for the image: CPython 3.11 on glibc 2.36 (and older), this arch."""
    abi = f"cp{PYTHON_VERSION.replace('.', '')}"
    args = [f"--python-version={PYTHON_VERSION}", "--implementation=cp"]
    args += [f"--abi={abi}", "--abi=abi3", "--abi=none"]
    arch = machine()
    manylinux = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR, 16, -1)]
    older = ["manylinux2010", "manylinux1"] if arch == "x86_64" else []
    legacy = [f"{tag}_{arch}" for tag in ["manylinux2014", *older, "linux"]]
    return args + [f"--platform={tag}" for tag in [*manylinux, *legacy]]


def _run(command: list[str], capture: bool = False, stdin: str | None = None) -> str:
    try:
        result = subprocess.run(
            command,
            input=stdin,
            text=True,
            capture_output=capture,
            timeout=TOOL_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ForkKitError(f"{command[0]} is not installed ({exc.strerror})") from None
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-1:] if capture else []
        shown = " ".join([Path(command[0]).name, *command[1:]])
        raise ForkKitError(
            f"`{shown[:120]}` failed (exit {result.returncode})"
            + (f": {detail[0]}" if detail else "")
        )
    return result.stdout or ""


def say(line: str) -> None:
    """Progress goes to stderr: a verb's stdout may be JSON."""
    print(line, file=sys.stderr, flush=True)


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()
