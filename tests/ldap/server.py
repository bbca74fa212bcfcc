"""A private OpenLDAP `slapd` for the tests and the benchmarks.

It runs as a plain child process of the test (no root, no system service),
on free loopback ports, from a `slapd.conf` written into its own directory:
the standard schemas, the project's schema, the test-only ENT schema, an
`mdb` database with an explicit `maxsize`, the indexes the presets
recommend, and two service accounts:

- `cn=idpronote,ou=services,...` may write the identifier attributes and
  `objectClass`, and read the rest (the account a site gives idpronote);
- `cn=reader,ou=services,...` may only read.

Fixture data is loaded with `slapadd -q` before the server starts, after a
skeleton (the suffix, `ou=people`, `ou=structures`, `ou=services` and the two
accounts; any of these the fixture provides itself is left to the fixture).
TLS (StartTLS on `url`, and `ldaps_url`) uses a CA and a server certificate
generated once per process with the openssl command line.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from directory_adapters.mapping import PRESETS

ROOT = Path(__file__).resolve().parents[2]
PROJECT_SCHEMA = ROOT / "directory_adapters" / "schema" / "idpronote.schema"
TEST_SCHEMA = Path(__file__).resolve().parent / "schema" / "ent-test.schema"

SCHEMA_DIRS = (Path("/etc/ldap/schema"), Path("/etc/openldap/schema"))
MODULE_DIRS = (
    Path("/usr/lib/ldap"),
    Path("/usr/lib64/openldap"),
    Path("/usr/lib/openldap"),
    Path("/usr/libexec/openldap"),
)
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/libexec/openldap")
STANDARD_SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

# Indexes: every preset's recommendation, plus the structure entries' UAI
# (read when an account names its establishments by DN).
INDEXES = tuple(
    dict.fromkeys(
        [index for preset in PRESETS.values() for index in preset.indexes]
        + ["ENTStructureUAI eq", "ESCOUAI eq", "entryUUID eq"]
    )
)
START_TIMEOUT = 10.0


def find_program(name: str) -> str | None:
    """A program of OpenLDAP, looked for on PATH and in the sbin directories."""
    found = shutil.which(name)
    if found:
        return found
    for directory in SBIN_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_programs() -> list[str]:
    """What the fixture needs and this machine lacks (empty when all is there)."""
    wanted = ("slapd", "slapadd", "ldapmodify", "openssl")
    return [name for name in wanted if find_program(name) is None]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- TLS material ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    ca_key: Path
    cert_file: Path
    key_file: Path


_tls: TlsFiles | None = None


def _openssl(*args: str, cwd: Path) -> None:
    openssl = find_program("openssl") or "openssl"
    done = subprocess.run([openssl, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {done.stderr.strip()}")


def generate_ca(directory: Path, name: str = "idpronote test CA") -> tuple[Path, Path]:
    """A fresh self-signed CA in `directory`: (certificate, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "ca.crt", directory / "ca.key"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key.name, "-out", cert.name, "-days", "3",
        "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    return cert, key


def tls_files() -> TlsFiles:
    """The CA and the server certificate, generated once per process."""
    global _tls
    if _tls is not None and _tls.key_file.exists():
        return _tls
    directory = Path(tempfile.mkdtemp(prefix="idpronote-tls-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    ca_file, ca_key = generate_ca(directory)
    (directory / "server.ext").write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        # The DNS spelling of the address too: some TLS libraries match IP
        # hosts against DNS names only.
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:127.0.0.1\n",
        encoding="ascii",
    )
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", ca_file.name, "-CAkey", ca_key.name,
        "-CAcreateserial", "-out", "server.crt", "-days", "3", "-extfile", "server.ext",
        cwd=directory,
    )  # fmt: skip
    _tls = TlsFiles(ca_file, ca_key, directory / "server.crt", directory / "server.key")
    return _tls


# -- the server -----------------------------------------------------------------------------


class PortTaken(RuntimeError):
    """slapd exited while starting: usually a port taken since it was chosen."""


class Slapd:
    """One private slapd: configure and load it, start, stop, break it on purpose."""

    base_dn = "dc=example,dc=org"
    admin_dn = "cn=admin,dc=example,dc=org"
    admin_password = "admin-secret"  # noqa: S105 - a throwaway test server
    people_dn = "ou=people,dc=example,dc=org"
    structures_dn = "ou=structures,dc=example,dc=org"
    service_dn = "cn=idpronote,ou=services,dc=example,dc=org"
    service_password = "service-secret"  # noqa: S105
    reader_dn = "cn=reader,ou=services,dc=example,dc=org"
    reader_password = "reader-secret"  # noqa: S105
    # The directory's lock entries (issue 18): the container and the access rule
    # directory_adapters/schema/README.md asks a site for.
    locks_dn = "ou=locks,dc=example,dc=org"

    def __init__(
        self,
        workdir: Path,
        ldif: str | Path = "",
        *,
        tls: bool = True,
        durable: bool = False,
        maxsize: int = 1 << 30,
        indexes: Sequence[str] = INDEXES,
        size_limit: int = 500,
        provider: Slapd | None = None,
        syncprov: bool = False,
        log_level: str = "0",
    ) -> None:
        """`durable=False` skips the fsync of every write (tests); the benchmark sets it.
        `size_limit`: the entries a search gets when it asks for no limit and is not
        paged (OpenLDAP's default soft limit). `syncprov`: a provider of replication
        (the syncprov overlay); `provider`: a consumer of that provider's content
        (syncrepl, refreshAndPersist), which loads nothing itself and refuses writes.
        `log_level`: slapd's -d, into `log` ("stats": a line per operation)."""
        self.workdir = Path(workdir)
        self.ldif = ldif
        self.tls = tls
        self.durable = durable
        self.maxsize = maxsize
        self.indexes = tuple(indexes)
        self.size_limit = size_limit
        self.provider = provider
        self.syncprov = syncprov
        self.log_level = log_level
        self.port = free_port()
        self.tls_port = free_port()
        self.ca_file = tls_files().ca_file if tls else self.workdir / "no-tls"
        self.process: subprocess.Popen[bytes] | None = None
        self._loaded = False
        self._started_once = False

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def conf(self) -> Path:
        return self.workdir / "slapd.conf"

    @property
    def log(self) -> Path:
        return self.workdir / "slapd.log"

    # -- set-up ---------------------------------------------------------------------------

    def _write_conf(self) -> None:
        schema_dir = next((d for d in SCHEMA_DIRS if (d / "core.schema").exists()), SCHEMA_DIRS[0])
        lines = [f"include {schema_dir / name}.schema" for name in STANDARD_SCHEMAS]
        lines += [f"include {PROJECT_SCHEMA}", f"include {TEST_SCHEMA}"]
        module_dir = next((d for d in MODULE_DIRS if list(d.glob("back_mdb*"))), None)
        if module_dir is not None:
            lines += [f"modulepath {module_dir}", "moduleload back_mdb"]
            if self.syncprov and list(module_dir.glob("syncprov*")):
                lines += ["moduleload syncprov"]
        lines += [
            f"pidfile {self.workdir / 'slapd.pid'}",
            f"argsfile {self.workdir / 'slapd.args'}",
            # Search-as-you-type from the first letter: index 1-letter prefixes.
            "index_substr_if_minlen 1",
            f"sizelimit size.soft={self.size_limit} size.hard=unlimited size.prtotal=unlimited",
        ]
        if self.tls:
            files = tls_files()
            lines += [
                f"TLSCACertificateFile {files.ca_file}",
                f"TLSCertificateFile {files.cert_file}",
                f"TLSCertificateKeyFile {files.key_file}",
            ]
        lines += [
            "database mdb",
            f"maxsize {self.maxsize}",
            f'suffix "{self.base_dn}"',
            f'rootdn "{self.admin_dn}"',
            f"rootpw {self.admin_password}",
            f"directory {self.workdir / 'db'}",
            *([] if self.durable else ["dbnosync"]),
            *(f"index {index}" for index in self.indexes),
            "index entryCSN eq",
            *self._replication(),
            "access to attrs=userPassword",
            "    by anonymous auth",
            "    by * none",
            f'access to dn.subtree="{self.locks_dn}"',
            f'    by dn.exact="{self.service_dn}" write',
            "    by * read",
            "access to attrs=idPronote,ESCOPersonExternalIds,objectClass",
            f'    by dn.exact="{self.service_dn}" write',
            "    by * read",
            "access to *",
            "    by * read",
        ]
        self.conf.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _replication(self) -> list[str]:
        if self.syncprov:
            return ["overlay syncprov", "syncprov-checkpoint 100 1"]
        if self.provider is None:
            return []
        source = self.provider
        return [
            f"syncrepl rid=001 provider={source.url} type=refreshAndPersist "
            f'retry="1 +" searchbase="{source.base_dn}" bindmethod=simple '
            f'binddn="{source.admin_dn}" credentials={source.admin_password} '
            "timeout=2 network-timeout=2"
        ]

    def _skeleton(self, fixture: str) -> str:
        provided = {
            m.group(1).replace(" ", "").lower()
            for m in re.finditer(r"^dn:\s*(.+?)\s*$", fixture, flags=re.MULTILINE | re.IGNORECASE)
        }
        entries = [
            (self.base_dn, "objectClass: dcObject\nobjectClass: organization\ndc: example\no: Ex"),
            ("ou=services," + self.base_dn, "objectClass: organizationalUnit\nou: services"),
            (
                self.service_dn,
                "objectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
                f"cn: idpronote\nuserPassword: {self.service_password}",
            ),
            (
                self.reader_dn,
                "objectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
                f"cn: reader\nuserPassword: {self.reader_password}",
            ),
            (self.people_dn, "objectClass: organizationalUnit\nou: people"),
            (self.structures_dn, "objectClass: organizationalUnit\nou: structures"),
            (self.locks_dn, "objectClass: organizationalUnit\nou: locks"),
        ]
        return "".join(
            f"dn: {dn}\n{body}\n\n"
            for dn, body in entries
            if dn.replace(" ", "").lower() not in provided
        )

    def _load(self) -> None:
        """Write the configuration and load the data with slapadd, once."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "db").mkdir(exist_ok=True)
        self._write_conf()
        if self.provider is not None:
            self._loaded = True  # a consumer's content comes from its provider
            return
        fixture = self.ldif
        if isinstance(fixture, Path):
            data = self.workdir / "data.ldif"
            skeleton = self._skeleton(fixture.read_text(encoding="utf-8", errors="replace"))
            with data.open("w", encoding="utf-8") as out:
                out.write(skeleton)
                with fixture.open(encoding="utf-8") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
        else:
            data = self.workdir / "data.ldif"
            data.write_text(self._skeleton(fixture) + fixture, encoding="utf-8")
        slapadd = find_program("slapadd") or "slapadd"
        done = subprocess.run(
            [slapadd, "-q", "-f", str(self.conf), "-l", str(data)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"slapadd failed ({done.returncode}):\n{done.stderr[-4000:]}")
        self._loaded = True

    def load(self) -> None:
        """Configure and load the data now (`start` does it when needed)."""
        if not self._loaded:
            self._load()

    def copy(self, workdir: Path, *, durable: bool | None = None) -> Slapd:
        """A new server on a copy of this one's loaded database (never started, or
        stopped), as if loaded from the same data; `durable` may differ. Much faster
        than slapadd for a big directory: the benchmark's fresh servers."""
        if self.process is not None:
            raise RuntimeError("copy a stopped server: mdb is copied as a file")
        self.load()
        twin = Slapd(
            workdir,
            self.ldif,
            tls=self.tls,
            durable=self.durable if durable is None else durable,
            maxsize=self.maxsize,
            indexes=self.indexes,
            size_limit=self.size_limit,
        )
        twin.workdir.mkdir(parents=True, exist_ok=True)
        (twin.workdir / "db").mkdir(exist_ok=True)
        twin._write_conf()
        copied = twin.workdir / "db" / "data.mdb"
        shutil.copyfile(self.workdir / "db" / "data.mdb", copied)
        # On disk before the server starts: else its first synced commit (or the
        # kernel's writeback, in the middle of a run) pays for the whole copy.
        with copied.open("rb+") as stream:
            os.fsync(stream.fileno())
        twin._loaded = True
        return twin

    # -- running --------------------------------------------------------------------------

    def start(self) -> None:
        """Start slapd on its ports (loading the data first, once); return once it listens."""
        if self.process is not None and self.process.poll() is None:
            return
        if not self._loaded:
            self._load()
        for attempt in range(3):
            try:
                self._spawn()
                return
            except PortTaken:
                if attempt == 2 or self._started_once:
                    raise  # a restart must keep its ports: clients know them
                self.port, self.tls_port = free_port(), free_port()

    def _spawn(self) -> None:
        listeners = f"ldap://127.0.0.1:{self.port}/"
        if self.tls:
            listeners += f" ldaps://127.0.0.1:{self.tls_port}/"
        slapd = find_program("slapd") or "slapd"
        (self.workdir / "slapd.pid").unlink(missing_ok=True)  # left by a kill()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [slapd, "-h", listeners, "-f", str(self.conf), "-d", self.log_level],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self._wait_until_listening()
        self._started_once = True

    def _wait_until_listening(self) -> None:
        """Bounded wait for slapd's own pid file (written once its ports are bound), then
        the port; a slapd that exits first most likely lost a port to someone else."""
        pidfile = self.workdir / "slapd.pid"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise PortTaken(
                    f"slapd exited with status {self.process.returncode} "
                    f"(ports {self.port}, {self.tls_port}):\n"
                    + self.log.read_text(errors="replace")[-4000:]
                )
            if pidfile.exists():
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        return
                except OSError:
                    pass
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"slapd did not listen on port {self.port} within {START_TIMEOUT} s")

    def stop(self) -> None:
        """SIGTERM by PID, then wait (SIGKILL if it does not exit in time)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGCONT)  # a paused server cannot exit
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL: the server dies at once, as in a crash."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait()

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing answers.

        Returns once every thread of slapd is stopped: the signal is only queued
        by kill(), and a thread already running could still answer a request
        sent right after (seen on a loaded machine: a search answered).
        """
        if self.process is None:
            return
        os.kill(self.process.pid, signal.SIGSTOP)
        tasks = Path(f"/proc/{self.process.pid}/task")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            states = []
            for task in tasks.iterdir():
                with contextlib.suppress(OSError):
                    # "pid (comm) S ...": the state follows the last ")".
                    states.append((task / "stat").read_text().rpartition(")")[2].split()[0])
            if states and all(state in ("T", "t") for state in states):
                return
            time.sleep(0.005)

    def resume(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGCONT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Slapd:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- looking inside, as the admin ------------------------------------------------------

    def ldapmodify(self, ldif_path: Path) -> subprocess.CompletedProcess[str]:
        """`ldapmodify -x` as the admin on `url` (no TLS); the result is not checked."""
        ldapmodify = find_program("ldapmodify") or "ldapmodify"
        return subprocess.run(
            [
                ldapmodify,
                "-x",
                "-H",
                self.url,
                "-D",
                self.admin_dn,
                "-w",
                self.admin_password,
                "-f",
                str(ldif_path),
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "LDAPNOINIT": "1"},
        )

    def search(
        self, filter: str, attrs: Sequence[str] = ()
    ) -> list[tuple[str, dict[str, list[str]]]]:
        """Entries under the suffix matching `filter`, read as the admin.

        Attribute names come back spelt as in `attrs` (LDAP ignores their
        case), values as text; `attrs` empty reads every user attribute.
        """
        import ldap3

        server = ldap3.Server("127.0.0.1", port=self.port, get_info=ldap3.NONE, connect_timeout=5)
        connection = ldap3.Connection(
            server,
            self.admin_dn,
            self.admin_password,
            auto_bind=ldap3.AUTO_BIND_NO_TLS,
            receive_timeout=10,
            check_names=False,
        )
        try:
            connection.search(
                self.base_dn, filter, attributes=list(attrs) or [ldap3.ALL_ATTRIBUTES]
            )
            spelling = {name.lower(): name for name in attrs}
            found = []
            for entry in connection.response or []:
                if entry.get("type") != "searchResEntry":
                    continue
                values = {
                    spelling.get(name.lower(), name): [
                        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                        for v in raw
                    ]
                    for name, raw in entry["raw_attributes"].items()
                }
                found.append((entry["dn"], values))
            return found
        finally:
            connection.unbind()
