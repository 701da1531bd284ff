// Starts the real `rookery` binary exactly as docker-jitsi-meet would run it: `--jitsi-env`
// with the stack's environment variables (JWT authentication here), on free loopback ports.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BIN, stopServer, waitForListeners } from './server.js';

/** A port that was free a moment ago (the server binds it right after). */
async function freePort() {
    const s = createServer();
    await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
    const { port } = s.address();
    await new Promise((resolve) => s.close(resolve));
    return port;
}

/**
 * The docker-jitsi-meet variables of these tests (secrets are test values; container/check.sh
 * starts the container image with the same ones).
 */
export const JITSI = {
    domain: 'meet.jitsi',
    muc: 'muc.meet.jitsi',
    focus: 'focus.meet.jitsi',
    authDomain: 'auth.meet.jitsi',
    appId: 'jitsi-test-app',
    appSecret: 'jitsi-test-secret',
    focusPassword: 'focus-test-password',
};

/**
 * Starts `rookery --jitsi-env`; `publicUrl` is the web origin (allowed to use WebSocket and
 * BOSH), `extraEnv` adds or overrides variables. Resolves to { c2sPort, httpPort, stop() }.
 */
export async function startJitsiRookery(publicUrl, extraEnv = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'rookery-jitsi-'));
    const [c2sPort, httpPort, componentPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
        PATH: process.env.PATH,
        ENABLE_AUTH: '1',
        AUTH_TYPE: 'jwt',
        JWT_APP_ID: JITSI.appId,
        JWT_APP_SECRET: JITSI.appSecret,
        JICOFO_AUTH_PASSWORD: JITSI.focusPassword,
        JVB_AUTH_PASSWORD: 'jvb-test-password',
        PUBLIC_URL: publicUrl,
        XMPP_PORT: String(c2sPort),
        PROSODY_HTTP_PORT: String(httpPort),
        ROOKERY_COMPONENT_PORT: String(componentPort),
        ROOKERY_DATA_DIR: join(dir, 'data'),
        LOG_LEVEL: process.env.ROOKERY_JS_LOG ? 'debug' : 'warn',
        ...extraEnv,
    };
    const logs = process.env.ROOKERY_JS_LOG ? 'inherit' : 'ignore';
    const proc = spawn(BIN, ['--jitsi-env'], { env, stdio: ['ignore', 'pipe', logs] });
    const found = await waitForListeners(proc, ['C2s', 'Http']);
    return {
        c2sPort: found.C2s.port,
        httpPort: found.Http.port,
        stop: () => stopServer(proc, dir),
    };
}

/**
 * A Rookery started elsewhere (container/check.sh: the container image, its HTTP port
 * published on loopback) when JITSI_EXTERNAL_HTTP_PORT is set: { httpPort, originPort }, the
 * origin port being the one its PUBLIC_URL names (JITSI_ORIGIN_PORT). Otherwise null.
 */
export function externalJitsiRookery() {
    const http = process.env.JITSI_EXTERNAL_HTTP_PORT;
    if (!http) return null;
    const origin = process.env.JITSI_ORIGIN_PORT;
    if (!origin) throw new Error('JITSI_EXTERNAL_HTTP_PORT needs JITSI_ORIGIN_PORT (the PUBLIC_URL port)');
    return { httpPort: Number(http), originPort: Number(origin) };
}
