import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
var __webpack_exports__ = {};

;// CONCATENATED MODULE: external "node:util"
const external_node_util_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:util");
;// CONCATENATED MODULE: external "node:http"
const external_node_http_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:http");
;// CONCATENATED MODULE: ./src/util/index.ts
/** Small helpers every layer may use: an abortable sleep, an error's message, a field path. */
/**
 * Waits `ms` milliseconds and resolves early when `signal` aborts. With `unref`, the timer does not
 * keep the process alive by itself.
 */
function sleep(ms, signal, opts = {}) {
    return new Promise(resolve => {
        if (signal?.aborted)
            return resolve();
        const timer = setTimeout(done, Math.max(0, ms));
        if (opts.unref)
            timer.unref();
        function done() {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
    });
}
/** The message of a thrown value, whatever was thrown. */
function errorMessage(e) {
    return e instanceof Error ? e.message : String(e);
}
/** A zod issue path as people write it: `tasks[2].meta.engine`. */
function fieldPath(path) {
    let out = '';
    for (const p of path) {
        if (typeof p === 'number')
            out += `[${p}]`;
        else
            out += out ? `.${String(p)}` : String(p);
    }
    return out;
}

;// CONCATENATED MODULE: ./src/target/server.ts
/**
 * The bundled sample target: a small HTTP server on 127.0.0.1 for the demo and the tests.
 *
 * Routes: /fast (tiny JSON), /slow (20–200 ms), /flaky (5–50 ms, 30% HTTP 500), /big (16 KiB),
 * POST /items (echo size), /health; anything else 404.
 *
 * Faults can be injected per route, at start or at run time through `POST /__perf-gate/faults`:
 * `{ "/fast": { "delayMs": 30, "errorRate": 0.1 } }` adds latency and failures to chosen routes.
 * `concurrency` caps how many requests are served at once (the rest queue), each taking
 * `serviceMs`, which gives the server a known capacity of concurrency / serviceMs requests per
 * second for stress tests. With `recoveryMs`, an overload (a request had to queue) also leaves the
 * server slower for that long after the last queued request got its turn: every request then takes
 * `recoveryPenaltyMs` more service time, as a cache or a pool that needs time to recover would.
 * That gives spike tests a known recovery time. The server refuses to bind anything but loopback
 * and stops by itself after `maxSeconds`.
 */


const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
function mulberry(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
const BIG = Buffer.alloc(16384, 'x');
/**
 * The server's capacity: at most `concurrency` requests are served at once, the rest wait in a
 * queue. A request that has to queue is an overload; with `recoveryMs` the server then stays slow
 * (`recoveryPenaltyMs` more per request) until `recoveryMs` after the last queued request got its turn.
 */
class Capacity {
    opts;
    active = 0;
    queue = [];
    /** Until when (epoch ms) the server is recovering from an overload. */
    recoveringUntil = 0;
    constructor(opts) {
        this.opts = opts;
    }
    /** Whether the number of requests served at once is capped. */
    get limited() {
        return !!this.limit;
    }
    get limit() {
        return this.opts.concurrency ?? 0;
    }
    async acquire() {
        if (!this.limit || this.active < this.limit) {
            this.active++;
            return;
        }
        this.overloaded();
        await new Promise(resolve => this.queue.push(resolve));
    }
    release() {
        const next = this.queue.shift();
        if (next) {
            this.overloaded();
            next();
        }
        else
            this.active--;
    }
    /** The extra service time of a request starting now. */
    penaltyMs() {
        return Date.now() < this.recoveringUntil ? (this.opts.recoveryPenaltyMs ?? 0) : 0;
    }
    overloaded() {
        if (this.opts.recoveryMs)
            this.recoveringUntil = Math.max(this.recoveringUntil, Date.now() + this.opts.recoveryMs);
    }
}
function send(res, code, body, type = 'application/json') {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(code, { 'content-type': type, 'content-length': buf.length });
    res.end(buf);
}
async function readBody(req) {
    const chunks = [];
    for await (const c of req)
        chunks.push(c);
    return Buffer.concat(chunks);
}
/** Answers one request of the sample routes (after service time and faults). */
async function serveRoute(path, req, res, body, random) {
    switch (path) {
        case '/fast':
        case '/health':
            send(res, 200, '{"ok":true}\n');
            return;
        case '/slow':
            await sleep(20 + random() * 180);
            send(res, 200, '{"ok":true,"slow":true}\n');
            return;
        case '/flaky':
            await sleep(5 + random() * 45);
            if (random() < 0.3)
                send(res, 500, '{"error":"flaky"}\n');
            else
                send(res, 200, '{"ok":true}\n');
            return;
        case '/big':
            send(res, 200, BIG, 'application/octet-stream');
            return;
        case '/items':
            send(res, req.method === 'POST' ? 201 : 200, JSON.stringify({ ok: true, received: body?.length ?? 0 }) + '\n');
            return;
        default:
            send(res, 404, 'not found\n', 'text/plain');
    }
}
/** The state of a running target: its faults, its capacity and what it served. */
class Target {
    opts;
    faults;
    served = 0;
    byRoute = {};
    capacity;
    random;
    constructor(opts) {
        this.opts = opts;
        this.faults = { ...(opts.faults ?? {}) };
        this.capacity = new Capacity(opts);
        this.random = opts.seed === undefined ? Math.random : mulberry(opts.seed);
    }
    handle = async (req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (path === '/__perf-gate/faults' && req.method === 'POST')
            return this.setFaultsFrom(req, res);
        const body = req.method === 'POST' ? await readBody(req) : undefined;
        await this.capacity.acquire();
        try {
            this.served++;
            this.byRoute[path] = (this.byRoute[path] ?? 0) + 1;
            if (await this.serveFault(path, res))
                return;
            await serveRoute(path, req, res, body, this.random);
        }
        finally {
            this.capacity.release();
        }
    };
    /** `POST /__perf-gate/faults`: replaces the faults with the posted JSON object. */
    async setFaultsFrom(req, res) {
        try {
            this.faults = JSON.parse((await readBody(req)).toString('utf8') || '{}');
            send(res, 200, JSON.stringify({ ok: true, faults: this.faults }));
        }
        catch {
            send(res, 400, JSON.stringify({ error: 'faults must be a JSON object' }));
        }
    }
    /** Waits the service time and the route's injected delay; true when it answered an injected failure. */
    async serveFault(path, res) {
        const penalty = this.capacity.penaltyMs();
        if (this.capacity.limited && (this.opts.serviceMs || penalty))
            await sleep((this.opts.serviceMs ?? 0) + penalty);
        const f = this.faults[path];
        if (f?.delayMs || f?.jitterMs)
            await sleep((f.delayMs ?? 0) + this.random() * (f.jitterMs ?? 0));
        if (f?.errorRate && this.random() < f.errorRate) {
            send(res, 500, '{"error":"injected failure"}\n');
            return true;
        }
        return false;
    }
}
/** Listens on `host`:`port` (0 = any free port); returns the port. */
async function listen(server, port, host) {
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
    });
    return server.address().port;
}
async function startTarget(opts = {}) {
    const host = opts.host ?? '127.0.0.1';
    if (!LOOPBACK.has(host))
        throw new Error(`target host must be a loopback address, got ${host}`);
    const target = new Target(opts);
    const server = (0,external_node_http_namespaceObject.createServer)((req, res) => {
        target.handle(req, res).catch(() => {
            if (!res.headersSent)
                send(res, 500, '{"error":"internal"}\n');
            else
                res.destroy();
        });
    });
    server.keepAliveTimeout = 5000;
    const port = await listen(server, opts.port ?? 0, host);
    const stopTimer = setTimeout(() => void close(), (opts.maxSeconds ?? 900) * 1000);
    stopTimer.unref();
    let closing;
    function close() {
        if (!closing) {
            clearTimeout(stopTimer);
            closing = new Promise(resolve => {
                server.close(() => resolve());
                server.closeAllConnections();
            });
        }
        return closing;
    }
    return {
        url: `http://${host === '::1' ? '[::1]' : host}:${port}`,
        port,
        server,
        setFaults(f) {
            target.faults = { ...f };
        },
        stats: () => ({ served: target.served, byRoute: { ...target.byRoute } }),
        close
    };
}

