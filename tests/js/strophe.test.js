// strophe.js over BOSH and over WebSocket against the real rookery binary: connect, SASL
// (ANONYMOUS and SCRAM with a registered account), bind, messages with a TCP client, and a
// MUC join.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './helpers/server.js';
import { TcpClient } from './helpers/tcp-client.js';
import { Strophe, $msg, $pres, stropheConnect, stropheDisconnect, nextStanza, bodyOf } from './helpers/strophe.js';

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

const transports = () => [
    ['BOSH', `${srv.http}/http-bind`],
    ['BOSH behind nginx-style query', `${srv.http}/http-bind?prefix=tenant&room=lobby&token=`],
    ['WebSocket', `${srv.ws}/xmpp-websocket`],
];

async function exchange(conn, label) {
    const me = conn.jid;
    // strophe → TCP
    conn.send($msg({ to: bob.jid, type: 'chat', id: `to-bob-${label}` }).c('body').t(`hello from ${label}`));
    const got = await bob.waitFor(new RegExp(`<message[^>]*from="${me.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*>.*?hello from ${label}</body>`));
    assert.ok(got);
    // TCP → strophe
    const incoming = nextStanza(conn, 'message', (m) => bodyOf(m) === `reply to ${label}`);
    bob.send(`<message to='${me}' type='chat'><body>reply to ${label}</body></message>`);
    const m = await incoming;
    assert.equal(Strophe.getBareJidFromJid(m.getAttribute('from')), 'bob@localhost');
}

test('strophe.js ANONYMOUS login, bind and messages over BOSH and WebSocket', async () => {
    for (const [label, service] of transports()) {
        const conn = await stropheConnect(service, 'localhost', null);
        assert.match(conn.jid, /^[0-9a-f]+@localhost\/.+/, `${label}: ${conn.jid}`);
        await exchange(conn, label.replace(/\W/g, ''));
        await stropheDisconnect(conn);
    }
});

test('strophe.js logs in to a registered account (SCRAM) over BOSH and WebSocket', async () => {
    for (const [label, service] of transports().filter(([l]) => !l.includes('nginx'))) {
        const conn = await stropheConnect(service, 'alice@localhost/strophe', 'alice-pw');
        assert.equal(conn.jid, 'alice@localhost/strophe', label);
        await exchange(conn, `alice${label}`);
        await stropheDisconnect(conn);
    }
});

test('strophe.js with a wrong password gets AUTHFAIL', async () => {
    await assert.rejects(stropheConnect(`${srv.http}/http-bind`, 'alice@localhost', 'wrong'), /status 4/);
});

test('strophe.js joins a MUC room over BOSH and WebSocket and sees its own groupchat message', async () => {
    for (const [label, service] of transports().filter(([l]) => !l.includes('nginx'))) {
        const conn = await stropheConnect(service, 'localhost', null);
        const room = `js-${label.toLowerCase()}@conference.localhost`;
        const self = nextStanza(conn, 'presence', (p) => {
            const statuses = [...p.getElementsByTagName('status')].map((s) => s.getAttribute('code'));
            return p.getAttribute('from') === `${room}/tester` && statuses.includes('110');
        });
        conn.send($pres({ to: `${room}/tester` }).c('x', { xmlns: 'http://jabber.org/protocol/muc' }));
        await self;
        const echo = nextStanza(conn, 'message', (m) => m.getAttribute('type') === 'groupchat' && bodyOf(m) === 'hi room');
        conn.send($msg({ to: room, type: 'groupchat' }).c('body').t('hi room'));
        const m = await echo;
        assert.equal(m.getAttribute('from'), `${room}/tester`);
        await stropheDisconnect(conn);
    }
});
