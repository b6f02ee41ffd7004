"""Cross-implementation peer for sigra-core's password module, built on argon2-cffi and bcrypt.

Reads one JSON document on stdin, writes one on stdout. The document's "op" picks the job:

- "argon2_verify": {"cases": [{"hash", "password"}]}
                   -> {"results": [{"valid": bool, "error": str|null, "params": {...}|null}]}
                   (argon2-cffi's PasswordHasher.verify; "params" from extract_parameters)
- "argon2_hash":   {"cases": [{"password", "params": {"memory_cost", "time_cost", "parallelism",
                    "type": "id"|"i"|"d"} | null}]}   (null: argon2-cffi's defaults)
                   -> {"hashes": [str]}
- "bcrypt_hash":   {"cases": [{"password", "cost", "prefix": "2a"|"2b"|"2y"}]}
                   -> {"hashes": [str]}
- "bcrypt_verify": {"cases": [{"hash", "password"}]}
                   -> {"results": [{"valid": bool, "error": str|null}]}

Passwords travel as JSON strings and are encoded as UTF-8, as sigra-core does.
"""

import json
import sys

import argon2
import bcrypt
from argon2.exceptions import VerificationError, VerifyMismatchError

TYPES = {"id": argon2.Type.ID, "i": argon2.Type.I, "d": argon2.Type.D}


def argon2_verify(case):
    try:
        params = argon2.extract_parameters(case["hash"])
        params = {
            "type": params.type.name,
            "version": params.version,
            "memory_cost": params.memory_cost,
            "time_cost": params.time_cost,
            "parallelism": params.parallelism,
            "salt_len": params.salt_len,
            "hash_len": params.hash_len,
        }
    except Exception as e:  # noqa: BLE001 - report any parse failure
        params = None
        parse_error = f"{type(e).__name__}: {e}"
    else:
        parse_error = None
    try:
        valid = argon2.PasswordHasher().verify(case["hash"], case["password"])
        return {"valid": bool(valid), "error": None, "params": params}
    except VerifyMismatchError:
        return {"valid": False, "error": None, "params": params}
    except (VerificationError, argon2.exceptions.InvalidHashError) as e:
        return {"valid": False, "error": parse_error or f"{type(e).__name__}: {e}", "params": params}


def argon2_hash(case):
    params = case.get("params")
    if params is None:
        hasher = argon2.PasswordHasher()
    else:
        hasher = argon2.PasswordHasher(
            time_cost=params["time_cost"],
            memory_cost=params["memory_cost"],
            parallelism=params["parallelism"],
            type=TYPES[params.get("type", "id")],
        )
    return hasher.hash(case["password"])


def bcrypt_hash(case):
    prefix = case.get("prefix", "2b")
    # bcrypt's gensalt makes $2a$ and $2b$ salts; $2y$ (PHP's name for the same algorithm)
    # is accepted by hashpw as a salt prefix.
    salt = bcrypt.gensalt(case["cost"], prefix=b"2a" if prefix == "2a" else b"2b")
    if prefix == "2y":
        salt = b"$2y$" + salt[4:]
    return bcrypt.hashpw(case["password"].encode(), salt).decode()


def bcrypt_verify(case):
    try:
        valid = bcrypt.checkpw(case["password"].encode(), case["hash"].encode())
        return {"valid": bool(valid), "error": None}
    except ValueError as e:
        return {"valid": False, "error": str(e)}


def main():
    doc = json.load(sys.stdin)
    op = doc["op"]
    cases = doc["cases"]
    if op == "argon2_verify":
        out = {"results": [argon2_verify(c) for c in cases]}
    elif op == "argon2_hash":
        out = {"hashes": [argon2_hash(c) for c in cases]}
    elif op == "bcrypt_hash":
        out = {"hashes": [bcrypt_hash(c) for c in cases]}
    elif op == "bcrypt_verify":
        out = {"results": [bcrypt_verify(c) for c in cases]}
    else:
        raise SystemExit(f"unknown op {op!r}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
