#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) on loopback for sigra's mail tests.

Usage: smtp_sink.py --dir DIR [--tls none|starttls|implicit] [--ca-out FILE] [--auth USER:PASS]
                    [--port N]

Binds 127.0.0.1 on a free port (or --port N) and prints one JSON line, {"port": N}, once it accepts
connections. Every message it receives is decoded with Python's `email` package and written
to DIR as NNNNNN.json (written to a temporary name, then renamed, so a reader never sees half
a file):

    seq, peer [host, port], tls, auth_user, mail_from, rcpt_tos, smtputf8,
    headers [[name, decoded value], ...], subject, from, to, message_id, kind,
    content_type, text, html, raw

Recipients whose local part starts with "refuse" are refused with 550 (permanent). A local
part "busyN…" (busy2.ann) is refused with 451 (temporary) the first N times that address is
tried, then accepted. A message to a local part starting with "slow" is recorded, then
answered only after SLOW_SECONDS (a client killed meanwhile never learns it was accepted).
With --tls the sink makes a throwaway CA and a certificate for localhost / 127.0.0.1 signed
by it, and writes the CA (PEM) to --ca-out for the client to trust. With --auth, AUTH PLAIN/LOGIN is required (also
without TLS: the sink only listens on loopback).

The sink exits when its stdin closes, so it never outlives the test that started it.
Exit code 3 means aiosmtpd (or cryptography, for TLS) is not installed.
"""

import argparse
import asyncio
import datetime
import ipaddress
import json
import os
import re
import ssl
import sys
import tempfile
import threading
from email import policy
from email.parser import BytesParser

SLOW_SECONDS = 20

try:
    from aiosmtpd.smtp import SMTP, AuthResult
except ImportError as exc:  # the peer is missing: the Rust side skips or fails
    print(f"aiosmtpd is not installed: {exc}", file=sys.stderr)
    sys.exit(3)


def make_tls(ca_out):
    """A CA and a server certificate for localhost/127.0.0.1; returns an SSLContext."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as exc:
        print(f"cryptography is not installed: {exc}", file=sys.stderr)
        sys.exit(3)

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sigra test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    with open(ca_out, "wb") as f:
        f.write(ca_cert.public_bytes(serialization.Encoding.PEM))

    workdir = tempfile.mkdtemp(prefix="sigra-smtp-tls-")
    cert_path = os.path.join(workdir, "cert.pem")
    key_path = os.path.join(workdir, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    os.remove(cert_path)
    os.remove(key_path)
    os.rmdir(workdir)
    return context


def decode(raw):
    """The parts of a message a test looks at, decoded."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    return {
        "headers": [[name, str(value)] for name, value in msg.items()],
        "subject": str(msg["subject"]) if msg["subject"] is not None else None,
        "from": str(msg["from"]) if msg["from"] is not None else None,
        "to": str(msg["to"]) if msg["to"] is not None else None,
        "message_id": str(msg["message-id"]) if msg["message-id"] is not None else None,
        "kind": str(msg["x-sigra-mail-kind"]) if msg["x-sigra-mail-kind"] is not None else None,
        "content_type": msg.get_content_type(),
        "text": text_part.get_content() if text_part is not None else None,
        "html": html_part.get_content() if html_part is not None else None,
    }


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.seq = 0
        self.busy_tries = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local.startswith("refuse"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such user"
        busy = re.match(r"busy(\d+)", local)
        if busy:
            tries = self.busy_tries.get(address, 0) + 1
            self.busy_tries[address] = tries
            if tries <= int(busy.group(1)):
                return f"451 4.3.0 <{address}>: mailbox busy, try again later (try {tries})"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.seq += 1
        raw = envelope.original_content or b""
        record = {
            "seq": self.seq,
            "peer": list(session.peer) if session.peer else None,
            "tls": session.ssl is not None
            or (
                server.transport is not None
                and server.transport.get_extra_info("sslcontext") is not None
            ),
            "auth_user": (
                session.auth_data.login.decode("utf-8", "replace")
                if session.authenticated and session.auth_data is not None
                else None
            ),
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "smtputf8": bool(envelope.smtp_utf8),
            "raw": raw.decode("utf-8", "replace"),
        }
        try:
            record.update(decode(raw))
        except Exception as exc:  # keep the raw message; the test will see what failed
            record["decode_error"] = repr(exc)
        name = f"{self.seq:06d}.json"
        tmp = os.path.join(self.directory, f".{name}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(tmp, os.path.join(self.directory, name))
        if any(rcpt.split("@", 1)[0].startswith("slow") for rcpt in envelope.rcpt_tos):
            # Recorded, but the answer comes late: a client killed meanwhile never learns
            # that the message was accepted.
            await asyncio.sleep(SLOW_SECONDS)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--ca-out")
    parser.add_argument("--auth", help="USER:PASS required to send")
    parser.add_argument("--port", type=int, default=0, help="listen on this port (default: a free one)")
    args = parser.parse_args()

    tls_context = None
    if args.tls != "none":
        if not args.ca_out:
            parser.error("--tls needs --ca-out")
        tls_context = make_tls(args.ca_out)

    authenticator = None
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                auth_data.login == user.encode("utf-8")
                and auth_data.password == password.encode("utf-8")
            )
            # handled=False: aiosmtpd answers 535 itself on failure.
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    handler = Handler(args.dir)

    def factory():
        kwargs = {
            "enable_SMTPUTF8": True,
            "hostname": "sink.localhost",
            "timeout": 60,
        }
        if args.tls == "starttls":
            kwargs.update(tls_context=tls_context, require_starttls=True)
        if authenticator is not None:
            kwargs.update(
                authenticator=authenticator, auth_required=True, auth_require_tls=False
            )
        return SMTP(handler, **kwargs)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ssl_arg = tls_context if args.tls == "implicit" else None
    server = loop.run_until_complete(
        loop.create_server(factory, host="127.0.0.1", port=args.port, ssl=ssl_arg)
    )
    port = server.sockets[0].getsockname()[1]

    stop = loop.create_future()

    def watch_stdin():
        try:
            sys.stdin.buffer.read()
        finally:
            loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result(None))

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(json.dumps({"port": port}), flush=True)
    try:
        loop.run_until_complete(stop)
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


if __name__ == "__main__":
    main()
