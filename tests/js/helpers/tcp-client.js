// A deliberately small raw XMPP-over-TCP client (PLAIN on the loopback stream) used as the
// "other side" of conversations: it logs in, binds and collects everything it receives.
import { connect } from 'node:net';

export class TcpClient {
    constructor({ host, port }) {
        this.addr = { host, port };
        this.buffer = '';
        this.waiters = [];
    }

    _onData(chunk) {
        this.buffer += chunk.toString('utf8');
        for (const w of [...this.waiters]) {
            this._check(w);
        }
    }

    _check(w) {
        const m = w.re.exec(this.buffer);
        if (m) {
            this.buffer = this.buffer.slice(m.index + m[0].length);
            this.waiters = this.waiters.filter((x) => x !== w);
            clearTimeout(w.timer);
            w.resolve(m);
        }
    }

    /** Resolves with the first match of `re` in what was received and not yet consumed. */
    waitFor(re, ms = 10000) {
        return new Promise((resolve, reject) => {
            const w = { re, resolve };
            w.timer = setTimeout(() => {
                this.waiters = this.waiters.filter((x) => x !== w);
                reject(new Error(`timed out waiting for ${re} in: ${this.buffer}`));
            }, ms);
            this.waiters.push(w);
            this._check(w);
        });
    }

    send(xml) {
        this.sock.write(xml);
    }

    /** Logs in with PLAIN and binds `resource`; resolves to the full JID. */
    async login(user, password, resource) {
        this.sock = connect(this.addr);
        this.sock.on('data', (d) => this._onData(d));
        await new Promise((resolve, reject) => {
            this.sock.once('connect', resolve);
            this.sock.once('error', reject);
        });
        const open = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";
        this.send(open);
        await this.waitFor(/<\/stream:features>/);
        const payload = Buffer.from(`\0${user}\0${password}`).toString('base64');
        this.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${payload}</auth>`);
        await this.waitFor(/<success[^>]*?(\/>|<\/success>)/);
        this.send(open);
        await this.waitFor(/<\/stream:features>/);
        this.send(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
        const m = await this.waitFor(/<jid>([^<]+)<\/jid>/);
        this.jid = m[1];
        return this.jid;
    }

    close() {
        this.sock?.end("</stream:stream>");
        this.sock?.destroy();
    }
}
