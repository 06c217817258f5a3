"""Test certificates: a CA, a server certificate for 127.0.0.1, client certificates."""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class Authority:
    """A CA that writes PEM files into `directory` (keys mode 0600)."""

    def __init__(self, directory: Path, name: str = "flint test CA"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            self._builder(subject, self.key.public_key(), subject)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = self._write_certificate(f"{name.replace(' ', '-')}.pem", self.certificate)

    def issue(self, name: str, server: bool, expired: bool = False,
              passphrase: bytes | None = None) -> tuple[Path, Path]:
        """A certificate (for 127.0.0.1 and localhost when `server`) and its key files;
        `expired` ended yesterday; `passphrase` encrypts the key file."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = self._builder(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]),
            key.public_key(),
            self.certificate.subject,
            expired,
        )
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
        certificate = builder.sign(self.key, hashes.SHA256())
        key_path = self.directory / f"{name}.key"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(passphrase) if passphrase
                else serialization.NoEncryption(),
            )
        )
        os.chmod(key_path, 0o600)
        return self._write_certificate(f"{name}.pem", certificate), key_path

    @staticmethod
    def _builder(subject, public_key, issuer, expired: bool = False) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.timezone.utc)
        if expired:
            now -= datetime.timedelta(days=2)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    def _write_certificate(self, file_name: str, certificate: x509.Certificate) -> Path:
        path = self.directory / file_name
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return path
