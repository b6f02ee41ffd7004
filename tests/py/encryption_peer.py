"""Independent peer for sigra-core's encryption at rest, written from the documented format.

Format (version 1), all of it base64url without padding in the text form:

    version (1 byte, 0x01) || key id (4 bytes, big-endian) || nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)

Associated data = the 5-byte header (version || key id) followed by the UTF-8 context.

Input (JSON on stdin):
    {"decrypt": [{"key": b64url, "key_id": int, "context": str, "text": b64url}, ...],
     "encrypt": [{"key": b64url, "key_id": int, "context": str, "plaintext": b64url}, ...]}
Output (JSON on stdout):
    {"decrypted": [{"ok": true, "plaintext": b64url, "key_id": int} | {"ok": false, "error": str}, ...],
     "encrypted": [b64url text form, ...]}
"""

import base64
import binascii
import json
import os
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
HEADER_LEN = 5
NONCE_LEN = 12
TAG_LEN = 16


def b64d(text):
    if "=" in text:
        raise ValueError("padding is not allowed")
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def b64e(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decrypt(case):
    try:
        raw = b64d(case["text"])
    except (ValueError, binascii.Error) as exc:
        return {"ok": False, "error": f"not base64url: {exc}"}
    if len(raw) < HEADER_LEN + NONCE_LEN + TAG_LEN:
        return {"ok": False, "error": "too short"}
    header, nonce, body = raw[:HEADER_LEN], raw[HEADER_LEN:HEADER_LEN + NONCE_LEN], raw[HEADER_LEN + NONCE_LEN:]
    if header[0] != VERSION:
        return {"ok": False, "error": f"version {header[0]}"}
    key_id = int.from_bytes(header[1:5], "big")
    if key_id != case["key_id"]:
        return {"ok": False, "error": f"unknown key id {key_id}"}
    aad = header + case["context"].encode("utf-8")
    try:
        plaintext = AESGCM(b64d(case["key"])).decrypt(nonce, body, aad)
    except InvalidTag:
        return {"ok": False, "error": "invalid tag"}
    return {"ok": True, "plaintext": b64e(plaintext), "key_id": key_id}


def encrypt(case):
    header = bytes([VERSION]) + case["key_id"].to_bytes(4, "big")
    nonce = os.urandom(NONCE_LEN)
    aad = header + case["context"].encode("utf-8")
    sealed = AESGCM(b64d(case["key"])).encrypt(nonce, b64d(case["plaintext"]), aad)
    return b64e(header + nonce + sealed)


def main():
    doc = json.load(sys.stdin)
    out = {
        "decrypted": [decrypt(c) for c in doc.get("decrypt", [])],
        "encrypted": [encrypt(c) for c in doc.get("encrypt", [])],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
