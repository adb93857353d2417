"""What the tests of verified TLS to MX hosts share (tests/test_mta_sts.py,
tests/test_dane.py): a test CA made per test with the `cryptography` module, a second Tern
started as the remote MX for a domain, its mailbox read over IMAP, and waits on the sending
Tern's queue.
"""

import datetime
import email
import email.policy
import hashlib
import imaplib
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness import DOMAIN, IO_TIMEOUT, PASSWORD, TernServer
from test_queue import queue_list, wait_for

BOB = "bob@remote.test"


class CertAuthority:
    """A CA made for one test; `issue(names)` writes a server certificate and key."""

    def __init__(self, directory):
        self.dir = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tern test CA")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256()))
        self.path = os.path.join(directory, "ca.pem")
        with open(self.path, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))

    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def spki(self):
        """The CA's SubjectPublicKeyInfo (DER), what a `2 1 x` TLSA record selects."""
        return self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def issue(self, *names, chain=False):
        """Writes NAME.crt (with the CA certificate after it when `chain`) and NAME.key;
        returns their paths."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256()))
        base = os.path.join(self.dir, names[0])
        with open(base + ".crt", "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
            if chain:
                f.write(self.pem())
        with open(base + ".key", "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        return base + ".crt", base + ".key"


def start_receiver(base_dir, domain, ca, cert_names, chain=False, user="bob"):
    """A Tern for `domain` on 127.0.0.1 (smtp, imap) whose certificate is the CA's for
    `cert_names` (with the CA certificate in the chain when `chain`), or (None) its own
    self-signed one; USER@DOMAIN exists. `rx.cert_path` is its certificate (PEM)."""
    extra = ""
    cert_path = None
    if cert_names:
        cert_path, key = ca.issue(*cert_names, chain=chain)
        extra = f'[tls]\ncert = "{cert_path}"\nkey = "{key}"\n'
    rx = TernServer(base_dir, services=("smtp", "imap"), extra_config=extra)
    with open(rx.config_path) as f:
        text = f.read()
    text = text.replace(f'local_domains = ["{DOMAIN}"]', f'local_domains = ["{domain}"]')
    text = text.replace(f'hostname = "mail.{DOMAIN}"', f'hostname = "mx.{domain}"')
    with open(rx.config_path, "w") as f:
        f.write(text)
    rx.start()
    rx.cli("user", "add", f"{user}@{domain}", "--password-stdin", input=PASSWORD + "\n")
    rx.tls_cert = cert_path
    return rx


def spki_sha256(cert_pem_path):
    """SHA-256 of the SubjectPublicKeyInfo of the first certificate in a PEM file, in hex:
    the data of a `3 1 1` TLSA record for it."""
    with open(cert_pem_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def mailbox(rx, user=BOB):
    """The messages in `user`'s INBOX at the receiving Tern (now)."""
    c = imaplib.IMAP4("127.0.0.1", rx.port("imap"), timeout=IO_TIMEOUT)
    try:
        c.login(user, PASSWORD)
        c.select("INBOX")
        _, data = c.search(None, "ALL")
        out = []
        for n in data[0].split():
            _, msg = c.fetch(n, "(BODY.PEEK[])")
            out.append(email.message_from_bytes(msg[0][1], policy=email.policy.compat32))
        return out
    finally:
        c.logout()


def wait_mailbox(rx, count, user=BOB):
    def arrived():
        messages = mailbox(rx, user)
        return messages if len(messages) >= count else None
    return wait_for(arrived, f"{count} message(s) at the remote MX")


def log(server):
    with open(server.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def wait_deferred(server, address=BOB, attempts=1):
    def deferred():
        for entry in queue_list(server):
            for r in entry["recipients"]:
                if r["address"] == address and r["attempts"] >= attempts:
                    return entry, r
    return wait_for(deferred, f"a deferred attempt for {address}")


def subject(msg):
    return str(msg["Subject"])
