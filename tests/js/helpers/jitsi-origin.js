// The web origin a browser loads Jitsi Meet from, as docker-jitsi-meet's nginx serves it:
// static files (a test page and the lib-jitsi-meet bundle) plus `/xmpp-websocket` and
// `/http-bind` (and anything else under them) proxied to the XMPP server's HTTP listener.
// WebSocket upgrades are relayed byte for byte and can be cut at once, as a network outage
// would, to test resumption.
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';

const PROXIED = ['/xmpp-websocket', '/http-bind'];

/**
 * Starts the origin on a loopback port (`listenPort`, default any). `files` maps paths to { type, path } (read at each
 * request). Resolves to { url, port, setTarget(port), webSockets(), cutWebSockets(pred),
 * close() }; the XMPP server's port is given later by setTarget (the server needs the
 * origin's URL first, for its allowed-origin check).
 */
export async function startJitsiOrigin(files, listenPort = 0) {
    let target = null;
    const relays = new Set();
    const opened = [];

    const server = createServer((req, res) => {
        const path = req.url.split('?')[0];
        if (PROXIED.some((p) => path === p || path.startsWith(`${p}/`))) {
            const up = request(
                { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers },
                (answer) => {
                    res.writeHead(answer.statusCode, answer.headers);
                    answer.pipe(res);
                },
            );
            up.on('error', () => {
                if (!res.headersSent) res.writeHead(502);
                res.end();
            });
            req.pipe(up);
            return;
        }
        const file = files[path];
        if (!file) {
            res.writeHead(404).end();
            return;
        }
        res.writeHead(200, { 'Content-Type': file.type, 'Cache-Control': 'no-store' });
        res.end(readFileSync(file.path));
    });

    server.on('upgrade', (req, socket, head) => {
        if (!req.url.startsWith('/xmpp-websocket') || target === null) {
            socket.destroy();
            return;
        }
        const up = connect(target, '127.0.0.1');
        const relay = { url: req.url, socket, up };
        relays.add(relay);
        opened.push(req.url);
        const drop = () => {
            socket.destroy();
            up.destroy();
            relays.delete(relay);
        };
        for (const s of [socket, up]) {
            s.on('error', drop);
            s.on('close', drop);
        }
        up.once('connect', () => {
            let headers = `${req.method} ${req.url} HTTP/1.1\r\n`;
            for (let i = 0; i < req.rawHeaders.length; i += 2) {
                headers += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
            }
            up.write(`${headers}\r\n`);
            if (head.length) up.write(head);
            socket.pipe(up);
            up.pipe(socket);
        });
    });

    await new Promise((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
    const { port } = server.address();
    return {
        port,
        url: `http://127.0.0.1:${port}`,
        setTarget(p) {
            target = p;
        },
        /** The request URLs of every WebSocket opened so far, in order. */
        webSockets: () => [...opened],
        /** Destroys the live WebSockets whose URL satisfies `pred`; returns how many. */
        cutWebSockets(pred = () => true) {
            let n = 0;
            for (const r of [...relays]) {
                if (pred(r.url)) {
                    r.socket.destroy();
                    r.up.destroy();
                    relays.delete(r);
                    n += 1;
                }
            }
            return n;
        },
        close() {
            this.cutWebSockets();
            server.closeAllConnections();
            return new Promise((resolve) => server.close(resolve));
        },
    };
}
