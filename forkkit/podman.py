"""Running podman: is it here, and the containers.conf this machine needs.

Some machines cannot run crun (podman's default OCI runtime) and have lower ulimits than podman's
defaults. The toolkit writes a containers.conf that uses runc when it is installed and ulimits any
sandbox allows, and points CONTAINERS_CONF at it, unless the user set CONTAINERS_CONF already.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from forkkit.errors import ForkKitError

CONF_ENV = "CONTAINERS_CONF"
ULIMITS = ("nofile=20000:20000", "nproc=4096:4096")
INSTALL_HINT = "apt-get install podman runc mmdebstrap"
PODMAN_TIMEOUT_S = 1800.0


def podman_missing() -> str | None:
    """One line saying why images cannot be built here, or None."""
    if shutil.which("podman") is None:
        return f"podman is not installed (e.g. `{INSTALL_HINT}`)"
    return None


def containers_conf_text(runc: bool) -> str:
    limits = ", ".join(f'"{limit}"' for limit in ULIMITS)
    # http_proxy = false: the host's proxy variables never reach a container.
    text = f"[containers]\ndefault_ulimits = [{limits}]\nhttp_proxy = false\n"
    if runc:
        text += '\n[engine]\nruntime = "runc"\n'
    return text


def podman_env(work_dir: Path) -> dict[str, str]:
    """The environment podman runs with: the user's, plus CONTAINERS_CONF unless already set."""
    env = dict(os.environ)
    if env.get(CONF_ENV):
        return env
    has_runc = shutil.which("runc") is not None or Path("/usr/sbin/runc").exists()
    conf = work_dir / "containers.conf"
    text = containers_conf_text(has_runc)
    if not conf.exists() or conf.read_text() != text:
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(text)
    env[CONF_ENV] = str(conf)
    return env


def podman(
    args: Sequence[str], env: dict[str, str], capture: bool = False, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `podman ARGS`; a failure is one line naming the command (its output went before).

    Uncaptured output goes to stderr, so a verb's own stdout (e.g. JSON) stays parseable.
    """
    missing = podman_missing()
    if missing:
        raise ForkKitError(missing)
    result = subprocess.run(
        ["podman", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE if capture else sys.stderr,
        stderr=subprocess.PIPE if capture else None,
        stdin=subprocess.DEVNULL,
        timeout=PODMAN_TIMEOUT_S,
        check=False,
    )
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-1:] if capture else []
        raise ForkKitError(
            f"`podman {' '.join(args[:2])}` failed (exit {result.returncode})"
            + (f": {detail[0]}" if detail else "")
        )
    return result


def image_exists(ref: str, env: dict[str, str]) -> bool:
    return podman(["image", "exists", ref], env, capture=True, check=False).returncode == 0
