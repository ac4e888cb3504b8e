import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CLOUD_PLATFORM_SCOPE,
  createKmsClient,
  identityFromEnv,
  KmsClientCache,
  parseHostPort,
  type KmsEndpoint,
} from '../../src/kms/client.ts';
import { classifyKmsError } from '../../src/kms/errors.ts';
import { startIamCredentials, startTlsKms, type IamCredentialsStandIn, type TlsKmsStandIn } from './standins.ts';

const KEY = 'projects/p/locations/global/keyRings/r/cryptoKeys/k';
const SA = 'rekey@p.iam.gserviceaccount.com';

let iam: IamCredentialsStandIn;
let kms: TlsKmsStandIn;
let endpoint: KmsEndpoint;
beforeAll(async () => {
  iam = await startIamCredentials('source-token');
  kms = await startTlsKms();
  endpoint = { apiEndpoint: '127.0.0.1', port: kms.port, rootCerts: kms.rootCerts, iamCredentialsEndpoint: iam.url };
});
afterAll(async () => {
  await iam.close();
  await kms.close();
});
afterEach(() => {
  vi.useRealTimers();
  iam.tokenLifetimeMs = 3_600_000;
  iam.refuseWith = undefined;
});

describe('createKmsClient with credentials', () => {
  it('sends a static access token on every call', async () => {
    const client = createKmsClient({ kind: 'access-token', token: 'static-token' }, endpoint);
    try {
      const [key] = await client.getCryptoKey({ name: KEY });
      expect(key.name).toBe(KEY);
      expect(kms.authorizations.at(-1)).toBe('Bearer static-token');
    } finally {
      await client.close();
    }
  });

  it('impersonates through the IAM Credentials API and fetches a new token after expiry', async () => {
    // Only Date is faked: gRPC and HTTP keep their real timers.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const client = createKmsClient(
      { kind: 'impersonate', serviceAccount: SA, source: { kind: 'access-token', token: 'source-token' } },
      endpoint,
    );
    try {
      const before = iam.requests.length;
      await client.getCryptoKey({ name: KEY });
      await client.getCryptoKey({ name: KEY });
      expect(iam.requests.length - before).toBe(1);
      const first = iam.requests.at(-1);
      expect(first).toMatchObject({ serviceAccount: SA, authorization: 'Bearer source-token' });
      expect(first?.body).toMatchObject({ scope: [CLOUD_PLATFORM_SCOPE], lifetime: '3600s' });
      const firstToken = kms.authorizations.at(-1);
      expect(kms.authorizations.at(-2)).toBe(firstToken);

      vi.setSystemTime(Date.now() + 61 * 60_000);
      await client.getCryptoKey({ name: KEY });
      expect(iam.requests.length - before).toBe(2);
      expect(kms.authorizations.at(-1)).toMatch(/^Bearer impersonated-\d+$/);
      expect(kms.authorizations.at(-1)).not.toBe(firstToken);
    } finally {
      await client.close();
    }
  });

  it('turns a refused impersonation into a permission problem, not a retryable one', async () => {
    iam.refuseWith = 403;
    const client = createKmsClient(
      { kind: 'impersonate', serviceAccount: SA, source: { kind: 'access-token', token: 'source-token' } },
      endpoint,
    );
    try {
      const error = await client.getCryptoKey({ name: KEY }, { retry: null }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(classifyKmsError(error).kind).toBe('permission-denied');
    } finally {
      await client.close();
    }
  });
});

