// Starts the real `rookery` binary (ROOKERY_BIN, else target/debug/rookery) on loopback
// port 0 with a temporary config and data directory, registers accounts through the CLI,
// and reads the bound addresses from the "rookery listening: KIND on ADDR" lines.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.ROOKERY_BIN || join(here, '..', '..', '..', 'target', 'debug', 'rookery');

const CONFIG = (data) => `
data_dir = "${data}"
allow_unencrypted_plain_auth = true
[c2s]
listen = ["127.0.0.1:0"]
[http]
listen = ["127.0.0.1:0"]
[[host]]
domain = "localhost"
authentication = "internal_hashed"
allow_anonymous = true
[[muc]]
domain = "conference.localhost"
muc_room_locking = false
`;

/** Starts a server; resolves to { c2s: {host, port}, http: 'http://127.0.0.1:PORT', stop() }. */
export async function startServer(accounts = [['alice', 'alice-pw'], ['bob', 'bob-pw']]) {
    const dir = mkdtempSync(join(tmpdir(), 'rookery-js-'));
    const cfg = join(dir, 'rookery.toml');
    writeFileSync(cfg, CONFIG(join(dir, 'data')));
    for (const [user, pw] of accounts) {
        execFileSync(BIN, ['--config', cfg, 'register', user, 'localhost', pw], { stdio: 'ignore' });
    }
    // The server's log goes to stderr; show it only when asked (ROOKERY_JS_LOG=1).
    const logs = process.env.ROOKERY_JS_LOG ? 'inherit' : 'ignore';
    const proc = spawn(BIN, ['--config', cfg], { stdio: ['ignore', 'pipe', logs] });
    const found = await waitForListeners(proc, ['C2s', 'Http']);
    return {
        c2s: found.C2s,
        http: `http://${found.Http.host}:${found.Http.port}`,
        ws: `ws://${found.Http.host}:${found.Http.port}`,
        stop: () => stopServer(proc, dir),
    };
}

/**
 * Resolves once the server printed a "rookery listening: KIND on ADDR" line for each of
 * `kinds`, to { KIND: { host, port } }.
 */
export function waitForListeners(proc, kinds) {
    const found = {};
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('rookery did not report its listeners')), 30000);
        proc.once('exit', (code) => reject(new Error(`rookery exited early with ${code}`)));
        createInterface({ input: proc.stdout }).on('line', (line) => {
            const m = /rookery listening: (\w+) on ([\d.]+):(\d+)/.exec(line);
            if (m) {
                found[m[1]] = { host: m[2], port: Number(m[3]) };
            }
            if (kinds.every((k) => found[k])) {
                clearTimeout(timer);
                resolve(found);
            }
        });
    });
}

/** SIGTERM, wait for the exit, remove the scratch directory; resolves to the exit code. */
export async function stopServer(proc, dir) {
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    const code = await exited;
    rmSync(dir, { recursive: true, force: true });
    return code;
}
