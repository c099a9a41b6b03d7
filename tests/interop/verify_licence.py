#!/usr/bin/env python3
"""Verify an elicense SD-JWT VC with nothing but Python `cryptography` and the stdlib.

An independent check that a stranger holding only the root certificate can verify a
licence: no code is shared with the Rust crate.

    python3 verify_licence.py LICENCE_FILE ROOT_CERT_PEM

Checks, in order:
  1. the SD-JWT splits at '~' into an issuer-signed JWT and disclosures (no KB-JWT);
  2. the JWS header is JSON with alg == ES256 and typ == dc+sd-jwt, and no header that
     would let the token choose its own key (jwk, jku, x5u) or impose rules (crit);
  3. the leaf certificate x5c[0] (standard base64 DER) is directly issued by the root:
     issuer name == root subject, root is a CA, ECDSA-SHA256 signature verifies with the
     root public key; the leaf key is P-256;
  4. kid == base64url(sha256(leaf DER)[:8]);
  5. the raw r||s signature (64 bytes), converted to DER, verifies over
     ASCII(header_b64 "." payload_b64) with the leaf key;
  6. each disclosure's digest base64url(sha256(ASCII(disclosure))) is referenced exactly
     once by the signed payload (_sd arrays, or "..." array elements), _sd_alg sha-256;
  7. the leaf certificate was valid at the payload's iat.

Prints the disclosed claims as JSON on stdout and exits 0; on any failure prints
"verify_licence: FAILED: <reason>" on stderr and exits 1 (2 only for a usage error).
"""

import base64
import datetime
import hashlib
import json
import re
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.x509.oid import SignatureAlgorithmOID

B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class Invalid(Exception):
    """The licence does not verify."""


def b64url_decode(text, what):
    """Strict base64url without padding: alphabet only, canonical trailing bits."""
    if not isinstance(text, str) or not B64URL.match(text) or len(text) % 4 == 1:
        raise Invalid(f"{what} is not base64url without padding")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(raw) != text:
        raise Invalid(f"{what} is not canonical base64url")
    return raw


