// A scripted jicofo: logs in as focus@auth.<domain> (SCRAM-SHA-1, with @xmpp/client over the
// server's WebSocket) and answers lib-jitsi-meet's conference requests, which reach it
// through the server's focus.<domain> proxy, the way jicofo does: it joins the room as the
// focus occupant (creating it; it is an admin of the MUC), unlocks it if the server left it
// locked, then answers ready='true' with its own JID. No media: nobody here sends any.
import { client, xml } from '@xmpp/client';
import WebSocket from 'ws';

globalThis.WebSocket ??= WebSocket;

const FOCUS_NS = 'http://jitsi.org/protocol/focus';
const MUC_NS = 'http://jabber.org/protocol/muc';
const MUC_USER_NS = 'http://jabber.org/protocol/muc#user';
const MUC_OWNER_NS = 'http://jabber.org/protocol/muc#owner';

/** Starts the scripted jicofo; resolves to { jid, requests, stop() }. */
export async function startScriptedJicofo({ httpPort, authDomain, password }) {
    const xmpp = client({
        service: `ws://127.0.0.1:${httpPort}/xmpp-websocket`,
        domain: authDomain,
        username: 'focus',
        password,
        resource: 'focus',
    });
    xmpp.on('error', () => {});
    const joined = new Map(); // room JID -> Promise of the self-presence
    const requests = [];

    function selfPresence(room) {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                xmpp.removeListener('stanza', on);
                reject(new Error(`jicofo: no self-presence from ${room}`));
            }, 10000);
            function on(st) {
                if (!st.is('presence') || !st.attrs.from?.startsWith(`${room}/`)) return;
                const x = st.getChild('x', MUC_USER_NS);
                const codes = x ? x.getChildren('status').map((s) => s.attrs.code) : [];
                if (st.attrs.type === 'error' || codes.includes('110')) {
                    clearTimeout(timer);
                    xmpp.removeListener('stanza', on);
                    if (st.attrs.type === 'error') reject(new Error(`jicofo: join of ${room} refused`));
                    else resolve(codes);
                }
            }
            xmpp.on('stanza', on);
        });
    }

    async function join(room) {
        const codes = selfPresence(room);
        await xmpp.send(xml('presence', { to: `${room}/focus` }, xml('x', { xmlns: MUC_NS })));
        if ((await codes).includes('201')) {
            await xmpp.iqCaller.request(
                xml('iq', { type: 'set', to: room },
                    xml('query', { xmlns: MUC_OWNER_NS }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' }))),
            );
        }
    }

    xmpp.iqCallee.set(FOCUS_NS, 'conference', async (ctx) => {
        const room = ctx.element.attrs.room;
        requests.push({ from: ctx.stanza.attrs.from, room });
        if (!joined.has(room)) joined.set(room, join(room));
        await joined.get(room);
        return xml('conference', { xmlns: FOCUS_NS, ready: 'true', room, focusjid: xmpp.jid.toString() });
    });

    const jid = await xmpp.start();
    return {
        jid: jid.toString(),
        requests,
        stop: () => xmpp.stop(),
    };
}
