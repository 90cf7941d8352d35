"""The lab's certificates: one trusted CA and a server certificate for each way TLS can go wrong.

Every certificate is made by trustme. The names inside them are fixed (no random parts) and their
dates are fixed too, so anything that prints a certificate prints the same text on every run.

    kind            what a verifying client says when the lab presents it
    valid           nothing: issued by the lab CA for localhost, 127.0.0.1 and ::1
    wrong-host      IP address mismatch: issued for localhost only, so connecting by 127.0.0.1 fails
    expired         certificate has expired (valid 2020-01-01 to 2021-01-01)
    not-yet-valid   certificate is not yet valid (valid from 2990-01-01)
    untrusted       unable to get local issuer certificate: issued by a second CA nobody trusts
    self-signed     self-signed certificate: the server presents a certificate it signed itself, for the
                    lab's host names, as a real self-signed server certificate does (Go then says "signed
                    by unknown authority", as it does against a real server's)
    cn-only         Go: certificate relies on legacy Common Name field: issued by the lab CA with the host
                    name (localhost) in its Common Name only, and no subjectAltName (Python, OpenSSL and
                    curl still read the Common Name; Go since 1.15 does not)
    incomplete-chain  unable to get local issuer certificate: issued by an intermediate CA under the lab CA,
                    and the server sends its own certificate without the intermediate's
"""

from __future__ import annotations

import datetime
import errno
import ipaddress
import ssl
import warnings
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

KINDS = ("valid", "wrong-host", "expired", "not-yet-valid", "untrusted", "self-signed", "cn-only", "incomplete-chain")
LAB_HOST_NAMES = ("localhost", "127.0.0.1", "::1")
ORGANIZATION = "SMTP Port Lab"
CA_UNIT = "Lab CA"  # every lab's CA has this name (its key is new each time): how an earlier lab's CA file is known
INTERMEDIATE_URL = "http://ca.lab.example.com/intermediate.crt"  # where the incomplete chain's issuer is published

_EXPIRED = (datetime.datetime(2020, 1, 1), datetime.datetime(2021, 1, 1))
_NOT_YET_VALID = (datetime.datetime(2990, 1, 1), datetime.datetime(3000, 1, 1))
_LONG_AGO, _FAR_AHEAD = datetime.datetime(2000, 1, 1), datetime.datetime(3000, 1, 1)  # trustme's default span
_CA_NAME = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, CA_UNIT)])  # as trustme names a CA
_CA_FILE_LIMIT = 4096  # bytes: a lab CA file holds some 600; anything larger is something else


