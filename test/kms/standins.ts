/**
 * Local stand-ins for the Google endpoints an identity talks to: the IAM Credentials API
 * (`generateAccessToken`, plain HTTP) and a TLS gRPC endpoint that records the `authorization`
 * header of each call. Both listen on 127.0.0.1 and are closed by the test that starts them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';

export interface TokenRequest {
  readonly serviceAccount: string;
  readonly authorization: string;
  readonly body: { scope?: string[]; lifetime?: string; delegates?: string[] };
}

export interface IamCredentialsStandIn {
  /** Base URL, for `KmsEndpoint.iamCredentialsEndpoint`. */
  readonly url: string;
  readonly requests: TokenRequest[];
  /** Lifetime of the tokens issued from now on, in ms (may be negative: already expired). */
  tokenLifetimeMs: number;
  /** When set, every request is refused with this HTTP status. */
  refuseWith: number | undefined;
  close(): Promise<void>;
}

/** Issues `impersonated-1`, `impersonated-2`, … to callers presenting `Bearer <sourceToken>`. */
export async function startIamCredentials(sourceToken: string): Promise<IamCredentialsStandIn> {
  const requests: TokenRequest[] = [];
  const state: IamCredentialsStandIn = {
    url: '',
    requests,
    tokenLifetimeMs: 3_600_000,
    refuseWith: undefined,
    close: async () => {},
  };
  const server: Server = createServer(async (req, res) => {
    const body = JSON.parse((await readBody(req)) || '{}') as TokenRequest['body'];
    const match = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(req.url ?? '');
    const authorization = req.headers.authorization ?? '';
    const reply = (status: number, payload: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    if (req.method !== 'POST' || !match) return reply(404, { error: { code: 404, status: 'NOT_FOUND', message: 'no such method' } });
    requests.push({ serviceAccount: decodeURIComponent(match[1] ?? ''), authorization, body });
    if (state.refuseWith !== undefined || authorization !== `Bearer ${sourceToken}`) {
      const code = state.refuseWith ?? 401;
      return reply(code, { error: { code, status: 'PERMISSION_DENIED', message: 'Permission iam.serviceAccounts.getAccessToken denied' } });
    }
    reply(200, {
      accessToken: `impersonated-${requests.length}`,
      expireTime: new Date(Date.now() + state.tokenLifetimeMs).toISOString(),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface TlsKmsStandIn {
  readonly port: number;
  /** PEM of the self-signed certificate, for `KmsEndpoint.rootCerts`. */
  readonly rootCerts: Buffer;
  /** The `authorization` header of every GetCryptoKey call, in order. */
  readonly authorizations: string[];
  close(): Promise<void>;
}

/**
 * A TLS gRPC server answering only GetCryptoKey. The request (`GetCryptoKeyRequest{name=1}`) and
 * a `CryptoKey{name=1}` share their wire form, so echoing the bytes answers a key of that name.
 * TLS because grpc-js refuses to send call credentials (tokens) over an insecure channel.
 */
export async function startTlsKms(): Promise<TlsKmsStandIn> {
  const dir = mkdtempSync(join(tmpdir(), 'kms-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'));
    const cert = readFileSync(join(dir, 'cert.pem'));
    const authorizations: string[] = [];
    const identity = (b: Buffer): Buffer => b;
    const server = new grpc.Server();
    server.addService(
      {
        GetCryptoKey: {
          path: '/google.cloud.kms.v1.KeyManagementService/GetCryptoKey',
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      },
      {
        GetCryptoKey: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          authorizations.push(String(call.metadata.get('authorization')[0] ?? ''));
          callback(null, call.request);
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(null, [{ private_key: key, cert_chain: cert }]), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    return {
      port,
      rootCerts: cert,
      authorizations,
      close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
