// strophe.js in Node: its Node build installs the DOM (@xmldom/xmldom) and WebSocket (ws)
// globals; BOSH also needs an XMLHttpRequest, installed here first.
import { installXhr } from './xhr.js';
import { Strophe, $msg, $pres } from 'strophe.js';

installXhr();
// Strophe logs every transport step at debug level to the console; keep warnings only.
Strophe.setLogLevel(Strophe.LogLevel.WARN);

export { Strophe, $msg, $pres };

/** Connects and authenticates; resolves to the connection once CONNECTED (bound). */
export function stropheConnect(service, jid, password) {
    return new Promise((resolve, reject) => {
        const conn = new Strophe.Connection(service);
        const timer = setTimeout(() => reject(new Error(`strophe did not connect to ${service}`)), 20000);
        conn.connect(jid, password, (status, condition) => {
            const S = Strophe.Status;
            if (status === S.CONNECTED) {
                clearTimeout(timer);
                resolve(conn);
            } else if ([S.CONNFAIL, S.AUTHFAIL, S.ERROR, S.CONNTIMEOUT].includes(status)) {
                clearTimeout(timer);
                reject(new Error(`strophe failed: status ${status} ${condition ?? ''}`));
            }
        });
    });
}

/** Resolves with the first stanza named `name` for which `pred` holds. */
export function nextStanza(conn, name, pred = () => true, ms = 10000) {
    return new Promise((resolve, reject) => {
        let done = false;
        const timer = setTimeout(() => {
            done = true;
            reject(new Error(`no matching <${name}/> within ${ms} ms`));
        }, ms);
        conn.addHandler(
            (st) => {
                if (done) return false;
                if (!pred(st)) return true;
                done = true;
                clearTimeout(timer);
                resolve(st);
                return false;
            },
            null,
            name,
        );
    });
}

/** The text of the first <body/> child. */
export function bodyOf(stanza) {
    const b = stanza.getElementsByTagName('body')[0];
    return b ? b.textContent : null;
}

/** Disconnects and waits for DISCONNECTED. */
export function stropheDisconnect(conn) {
    return new Promise((resolve) => {
        const timer = setTimeout(resolve, 5000);
        conn.connect_callback = (status) => {
            if (status === Strophe.Status.DISCONNECTED) {
                clearTimeout(timer);
                resolve();
            }
        };
        conn.disconnect('done');
    });
}
