// The XMLHttpRequest subset strophe.js's BOSH transport uses, on node:http. Strophe reads
// `responseXML` (it ignores the text it parses itself), so the body is parsed here with the
// same DOM implementation strophe's Node build installs (@xmldom/xmldom).
import http from 'node:http';
import { DOMParser } from '@xmldom/xmldom';

export class NodeXMLHttpRequest {
    constructor() {
        this.readyState = 0;
        this.status = 0;
        this.responseText = '';
        this.responseXML = null;
        this.onreadystatechange = null;
        this.withCredentials = false;
        this._headers = {};
        this._responseHeaders = {};
    }

    overrideMimeType() {}

    open(method, url) {
        this._method = method;
        this._url = new URL(url);
        this._setState(1);
    }

    setRequestHeader(name, value) {
        this._headers[name] = value;
    }

    getAllResponseHeaders() {
        return Object.entries(this._responseHeaders)
            .map(([k, v]) => `${k}: ${v}`)
            .join('\r\n');
    }

    send(data) {
        const body = Buffer.from(data ?? '', 'utf8');
        this._req = http.request(
            {
                method: this._method,
                hostname: this._url.hostname,
                port: this._url.port,
                path: this._url.pathname + this._url.search,
                headers: { ...this._headers, 'Content-Length': body.length },
                agent: false,
            },
            (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('end', () => {
                    this.status = res.statusCode;
                    this._responseHeaders = res.headers;
                    this.responseText = Buffer.concat(chunks).toString('utf8');
                    try {
                        this.responseXML = this.responseText
                            ? new DOMParser().parseFromString(this.responseText, 'text/xml')
                            : null;
                    } catch {
                        this.responseXML = null;
                    }
                    this._setState(4);
                });
            },
        );
        this._req.on('error', () => {
            if (this._aborted) return;
            this.status = 0;
            this._setState(4);
        });
        this._req.end(body);
    }

    abort() {
        this._aborted = true;
        this._req?.destroy();
    }

    _setState(state) {
        this.readyState = state;
        if (this.onreadystatechange) this.onreadystatechange();
    }
}

/** Installs the shim as the global XMLHttpRequest (strophe creates them by that name). */
export function installXhr() {
    globalThis.XMLHttpRequest = NodeXMLHttpRequest;
}
