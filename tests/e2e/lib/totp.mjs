// An authenticator app in a few lines, for specs that turn on two-factor authentication: the
// codes come from the base32 secret the page shows, computed here with Node's crypto and no
// help from the server (RFC 4226 HOTP, RFC 6238 TOTP: HMAC-SHA1, 6 digits, 30-second steps,
// the parameters every authenticator app assumes for an otpauth:// URI without others).

import { createHmac } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The bytes of an RFC 4648 base32 string (case, spaces, dashes and `=` padding ignored). */
export function base32Decode(text) {
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${JSON.stringify(char)} in ${JSON.stringify(text)}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 HOTP: the `digits`-digit code for `counter` under the key `key` (bytes). */
export function hotp(key, counter, digits = 6) {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** Seconds in one TOTP time step. */
export const TOTP_STEP_SECONDS = 30;

/** The TOTP time step (counter) for `ms` milliseconds since the epoch (now by default). */
export function timeStep(ms = Date.now()) {
  return Math.floor(ms / 1000 / TOTP_STEP_SECONDS);
}

/** The code an authenticator app with the base32 `secret` shows during time step `step`. */
export function totp(secret, step = timeStep(), digits = 6) {
  return hotp(base32Decode(secret), step, digits);
}

// RFC 6238 appendix B (SHA-1, T = 59 s, 8 digits): a wrong implementation fails on import,
// before it can blame the server.
{
  const key = base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'); // "12345678901234567890"
  const got = [hotp(key, timeStep(59_000), 8), hotp(key, timeStep(1_111_111_109_000), 8)];
  if (got[0] !== '94287082' || got[1] !== '07081804') {
    throw new Error(`lib/totp.mjs disagrees with RFC 6238's test vectors: ${got}`);
  }
}
