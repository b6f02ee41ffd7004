"""Independent implementation of sigra-core's token formats, for cross-implementation tests.

Written from the documented formats only (crates/sigra-core/src/token/envelope.rs), with the
Python standard library (hmac, hashlib, base64, struct) and `cryptography`'s HKDF:

  key derivation  HKDF-SHA256(ikm = secret key base, salt = b"sigra-core/v1", info = label, 32 bytes)
  token digest    SHA-256 of the 32 raw token bytes (the token text is base64url, no padding)
  envelope (v1)   "v1." + b64url(P || purpose || S || subject || issued_at:i64be || token[32])
                  + "." + b64url(HMAC-SHA256(K, ascii("v1." + payload)))
                  K = derive("token-envelope:" + purpose)
  keyed digests   HMAC-SHA256(derive(label), message)  (numeric codes, backup codes)

Reads one JSON document on stdin and writes one on stdout:

  in:  {"secret_key_base": b64url, "digests": [token text], "derive": [label],
        "hmac": [{"label", "message"}],
        "sign": [{"purpose", "token", "subject", "issued_at"}],
        "verify": [{"purpose", "envelope", "subject"?, "max_age", "now"}]}
  out: {"digests": [hex], "derived": [hex], "hmacs": [hex], "signed": [envelope],
        "verified": [{"ok": true, "token", "subject", "issued_at"} | {"ok": false, "error"}]}
"""

import base64
import hashlib
import hmac
import json
import re
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

B64URL = re.compile(r"\A[A-Za-z0-9_-]*\Z")
PURPOSE = re.compile(r"\A[a-z0-9_.:-]{1,64}\Z")
CLOCK_SKEW = 60


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict: base64url alphabet only, no padding, canonical trailing bits."""
    if not B64URL.match(text) or len(text) % 4 == 1:
        raise ValueError("malformed")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise ValueError("malformed")
    return data


def derive(secret: bytes, label: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"sigra-core/v1", info=label.encode()
    ).derive(secret)


def sign(secret: bytes, purpose: str, token: bytes, subject: str, issued_at: int) -> str:
    p = purpose.encode("ascii")
    s = subject.encode("utf-8")
    assert PURPOSE.match(purpose) and 1 <= len(s) <= 255 and len(token) == 32
    payload = bytes([len(p)]) + p + bytes([len(s)]) + s + struct.pack(">q", issued_at) + token
    signed = "v1." + b64url_encode(payload)
    mac = hmac.new(derive(secret, "token-envelope:" + purpose), signed.encode("ascii"), hashlib.sha256)
    return signed + "." + b64url_encode(mac.digest())


def verify(secret: bytes, purpose: str, envelope: str, subject, max_age: int, now: int) -> dict:
    def fail(error: str) -> dict:
        return {"ok": False, "error": error}

    parts = envelope.split(".")
    if len(parts) != 3 or parts[0] != "v1":
        return fail("malformed")
    signed = parts[0] + "." + parts[1]
    try:
        payload = b64url_decode(parts[1])
        tag = b64url_decode(parts[2])
    except ValueError:
        return fail("malformed")
    if len(tag) != 32:
        return fail("malformed")
    try:
        p_len = payload[0]
        p = payload[1 : 1 + p_len]
        s_len = payload[1 + p_len]
        s = payload[2 + p_len : 2 + p_len + s_len]
        rest = payload[2 + p_len + s_len :]
    except IndexError:
        return fail("malformed")
    if len(p) != p_len or len(s) != s_len or len(rest) != 8 + 32 or s_len == 0:
        return fail("malformed")
    if p != purpose.encode("ascii"):
        return fail("purpose")
    expected = hmac.new(derive(secret, "token-envelope:" + purpose), signed.encode("ascii"), hashlib.sha256)
    if not hmac.compare_digest(expected.digest(), tag):
        return fail("signature")
    try:
        found_subject = s.decode("utf-8")
    except UnicodeDecodeError:
        return fail("malformed")
    if subject is not None and subject != found_subject:
        return fail("subject")
    (issued_at,) = struct.unpack(">q", rest[:8])
    if issued_at - now > CLOCK_SKEW:
        return fail("future")
    if now - issued_at > max_age:
        return fail("expired")
    return {
        "ok": True,
        "token": b64url_encode(rest[8:]),
        "subject": found_subject,
        "issued_at": issued_at,
    }


def main() -> None:
    doc = json.load(sys.stdin)
    secret = b64url_decode(doc["secret_key_base"])
    out = {
        "digests": [hashlib.sha256(b64url_decode(t)).hexdigest() for t in doc.get("digests", [])],
        "derived": [derive(secret, label).hex() for label in doc.get("derive", [])],
        "hmacs": [
            hmac.new(derive(secret, h["label"]), h["message"].encode(), hashlib.sha256).hexdigest()
            for h in doc.get("hmac", [])
        ],
        "signed": [
            sign(secret, s["purpose"], b64url_decode(s["token"]), s["subject"], s["issued_at"])
            for s in doc.get("sign", [])
        ],
        "verified": [
            verify(secret, v["purpose"], v["envelope"], v.get("subject"), v["max_age"], v["now"])
            for v in doc.get("verify", [])
        ],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
