"""Cross-implementation peer for sigra-core's TOTP module, built on pyotp.

Reads one JSON document on stdin, writes one on stdout. The document's "op" picks the job:

- "codes":     {"cases": [{"secret", "algorithm", "digits", "period", "times": [..]}]}
               -> {"codes": [[code per time] per case]}
- "random":    {"cases": [{"length", "algorithm", "digits", "period", "times": [..]}]}
               -> {"cases": [{"secret": pyotp.random_base32(length), "codes": [..]}]}
- "verify":    {"cases": [{"secret", "algorithm", "digits", "period", "time", "code"}]}
               -> {"valid": [bool]}  (pyotp's TOTP.verify, no extra window)
- "parse":     {"cases": [{"uri", "times": [..]}]}
               -> {"parsed": [{"secret", "issuer", "name", "digits", "algorithm", "period", "codes"}]}
- "provision": {"cases": [{"secret", "name", "issuer", "algorithm", "digits", "period", "times"}]}
               -> {"uris": [{"uri", "codes"}]}
"""

import datetime
import hashlib
import json
import sys

import pyotp

DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def utc(t):
    return datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)


def totp(case, secret=None, **extra):
    return pyotp.TOTP(
        secret if secret is not None else case["secret"],
        digits=case["digits"],
        digest=DIGESTS[case["algorithm"]],
        interval=case["period"],
        **extra,
    )


def codes(otp, times):
    # Both pyotp entry points: a Unix timestamp and an aware UTC datetime.
    out = []
    for t in times:
        by_int = otp.at(t)
        by_datetime = otp.at(utc(t))
        if by_int != by_datetime:
            raise SystemExit(f"pyotp disagrees with itself at {t}")
        out.append(by_int)
    return out


def main():
    doc = json.load(sys.stdin)
    op = doc["op"]
    cases = doc["cases"]
    if op == "codes":
        result = {"codes": [codes(totp(c), c["times"]) for c in cases]}
    elif op == "random":
        out = []
        for c in cases:
            secret = pyotp.random_base32(c["length"])
            out.append({"secret": secret, "codes": codes(totp(c, secret), c["times"])})
        result = {"cases": out}
    elif op == "verify":
        result = {"valid": [totp(c).verify(c["code"], for_time=utc(c["time"])) for c in cases]}
    elif op == "parse":
        out = []
        for c in cases:
            otp = pyotp.parse_uri(c["uri"])
            out.append(
                {
                    "secret": otp.secret,
                    "issuer": otp.issuer,
                    "name": otp.name,
                    "digits": otp.digits,
                    "algorithm": otp.digest().name.upper(),
                    "period": otp.interval,
                    "codes": codes(otp, c["times"]),
                }
            )
        result = {"parsed": out}
    elif op == "provision":
        out = []
        for c in cases:
            otp = totp(c)
            uri = otp.provisioning_uri(name=c["name"], issuer_name=c["issuer"])
            out.append({"uri": uri, "codes": codes(otp, c["times"])})
        result = {"uris": out}
    else:
        raise SystemExit(f"unknown op {op!r}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
