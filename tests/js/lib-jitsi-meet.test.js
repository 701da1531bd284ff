// The real Jitsi client library, lib-jitsi-meet (the bundle of @lyno/lib-jitsi-meet 2.6726.2,
// strophe.js 1.4.2 inside), in headless Chromium against `rookery --jitsi-env` with JWT
// authentication: the page and the bundle come from a local origin that proxies
// /xmpp-websocket and /http-bind to Rookery as docker-jitsi-meet's nginx does, and a
// scripted jicofo answers the conference requests. Covers: JWT login over WebSocket and
// BOSH, two participants in one conference, a token for another room refused at the join,
// every token refusal reason reaching CONNECTION_FAILED, and a cut WebSocket resumed
// without losing a message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { libJitsiMeetBundle } from './helpers/lib-jitsi-meet-bundle.js';
import { startJitsiOrigin } from './helpers/jitsi-origin.js';
import { externalJitsiRookery, startJitsiRookery, JITSI } from './helpers/jitsi-server.js';
import { startScriptedJicofo } from './helpers/scripted-jicofo.js';
import { mintJwt, now } from './helpers/jwt.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const HOSTS = { domain: JITSI.domain, muc: JITSI.muc, focus: JITSI.focus };

let origin;
let rookery;
let jicofo;
let browser;

before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM} (apt-get install chromium)`);
    const bundle = libJitsiMeetBundle();
    // With JITSI_EXTERNAL_HTTP_PORT the server is already running (the container image, see
    // container/check.sh) with JWT_ENABLE_DOMAIN_VERIFICATION=1 and PUBLIC_URL on JITSI_ORIGIN_PORT.
    const external = externalJitsiRookery();
    origin = await startJitsiOrigin({
        '/': { type: 'text/html', path: join(here, 'page', 'index.html') },
        '/harness.js': { type: 'text/javascript', path: join(here, 'page', 'harness.js') },
        '/libs/lib-jitsi-meet.min.js': { type: 'text/javascript', path: bundle },
        '/libs/jquery.min.js': {
            type: 'text/javascript',
            path: join(here, 'node_modules', 'jquery', 'dist', 'jquery.min.js'),
        },
    }, external?.originPort);
    // Domain verification on: the token's `sub` must be the XMPP domain, and a token
    // without `sub` is refused at login.
    rookery = external ?? (await startJitsiRookery(origin.url, { JWT_ENABLE_DOMAIN_VERIFICATION: '1' }));
    origin.setTarget(rookery.httpPort);
    jicofo = await startScriptedJicofo({
        httpPort: rookery.httpPort,
        authDomain: JITSI.authDomain,
        password: JITSI.focusPassword,
    });
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
        ],
    });
});

after(async () => {
    await browser?.close();
    await jicofo?.stop();
    await origin?.close();
    if (rookery?.stop) {
        assert.equal(await rookery.stop(), 0, 'rookery exits cleanly on SIGTERM');
    }
});

/** A token as a Jitsi token issuer makes it; `changes` override claims (`null` removes). */
function token(room, changes = {}, opts = {}) {
    return mintJwt(
        {
            iss: JITSI.appId,
            aud: 'jitsi',
            sub: JITSI.domain,
            room,
            exp: now() + 3600,
            context: { user: { id: `user-${room}`, name: `User of ${room}` } },
            ...changes,
        },
        opts.secret ?? JITSI.appSecret,
        opts,
    );
}

/** A fresh browser context (its own storage) with the harness page loaded. */
async function openPage() {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${origin.url}/`);
    await page.waitForFunction(() => typeof window.harness === 'object');
    return { page, errors, close: () => context.close() };
}

const services = {
    websocket: () => `ws://127.0.0.1:${origin.port}/xmpp-websocket`,
    bosh: () => `${origin.url}/http-bind`,
};

function connect(page, transport, room, jwt) {
    return page.evaluate((args) => window.harness.connect(args), {
        service: services[transport](),
        token: jwt,
        room,
        hosts: HOSTS,
    });
}

for (const transport of ['websocket', 'bosh']) {
    test(`lib-jitsi-meet over ${transport}: a valid JWT connects on the token host`, async () => {
        const room = `login-${transport}`;
        const p = await openPage();
        try {
            const r = await connect(p.page, transport, room, token(room));
            assert.equal(r.ok, true, JSON.stringify(r));
            assert.match(r.jid, new RegExp(`^[^@]+@${JITSI.domain}/.+`));
        } finally {
            await p.close();
        }
    });

    test(`lib-jitsi-meet over ${transport}: two participants join one conference and see each other`, async () => {
        const room = `standup-${transport}`;
        const [a, b] = [await openPage(), await openPage()];
        try {
            for (const [p, user] of [[a, 'alice'], [b, 'bob']]) {
                const c = await connect(p.page, transport, room, token(room, { context: { user: { id: user, name: user } } }));
                assert.equal(c.ok, true, JSON.stringify(c));
                const j = await p.page.evaluate(([r, n]) => window.harness.join(r, n), [room, user]);
                assert.equal(j.ok, true, `${user}: ${JSON.stringify(j)}`);
            }
            assert.deepEqual(await a.page.evaluate(() => window.harness.waitForParticipants(1)), ['bob']);
            assert.deepEqual(await b.page.evaluate(() => window.harness.waitForParticipants(1)), ['alice']);
            await b.page.evaluate(() => window.harness.send('hello from bob'));
            assert.deepEqual(await a.page.evaluate(() => window.harness.waitForMessages(1)), ['hello from bob']);
            assert.ok(
                jicofo.requests.some((r) => r.room === `${room}@${JITSI.muc}`),
                'the conference request reached jicofo through focus.meet.jitsi',
            );
            assert.deepEqual([...a.errors, ...b.errors], []);
        } finally {
            await a.close();
            await b.close();
        }
    });
}

