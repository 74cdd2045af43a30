import type { IncomingMessage } from 'node:http';

/** Default body cap for every route: far above any Event Grid batch (1 MB) or durable payload the runner serves. */
export const defaultMaxBodyBytes = 1024 * 1024;

/** A request the runner refuses: the status and the reason, which is logged and sent back. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Refuses requests a web page could make a developer's browser send to the runner. The runner listens on loopback
 * only, so the remaining attacker is a page in that browser: a cross-site form or `fetch` (Origin, Sec-Fetch-Site)
 * or a DNS-rebinding page that makes its own name resolve to 127.0.0.1 (Host). "same-site" is refused too: a page
 * served from another port of localhost is same-site, but it is not this runner.
 */
export function crossSiteRefusal(req: IncomingMessage, ownPort: number, allowedHosts: readonly string[] = []): Refusal | undefined {
  const host = (req.headers.host ?? '').toLowerCase();
  const hostName = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0] ?? '';
  if (host !== '' && !loopbackHosts.has(hostName) && !allowedHosts.includes(hostName)) {
    return refusal(
      403,
      'ForeignHostRefused',
      `the Host header "${host}" is not a loopback name (127.0.0.1, localhost, [::1]); a web page that rebinds its own name to this machine is refused. A tunnel you set up yourself (e.g. for real Event Grid deliveries): start the runner with --allow-host ${hostName || 'NAME'}.`,
    );
  }
  const fetchSite = String(req.headers['sec-fetch-site'] ?? '').toLowerCase();
  if (fetchSite === 'cross-site' || fetchSite === 'same-site') {
    return refusal(403, 'CrossSiteRequestRefused', `Sec-Fetch-Site is "${fetchSite}": a request another web page made this browser send is refused; call the runner directly (curl, an SDK, the CLI).`);
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const own = [`http://127.0.0.1:${ownPort}`, `http://localhost:${ownPort}`, `http://[::1]:${ownPort}`];
    if (!own.includes(origin.toLowerCase())) {
      return refusal(403, 'CrossSiteRequestRefused', `Origin "${origin}" is not this runner (${own[0]}): a request another web page made this browser send is refused.`);
    }
  }
  return undefined;
}

/**
 * True for JSON media types: `application/json` and structured-syntax `+json` types such as Event Grid's
 * `application/cloudevents+json` and `application/cloudevents-batch+json` (parameters such as charset allowed).
 * A browser can send none of these cross-site without a CORS preflight, which the runner never grants.
 */
export function isJsonContentType(header: string | undefined): boolean {
  const type = (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

export function jsonBodyRefusal(req: IncomingMessage): Refusal | undefined {
  if (isJsonContentType(req.headers['content-type'])) return undefined;
  const got = req.headers['content-type'] === undefined ? 'no Content-Type' : `Content-Type "${req.headers['content-type']}"`;
  return refusal(415, 'UnsupportedMediaType', `this endpoint changes state and accepts only JSON bodies, but the request has ${got}: send Content-Type: application/json (Event Grid: application/json or application/cloudevents+json).`);
}

/**
 * Reads the body up to `maxBytes`. A declared Content-Length above the cap is refused before anything is read; a
 * chunked body that grows past it is refused as soon as it does (nothing more is buffered, and the caller closes the
 * connection after answering).
 */
export function readBodyCapped(req: IncomingMessage, maxBytes: number): Promise<Buffer | Refusal> {
  const tooLarge = (size: string): Refusal =>
    refusal(413, 'PayloadTooLarge', `the request body (${size}) exceeds the runner's limit of ${maxBytes} bytes: send less, or start the runner with a larger --max-body-bytes.`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.resolve(tooLarge(`${declared} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > maxBytes) {
        req.off('data', onData);
        chunks.length = 0;
        resolve(tooLarge(`${size} bytes so far`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function isRefusal(value: Buffer | Refusal): value is Refusal {
  return !Buffer.isBuffer(value);
}

function refusal(status: number, code: string, message: string): Refusal {
  return { status, code, message };
}
