// Stream management (XEP-0198) with @xmpp/client over WebSocket against the real rookery
// binary: the client enables SM with resumption, its connection is cut by a relay while a
// TCP client keeps sending, @xmpp/client reconnects and resumes on its own, and every
// message arrives exactly once, in order, at the same JID.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, xml } from '@xmpp/client';
import WebSocket from 'ws';
import { startServer } from './helpers/server.js';
import { TcpClient } from './helpers/tcp-client.js';
import { startCutProxy } from './helpers/cut-proxy.js';

globalThis.WebSocket ??= WebSocket;

const SM = 'urn:xmpp:sm:3';

let srv;
let bob;

before(async () => {
    srv = await startServer();
    bob = new TcpClient(srv.c2s);
    await bob.login('bob', 'bob-pw', 'tcp');
});

after(async () => {
    bob?.close();
    const code = await srv?.stop();
    assert.equal(code, 0, 'rookery exits cleanly on SIGTERM');
});

/** Resolves when `emitter` emits `event` with an argument matching `pred`. */
function once(emitter, event, pred = () => true, ms = 10000) {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            emitter.removeListener(event, on);
            reject(new Error(`no ${event}`));
        }, ms);
        function on(arg) {
            if (pred(arg)) {
                clearTimeout(timer);
                emitter.removeListener(event, on);
                resolve(arg);
            }
        }
        emitter.on(event, on);
    });
}

test('@xmpp/client resumes a cut WebSocket session and gets every message once, in order', async () => {
    const http = new URL(srv.http);
    const proxy = await startCutProxy({ host: http.hostname, port: Number(http.port) });
    const xmpp = client({
        service: `ws://127.0.0.1:${proxy.port}/xmpp-websocket`,
        domain: 'localhost',
        resource: 'sm',
        username: 'alice',
        password: 'alice-pw',
    });
    xmpp.on('error', () => {});
    if (process.env.DEBUG_SM) {
        xmpp.on('element', (el) => console.error('IN ', el.toString()));
        xmpp.on('send', (el) => console.error('OUT', el.toString()));
        xmpp.on('status', (st) => console.error('STATUS', st));
    }
    const bodies = [];
    xmpp.on('stanza', (s) => {
        if (s.is('message') && s.getChildText('body')) {
            bodies.push(s.getChildText('body'));
        }
    });
    const enabled = once(xmpp, 'nonza', (el) => el.is('enabled', SM));
    const jid = (await xmpp.start()).toString();
    const en = await enabled;
    assert.equal(en.attrs.resume, 'true');
    assert.ok(en.attrs.id.length >= 32, en.attrs.id);

    const m1 = once(xmpp, 'stanza', (s) => s.getChildText('body') === 'm1');
    bob.send(`<message to='${jid}' type='chat'><body>m1</body></message>`);
    await m1;

    const resumed = once(xmpp.streamManagement, 'resumed');
    assert.equal(proxy.cut(), 1);
    for (const b of ['m2', 'm3', 'm4']) {
        bob.send(`<message to='${jid}' type='chat'><body>${b}</body></message>`);
    }
    await resumed;
    assert.equal(xmpp.jid.toString(), jid, 'the same JID after resumption');

    const m5 = once(xmpp, 'stanza', (s) => s.getChildText('body') === 'm5');
    bob.send(`<message to='${jid}' type='chat'><body>m5</body></message>`);
    await m5;
    assert.deepEqual(bodies, ['m1', 'm2', 'm3', 'm4', 'm5']);

    // The resumed stream sends as the same JID too.
    await xmpp.send(xml('message', { to: bob.jid, type: 'chat' }, xml('body', {}, 'back')));
    const got = await bob.waitFor(/<message[^>]*>(?:(?!<\/message>)[\s\S])*<body>back<\/body>/);
    assert.ok(got[0].includes(`from="${jid}"`) || got[0].includes(`from='${jid}'`), got[0]);
    await xmpp.stop();
    await proxy.close();
});