;// CONCATENATED MODULE: ./src/target/index.ts
/**
 * `node dist/target/index.js [--port N] [--max-seconds S] [--concurrency C] [--service-ms M]
 *  [--recovery-ms R] [--recovery-penalty-ms P] [--fault /route:delayMs[:errorRate]]...` starts the
 * sample target and prints its URL.
 */



async function main() {
    const { values } = (0,external_node_util_namespaceObject.parseArgs)({
        options: {
            port: { type: 'string', default: '0' },
            'max-seconds': { type: 'string', default: '900' },
            concurrency: { type: 'string', default: '0' },
            'service-ms': { type: 'string', default: '0' },
            'recovery-ms': { type: 'string', default: '0' },
            'recovery-penalty-ms': { type: 'string', default: '0' },
            fault: { type: 'string', multiple: true, default: [] }
        }
    });
    const faults = {};
    for (const f of values.fault ?? []) {
        const [route, delay, rate] = f.split(':');
        if (!route?.startsWith('/'))
            throw new Error(`--fault: expected /route:delayMs[:errorRate], got ${f}`);
        faults[route] = { delayMs: Number(delay ?? 0), errorRate: rate === undefined ? undefined : Number(rate) };
    }
    const t = await startTarget({
        port: Number(values.port),
        maxSeconds: Number(values['max-seconds']),
        concurrency: Number(values.concurrency),
        serviceMs: Number(values['service-ms']),
        recoveryMs: Number(values['recovery-ms']),
        recoveryPenaltyMs: Number(values['recovery-penalty-ms']),
        faults
    });
    console.log(t.url);
    const stop = () => void t.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
}
main().catch(e => {
    console.error(`perf-gate target: ${errorMessage(e)}`);
    process.exit(1);
});