describe('identityFromEnv', () => {
  it('prefers the emulator, then a static token, then ADC', () => {
    expect(identityFromEnv({ KMS_EMULATOR_HOST: '127.0.0.1:9', GOOGLE_OAUTH_ACCESS_TOKEN: 't' })).toEqual({
      kind: 'emulator',
      host: '127.0.0.1:9',
    });
    expect(identityFromEnv({ GOOGLE_OAUTH_ACCESS_TOKEN: 't' })).toEqual({ kind: 'access-token', token: 't' });
    expect(identityFromEnv({})).toEqual({ kind: 'adc' });
  });

  it('takes GOOGLE_CREDENTIALS first, as a file path or as the JSON itself', () => {
    const json = JSON.stringify({ type: 'authorized_user', client_id: 'id', client_secret: 's', refresh_token: 'r' });
    const dir = mkdtempSync(join(tmpdir(), 'kms-creds-'));
    try {
      const file = join(dir, 'creds.json');
      writeFileSync(file, json);
      expect(identityFromEnv({ GOOGLE_CREDENTIALS: file, GOOGLE_OAUTH_ACCESS_TOKEN: 't' })).toEqual({ kind: 'credentials-json', json });
      expect(identityFromEnv({ GOOGLE_CREDENTIALS: json })).toEqual({ kind: 'credentials-json', json });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses credentials that are not JSON without quoting them', () => {
    const identity = identityFromEnv({ GOOGLE_CREDENTIALS: 'not-a-file-and-secret-text' });
    expect(() => createKmsClient(identity, endpoint)).toThrow(
      expect.objectContaining({ code: 'bad-credentials', message: expect.not.stringContaining('secret-text') }),
    );
  });

  it('impersonates with the environment identity as the source', () => {
    expect(identityFromEnv({ GOOGLE_OAUTH_ACCESS_TOKEN: 't' }, { impersonate: SA })).toEqual({
      kind: 'impersonate',
      serviceAccount: SA,
      source: { kind: 'access-token', token: 't' },
    });
  });
});

describe('parseHostPort', () => {
  it('reads host:port and bracketed IPv6', () => {
    expect(parseHostPort('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseHostPort('[::1]:9')).toEqual({ host: '[::1]', port: 9 });
  });

  it('refuses a value without a port', () => {
    expect(() => parseHostPort('localhost')).toThrow(/host:port/);
  });
});

describe('KmsClientCache', () => {
  it('keeps one client per identity', async () => {
    const cache = new KmsClientCache(endpoint);
    try {
      const a = cache.get({ kind: 'access-token', token: 'one' });
      expect(cache.get({ kind: 'access-token', token: 'one' })).toBe(a);
      expect(cache.get({ kind: 'access-token', token: 'two' })).not.toBe(a);
      expect(cache.get({ kind: 'emulator', host: '127.0.0.1:1' })).toBe(cache.get({ kind: 'emulator', host: '127.0.0.1:1' }));
      expect(cache.size).toBe(3);
    } finally {
      await cache.close();
    }
    expect(cache.size).toBe(0);
  });
});

describe('loading the Google client libraries', () => {
  it('happens when the first client is built, not when the key sources are made', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    // The compiled package (npm test builds it), as an installed sops-rekey loads it.
    const dist = new URL('../../dist/keys/sources.js', import.meta.url).href;
    const script = [
      `const { createRequire } = await import('node:module');`,
      `const { keySourcesFromEnvironment } = await import(${JSON.stringify(dist)});`,
      `const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((f) => /[\\\\/]node_modules[\\\\/](@google-cloud[\\\\/]kms|@grpc[\\\\/]grpc-js|google-auth-library)[\\\\/]/.test(f)).length > 0;`,
      `const keys = keySourcesFromEnvironment({ KMS_EMULATOR_HOST: '127.0.0.1:9' });`,
      `const before = loaded();`,
      `keys.kmsClient();`,
      `console.log(JSON.stringify({ before, after: loaded() }));`,
      `await keys.close();`,
    ].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'sops-rekey-lazy-'));
    try {
      writeFileSync(join(dir, 'main.mjs'), script);
      const { stdout } = await promisify(execFile)(process.execPath, ['--no-experimental-strip-types', join(dir, 'main.mjs')], { timeout: 20_000 });
      expect(JSON.parse(stdout)).toEqual({ before: false, after: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
