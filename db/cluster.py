"""The embedded PostgreSQL + PostGIS cluster.

A provincial GIS officer must be able to run cropmrv on a plain Debian/Ubuntu server without a
database administrator, so by default cropmrv runs a private cluster in ``$CROPMRV_HOME/pg``:
socket in that folder, TCP on a localhost port, trust authentication limited to loopback. The test
suite starts its clusters through this same module, so what the tests exercise is what users run.

initdb refuses to run as root; when cropmrv runs as root the cluster is owned and run by an
unprivileged system user (``postgres`` by default), and every folder on the way to the data must
be traversable by it — checked up front so the failure is one clear sentence.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PACKAGES = "postgresql-15 postgresql-15-postgis-3"


class ClusterError(RuntimeError):
    """A problem with the embedded cluster, stated in one sentence a user can act on."""


@dataclass(frozen=True)
class ClusterSpec:
    root: Path  # $CROPMRV_HOME/pg
    port: int
    superuser: str = "cropmrv"
    os_user: str = "postgres"
    bin_dir: Path | None = None
    fast: bool = False  # fsync off: for throwaway test clusters only

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    @property
    def log(self) -> Path:
        return self.root / "server.log"


def find_bin_dir(explicit: Path | None = None) -> Path:
    """Locate initdb/pg_ctl: the configured folder, Debian's newest, or pg_config's."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    candidates += sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    raise ClusterError(
        "PostgreSQL server programs (initdb, pg_ctl) were not found; install them with "
        f"`sudo apt-get install {DEBIAN_PACKAGES}` or set CROPMRV_DATABASE_URL to an existing server."
    )


def _postgis_available(bin_dir: Path) -> bool:
    share = subprocess.run([str(bin_dir / "pg_config"), "--sharedir"], capture_output=True, text=True)
    sharedir = Path(share.stdout.strip()) if share.returncode == 0 else bin_dir.parent.parent / "share"
    if not glob.glob(str(sharedir / "extension" / "postgis.control")):
        ver = bin_dir.parent.name
        alt = Path(f"/usr/share/postgresql/{ver}/extension/postgis.control")
        return alt.exists()
    return True


def _as_root() -> bool:
    return os.geteuid() == 0


def _run_kwargs(spec: ClusterSpec) -> dict:
    """Run server programs as the unprivileged user when we are root."""
    if not _as_root():
        return {}
    try:
        pw = pwd.getpwnam(spec.os_user)
    except KeyError as exc:
        raise ClusterError(
            f"cropmrv runs as root but the system user '{spec.os_user}' that should own the database "
            "does not exist; install postgresql (it creates it) or set CROPMRV_PG_OS_USER."
        ) from exc
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": pw.pw_dir, "LC_ALL": "C.UTF-8"}
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": [], "env": env, "cwd": "/"}


def _check_traversable(spec: ClusterSpec) -> None:
    """As root, every parent of the data folder must be searchable by the cluster's user."""
    if not _as_root():
        return
    pw = pwd.getpwnam(spec.os_user)
    p = spec.root.parent
    while True:
        st = p.stat()
        if st.st_uid != pw.pw_uid and not (st.st_mode & 0o001):
            raise ClusterError(
                f"The database folder {spec.root} is inside {p}, which the database user "
                f"'{spec.os_user}' cannot enter; choose another CROPMRV_HOME (for example under /srv "
                "or /var/lib) or make that folder world-searchable (chmod o+x)."
            )
        if p.parent == p:
            break
        p = p.parent


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def is_initialised(spec: ClusterSpec) -> bool:
    if spec.data.exists() and not os.access(spec.data.parent, os.R_OK | os.X_OK):
        raise ClusterError(f"The database folder {spec.root} cannot be read by this user.")
    return (spec.data / "PG_VERSION").exists()


def is_running(spec: ClusterSpec) -> bool:
    if not is_initialised(spec):
        return False
    bin_dir = find_bin_dir(spec.bin_dir)
    res = subprocess.run(
        [str(bin_dir / "pg_ctl"), "-D", str(spec.data), "status"],
        capture_output=True, text=True, **_run_kwargs(spec),
    )
    return res.returncode == 0