def b64url_encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64_decode_std(text, what):
    """Strict standard base64 with padding (x5c, RFC 7515 section 4.1.6)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as e:
        raise Invalid(f"{what} is not standard base64: {e}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise Invalid(f"{what} is not canonical standard base64")
    return raw


def json_object(raw, what):
    def no_duplicates(pairs):
        obj = {}
        for k, v in pairs:
            if k in obj:
                raise Invalid(f"{what} has a duplicate member {k!r}")
            obj[k] = v
        return obj

    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise Invalid(f"{what} is not UTF-8 JSON: {e}") from None
    if not isinstance(value, dict):
        raise Invalid(f"{what} is not a JSON object")
    return value


def check_issued_by(leaf, root):
    """The leaf is directly issued by the root: names chain, root is a CA, signature holds."""
    if leaf.issuer != root.subject:
        raise Invalid(
            f"leaf issuer {leaf.issuer.rfc4514_string()!r} is not the root "
            f"{root.subject.rfc4514_string()!r}"
        )
    try:
        bc = root.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise Invalid("the root certificate has no basicConstraints") from None
    if not bc.ca:
        raise Invalid("the root certificate is not a CA")
    if leaf.signature_algorithm_oid != SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        raise Invalid(f"leaf signed with {leaf.signature_algorithm_oid}, not ecdsa-with-SHA256")
    root_key = root.public_key()
    if not isinstance(root_key, ec.EllipticCurvePublicKey):
        raise Invalid("the root key is not an EC key")
    try:
        root_key.verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Invalid("the leaf certificate's signature does not verify with the root key") from None


def valid_window(cert):
    # cryptography >= 42 has the *_utc properties; older versions return naive UTC.
    if hasattr(cert, "not_valid_before_utc"):
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    utc = datetime.timezone.utc
    return cert.not_valid_before.replace(tzinfo=utc), cert.not_valid_after.replace(tzinfo=utc)


def disclose(payload, disclosures):
    """Replaces digests by disclosed claims (SD-JWT processing); returns (claims, disclosed).

    Every disclosure must be referenced exactly once; digests nobody discloses vanish.
    """
    by_digest = {}
    for i, d in enumerate(disclosures):
        if d == "":
            raise Invalid(f"disclosure #{i} is empty")
        digest = b64url_encode(hashlib.sha256(d.encode("ascii")).digest())
        if digest in by_digest:
            raise Invalid(f"disclosure #{i} is repeated")
        by_digest[digest] = (i, d)
    used = set()
    disclosed = {}
    elements = []

    def take(digest):
        if not isinstance(digest, str):
            raise Invalid("a digest in the payload is not a string")
        if digest in used:
            raise Invalid(f"digest {digest} is referenced more than once")
        if digest not in by_digest:
            return None
        used.add(digest)
        i, d = by_digest[digest]
        try:
            value = json.loads(b64url_decode(d, f"disclosure #{i}").decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise Invalid(f"disclosure #{i} is not UTF-8 JSON: {e}") from None
        if not isinstance(value, list) or not isinstance(value[0] if value else None, str):
            raise Invalid(f"disclosure #{i} is not [salt, (name,) value]")
        return i, value

    def walk(node, depth):
        if depth > 16:
            raise Invalid("claims nest too deep")
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k in ("_sd", "_sd_alg"):
                    continue
                out[k] = walk(v, depth + 1)
            sd = node.get("_sd", [])
            if not isinstance(sd, list):
                raise Invalid("_sd is not an array")
            for digest in sd:
                found = take(digest)
                if found is None:
                    continue
                i, value = found
                if len(value) != 3 or not isinstance(value[1], str):
                    raise Invalid(f"disclosure #{i} is not an object-member disclosure")
                name = value[1]
                if name in ("_sd", "...") or name in out:
                    raise Invalid(f"disclosure #{i} claims the name {name!r}, already taken")
                out[name] = walk(value[2], depth + 1)
                disclosed[name] = out[name]
            return out
        if isinstance(node, list):
            out = []
            for item in node:
                if isinstance(item, dict) and set(item) == {"..."}:
                    found = take(item["..."])
                    if found is None:
                        continue
                    i, value = found
                    if len(value) != 2:
                        raise Invalid(f"disclosure #{i} is not an array-element disclosure")
                    out.append(walk(value[1], depth + 1))
                    elements.append(out[-1])
                else:
                    out.append(walk(item, depth + 1))
            return out
        return node

    claims = walk(payload, 0)
    for digest, (i, _) in sorted(by_digest.items(), key=lambda kv: kv[1][0]):
        if digest not in used:
            raise Invalid(
                f"disclosure #{i} (digest {digest}) does not match any digest in the signed payload"
            )
    return claims, disclosed, elements


def verify(licence_text, root_pem):
    parts = licence_text.strip().split("~")
    if len(parts) < 2:
        raise Invalid("not an SD-JWT: no '~' separator")
    jwt, disclosures, last = parts[0], parts[1:-1], parts[-1]
    if last != "":
        raise Invalid("the SD-JWT ends with a key-binding JWT; this script checks issued licences only")

    segments = jwt.split(".")
    if len(segments) != 3 or not all(segments):
        raise Invalid("the issuer-signed JWT is not three non-empty dot-separated parts")
    header_b64, payload_b64, sig_b64 = segments
    header = json_object(b64url_decode(header_b64, "JWS header"), "JWS header")
    if header.get("alg") != "ES256":
        raise Invalid(f"alg is {header.get('alg')!r}, not 'ES256'")
    if header.get("typ") != "dc+sd-jwt":
        raise Invalid(f"typ is {header.get('typ')!r}, not 'dc+sd-jwt'")
    for name in ("jwk", "jku", "x5u", "crit"):
        if name in header:
            raise Invalid(f"header {name!r} is not accepted")
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c or not isinstance(x5c[0], str):
        raise Invalid("header x5c is missing or not a list of base64 strings")

    leaf_der = b64_decode_std(x5c[0], "x5c[0]")
    try:
        leaf = x509.load_der_x509_certificate(leaf_der)
        root = x509.load_pem_x509_certificate(root_pem)
    except ValueError as e:
        raise Invalid(f"certificate does not parse: {e}") from None
    check_issued_by(leaf, root)
    leaf_key = leaf.public_key()
    if not isinstance(leaf_key, ec.EllipticCurvePublicKey) or leaf_key.curve.name != "secp256r1":
        raise Invalid("the leaf key is not EC P-256")

    expected_kid = b64url_encode(hashlib.sha256(leaf_der).digest()[:8])
    if header.get("kid") != expected_kid:
        raise Invalid(f"kid {header.get('kid')!r} is not {expected_kid!r} (sha256(leaf)[:8])")

    sig = b64url_decode(sig_b64, "signature")
    if len(sig) != 64:
        raise Invalid(f"the signature is {len(sig)} bytes, not 64 (raw r||s)")
    der_sig = utils.encode_dss_signature(
        int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    )
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    try:
        leaf_key.verify(der_sig, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Invalid("the JWS signature does not verify with the leaf certificate's key") from None

    payload = json_object(b64url_decode(payload_b64, "payload"), "payload")
    if payload.get("_sd_alg", "sha-256") != "sha-256":
        raise Invalid(f"_sd_alg {payload.get('_sd_alg')!r} is not sha-256")
    claims, disclosed, elements = disclose(payload, disclosures)

    iat = payload.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise Invalid("iat is missing or not an integer")
    at = datetime.datetime.fromtimestamp(iat, tz=datetime.timezone.utc)
    not_before, not_after = valid_window(leaf)
    if not (not_before <= at <= not_after):
        raise Invalid(f"the leaf certificate ({not_before} to {not_after}) was not valid at iat {at}")

    return {
        "verified": True,
        "signer": leaf.subject.rfc4514_string(),
        "kid": expected_kid,
        "disclosed": disclosed,
        "disclosed_elements": elements,
        "claims": claims,
    }


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: verify_licence.py LICENCE_FILE ROOT_CERT_PEM\n")
        return 2
    try:
        with open(argv[1], "rb") as f:
            text = f.read().decode("ascii")
        with open(argv[2], "rb") as f:
            root_pem = f.read()
    except (OSError, UnicodeDecodeError) as e:
        sys.stderr.write(f"verify_licence: FAILED: cannot read input: {e}\n")
        return 1
    try:
        result = verify(text, root_pem)
    except Invalid as e:
        sys.stderr.write(f"verify_licence: FAILED: {e}\n")
        return 1
    except Exception as e:  # fail closed on anything unforeseen
        sys.stderr.write(f"verify_licence: FAILED: unexpected {type(e).__name__}: {e}\n")
        return 1
    out = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    sys.stdout.buffer.write(out.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
