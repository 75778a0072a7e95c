# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The 3PL's SFTP drop: list, read, upload atomically, archive and quarantine EDI files.

Folders are named from the warehouse's side, as 3PLs do: the warehouse writes into ``/out``
(945, 944, 846, 997 for us) and picks up from ``/in`` (our 940, 943, 997). Both are
configurable, as are ``/archive`` and ``/quarantine`` where processed and refused files go.

An upload is atomic: the data goes to a hidden temporary name (``.<name>.part``) in the
same folder and is renamed to its final name once complete, so the warehouse never picks up
half a file. SFTP's rename refuses to replace an existing file: an upload whose name is
already taken fails instead of overwriting a file the warehouse has not collected. When
listing, hidden names and ``.part``/``.tmp``/``.filepart`` names (uploads in progress) are
skipped.

Authentication by password or private key (OpenSSH or PEM text, or a paramiko key). The
server's host key must be known: ``host_key_fingerprint`` (``SHA256:<base64>`` as
``ssh-keygen -lf`` prints it, or the legacy MD5 ``aa:bb:...`` form) is required, and it is
checked before any credential is sent, so a password never reaches a server that is not the
warehouse's. ``fetch_host_key()`` reads a server's host key without authenticating, for a
person to compare with the fingerprint the warehouse gives and to trust it. Failures become
the connector's channel errors: ChannelAuthError for refused credentials, an unknown or
mismatching host key or a permission denied (not retryable), ChannelNotFound for a missing
file, and ChannelTransportError for network trouble and timeouts (retryable).
"""

import base64
import errno
import hashlib
import io
import posixpath
import socket
import stat
import time
from dataclasses import dataclass

import paramiko

from retail_connector_base_lib.http import (
    ChannelAuthError,
    ChannelError,
    ChannelNotFound,
    ChannelTransportError,
    ChannelValidationError,
)

IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".filepart")
REASON_SUFFIX = ".reason.txt"


@dataclass(frozen=True)
class RemoteFile:
    """A file in a drop folder: name, size in bytes and modification time (epoch seconds)."""

    name: str
    size: int
    mtime: float


def fingerprint_sha256(key: paramiko.PKey) -> str:
    """Return the OpenSSH SHA256 fingerprint of ``key`` (``SHA256:`` + unpadded base64)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def fingerprint_md5(key: paramiko.PKey) -> str:
    """Return the legacy MD5 fingerprint of ``key`` (``aa:bb:...``)."""
    digest = hashlib.md5(key.asbytes()).hexdigest()  # noqa: S324 - the OpenSSH legacy format, not security
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


@dataclass(frozen=True)
class HostKey:
    """A server's host key as offered: its type (``ssh-ed25519``...) and SHA256 fingerprint."""

    key_type: str
    fingerprint: str


