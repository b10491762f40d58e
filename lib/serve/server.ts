// The server of `rnn-native serve`: one page (lib/serve/page/), its scripts (uPlot from the package's
// dependencies, the browser module and engine from wasm/), the runs as JSON and as Server-Sent
// Events, the files of the served directories and their checkpoints as web models (for the page's
// generator). GET and HEAD only; the Host header must name the served address (DNS rebinding);
// with a token, every request must carry it (?token= or the cookie the page gets).
import { randomBytes, timingSafeEqual } from 'crypto';
import { closeSync, constants, createReadStream, fstatSync, openSync, readSync, realpathSync, statSync } from 'fs';
import http from 'http';
import { AddressInfo } from 'net';
import { networkInterfaces } from 'os';
import path from 'path';
import { WASM_FILE } from '../engine/wasm';
import { exportedModel } from '../export/exported-model';
import { BROWSER_MODULE } from '../export/web';
import { encodeWebModel } from '../export/web-model';
import { decodeCheckpoint } from '../run/checkpoint';
import { RunEvent, RunWatcher, ServedRoot } from './runs';

export interface ServeOptions {
  roots: ServedRoot[];
  host: string;
  /** 0: a free port chosen by the system. */
  port: number;
  /** Required on every request when set (--host). */
  token?: string;
  /** How often the runs' files are read, in ms. */
  pollMs?: number;
}

