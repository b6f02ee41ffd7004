"""JWT peer for tests/tests/cross_jwt.rs: PyJWT + cryptography as an independent implementation.

Reads one JSON document on stdin, {"tasks": [task, ...]}, and writes {"results": [...]}, one
result per task, in order. Tasks:

  {"op": "keys"}
      Fresh key pairs: {"ed25519"|"p256"|"rsa": {"private": PEM, "public": PEM}}.
  {"op": "verify", "token", "alg", "key", "iss", "aud", "typ"}
      PyJWT decode with algorithms=[alg], the issuer and audience checks, exp/iat/iss/aud/sub/jti
      required, then `typ` compared. -> {"ok": true, "claims": {...}} or {"ok": false, "error"}.
  {"op": "sign", "alg", "key", "claims", "headers"?}
      PyJWT encode. -> {"token"}.
  {"op": "none", "claims", "spelling", "signature"?}
      An unsigned token whose header says alg=<spelling>. -> {"token"}.
  {"op": "confusion", "claims", "public_pem", "kid"?}
      HS256 over header.payload with the public key PEM's bytes as the HMAC secret (what an
      attacker does against libraries that let the header pick the algorithm). -> {"token"}.
  {"op": "tamper_payload", "token", "set"}
      Re-encodes the payload with the claims in `set` changed, keeping the signature. -> {"token"}.
  {"op": "tamper_signature", "token"}
      Flips one bit of the signature. -> {"token"}.

A key is {"secret": base64url} (HS256) or {"pem": "..."} (everything else).
"""

import base64
import hashlib
import hmac
import json
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_of(spec):
    if "secret" in spec:
        return b64d(spec["secret"])
    return spec["pem"]


def pems(private):
    return {
        "private": private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "public": private.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode(),
    }


def compact(header: dict, claims: dict) -> str:
    h = b64e(json.dumps(header, separators=(",", ":")).encode())
    p = b64e(json.dumps(claims, separators=(",", ":")).encode())
    return f"{h}.{p}"


def run(task):
    op = task["op"]
    if op == "keys":
        return {
            "ed25519": pems(ed25519.Ed25519PrivateKey.generate()),
            "p256": pems(ec.generate_private_key(ec.SECP256R1())),
            "rsa": pems(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        }
    if op == "verify":
        try:
            claims = jwt.decode(
                task["token"],
                key_of(task["key"]),
                algorithms=[task["alg"]],
                issuer=task["iss"],
                audience=task["aud"],
                options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
            )
        except Exception as e:  # noqa: BLE001 - any refusal is an answer
            return {"ok": False, "error": f"{type(e).__name__}: {e}"}
        if claims.get("typ") != task["typ"]:
            return {"ok": False, "error": f"wrong typ {claims.get('typ')!r}"}
        return {"ok": True, "claims": claims}
    if op == "sign":
        token = jwt.encode(
            task["claims"],
            key_of(task["key"]),
            algorithm=task["alg"],
            headers=task.get("headers"),
        )
        return {"token": token}
    if op == "none":
        signing_input = compact({"alg": task["spelling"], "typ": "JWT"}, task["claims"])
        return {"token": f"{signing_input}.{task.get('signature', '')}"}
    if op == "confusion":
        header = {"alg": "HS256", "typ": "JWT"}
        if task.get("kid"):
            header["kid"] = task["kid"]
        signing_input = compact(header, task["claims"])
        mac = hmac.new(task["public_pem"].encode(), signing_input.encode(), hashlib.sha256)
        return {"token": f"{signing_input}.{b64e(mac.digest())}"}
    if op == "tamper_payload":
        header, payload, signature = task["token"].split(".")
        claims = json.loads(b64d(payload))
        claims.update(task["set"])
        payload = b64e(json.dumps(claims, separators=(",", ":")).encode())
        return {"token": f"{header}.{payload}.{signature}"}
    if op == "tamper_signature":
        header, payload, signature = task["token"].split(".")
        raw = bytearray(b64d(signature))
        raw[len(raw) // 2] ^= 0x01
        return {"token": f"{header}.{payload}.{b64e(bytes(raw))}"}
    raise ValueError(f"unknown op {op!r}")


def main():
    doc = json.load(sys.stdin)
    json.dump({"results": [run(task) for task in doc["tasks"]]}, sys.stdout)


if __name__ == "__main__":
    main()
