"""Files idpronote keeps or writes: owned by the user, private, never through a link.

The data directory holds journals, locks and remembered links (names and
identifiers of minors), and what is in it is trusted: a journal is undone, a
remembered link is written. So everything under it is a real directory or a
real file, created 0700 / 0600 by this user, and anything else found there
(a symbolic link, a file or directory of another user, a FIFO, a hard link
to some other file) is refused with its path and the fix, never followed,
never truncated. New files are created with `O_CREAT | O_EXCL | O_NOFOLLOW`;
existing ones are opened with `O_NOFOLLOW` and checked on the open
descriptor (`fstat`), so a check and a use cannot see two different files.

The data directory itself may be a symbolic link (an admin moving the data to
`/srv`): its target gets the same checks. Nothing below it may be one.

Reports (`--output`) and setup's writes go through `replace_file`: a
temporary file created `O_EXCL` with an unpredictable name in the target's
directory, then renamed over the target, which is refused first if it is a
link, not a regular file, or another user's.

Every path built from an establishment code goes through `uai_part`: the code
comes from an untrusted file header, an envelope, the command line or a
journal, and `../../x` must never become a directory name.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import os
import stat
import tempfile
from pathlib import Path

from core.errors import IdpronoteError
from core.i18n import register, t
from core.model import UAI_PATTERN

__all__ = [
    "UnsafePath",
    "check_private_dir",
    "create_private",
    "open_private",
    "private_dir",
    "read_own_file",
    "read_private",
    "replace_file",
    "uai_part",
    "usable_output",
]

register(
    {
        "private.bad_uai": (
            "code d'établissement {uai} invalide (7 chiffres et une lettre, par ex. 0441234A) ; "
            "aucun chemin n'est construit avec",
            "invalid establishment code {uai} (7 digits and a letter, e.g. 0441234A); no path "
            "is built from it",
        ),
        "private.symlink": (
            "{path} est un lien symbolique : idpronote n'en suit jamais dans son dossier de "
            "données ni pour ce qu'il écrit ; supprimez-le (rm {path}) ou donnez le vrai chemin",
            "{path} is a symbolic link: idpronote never follows one in its data directory or "
            "for what it writes; remove it (rm {path}) or give the real path",
        ),
        "private.not_ours": (
            "{path} appartient à l'utilisateur {owner}, pas à {user} : idpronote ne se fie "
            "qu'à ce qu'il a créé lui-même ; vérifiez son contenu puis « chown -R {user} "
            "{path} », ou supprimez-le, ou choisissez un autre data_dir",
            "{path} belongs to user {owner}, not to {user}: idpronote trusts only what it "
            "created itself; check its content then 'chown -R {user} {path}', or remove it, "
            "or choose another data_dir",
        ),
        "private.not_a_directory": (
            "{path} n'est pas un dossier ; déplacez-le ou choisissez un autre data_dir",
            "{path} is not a directory; move it away or choose another data_dir",
        ),
        "private.not_a_file": (
            "{path} n'est pas un fichier ordinaire (dossier, FIFO, périphérique…) ; "
            "supprimez-le ou déplacez-le",
            "{path} is not a regular file (a directory, a FIFO, a device…); remove it or "
            "move it away",
        ),
        "private.hard_link": (
            "{path} a d'autres liens physiques ({links}) : c'est peut-être un autre fichier ; "
            "supprimez-le (rm {path}), idpronote le recréera",
            "{path} has other hard links ({links}): it may be another file; remove it "
            "(rm {path}) and idpronote will create it again",
        ),
        "private.exists": (
            "{path} existe déjà : idpronote ne crée ce fichier que s'il est nouveau ; "
            "déplacez ce qui s'y trouve",
            "{path} already exists: idpronote creates this file only when it is new; move "
            "what is there away",
        ),
        "private.cannot": (
            "{path} : {error}",
            "{path}: {error}",
        ),
        "output.is_directory": (
            "--output {path} est un dossier ; donnez un nom de fichier",
            "--output {path} is a directory; give a file name",
        ),
        "output.no_directory": (
            "--output {path} : le dossier {directory} n'existe pas",
            "--output {path}: the directory {directory} does not exist",
        ),
        "output.not_writable": (
            "--output {path} : impossible d'écrire dans {directory} ({error})",
            "--output {path}: cannot write in {directory} ({error})",
        ),
    }
)


class UnsafePath(IdpronoteError):
    """A path idpronote refuses to use: a link, another user's, not what it should be."""


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)


def _me() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.geteuid())


def uai_part(uai: object) -> str:
    """An establishment code fit for a file name: the UAI pattern, or UnsafePath."""
    text = uai if isinstance(uai, str) else ""
    if not UAI_PATTERN.fullmatch(text):
        from core.text import printable

        raise UnsafePath(t("private.bad_uai", uai=printable(repr(uai))))
    return text


