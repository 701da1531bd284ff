// A TCP relay in front of the server whose connections can be cut at once, as a network
// outage would: both sides are destroyed without any goodbye, while the relay keeps
// accepting new connections (the client's reconnection).
import { createServer, connect } from 'node:net';

/** Starts a relay to `target` ({host, port}); resolves to { port, cut(), close() }. */
export async function startCutProxy(target) {
    const pairs = new Set();
    const server = createServer((inbound) => {
        const outbound = connect(target);
        const pair = { inbound, outbound };
        pairs.add(pair);
        const drop = () => {
            inbound.destroy();
            outbound.destroy();
            pairs.delete(pair);
        };
        inbound.on('error', drop);
        outbound.on('error', drop);
        inbound.on('close', drop);
        outbound.on('close', drop);
        inbound.pipe(outbound);
        outbound.pipe(inbound);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        port: server.address().port,
        /** Destroys every relayed connection; returns how many were cut. */
        cut() {
            const n = pairs.size;
            for (const { inbound, outbound } of [...pairs]) {
                inbound.destroy();
                outbound.destroy();
            }
            pairs.clear();
            return n;
        },
        close() {
            this.cut();
            return new Promise((resolve) => server.close(resolve));
        },
    };
}