export interface RunningServer {
  /** The page's address (with ?token= when there is one). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The page's own files: in lib/serve/page/ (ts-node) or dist/serve/page/ (copied by the build). */
const PAGE_DIR = path.join(__dirname, 'page');
const UPLOT_DIR = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: path.join(PAGE_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/page.js': { file: path.join(PAGE_DIR, 'page.js'), type: 'text/javascript; charset=utf-8' },
  '/page.css': { file: path.join(PAGE_DIR, 'page.css'), type: 'text/css; charset=utf-8' },
  '/uPlot.iife.min.js': { file: path.join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/uPlot.min.css': { file: path.join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
  '/wasm/rnn-native.mjs': { file: BROWSER_MODULE, type: 'text/javascript; charset=utf-8' },
  '/wasm/rnn_native.wasm': { file: WASM_FILE, type: 'application/wasm' },
};

const TYPES: Record<string, string> = { '.csv': 'text/csv; charset=utf-8', '.txt': 'text/plain; charset=utf-8', '.json': 'application/json', '.md': 'text/plain; charset=utf-8' };

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

/** Open Server-Sent Event streams at most; more are refused (503). */
const MAX_CLIENTS = 100;
/** Web models kept converted (checkpoint path + size + mtime): the last two (a model may be big). */
const MAX_CACHED_MODELS = 2;

export function newToken(): string {
  return randomBytes(18).toString('base64url');
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const watcher = new RunWatcher(options.roots);
  const clients = new Set<http.ServerResponse>();
  const models = new Map<string, Buffer>();
  const pollMs = options.pollMs ?? 1000;
  let allowedHosts: Set<string> = new Set();
  const cookieName = () => `rnn_native_serve_${port}`;
  let port = 0;

  const broadcast = (events: RunEvent[]) => {
    if (events.length === 0) return;
    const data = events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join('');
    for (const client of clients) client.write(data);
  };
  const pollOnce = () => {
    try {
      broadcast(watcher.poll());
    } catch (error) {
      process.stderr.write(`rnn-native serve: reading the runs failed (${(error as Error).message}); trying again\n`);
    }
  };
  pollOnce();
  const timer = setInterval(pollOnce, pollMs);
  // Comments keep idle streams open through proxies and let a closed one be noticed.
  const keepAlive = setInterval(() => clients.forEach((client) => client.write(': keep-alive\n\n')), 15000);

  const server = http.createServer((request, response) => {
    try {
      handle(request, response);
    } catch (error) {
      if (!response.headersSent) send(response, 500, `internal error: ${(error as Error).message}\n`);
      else response.destroy();
    }
  });

  function handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    if (!allowedHosts.has((request.headers.host ?? '').toLowerCase())) return send(response, 403, 'refused: the Host header is not the address this server listens on\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return send(response, 405, 'only GET and HEAD\n');
    }
    const raw = request.url ?? '/';
    const [rawPath, query = ''] = raw.split('?', 2);
    if (options.token !== undefined && !hasToken(request, new URLSearchParams(query).get('token'))) {
      return send(response, 403, 'refused: this server needs the token of the address it printed\n');
    }
    if (options.token !== undefined) response.setHeader('set-cookie', `${cookieName()}=${options.token}; HttpOnly; SameSite=Strict; Path=/`);
    const segments = rawPath.split('/').slice(1);
    let decoded: string[];
    try {
      decoded = segments.map((segment) => decodeURIComponent(segment));
    } catch {
      return send(response, 400, 'bad path\n');
    }
    if (decoded.some((segment) => segment === '..' || segment === '.' || segment.includes('/') || segment.includes('\\') || segment.includes('\0'))) {
      return send(response, 400, 'refused: the path leaves its directory\n');
    }
    const asset = ASSETS[rawPath];
    if (asset) return sendFile(response, asset.file, asset.type, rawPath === '/' ? 'no-store' : 'no-cache');
    if (rawPath === '/api/runs') return send(response, 200, JSON.stringify({ roots: options.roots.map((root) => root.given), runs: watcher.snapshot() }), 'application/json');
    if (rawPath === '/events') return events(request, response);
    if (decoded[0] === 'files' || decoded[0] === 'model') return runFile(response, decoded[0], decoded.slice(1));
    send(response, 404, 'not found\n');
  }

  function hasToken(request: http.IncomingMessage, given: string | null): boolean {
    const token = Buffer.from(options.token!);
    const same = (value: string | undefined | null) => {
      if (!value) return false;
      const bytes = Buffer.from(value);
      return bytes.length === token.length && timingSafeEqual(bytes, token);
    };
    const cookies = (request.headers.cookie ?? '').split(';').map((part) => part.trim().split('='));
    return same(given) || cookies.some(([name, value]) => name === cookieName() && same(value));
  }

  function events(request: http.IncomingMessage, response: http.ServerResponse): void {
    if (request.method === 'HEAD') return send(response, 200, '', 'text/event-stream');
    if (clients.size >= MAX_CLIENTS) return send(response, 503, 'too many open pages\n');
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    const hello = { type: 'hello', roots: options.roots.map((root) => root.given), runs: watcher.snapshot() };
    response.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify(hello)}\n\n`);
    clients.add(response);
    const drop = () => clients.delete(response);
    request.on('close', drop);
    response.on('error', drop);
  }

  /** /files/ROOT/PATH: a file inside a served directory; /model/ROOT/RUN/NAME.safetensors: a checkpoint as a web model. */
  function runFile(response: http.ServerResponse, kind: string, rest: string[]): void {
    const [rootIndex, ...inside] = rest;
    const root = /^\d{1,4}$/.test(rootIndex ?? '') ? options.roots[Number(rootIndex)] : undefined;
    if (!root || inside.length === 0 || inside.some((segment) => segment === '')) return send(response, 404, 'not found\n');
    let rootReal: string;
    try {
      rootReal = realpathSync(root.real);
    } catch {
      return send(response, 404, 'not found\n');
    }
    const file = resolveInside(rootReal, inside);
    if (file === 'outside') return send(response, 403, 'refused: outside the served directories\n');
    if (file === undefined) return send(response, 404, 'not found\n');
    if (kind === 'files') return sendFile(response, file, TYPES[path.extname(file)] ?? 'application/octet-stream', 'no-cache');
    if (!/^(best|latest)\.safetensors$/.test(path.basename(file))) return send(response, 404, 'not a checkpoint\n');
    let model: Buffer;
    try {
      model = webModel(file);
    } catch (error) {
      return send(response, 422, `${(error as Error).message}\n`);
    }
    send(response, 200, model, 'application/octet-stream');
  }

  function webModel(file: string): Buffer {
    const stat = statSync(file);
    const key = `${file}\0${stat.size}\0${stat.mtimeMs}`;
    const cached = models.get(key);
    if (cached) return cached;
    const bytes = readRegular(file);
    const model = Buffer.from(encodeWebModel(exportedModel(decodeCheckpoint(bytes, path.basename(file)), path.basename(file))));
    models.set(key, model);
    while (models.size > MAX_CACHED_MODELS) models.delete(models.keys().next().value!);
    return model;
  }

  function send(response: http.ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8'): void {
    response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    response.end(body);
  }

  /** A regular file, streamed (a checkpoint may be big), opened without following a link nor blocking on a FIFO. */
  function sendFile(response: http.ServerResponse, file: string, type: string, cache: string): void {
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return send(response, 404, 'not found\n');
    }
    let size: number;
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw new Error('not a file');
      size = stat.size;
    } catch {
      closeSync(fd);
      return send(response, 404, 'not found\n');
    }
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': size, 'cache-control': cache });
    if (response.req.method === 'HEAD' || size === 0) {
      closeSync(fd);
      return void response.end();
    }
    // A file that shrinks meanwhile ends the response short (the client sees a cut body), never an error here.
    const stream = createReadStream('', { fd, start: 0, end: size - 1 });
    stream.on('error', () => response.destroy());
    stream.pipe(response);
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
  } catch (error) {
    // Nothing may keep the process alive after a failed listen: it ends with the error.
    clearInterval(timer);
    clearInterval(keepAlive);
    throw error;
  }
  port = (server.address() as AddressInfo).port;
  const bracketed = (address: string) => (address.includes(':') ? `[${address}]` : address);
  // A wildcard address listens on every interface: each of their addresses is the served address.
  const wildcard = options.host === '0.0.0.0' || options.host === '::';
  const addresses = wildcard ? interfaceAddresses(options.host === '::') : [options.host];
  allowedHosts = new Set(addresses.map((address) => `${bracketed(address)}:${port}`.toLowerCase()));
  if (addresses.some((address) => address === '127.0.0.1' || address === '::1')) allowedHosts.add(`localhost:${port}`);
  const shown = wildcard ? (addresses.find((address) => !address.startsWith('127.') && !address.includes(':')) ?? '127.0.0.1') : options.host;
  const url = `http://${bracketed(shown)}:${port}/${options.token !== undefined ? `?token=${options.token}` : ''}`;
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        clearInterval(keepAlive);
        for (const client of clients) client.end();
        clients.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** This machine's addresses (IPv4, and IPv6 too when `v6`), loopback first. */
function interfaceAddresses(v6: boolean): string[] {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const chosen = all.filter((info) => info.family === 'IPv4' || (v6 && info.family === 'IPv6' && !info.address.startsWith('fe80')));
  return ['127.0.0.1', ...(v6 ? ['::1'] : []), ...chosen.map((info) => info.address.toLowerCase())];
}

/**
 * The real path of DIR/segments when it is a file inside dir's real path; 'outside' when it (or a
 * symbolic link on the way) leads out; undefined when there is no such file.
 */
export function resolveInside(dir: string, segments: string[]): string | 'outside' | undefined {
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..' || /[\\/\0]/.test(segment))) return 'outside';
  let real: string;
  try {
    real = realpathSync(path.join(dir, ...segments));
  } catch {
    return undefined;
  }
  if (real !== dir && !real.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep)) return 'outside';
  return real;
}

/** A regular file's bytes, opened without following a link (the path is already real) nor blocking on a FIFO. */
function readRegular(file: string): Buffer {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('not a file');
    const body = Buffer.alloc(stat.size);
    for (let got = 0; got < body.length; ) {
      const n = readSync(fd, body, got, body.length - got, got);
      if (n === 0) return body.subarray(0, got);
      got += n;
    }
    return body;
  } finally {
    closeSync(fd);
  }
}

