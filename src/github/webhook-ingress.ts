/**
 * The app's webhook endpoint. GitHub waits at most 10 s for an answer and never redelivers, so a
 * delivery is answered as soon as its signature is verified and its body parsed; the app's
 * handlers (which only enqueue repository jobs) run afterwards. Probot's own middleware answers
 * only after every handler has finished, and builds an installation Octokit per event first: in a
 * burst of deliveries that work stood in front of every later answer.
 *
 * The checks and their answers are those of @octokit/webhooks' middleware, so GitHub, Probot's
 * tooling and existing tests see the same endpoint: 404 for another method, 415 for another
 * content type, 400 for missing headers, a bad signature or bad JSON, 200 "ok" once accepted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Probot } from 'probot';
import { describeError } from '../errors.ts';

/** GitHub caps webhook payloads at 25 MB; a larger body is not from GitHub. */
const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;
const REQUIRED_HEADERS = ['x-github-event', 'x-hub-signature-256', 'x-github-delivery'] as const;
const JSON_CONTENT_TYPE = /^\s*application\/json\s*(?:;|$)/u;

type EventToReceive = Parameters<Probot['receive']>[0];
type NodeHandler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

export interface IngressOptions {
  readonly maxBytes?: number;
}

const backlogs = new WeakMap<Probot, DeliveryBacklog>();

/**
 * Makes Probot's server use this endpoint: the server asks its Probot for the webhook middleware
 * when it starts, after the app has been loaded.
 */
export function answerWebhooksFirst(app: Probot, options: IngressOptions = {}): void {
  app.getNodeMiddleware = async () => webhookIngress(app, options);
}

/**
 * Resolves once every delivery accepted so far has been handed to the app's handlers and they
 * have finished: what a caller waits for before it looks at the jobs a delivery enqueued.
 */
export async function deliveriesHandled(app: Probot): Promise<void> {
  await backlogs.get(app)?.settled();
}

function webhookIngress(app: Probot, options: IngressOptions = {}): NodeHandler {
  const maxBytes = options.maxBytes ?? MAX_WEBHOOK_BYTES;
  const path = withoutTrailingSlashes(app.webhookPath);
  const log = app.log.child({ name: 'webhooks' });
  const backlog = new DeliveryBacklog(async (event) => {
    try {
      await app.receive(event);
    } catch (error) {
      log.error({ event: event.name, id: event.id, err: describeError(error) }, 'a webhook handler failed');
    }
  });
  backlogs.set(app, backlog);

  return async (request, response) => {
    if (requestPath(request.url) !== path) return false;
    if (request.method !== 'POST') return answer(response, 404, { error: `Unknown route: ${request.method} ${path}` });
    if (!JSON_CONTENT_TYPE.test(request.headers['content-type'] ?? '')) {
      return answer(response, 415, { error: 'Unsupported "Content-Type" header value. Must be "application/json"' });
    }
    const missing = REQUIRED_HEADERS.filter((name) => typeof request.headers[name] !== 'string');
    if (missing.length > 0) return answer(response, 400, { error: `Required headers missing: ${missing.join(', ')}` });
    const name = request.headers['x-github-event'] as string;
    const id = request.headers['x-github-delivery'] as string;

    const body = await readBody(request, maxBytes);
    if (body === undefined) return answer(response, 413, { error: `Payload larger than ${maxBytes} bytes` });
    if (!(await app.webhooks.verify(body, request.headers['x-hub-signature-256'] as string).catch(() => false))) {
      log.warn({ event: name, id }, 'webhook signature does not match: delivery refused');
      return answer(response, 400, { error: 'signature does not match event payload and secret' });
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return answer(response, 400, { error: 'Invalid JSON' });
    }
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    backlog.push({ id, name, payload } as EventToReceive);
    return true;
  };
}

/**
 * Deliveries accepted but not yet handed to the app's handlers. They are handed over in a later
 * turn of the event loop, once a turn brought no new delivery (so a burst is answered before its
 * deliveries are handled), and at the latest `maxHoldMs` after the oldest arrived. Deliveries
 * still here when the process stops are lost, as deliveries GitHub could not send are: the
 * periodic reconcile rescans every repository anyway.
 */
class DeliveryBacklog {
  readonly #handle: (event: EventToReceive) => Promise<void>;
  readonly #maxHoldMs: number;
  #events: EventToReceive[] = [];
  #oldestAt = 0;
  #arrivedSinceCheck = false;
  #armed = false;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(handle: (event: EventToReceive) => Promise<void>, maxHoldMs = 250) {
    this.#handle = handle;
    this.#maxHoldMs = maxHoldMs;
  }

  push(event: EventToReceive): void {
    if (this.#events.length === 0) this.#oldestAt = performance.now();
    this.#events.push(event);
    this.#arrivedSinceCheck = true;
    this.#arm();
  }

  #arm(): void {
    if (this.#armed) return;
    this.#armed = true;
    setImmediate(this.#drain);
  }

  readonly #drain = (): void => {
    this.#armed = false;
    if (this.#arrivedSinceCheck && performance.now() - this.#oldestAt < this.#maxHoldMs) {
      this.#arrivedSinceCheck = false;
      this.#arm();
      return;
    }
    this.#arrivedSinceCheck = false;
    const events = this.#events;
    this.#events = [];
    for (const event of events) {
      const handled = this.#handle(event).finally(() => this.#inFlight.delete(handled));
      this.#inFlight.add(handled);
    }
  };

  async settled(): Promise<void> {
    while (this.#events.length > 0 || this.#inFlight.size > 0) {
      if (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

function answer(response: ServerResponse, status: number, body: object): true {
  // An unread or refused body is not kept for another request on the same connection.
  response.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify(body));
  return true;
}

/** The body as text, or undefined once it grows past `maxBytes` (the rest is not read). */
function readBody(request: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      request.off('data', onData).pause();
      resolve(undefined);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
    request.once('error', reject);
  });
}

/** The path of a request target (`/path?query`), as the server's router compares it. */
function requestPath(url: string | undefined): string {
  const target = url ?? '/';
  const query = target.indexOf('?');
  return withoutTrailingSlashes(query === -1 ? target : target.slice(0, query));
}

const withoutTrailingSlashes = (path: string): string => path.replace(/\/+$/u, '') || '/';