def _refuse_link(path: Path, error: OSError) -> UnsafePath:
    if error.errno in (errno.ELOOP, errno.EMLINK):
        return UnsafePath(t("private.symlink", path=path))
    if error.errno == errno.ENOTDIR:
        return UnsafePath(t("private.not_a_directory", path=path))
    return UnsafePath(t("private.cannot", path=path, error=error.strerror or error))


def _check_owner(path: Path, info: os.stat_result) -> None:
    if info.st_uid != os.geteuid():
        raise UnsafePath(
            t("private.not_ours", path=path, owner=_user_name(info.st_uid), user=_me())
        )


def private_dir(path: Path, *, link_ok: bool = False) -> Path:
    """A directory only its owner can enter: created 0700, or checked and tightened.

    Refused when it is another user's, or (unless `link_ok`, for the data
    directory itself) a symbolic link.
    """
    path = Path(path)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except FileNotFoundError:
        # Ancestors above the data directory are not ours to make private.
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
    except OSError as error:
        raise _refuse_link(path, error) from None
    _check_dir(path, link_ok=link_ok)
    return path


def check_private_dir(path: Path, *, link_ok: bool = False) -> bool:
    """For readers: False if `path` does not exist, True if it is ours; refused otherwise."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as error:
        raise _refuse_link(Path(path), error) from None
    _check_dir(Path(path), link_ok=link_ok)
    return True


def _check_dir(path: Path, *, link_ok: bool) -> None:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    if not link_ok:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as error:
        if error.errno == errno.ENOTDIR and not link_ok and os.path.islink(path):
            raise UnsafePath(t("private.symlink", path=path)) from None
        raise _refuse_link(path, error) from None
    try:
        info = os.fstat(fd)
        _check_owner(path, info)
        if info.st_mode & 0o077:
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)


def _checked_fd(path: Path, fd: int, *, tighten: bool = True) -> int:
    """The descriptor, if it is a regular file of ours with one link; else closed and refused."""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(t("private.not_a_file", path=path))
        _check_owner(path, info)
        if info.st_nlink > 1:
            raise UnsafePath(t("private.hard_link", path=path, links=info.st_nlink))
        if tighten and info.st_mode & 0o077:
            os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_private(path: Path, flags: int = os.O_WRONLY) -> int:
    """A new file, 0600: fails if anything (a file, a link) is already there."""
    try:
        return os.open(path, flags | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise
    except OSError as error:
        raise _refuse_link(Path(path), error) from None


def open_private(path: Path, flags: int, *, create: bool = False) -> int:
    """An existing file of ours (or, with `create`, a new one): never through a link.

    O_NONBLOCK keeps a FIFO planted in the file's place from blocking the
    open; it is refused right after, on the descriptor.
    """
    path = Path(path)
    if create:
        try:
            return create_private(path, flags)
        except FileExistsError:
            pass
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise _refuse_link(path, error) from None
    fd = _checked_fd(path, fd)
    os.set_blocking(fd, True)
    return fd


def read_private(path: Path) -> bytes:
    """The bytes of a file of ours (FileNotFoundError when there is none)."""
    fd = open_private(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


# -- writing where the admin says: reports, setup ---------------------------------------------


def _existing_target(path: Path) -> os.stat_result | None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _refuse_link(path, error) from None
    if stat.S_ISLNK(info.st_mode):
        raise UnsafePath(t("private.symlink", path=path))
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePath(t("private.not_a_file", path=path))
    _check_owner(path, info)
    return info


def read_own_file(path: Path) -> bytes | None:
    """A file about to be replaced (setup's config.toml), read without following a link.

    None when there is none; refused when it is a link, not a regular file,
    or another user's.
    """
    path = Path(path)
    if _existing_target(path) is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as error:
        raise _refuse_link(path, error) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(t("private.not_a_file", path=path))
        _check_owner(path, info)
        os.set_blocking(handle.fileno(), True)
        return handle.read()


def usable_output(path: Path) -> None:
    """Before any work: `--output PATH` can be written (one line saying why not)."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        raise UnsafePath(t("output.is_directory", path=path))
    _existing_target(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UnsafePath(t("output.no_directory", path=path, directory=directory))
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UnsafePath(
            t("output.not_writable", path=path, directory=directory, error="permission denied")
        )


def replace_file(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write `data` at `path`: a temporary file `O_EXCL` beside it, fsync, rename.

    A link at `path` is refused, never followed or replaced; so is a file of
    another user (it would otherwise stay theirs, or be silently taken).
    """
    path = Path(path)
    _existing_target(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        # mkstemp: O_CREAT | O_EXCL, 0600, a random name nobody can guess or plant.
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise UnsafePath(
            t("output.not_writable", path=path, directory=directory, error=error.strerror)
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if mode != 0o600:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        _existing_target(path)  # planted while we wrote: still refused
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise UnsafePath(
                t("private.cannot", path=path, error=error.strerror or error)
            ) from None
        raise
