/**
 * Building a Cloud KMS client for an identity: the local emulator (plain gRPC, no credentials), a
 * static access token, Application Default Credentials, or a service account impersonated through
 * the IAM Credentials API. One client per identity, cached, because a client owns a gRPC channel
 * and, for impersonation, the token cache that refreshes short-lived tokens before they expire.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import type { CallCredentials } from '@grpc/grpc-js';
import type { GoogleAuth, Impersonated, OAuth2Client } from 'google-auth-library';
import { UsageError } from '../errors.ts';

/**
 * The Google client libraries, loaded when the first client is built: loading them costs about
 * 23 MiB of RSS, which a command that meets no Cloud KMS entry (an age-only rotate) should not
 * pay. All three are CommonJS packages, so they load synchronously and the client API stays
 * synchronous.
 */
const require = createRequire(import.meta.url);
const kmsLibrary = () => require('@google-cloud/kms') as typeof import('@google-cloud/kms');
const grpcLibrary = () => require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
const authLibrary = () => require('google-auth-library') as typeof import('google-auth-library');

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** Who the app is when it calls Cloud KMS. */
export type KmsIdentity =
  /** `KMS_EMULATOR_HOST`: plain gRPC to a local emulator, no credentials at all. */
  | { readonly kind: 'emulator'; readonly host: string }
  /** `GOOGLE_OAUTH_ACCESS_TOKEN`: a static token, never refreshed (as sops does). */
  | { readonly kind: 'access-token'; readonly token: string }
  /** `GOOGLE_CREDENTIALS`: credentials JSON (service account, authorized user, external account). */
  | { readonly kind: 'credentials-json'; readonly json: string }
  /** Application Default Credentials: `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's file, metadata server. */
  | { readonly kind: 'adc' }
  /** A service account impersonated with the `source` identity (default ADC). */
  | {
      readonly kind: 'impersonate';
      readonly serviceAccount: string;
      readonly source?: ImpersonationSource;
      readonly delegates?: readonly string[];
      /** Lifetime asked for each token, in seconds (default 3600). */
      readonly lifetimeSeconds?: number;
    };

/** The identities that can impersonate a service account. */
export type ImpersonationSource = Exclude<KmsIdentity, { kind: 'emulator' } | { kind: 'impersonate' }>;

/** Where the client connects, for the identities that use TLS. Defaults: Cloud KMS itself. */
export interface KmsEndpoint {
  /** Host name of the gRPC endpoint (default `cloudkms.googleapis.com`). */
  readonly apiEndpoint?: string;
  readonly port?: number;
  /** PEM root certificates to trust instead of the system's (private endpoints, tests). */
  readonly rootCerts?: Buffer;
  /** Base URL of the IAM Credentials API (default `https://iamcredentials.googleapis.com`). */
  readonly iamCredentialsEndpoint?: string;
}

/**
 * The identity the environment names, in the order sops uses (sops-format.md §8), with the
 * emulator first: `KMS_EMULATOR_HOST`, `GOOGLE_CREDENTIALS` (a file path or the JSON itself),
 * `GOOGLE_OAUTH_ACCESS_TOKEN`, then ADC. With `impersonate`, the identity found (not the
 * emulator) is the source used to impersonate that service account.
 */
export function identityFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: { readonly impersonate?: string } = {},
): KmsIdentity {
  const emulator = env.KMS_EMULATOR_HOST?.trim();
  if (emulator) return { kind: 'emulator', host: emulator };
  const source = sourceFromEnv(env);
  if (options.impersonate) return { kind: 'impersonate', serviceAccount: options.impersonate, source };
  return source;
}

function sourceFromEnv(env: Readonly<Record<string, string | undefined>>): ImpersonationSource {
  const credentials = env.GOOGLE_CREDENTIALS?.trim();
  if (credentials) {
    // As sops does: the value is a path when such a file exists, else the JSON itself.
    return { kind: 'credentials-json', json: existsSync(credentials) ? readFileSync(credentials, 'utf8') : credentials };
  }
  const token = env.GOOGLE_OAUTH_ACCESS_TOKEN?.trim();
  return token ? { kind: 'access-token', token } : { kind: 'adc' };
}

/** Builds a new client; prefer `KmsClientCache` so each identity gets one. */
export function createKmsClient(identity: KmsIdentity, endpoint: KmsEndpoint = {}): KeyManagementServiceClient {
  // universeDomain given explicitly so gax never runs its own ADC lookup (which could probe the
  // metadata server); credentials always come from sslCreds, built here.
  const { KeyManagementServiceClient } = kmsLibrary();
  const { credentials: grpcCredentials } = grpcLibrary();
  if (identity.kind === 'emulator') {
    const { host, port } = parseHostPort(identity.host);
    return new KeyManagementServiceClient({
      apiEndpoint: host,
      port,
      sslCreds: grpcCredentials.createInsecure(),
      universeDomain: 'googleapis.com',
    });
  }
  const channel = grpcCredentials.createSsl(endpoint.rootCerts ?? null);
  return new KeyManagementServiceClient({
    apiEndpoint: endpoint.apiEndpoint ?? 'cloudkms.googleapis.com',
    port: endpoint.port ?? 443,
    sslCreds: grpcCredentials.combineChannelCredentials(channel, callCredentials(headerSource(identity, endpoint))),
    universeDomain: 'googleapis.com',
  });
}

/** Anything that yields the `authorization` header for a request, refreshing as needed. */
export interface HeaderSource {
  getRequestHeaders(): Promise<Headers>;
}

/**
 * The google-auth-library client behind an identity. Impersonation gets an `Impersonated` client,
 * which asks the IAM Credentials API for a token when it has none or the one it has expires
 * within `eagerRefreshThresholdMillis` (5 min by default), so calls never carry a stale token.
 */