def init(spec: ClusterSpec) -> bool:
    """Create the cluster on first use. Returns True when it was created now."""
    if is_initialised(spec):
        return False
    bin_dir = find_bin_dir(spec.bin_dir)
    if not _postgis_available(bin_dir):
        raise ClusterError(
            f"PostGIS is not installed for the PostgreSQL in {bin_dir}; install it with "
            f"`sudo apt-get install {DEBIAN_PACKAGES}`."
        )
    if spec.data.exists() and any(spec.data.iterdir()):
        raise ClusterError(
            f"The folder {spec.data} exists and is not an empty PostgreSQL data folder; cropmrv will not "
            "touch it. Move it away or choose another CROPMRV_HOME."
        )
    spec.root.mkdir(parents=True, exist_ok=True)
    _check_traversable(spec)
    if _as_root():
        pw = pwd.getpwnam(spec.os_user)
        os.chown(spec.root, pw.pw_uid, pw.pw_gid)
    spec.root.chmod(0o700)
    res = subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(spec.data), "-U", spec.superuser, "--auth=trust",
         "-E", "UTF8", "--locale=C.UTF-8"],
        capture_output=True, text=True, **_run_kwargs(spec),
    )
    if res.returncode != 0:
        raise ClusterError(f"initdb failed in {spec.data}: {res.stderr.strip().splitlines()[-1:]}")
    conf = [
        "# written by cropmrv: a private cluster reachable only from this machine",
        "listen_addresses = '127.0.0.1'",
        f"port = {spec.port}",
        f"unix_socket_directories = '{spec.socket_dir}'",
        "max_connections = 100",
        "shared_buffers = '256MB'",
        "work_mem = '32MB'",
        "maintenance_work_mem = '256MB'",
        "max_wal_size = '2GB'",
    ]
    if spec.fast:
        conf += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
    with open(spec.data / "postgresql.conf", "a", encoding="utf-8") as fh:
        fh.write("\n" + "\n".join(conf) + "\n")
    return True


def start(spec: ClusterSpec, timeout: float = 30.0) -> bool:
    """Start the server if it is not running. Returns True when it was started now."""
    if is_running(spec):
        return False
    if port_in_use(spec.port):
        raise ClusterError(
            f"Port {spec.port} on 127.0.0.1 is already used by another program; set CROPMRV_PG_PORT "
            "to a free port."
        )
    bin_dir = find_bin_dir(spec.bin_dir)
    res = subprocess.run(
        [str(bin_dir / "pg_ctl"), "-D", str(spec.data), "-l", str(spec.log), "-w", "-t", str(int(timeout)),
         "start"],
        capture_output=True, text=True, **_run_kwargs(spec),
    )
    if res.returncode != 0:
        tail = ""
        with contextlib.suppress(OSError):
            tail = spec.log.read_text(errors="replace").strip().splitlines()[-1]
        raise ClusterError(f"The database server did not start: {tail or res.stderr.strip()}")
    return True


def stop(spec: ClusterSpec) -> bool:
    if not is_running(spec):
        return False
    bin_dir = find_bin_dir(spec.bin_dir)
    subprocess.run(
        [str(bin_dir / "pg_ctl"), "-D", str(spec.data), "-m", "fast", "-w", "stop"],
        capture_output=True, text=True, check=True, **_run_kwargs(spec),
    )
    return True


def destroy(spec: ClusterSpec, force: bool = False) -> None:
    """Delete the cluster's folder. Refuses without ``force``: data is never removed by accident."""
    if not force:
        raise ClusterError(f"Refusing to delete {spec.root} without --force.")
    if is_initialised(spec) and is_running(spec):
        stop(spec)
    shutil.rmtree(spec.root, ignore_errors=False)


def wait_ready(spec: ClusterSpec, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_in_use(spec.port):
            return
        time.sleep(0.05)
    raise ClusterError(f"The database server is not answering on port {spec.port}.")
