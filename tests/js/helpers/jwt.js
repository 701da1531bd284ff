// Mints JSON Web Tokens the way a Jitsi token issuer does (HS256 by default), written here
// with node:crypto so that the server's own minting is not what the tests rely on.
import { createHmac } from 'node:crypto';

const b64url = (data) => Buffer.from(data).toString('base64url');

/**
 * Signs `claims` (an object; `null` values are left out) with `secret`.
 * `header` overrides the JOSE header (e.g. { alg: 'HS512' }); `sign` the HMAC algorithm.
 */
export function mintJwt(claims, secret, { header = {}, hmac = 'sha256' } = {}) {
    const head = { alg: 'HS256', typ: 'JWT', ...header };
    const body = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== null));
    const signingInput = `${b64url(JSON.stringify(head))}.${b64url(JSON.stringify(body))}`;
    const signature = createHmac(hmac, secret).update(signingInput).digest('base64url');
    return `${signingInput}.${signature}`;
}

/** Seconds since the epoch. */
export const now = () => Math.floor(Date.now() / 1000);