function headerSource(identity: Exclude<KmsIdentity, { kind: 'emulator' }>, endpoint: KmsEndpoint = {}): HeaderSource {
  switch (identity.kind) {
    case 'access-token':
      return staticToken(identity.token);
    case 'credentials-json':
      return googleAuth(identity);
    case 'adc':
      return googleAuth(identity);
    case 'impersonate': {
      const source = identity.source ?? { kind: 'adc' };
      // ADC resolves asynchronously; the Impersonated client is built on first use, then kept.
      let client: Promise<Impersonated> | undefined;
      const build = async (): Promise<Impersonated> =>
        new (authLibrary().Impersonated)({
          sourceClient: source.kind === 'access-token' ? staticToken(source.token) : await googleAuth(source).getClient(),
          targetPrincipal: identity.serviceAccount,
          targetScopes: [CLOUD_PLATFORM_SCOPE],
          delegates: [...(identity.delegates ?? [])],
          lifetime: identity.lifetimeSeconds ?? 3600,
          ...(endpoint.iamCredentialsEndpoint === undefined ? {} : { endpoint: endpoint.iamCredentialsEndpoint }),
        });
      return {
        async getRequestHeaders() {
          // A failed build (ADC not reachable yet) is not kept: the next call tries again.
          client ??= build().catch((error: unknown) => {
            client = undefined;
            throw error;
          });
          return (await client).getRequestHeaders();
        },
      };
    }
  }
}

function googleAuth(identity: { kind: 'adc' } | { kind: 'credentials-json'; json: string }): GoogleAuth {
  const { GoogleAuth } = authLibrary();
  if (identity.kind === 'adc') return new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] });
  let credentials: object;
  try {
    credentials = JSON.parse(identity.json) as object;
  } catch {
    // The text is a secret: the message must not quote it.
    throw new UsageError('bad-credentials', 'GOOGLE_CREDENTIALS is neither an existing file nor valid JSON');
  }
  return new GoogleAuth({ credentials, scopes: [CLOUD_PLATFORM_SCOPE] });
}

function staticToken(token: string): OAuth2Client {
  const client = new (authLibrary().OAuth2Client)();
  client.setCredentials({ access_token: token });
  return client;
}

/**
 * gRPC call credentials from a header source. A failure to get a token becomes UNAUTHENTICATED
 * when the token service refused (401/403: fix the identity), and UNAVAILABLE otherwise (retry).
 */
function callCredentials(source: HeaderSource): CallCredentials {
  const { credentials: grpcCredentials, Metadata, status } = grpcLibrary();
  return grpcCredentials.createFromMetadataGenerator((_params, callback) => {
    source.getRequestHeaders().then(
      (headers) => {
        const metadata = new Metadata();
        headers.forEach((value, key) => metadata.set(key, value));
        callback(null, metadata);
      },
      (error: unknown) => {
        const httpStatus = (error as { response?: { status?: number }; status?: number } | null)?.response?.status;
        const code = httpStatus === 401 || httpStatus === 403 ? status.UNAUTHENTICATED : status.UNAVAILABLE;
        const message = error instanceof Error ? error.message : String(error);
        callback(Object.assign(new Error(`cannot get an access token: ${message}`), { code }));
      },
    );
  });
}

/** Parses `host:port` or `[v6]:port`, as `KMS_EMULATOR_HOST` holds it. */
export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (!match || !(port > 0 && port < 65536)) {
    throw new UsageError('bad-emulator-host', `KMS_EMULATOR_HOST must be host:port, got "${text}"`);
  }
  // Brackets are kept: gax joins host and port with a colon to form the gRPC target.
  return { host: match[1] ?? '', port };
}

/** A stable cache key for an identity; tokens are hashed so keys are safe to log. */
function identityKey(identity: KmsIdentity, endpoint: KmsEndpoint = {}): string {
  const hash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);
  const ep = `${endpoint.apiEndpoint ?? ''}:${endpoint.port ?? ''}:${endpoint.iamCredentialsEndpoint ?? ''}:${endpoint.rootCerts ? hash(endpoint.rootCerts.toString('latin1')) : ''}`;
  switch (identity.kind) {
    case 'emulator':
      return `emulator:${identity.host}`;
    case 'access-token':
      return `token:${hash(identity.token)}@${ep}`;
    case 'credentials-json':
      return `credentials:${hash(identity.json)}@${ep}`;
    case 'adc':
      return `adc@${ep}`;
    case 'impersonate': {
      const source = identity.source ?? { kind: 'adc' };
      const from =
        source.kind === 'adc' ? 'adc' : source.kind === 'access-token' ? `token:${hash(source.token)}` : `credentials:${hash(source.json)}`;
      return `impersonate:${identity.serviceAccount}/${(identity.delegates ?? []).join(',')}/${identity.lifetimeSeconds ?? ''}<-${from}@${ep}`;
    }
  }
}

/** One client per identity (and endpoint) for the life of the process or run. */
export class KmsClientCache {
  readonly #clients = new Map<string, KeyManagementServiceClient>();
  readonly #endpoint: KmsEndpoint;

  constructor(endpoint: KmsEndpoint = {}) {
    this.#endpoint = endpoint;
  }

  /** The client for `identity`, created on first use. */
  get(identity: KmsIdentity): KeyManagementServiceClient {
    const key = identityKey(identity, this.#endpoint);
    let client = this.#clients.get(key);
    if (client === undefined) {
      client = createKmsClient(identity, this.#endpoint);
      this.#clients.set(key, client);
    }
    return client;
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Closes every channel; the cache is empty afterwards. */
  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map((c) => c.close()));
  }
}
