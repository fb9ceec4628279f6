"""TLS between nodes: a per-node CA whose key is the node's Ed25519 identity, and mutual authentication.

Design (pinning instead of a PKI):

* ``node init`` makes a self-signed CA certificate with the identity key (Ed25519; OpenSSL 1.1.1+ verifies
  Ed25519 certificate signatures) and a TLS certificate for the node itself (ECDSA P-256, which every TLS
  stack negotiates), signed by that CA, usable as server *and* client certificate.
* A peer is pinned by its Ed25519 key (``peer add --key``). Its CA certificate is accepted only if the CA's
  public key *is* that key, so pinning the key pins the CA: a connection to the peer trusts exactly that one
  CA, and the server trusts as client CAs exactly the pinned peers' CAs.
* Host names are not checked (``check_hostname = False``): the trust anchor is the pinned per-peer CA,
  not a name; a node may be reached by any address.
* The server asks for a client certificate but does not require one at the handshake (``CERT_OPTIONAL``):
  a certificate that is presented must chain to a pinned CA or the handshake fails, and a client without
  one may only read ``GET /v1/node`` and ``GET /v1/health`` (the introduction a new peer needs to pin us);
  every other endpoint answers 401 ``NotAuthenticated`` (``app.py``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from riskline.channel.errors import KeyChanged, MalformedKey
from riskline.channel.signing import SigningKey, VerifyKey

CA_LIFETIME = dt.timedelta(days=20 * 365)
NODE_CERT_LIFETIME = dt.timedelta(days=10 * 365)
_BACKDATE = dt.timedelta(days=1)  # tolerate a peer clock a little behind ours


@dataclass(frozen=True, slots=True)
class NodeCertificate:
    """A node's TLS certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes


def _ed25519_private(identity: SigningKey) -> ed25519.Ed25519PrivateKey:
    private = serialization.load_pem_private_key(identity.to_pem(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    return private


def make_ca(identity: SigningKey, common_name: str, now: dt.datetime) -> bytes:
    """PEM of a self-signed CA certificate whose key is ``identity`` (CA:TRUE, pathlen 0, keyCertSign only)."""
    private = _ed25519_private(identity)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _common_name(f"{common_name} riskline CA"))])
    public = private.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(private, None)
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def make_node_certificate(
    identity: SigningKey, ca_pem: bytes, common_name: str, hosts: list[str], now: dt.datetime
) -> NodeCertificate:
    """A fresh ECDSA P-256 key and its certificate for ``hosts`` (server and client auth), signed by the CA."""
    ca = x509.load_pem_x509_certificate(ca_pem)
    ca_private = _ed25519_private(identity)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(["localhost", "127.0.0.1", "::1", *hosts]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _common_name(common_name))]))
        .issuer_name(ca.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + NODE_CERT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_private.public_key()), critical=False)
        .sign(ca_private, None)
    )
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return NodeCertificate(certificate.public_bytes(serialization.Encoding.PEM), key_pem)


def ca_key(ca_pem: bytes | str) -> VerifyKey:
    """The Ed25519 key of a self-signed riskline CA certificate, after checking its self-signature.

    Raises ``MalformedKey`` when the PEM is not such a certificate.
    """
    data = ca_pem.encode("ascii") if isinstance(ca_pem, str) else ca_pem
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise MalformedKey("CA certificate is not a PEM X.509 certificate") from None
    public = certificate.public_key()
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise MalformedKey("CA certificate key is not Ed25519; a riskline CA's key is the node's identity key")
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        raise MalformedKey("CA certificate is not validly self-signed") from None
    return VerifyKey(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def check_ca_pins_key(ca_pem: bytes | str, pinned: VerifyKey) -> None:
    """Return quietly when the CA's key is ``pinned``; else ``KeyChanged`` naming both fingerprints."""
    served = ca_key(ca_pem)
    if served != pinned:
        raise KeyChanged(f"TLS CA key is {served.fingerprint}, the pinned key is {pinned.fingerprint}")


def issuing_ca_index(leaf_der: bytes, ca_pems: list[bytes]) -> int | None:
    """Which of ``ca_pems`` signed the certificate ``leaf_der`` (DER), or None."""
    try:
        leaf = x509.load_der_x509_certificate(leaf_der)
    except ValueError:
        return None
    for position, pem in enumerate(ca_pems):
        try:
            leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(pem))
        except (ValueError, TypeError, InvalidSignature):
            continue
        return position
    return None


def server_context(cert_file: str, key_file: str, client_cas: list[bytes]) -> ssl.SSLContext:
    """The server side: our certificate, client certificates optional but checked against pinned peer CAs."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    context.verify_mode = ssl.CERT_OPTIONAL
    for pem in client_cas:
        context.load_verify_locations(cadata=pem.decode("ascii"))
    return context


def trust_client_ca(context: ssl.SSLContext, ca_pem: bytes) -> None:
    """Trust one more peer CA on a running server's context (new handshakes see it)."""
    context.load_verify_locations(cadata=ca_pem.decode("ascii"))


def client_context(
    cert_file: str, key_file: str, peer_ca: bytes | None, *, present_certificate: bool = True
) -> ssl.SSLContext:
    """The client side: trust only ``peer_ca`` and present our certificate.

    ``peer_ca`` None (verify nothing) is only for the first ``GET /v1/node`` of ``peer add``, whose answer is
    then fetched again over a link pinned to the CA it named. ``peer add`` presents no certificate: the peer
    may not have pinned us yet, and a certificate it cannot verify fails the handshake.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    if peer_ca is None:
        context.verify_mode = ssl.CERT_NONE
    else:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=peer_ca.decode("ascii"))
    if present_certificate:
        context.load_cert_chain(cert_file, key_file)
    return context


def _common_name(text: str) -> str:
    """X.509 limits a common name to 64 characters (RFC 5280 ub-common-name)."""
    return text if len(text) <= 64 else text[:63] + "…"