@dataclass(frozen=True)
class ServerCertificate:
    """A certificate a lab endpoint can present, with the PEM blobs it was made from."""

    kind: str
    key_pem: bytes
    chain_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        """The server's own certificate (the first in the chain), parsed."""
        return x509.load_pem_x509_certificate(self.chain_pem)

    def summary(self) -> dict[str, str]:
        """What a client checks: the names it is valid for, who issued it, and when it is valid."""
        cert = self.certificate
        try:
            names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            valid_for = ", ".join(str(getattr(name, "value", name)) for name in names)
        except x509.ExtensionNotFound:
            valid_for = "(no subjectAltName: " + cert.subject.rfc4514_string() + ")"
        return {
            "kind": self.kind,
            "valid for": valid_for,
            "issued by": cert.issuer.rfc4514_string(),
            "not before": f"{cert.not_valid_before_utc:%Y-%m-%d}",
            "not after": f"{cert.not_valid_after_utc:%Y-%m-%d}",
        }

    def server_context(self, *, versions: tuple[str, str] = ("TLSv1_2", "TLSv1_3")) -> ssl.SSLContext:
        """A server-side TLS context presenting this certificate, speaking the TLS versions from the oldest
        to the newest given (ssl.TLSVersion names)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        oldest, newest = (ssl.TLSVersion[name] for name in versions)
        if oldest < ssl.TLSVersion.TLSv1_2:
            # OpenSSL 3 disables TLS 1.0 and 1.1 at its default security level 1 (SSL_CTX_set_security_level(3));
            # an old server is played here, in the lab's own context only, at level 0. Python warns that the
            # old versions are deprecated, which is the point of this endpoint.
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version, context.maximum_version = oldest, newest
        _load_chain(context, self.key_pem + self.chain_pem)
        return context


class LabCertificates:
    """The lab CA and one server certificate of each kind in KINDS."""

    def __init__(self) -> None:
        self.ca = trustme.CA(organization_name=ORGANIZATION, organization_unit_name=CA_UNIT)
        stranger = trustme.CA(organization_name="Nobody You Trust", organization_unit_name="Untrusted CA")

        def issue(ca: trustme.CA, *names: str, dates=(None, None)) -> trustme.LeafCert:
            not_before, not_after = dates
            return ca.issue_cert(
                *names,
                common_name=names[0],
                organization_name=ORGANIZATION,
                organization_unit_name="Lab server",
                not_before=not_before,
                not_after=not_after,
            )

        intermediate = trustme.CA(parent_cert=self.ca, organization_name=ORGANIZATION,
                                  organization_unit_name="Intermediate CA")
        leaves = {
            "valid": issue(self.ca, *LAB_HOST_NAMES),
            "wrong-host": issue(self.ca, "localhost"),
            "expired": issue(self.ca, *LAB_HOST_NAMES, dates=_EXPIRED),
            "not-yet-valid": issue(self.ca, *LAB_HOST_NAMES, dates=_NOT_YET_VALID),
            "untrusted": issue(stranger, *LAB_HOST_NAMES),
        }
        self._certificates = {
            kind: ServerCertificate(kind, leaf.private_key_pem.bytes(), _chain(leaf))
            for kind, leaf in leaves.items()
        }
        self._certificates["self-signed"] = _self_signed(*LAB_HOST_NAMES)
        # Common Name only: made as certificates were before RFC 6125 (and as `openssl req` without -addext
        # still makes them). trustme always writes a subjectAltName, so these two are built with cryptography,
        # which trustme itself uses.
        self._certificates["cn-only"] = _leaf("cn-only", self.ca, "localhost", unit="Common Name only", alt_names=False)
        # From an intermediate CA, which names where its certificate is published (Authority Information Access,
        # as public CAs' certificates do), but sent alone: the intermediate's certificate, which the server
        # should send with its own (a "full chain"), is left out, as a server given cert.pem for fullchain.pem does.
        self._certificates["incomplete-chain"] = _leaf("incomplete-chain", intermediate, *LAB_HOST_NAMES,
                                                       unit="Lab server", issuer_url=INTERMEDIATE_URL)

    @property
    def ca_pem(self) -> bytes:
        """The lab CA certificate, PEM encoded: what a client must trust to talk to the lab."""
        return self.ca.cert_pem.bytes()

    def write_ca(self, path: str | Path) -> Path:
        """Write the lab CA's PEM to path (creating parent folders) and return the path. A file already there
        is written over only if it is an earlier lab's CA file (is_lab_ca); any other raises FileExistsError
        and is left as it was: a path given by mistake (the system's CA bundle, a file of notes) loses nothing."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and not path.is_dir():  # (writing to a directory fails, saying so)
            # Read only if small and a regular file: never a device, such as a disk or /dev/zero.
            earlier = path.is_file() and path.stat().st_size <= _CA_FILE_LIMIT and is_lab_ca(path.read_bytes())
            if not earlier:
                raise FileExistsError(errno.EEXIST, "a file that is not the lab's CA is there", str(path))
        path.write_bytes(self.ca_pem)
        return path

    def __getitem__(self, kind: str) -> ServerCertificate:
        if kind not in self._certificates:
            raise KeyError(f"unknown certificate kind {kind!r}; choose one of: {', '.join(KINDS)}")
        return self._certificates[kind]

    def table(self) -> str:
        """Every certificate kind, one per line: what it is valid for, its issuer and its dates."""
        rows = [self[kind].summary() for kind in KINDS]
        columns = list(rows[0])
        widths = {c: max(len(c), *(len(row[c]) for row in rows)) for c in columns}
        lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
        lines += ["  ".join(row[c].ljust(widths[c]) for c in columns).rstrip() for row in rows]
        return "\n".join(lines)

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts the lab CA (and nothing else)."""
        # Given cadata, create_default_context skips the system store (which also takes ~40 ms to load).
        return ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))


def is_lab_ca(pem: bytes) -> bool:
    """Whether `pem` is what write_ca writes: one PEM certificate, and nothing else, of a CA with the lab CA's
    name."""
    try:
        (certificate,) = x509.load_pem_x509_certificates(pem)  # ValueError: none, several, or not PEM at all
    except ValueError:
        return False
    written = certificate.public_bytes(serialization.Encoding.PEM)
    return certificate.subject == _CA_NAME and written.strip() == pem.strip()


def _self_signed(*names: str) -> ServerCertificate:
    """A server certificate signed by its own key, for these host names, as `openssl req -x509` or Debian's
    snakeoil makes one. trustme issues leaves only from a CA, and its CA certificates name no host, which
    Go reports as a name error ("not valid for any names") before it looks at who signed it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Self-signed"),
        x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
    ])
    alternative_names = [_general_name(name) for name in names]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_LONG_AGO)
        .not_valid_after(_FAR_AHEAD)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return ServerCertificate("self-signed", key_pem, certificate.public_bytes(serialization.Encoding.PEM))


def _leaf(kind: str, ca: trustme.CA, *names: str, unit: str, alt_names: bool = True,
          issuer_url: str | None = None) -> ServerCertificate:
    """A server certificate from `ca` for these host names (the first also its Common Name), sent alone:
    without subjectAltName if `alt_names` is false, with the address of its issuer's certificate if given."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    ca_certificate = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
        x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
    ])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_LONG_AGO)
        .not_valid_after(_FAR_AHEAD)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        # Which key signed it, as every CA's certificates say: Python 3.13's default context verifies
        # strictly (VERIFY_X509_STRICT) and refuses a leaf without it ("Missing Authority Key Identifier").
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_certificate.public_key()),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
    if issuer_url:
        issuers = x509.AccessDescription(x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                                         x509.UniformResourceIdentifier(issuer_url))
        builder = builder.add_extension(x509.AuthorityInformationAccess([issuers]), critical=False)
    certificate = builder.sign(ca_key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return ServerCertificate(kind, key_pem, certificate.public_bytes(serialization.Encoding.PEM))


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _chain(leaf: trustme.LeafCert) -> bytes:
    return b"".join(blob.bytes() for blob in leaf.cert_chain_pems)


def _load_chain(context: ssl.SSLContext, key_and_chain_pem: bytes) -> None:
    # ssl can load a private key only from a file (https://bugs.python.org/issue16487); trustme's Blob
    # writes a temporary one and removes it when the block ends.
    with trustme.Blob(key_and_chain_pem).tempfile() as path:
        context.load_cert_chain(path)
