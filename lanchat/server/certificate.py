"""The server's TLS identity: a long-lived self-signed certificate, or the host's own (#17).

Layer: server edge; may import ssl, cryptography, lanchat.config, lanchat.errors and
lanchat.discovery.records (for the fingerprint form advertised in TXT `fp=`).

There is no certificate authority on a LAN, so the certificate is self-signed and people trust
it by its fingerprint, the SHA-256 of its DER form, which discovery advertises (TXT `fp=`) and
clients pin (Syncthing's device ID works the same way). The fingerprint must therefore stay
the same across restarts: the key and certificate are made once, at the first start, and kept
in the data directory (`tls-key.pem` mode 0600, `tls-cert.pem`); later starts load them.

The key is ECDSA P-256: a handshake costs a fraction of what RSA-2048 costs the server, which
matters when a room full of laptops reconnects at once.
"""

from __future__ import annotations

import datetime
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lanchat.config import Config
from lanchat.discovery.records import fingerprint_of
from lanchat.errors import ConfigError

__all__ = ["CERT_FILE", "KEY_FILE", "Identity", "load_identity"]

CERT_FILE = "tls-cert.pem"
KEY_FILE = "tls-key.pem"
_VALID_DAYS = 100 * 365  # "long-lived": the fingerprint people pinned must not expire on them


@dataclass(frozen=True, slots=True)
class Identity:
    """What the TLS listener needs: the files, the fingerprint, a ready server context."""

    cert_path: Path
    key_path: Path
    fingerprint: str  # SHA-256 of the DER certificate, lowercase hex (TXT fp=)
    context: ssl.SSLContext


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to a new file that only its owner may read (0600 from the first byte)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _create(cert_path: Path, key_path: Path, name: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    # The key first: a certificate without its key would be a broken pair at the next start.
    _write_private(key_path, key_pem)
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))


def _context(cert_path: Path, key_path: Path, flags: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_path, key_path)
    except FileNotFoundError as e:
        raise ConfigError(
            f"TLS file {e.filename} does not exist; check {flags} (or leave them out to use "
            "lanchat's own certificate)"
        ) from None
    except PermissionError as e:
        raise ConfigError(f"cannot read TLS file {e.filename}: permission denied") from None
    except (ssl.SSLError, OSError):
        raise ConfigError(
            f"{cert_path} and {key_path} are not a PEM certificate and its private key; "
            f"check {flags}"
        ) from None
    return context


def _der(cert_path: Path) -> bytes:
    try:
        return ssl.PEM_cert_to_DER_cert(cert_path.read_text(encoding="ascii", errors="replace"))
    except ValueError:
        raise ConfigError(f"{cert_path} is not a PEM certificate") from None


def load_identity(config: Config) -> Identity:
    """The server's certificate: [tls] cert/key if set, else the one in the data directory,
    made on the first start.

    Args:
        config: the validated configuration ([tls], [store] data_dir, [server] name).

    Returns:
        The identity with a server SSLContext (TLS 1.2 or newer).

    Raises:
        ConfigError: the given files are missing, unreadable or not a matching pair, or the
            data directory cannot hold new ones.
    """
    tls = config.tls
    if tls.cert:
        cert_path, key_path = Path(tls.cert).expanduser(), Path(tls.key).expanduser()
        flags = "--cert and --cert-key ([tls] cert and key)"
    else:
        data_dir = config.store.data_dir
        cert_path, key_path = data_dir / CERT_FILE, data_dir / KEY_FILE
        flags = f"the files in {data_dir} (delete both to make a new certificate)"
        if not key_path.exists() and not cert_path.exists():
            try:
                _create(cert_path, key_path, config.server.name)
            except OSError as e:
                raise ConfigError(
                    f"cannot create the TLS certificate in {data_dir}: {e.strerror}; "
                    "pick a writable --data-dir"
                ) from None
    context = _context(cert_path, key_path, flags)
    return Identity(cert_path, key_path, fingerprint_of(_der(cert_path)), context)