def _open_transport(host: str, port: int, timeout: float, where: str) -> paramiko.Transport:
    """Return an SSH transport whose key exchange is done, not authenticated; raise a ChannelError."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise ChannelTransportError(f"{where}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise ChannelTransportError(f"{where}: cannot connect ({exc.strerror or exc})") from None
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.auth_timeout = timeout
    try:
        transport.start_client(timeout=timeout)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        transport.close()
        raise ChannelTransportError(f"{where}: SSH session failed ({_describe(exc)})") from None
    return transport


def fetch_host_key(host: str, port: int = 22, timeout: float = 30.0) -> HostKey:
    """Return the host key ``host`` offers, read during the key exchange; nothing is authenticated.

    No user name, password or key is sent: this is what a person checks against the
    fingerprint the warehouse gives before trusting the server.
    """
    if not host:
        raise ChannelValidationError("the SFTP drop needs a host")
    transport = _open_transport(host, int(port), timeout, f"sftp://{host}:{port}")
    try:
        key = transport.get_remote_server_key()
        return HostKey(key.get_name(), fingerprint_sha256(key))
    finally:
        transport.close()


def load_private_key(key, passphrase: str | None = None) -> paramiko.PKey:
    """Return a paramiko key from a PKey or a PEM/OpenSSH private key text."""
    if isinstance(key, paramiko.PKey):
        return key
    text = key.decode("utf-8") if isinstance(key, bytes) else str(key)
    errors = []
    for klass in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return klass.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.PasswordRequiredException:
            raise ChannelAuthError("the SFTP private key is encrypted: a passphrase is needed") from None
        except (paramiko.SSHException, ValueError) as exc:
            errors.append(f"{klass.__name__}: {exc}")
    raise ChannelAuthError("the SFTP private key cannot be read (" + "; ".join(errors) + ")")


class SftpDrop:
    """A connection to a warehouse's SFTP drop; use as a context manager or call connect()/close()."""

    def __init__(self, host: str, username: str, *, port: int = 22, password: str | None = None,
                 private_key=None, private_key_passphrase: str | None = None,
                 host_key_fingerprint: str | None = None, timeout: float = 30.0,
                 incoming_dir: str = "/out", outgoing_dir: str = "/in", archive_dir: str = "/archive",
                 quarantine_dir: str = "/quarantine"):
        """Describe the drop; nothing is connected until ``connect()`` (or ``with``).

        ``incoming_dir`` is where the warehouse leaves files for us (its ``/out``),
        ``outgoing_dir`` where we leave files for it (its ``/in``). ``timeout`` bounds the TCP
        connection, the SSH handshake, authentication and each SFTP request, in seconds.
        """
        if not host or not username:
            raise ChannelValidationError("the SFTP drop needs a host and a user name")
        if password is None and private_key is None:
            raise ChannelAuthError("the SFTP drop needs a password or a private key")
        self.host = host
        self.port = int(port)
        self.username = username
        self.timeout = timeout
        self.host_key_fingerprint = (host_key_fingerprint or "").strip() or None
        self.incoming_dir = incoming_dir
        self.outgoing_dir = outgoing_dir
        self.archive_dir = archive_dir
        self.quarantine_dir = quarantine_dir
        self._password = password
        self._key = load_private_key(private_key, private_key_passphrase) if private_key is not None else None
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None

    def __repr__(self) -> str:
        return f"SftpDrop({self.username}@{self.host}:{self.port})"

    # ----------------------------------------------------------------- connection

    @property
    def where(self) -> str:
        """Return ``sftp://user@host:port`` (no secret), for messages."""
        return f"sftp://{self.username}@{self.host}:{self.port}"

    def connect(self) -> "SftpDrop":
        """Return self once connected and authenticated; raise a ChannelError otherwise.

        Without a known host key fingerprint nothing is connected: credentials are only sent
        to a server whose host key matches it.
        """
        if self._sftp is not None:
            return self
        if not self.host_key_fingerprint:
            raise ChannelAuthError(f"{self.where}: the server's host key is not known: refusing to connect and to "
                                   "send credentials. Fetch its host key, compare the fingerprint with the one the "
                                   "warehouse gives you, and trust it (or enter that fingerprint).")
        transport = _open_transport(self.host, self.port, self.timeout, self.where)
        try:
            self._check_host_key(transport.get_remote_server_key())
            if self._key is not None:
                transport.auth_publickey(self.username, self._key)
            else:
                transport.auth_password(self.username, self._password)
            sftp = paramiko.SFTPClient.from_transport(transport)
            sftp.get_channel().settimeout(self.timeout)
        except ChannelError:
            transport.close()
            raise
        except paramiko.AuthenticationException:
            transport.close()
            raise ChannelAuthError(f"{self.where}: the server refused the credentials of {self.username!r}") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            transport.close()
            raise ChannelTransportError(f"{self.where}: SSH session failed ({_describe(exc)})") from None
        self._transport, self._sftp = transport, sftp
        return self

    def _check_host_key(self, key: paramiko.PKey) -> None:
        expected = self.host_key_fingerprint
        if expected.upper().startswith("SHA256:"):
            actual = fingerprint_sha256(key)
            matches = actual.split(":", 1)[1] == expected.split(":", 1)[1].rstrip("=")
        else:
            actual = fingerprint_md5(key)
            matches = actual == expected.lower().removeprefix("md5:")
        if not matches:
            raise ChannelAuthError(f"{self.where}: the server's host key {key.get_name()} {actual} does not match "
                                   f"the configured fingerprint {expected}: refusing to connect (possible "
                                   "man-in-the-middle, or the warehouse changed its key)")

    def close(self) -> None:
        """Close the SFTP session and the SSH connection."""
        sftp, transport = self._sftp, self._transport
        self._sftp = self._transport = None
        if sftp is not None:
            sftp.close()
        if transport is not None:
            transport.close()

    def __enter__(self) -> "SftpDrop":
        return self.connect()

    def __exit__(self, *exc_info):
        self.close()

    @property
    def sftp(self) -> paramiko.SFTPClient:
        """Return the SFTP client, connecting first when needed."""
        return self.connect()._sftp

    # ----------------------------------------------------------------- operations

    def list_incoming(self) -> list[str]:
        """Return the names of the complete files waiting in the incoming folder, oldest first."""
        return [f.name for f in self.list_files(self.incoming_dir)]

    def list_files(self, folder: str) -> list[RemoteFile]:
        """Return the complete regular files of ``folder``, oldest first (then by name)."""
        entries = self._call(f"list {folder}", self.sftp.listdir_attr, folder)
        files = []
        for entry in entries:
            name = entry.filename
            if name.startswith(".") or name.endswith(IN_PROGRESS_SUFFIXES) or name.endswith(REASON_SUFFIX):
                continue
            if entry.st_mode is not None and not stat.S_ISREG(entry.st_mode):
                continue
            files.append(RemoteFile(name, entry.st_size or 0, float(entry.st_mtime or 0)))
        files.sort(key=lambda f: (f.mtime, f.name))
        return files

    def read(self, name: str, quarantined: bool = False) -> bytes:
        """Return the content of incoming file ``name`` (of the quarantine folder's, with ``quarantined``)."""
        path = self._path(self.quarantine_dir if quarantined else self.incoming_dir, name)

        def fetch():
            with self.sftp.open(path, "rb") as handle:
                return handle.read()

        return self._call(f"read {path}", fetch)

    def put_outgoing(self, name: str, data: bytes | str) -> str:
        """Upload ``data`` as ``name`` into the outgoing folder, atomically; return its path."""
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        return self._put(self.outgoing_dir, name, payload)

    def archive(self, name: str) -> str:
        """Move incoming file ``name`` to the archive folder; return its new path.

        A file of that name already archived is kept: the new one gets a UTC time suffix.
        """
        return self._move(self._path(self.incoming_dir, name), self.archive_dir, name)

    def quarantine(self, name: str, reason: str) -> str:
        """Move incoming file ``name`` to the quarantine folder with ``<name>.reason.txt`` beside it.

        Return the quarantined file's path. The reason file is written first, so a file is
        never in quarantine without its reason.
        """
        source = self._path(self.incoming_dir, name)
        target_name = self._free_name(self.quarantine_dir, name)
        text = str(reason).rstrip() + "\n"
        self._put(self.quarantine_dir, target_name + REASON_SUFFIX, text.encode("utf-8"), replace=True)
        return self._move(source, self.quarantine_dir, target_name, exact=True)

    def archive_quarantined(self, name: str) -> str:
        """Move quarantined file ``name`` to the archive folder and remove its reason; return its new path.

        For a file applied after all (a person accepted its problems): it no longer waits in
        quarantine with a reason that is not true any more.
        """
        path = self._move(self._path(self.quarantine_dir, name), self.archive_dir, name)
        self._discard(self._path(self.quarantine_dir, name + REASON_SUFFIX))
        return path

    def exists(self, path: str) -> bool:
        """Return whether ``path`` exists on the server."""
        try:
            self.sftp.stat(path)
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._error(f"stat {path}", exc) from None

    # ----------------------------------------------------------------- internals

    def _path(self, folder: str, name: str) -> str:
        if not name or "/" in name or name in (".", ".."):
            raise ChannelValidationError(f"{name!r} is not a plain file name")
        return posixpath.join(folder, name)

    def _put(self, folder: str, name: str, payload: bytes, replace: bool = False) -> str:
        final = self._path(folder, name)
        temp = self._path(folder, f".{name}.part")

        def upload():
            with self.sftp.open(temp, "wb") as handle:
                handle.set_pipelined(True)
                handle.write(payload)

        self._call(f"upload {temp}", upload)
        if replace and self.exists(final):
            self._call(f"remove {final}", self.sftp.remove, final)
        try:
            self._rename(temp, final)
        except ChannelError:
            self._discard(temp)
            raise
        return final

    def _rename(self, source: str, target: str) -> None:
        try:
            self.sftp.rename(source, target)
        except OSError as exc:
            if not isinstance(exc, FileNotFoundError) and self.exists(target):
                raise ChannelValidationError(f"{self.where}: {target} already exists; it is not replaced") from None
            raise self._error(f"rename {source} to {target}", exc) from None

    def _move(self, source: str, folder: str, name: str, exact: bool = False) -> str:
        target_name = name if exact else self._free_name(folder, name)
        target = self._path(folder, target_name)
        self._rename(source, target)
        return target

    def _free_name(self, folder: str, name: str) -> str:
        if not self.exists(self._path(folder, name)):
            return name
        stem, dot, suffix = name.rpartition(".")
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        for attempt in range(100):
            extra = f"-{stamp}" + (f"-{attempt}" if attempt else "")
            candidate = f"{stem}{extra}.{suffix}" if dot and stem else f"{name}{extra}"
            if not self.exists(self._path(folder, candidate)):
                return candidate
        raise ChannelValidationError(f"{self.where}: no free name for {name} in {folder}")

    def _discard(self, path: str) -> None:
        try:
            self.sftp.remove(path)
        except OSError:
            pass

    def _call(self, what: str, func, *args):
        try:
            return func(*args)
        except ChannelError:
            raise
        except (OSError, paramiko.SSHException, EOFError) as exc:
            error = self._error(what, exc)
            if isinstance(error, ChannelTransportError) and not (self._transport and self._transport.is_active()):
                self.close()  # the session is gone: the next call reconnects
            raise error from None

    def _error(self, what: str, exc: Exception) -> ChannelError:
        message = f"{self.where}: {what} failed ({_describe(exc)})"
        code = getattr(exc, "errno", None)
        if isinstance(exc, FileNotFoundError) or code == errno.ENOENT:
            return ChannelNotFound(f"{self.where}: {what} failed: no such file or folder")
        if isinstance(exc, PermissionError) or code == errno.EACCES:
            return ChannelAuthError(f"{self.where}: {what} failed: permission denied for {self.username!r}")
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return ChannelTransportError(f"{self.where}: {what} timed out after {self.timeout:g} s")
        return ChannelTransportError(message)


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