test('lib-jitsi-meet: a token for another room connects but the join fails with notAllowed', async () => {
    const p = await openPage();
    try {
        const c = await connect(p.page, 'websocket', 'planning', token('other-room'));
        assert.equal(c.ok, true, JSON.stringify(c));
        const j = await p.page.evaluate(() => window.harness.join('planning', 'mallory'));
        assert.deepEqual(j, { ok: false, error: 'conference.connectionError.notAllowed' });
    } finally {
        await p.close();
    }
});

// Every refusal reason of the token docs, as lib-jitsi-meet reports it: CONNECTION_FAILED
// with connection.passwordRequired and the server's reason text, unchanged.
const refusals = [
    ['a bad signature', () => token('r', {}, { secret: 'not-the-secret' }), 'Invalid signature'],
    ['an expired token', () => token('r', { exp: now() - 60 }), 'Not acceptable by exp'],
    ['a token not valid yet', () => token('r', { nbf: now() + 600 }), 'Not acceptable by nbf'],
    ['another issuer', () => token('r', { iss: 'someone-else' }), "invalid 'iss' claim"],
    ['no audience', () => token('r', { aud: null }), "'aud' claim is missing"],
    ['HS512 on an HS256 host', () => token('r', {}, { header: { alg: 'HS512' }, hmac: 'sha512' }), 'Invalid or incorrect alg'],
    ['no room claim', () => token('r', { room: null }), "'room' claim is missing"],
    ['no sub with domain verification', () => token('r', { sub: null }), "'sub' claim is missing"],
    ['no token at all', () => null, 'token required'],
];

for (const [what, jwt, reason] of refusals) {
    test(`lib-jitsi-meet over websocket: ${what} fails the connection with "${reason}"`, async () => {
        const p = await openPage();
        try {
            const r = await connect(p.page, 'websocket', 'r', jwt());
            assert.deepEqual(r, { ok: false, error: 'connection.passwordRequired', message: reason });
        } finally {
            await p.close();
        }
    });
}

// Over BOSH, Strophe.js hands lib-jitsi-meet its own re-serialisation of the response body,
// which escapes ' as &apos; whatever bytes the server sent (checked: Rookery sends a bare
// '): the reason arrives with that one client-side change.
for (const [what, jwt, reason] of refusals) {
    test(`lib-jitsi-meet over bosh: ${what} fails the connection with "${reason}"`, async () => {
        const p = await openPage();
        try {
            const r = await connect(p.page, 'bosh', 'r', jwt());
            const asStropheShowsIt = reason.replaceAll("'", '&apos;');
            assert.deepEqual(r, { ok: false, error: 'connection.passwordRequired', message: asStropheShowsIt });
        } finally {
            await p.close();
        }
    });
}

test('lib-jitsi-meet: a cut WebSocket on the token host is resumed and loses no message', async () => {
    const room = 'resume';
    const [a, b] = [await openPage(), await openPage()];
    try {
        const tokens = { alice: token(room, { context: { user: { id: 'alice', name: 'alice' } } }), bob: token(room, { context: { user: { id: 'bob', name: 'bob' } } }) };
        for (const [p, user] of [[a, 'alice'], [b, 'bob']]) {
            const c = await connect(p.page, 'websocket', room, tokens[user]);
            assert.equal(c.ok, true, JSON.stringify(c));
            const j = await p.page.evaluate(([r, n]) => window.harness.join(r, n), [room, user]);
            assert.equal(j.ok, true, JSON.stringify(j));
        }
        await a.page.evaluate(() => window.harness.waitForParticipants(1));
        const jidBefore = await a.page.evaluate(() => window.harness.jid());
        // Stream management must be on before the cut, or there is nothing to resume.
        await a.page.waitForFunction(() => window.harness.smEnabled());

        const isAlice = (url) => url.includes(tokens.alice);
        assert.equal(origin.cutWebSockets(isAlice), 1, "alice's WebSocket was cut");
        const texts = Array.from({ length: 10 }, (_, i) => `while cut ${i}`);
        for (const t of texts) {
            await b.page.evaluate((x) => window.harness.send(x), t);
        }
        assert.deepEqual(await a.page.evaluate((n) => window.harness.waitForMessages(n), texts.length), texts);

        const urls = origin.webSockets().filter(isAlice);
        assert.equal(urls.length, 2, `one reconnection: ${urls}`);
        assert.match(urls[1], /[?&]previd=[\w-]+/, 'the reconnection asks to resume');
        assert.equal(await a.page.evaluate(() => window.harness.jid()), jidBefore, 'same JID after resumption');
        // lib-jitsi-meet reports the resumed connection as established again, same JID, and
        // nothing failed or disconnected.
        assert.deepEqual(
            await a.page.evaluate(() => window.harness.events()),
            [['established', { ok: true, jid: jidBefore }]],
        );
        // Still live both ways after the resumption.
        await a.page.evaluate(() => window.harness.send('back from alice'));
        assert.deepEqual(await b.page.evaluate(() => window.harness.waitForMessages(1)), ['back from alice']);
        // And nothing came twice: the next message from bob is the eleventh alice sees.
        await b.page.evaluate(() => window.harness.send('after resumption'));
        assert.deepEqual(
            await a.page.evaluate(() => window.harness.waitForMessages(11)),
            [...texts, 'after resumption'],
        );
    } finally {
        await a.close();
        await b.close();
    }
});
