/**
 * The webhook endpoint through the real Probot server: a delivery is answered once its signature
 * is verified, without waiting for the app's handlers, and whatever is not a signed GitHub delivery
 * is refused with the same answers as @octokit/webhooks' middleware, starting no work.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Probot, Server, type Logger } from 'probot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerWebhooksFirst } from '../../src/github/webhook-ingress.ts';
import { generateAppCredentials } from '../support/github/app-credentials.ts';
import { sendWebhook, signature } from '../support/webhooks.ts';
import { freePort } from '../support/free-port.ts';

const credentials = generateAppCredentials();
const MAX_BYTES = 64 * 1024;
let server: Server;
let url: string;
const handled: string[] = [];
const logged: { level: string; message: string; fields: Record<string, unknown> }[] = [];
/** Pushes wait on this before they count as handled; the test releases it. */
let release: () => void = () => {};
let held = new Promise<void>((resolve) => (release = resolve));

/** Probot's logger writing JSON lines into `logged`, so the test reads what the endpoint logged. */
function recordingLogger(): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const { level, msg, ...fields } = JSON.parse(chunk.toString('utf8')) as { level: number; msg: string };
      logged.push({ level: pino.levels.labels[level] ?? String(level), message: msg, fields });
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

beforeAll(async () => {
  const log = recordingLogger();
  const options = { appId: credentials.appId, privateKey: credentials.privateKey, secret: credentials.webhookSecret, baseUrl: 'http://127.0.0.1:9', log };
  server = new Server({ Probot: Probot.defaults(options), host: '127.0.0.1', port: await freePort(), log });
  await server.load((app) => {
    answerWebhooksFirst(app, { maxBytes: MAX_BYTES });
    app.on('push', async (context) => {
      await held;
      handled.push(`push ${context.id}`);
    });
    app.on('issues', async (context) => {
      handled.push(`issues ${context.id}`);
      throw new Error('the handler broke');
    });
  });
  await server.start();
  url = `http://127.0.0.1:${server.port}/api/github/webhooks`;
});

afterAll(async () => {
  release();
  await server?.stop();
});

const until = async (done: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(done()).toBe(true);
};

describe('the webhook endpoint', () => {
  it('answers a signed delivery before its handler has finished, then hands it to the handler', async () => {
    const result = await sendWebhook({ url, secret: credentials.webhookSecret, event: 'push', payload: { ref: 'refs/heads/main' }, deliveryId: 'd-1' });
    expect(result.status).toBe(200);
    expect(result.body).toBe('ok\n');
    expect(handled).toEqual([]);
    release();
    await until(() => handled.includes('push d-1'));
    held = new Promise<void>((resolve) => (release = resolve));
  });

  it('logs a handler that fails, by event and delivery id, after having answered 200', async () => {
    const result = await sendWebhook({ url, secret: credentials.webhookSecret, event: 'issues', payload: { action: 'edited', note: 'CANARY-payload' }, deliveryId: 'd-2' });
    expect(result.status).toBe(200);
    await until(() => logged.some((entry) => entry.message === 'a webhook handler failed'));
    const entry = logged.find((e) => e.message === 'a webhook handler failed');
    expect(entry?.level).toBe('error');
    expect(entry?.fields).toMatchObject({ event: 'issues', id: 'd-2' });
    expect(JSON.stringify(entry?.fields)).toContain('the handler broke');
    // Probot logs the failing event in full on its own line; this line names it without its payload.
    expect(JSON.stringify(entry?.fields)).not.toContain('CANARY-payload');
  });

  it('refuses a delivery signed with another secret, and hands nothing over', async () => {
    const before = handled.length;
    const result = await sendWebhook({ url, secret: 'not-the-secret', event: 'issues', payload: { action: 'edited' }, deliveryId: 'd-3' });
    expect(result.status).toBe(400);
    expect(JSON.parse(result.body)).toEqual({ error: 'signature does not match event payload and secret' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(handled.length).toBe(before);
    expect(logged.some((e) => e.level === 'warn' && e.fields.id === 'd-3')).toBe(true);
  });

  const post = (headers: Record<string, string>, body: string, method = 'POST') =>
    fetch(url, { method, headers, body: method === 'GET' ? undefined : body }).then(async (r) => ({ status: r.status, body: await r.text() }));
  const signedHeaders = (body: string, overrides: Record<string, string> = {}) => ({
    'content-type': 'application/json',
    'x-github-event': 'issues',
    'x-github-delivery': 'd-x',
    'x-hub-signature-256': signature(credentials.webhookSecret, body),
    ...overrides,
  });

  it('answers what is not a GitHub delivery as @octokit/webhooks does, starting no work', async () => {
    const before = handled.length;
    const body = JSON.stringify({ action: 'edited' });
    expect(await post({}, '', 'GET')).toEqual({ status: 404, body: JSON.stringify({ error: 'Unknown route: GET /api/github/webhooks' }) });
    expect((await post(signedHeaders(body, { 'content-type': 'text/plain' }), body)).status).toBe(415);
    const { 'x-hub-signature-256': _dropped, ...unsigned } = signedHeaders(body);
    expect(await post(unsigned, body)).toEqual({ status: 400, body: JSON.stringify({ error: 'Required headers missing: x-hub-signature-256' }) });
    const notJson = '{"action": ';
    expect(await post(signedHeaders(notJson), notJson)).toEqual({ status: 400, body: JSON.stringify({ error: 'Invalid JSON' }) });
    const huge = JSON.stringify({ padding: 'x'.repeat(MAX_BYTES) });
    expect((await post(signedHeaders(huge), huge)).status).toBe(413);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(handled.length).toBe(before);
  });

  it('leaves the server\'s other routes alone', async () => {
    const ping = await fetch(url.replace('/api/github/webhooks', '/ping'));
    expect(ping.status).toBe(200);
    expect(await ping.text()).toBe('PONG');
  });
});
