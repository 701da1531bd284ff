// @xmpp/client over WebSocket against the real rookery binary: ANONYMOUS and a registered
// account, bind, messages with a TCP client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, xml } from '@xmpp/client';
import WebSocket from 'ws';
import { startServer } from './helpers/server.js';
import { TcpClient } from './helpers/tcp-client.js';

// Node 20 has no global WebSocket; @xmpp/websocket uses the global one.
globalThis.WebSocket ??= WebSocket;

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

function nextMessage(xmpp, pred, ms = 10000) {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            xmpp.removeListener('stanza', on);
            reject(new Error('no matching message'));
        }, ms);
        function on(stanza) {
            if (stanza.is('message') && pred(stanza)) {
                clearTimeout(timer);
                xmpp.removeListener('stanza', on);
                resolve(stanza);
            }
        }
        xmpp.on('stanza', on);
    });
}

async function roundTrip(xmpp, label) {
    const me = xmpp.jid.toString();
    await xmpp.send(xml('message', { to: bob.jid, type: 'chat' }, xml('body', {}, `hi from ${label}`)));
    await bob.waitFor(new RegExp(`hi from ${label}</body>`));
    const incoming = nextMessage(xmpp, (m) => m.getChildText('body') === `back to ${label}`);
    bob.send(`<message to='${me}' type='chat'><body>back to ${label}</body></message>`);
    const m = await incoming;
    assert.equal(m.attrs.from, bob.jid);
}

for (const [label, creds] of [
    ['anonymous', {}],
    ['alice', { username: 'alice', password: 'alice-pw' }],
]) {
    test(`@xmpp/client over WebSocket: ${label} login, bind, messages with a TCP client`, async () => {
        const xmpp = client({ service: `${srv.ws}/xmpp-websocket`, domain: 'localhost', resource: 'xc', ...creds });
        xmpp.on('error', () => {});
        const jid = await xmpp.start();
        if (label === 'alice') {
            assert.equal(jid.toString(), 'alice@localhost/xc');
        } else {
            assert.match(jid.toString(), /^[0-9a-f]+@localhost\/xc$/);
        }
        await roundTrip(xmpp, label);
        await xmpp.stop();
    });
}
