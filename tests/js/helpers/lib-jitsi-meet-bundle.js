// The real Jitsi client library, lib-jitsi-meet, as the browser bundle `lib-jitsi-meet.min.js`.
//
// Jitsi publishes no lib-jitsi-meet on npm. The npm package @lyno/lib-jitsi-meet 2.6726.2 ships
// the bundle built from an upstream commit of December 2021 (strophe.js 1.4.2 inside); it
// cannot be `npm install`ed as a whole here (two dependencies point at GitHub), so the
// tarball is taken with `npm pack`, checked against the checksum pinned below, and the
// bundle extracted into tests/js/.cache. Nothing of it is committed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE = '@lyno/lib-jitsi-meet@2.6726.2';
const TARBALL = 'lyno-lib-jitsi-meet-2.6726.2.tgz';
const SHA256 = '7219c05db541cb1aa2064d1ba86837bf01d533f527aeaa7ae91f52265e72afcd';

const cache = join(dirname(fileURLToPath(import.meta.url)), '..', '.cache', 'lib-jitsi-meet');

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Fetches (once) and verifies the package; returns the path of lib-jitsi-meet.min.js. */
export function libJitsiMeetBundle() {
    mkdirSync(cache, { recursive: true });
    const tgz = join(cache, TARBALL);
    if (!existsSync(tgz)) {
        execFileSync('npm', ['pack', PACKAGE, '--pack-destination', cache, '--silent'], {
            stdio: ['ignore', 'ignore', 'inherit'],
        });
    }
    const got = sha256(tgz);
    if (got !== SHA256) {
        throw new Error(`${PACKAGE}: checksum ${got} is not the pinned ${SHA256}; delete ${cache}`);
    }
    const bundle = join(cache, 'package', 'lib-jitsi-meet.min.js');
    if (!existsSync(bundle)) {
        execFileSync('tar', ['-xzf', tgz, '-C', cache, 'package/lib-jitsi-meet.min.js']);
    }
    if (!readdirSync(join(cache, 'package')).includes('lib-jitsi-meet.min.js')) {
        throw new Error(`${PACKAGE}: no lib-jitsi-meet.min.js in the tarball`);
    }
    return bundle;
}
