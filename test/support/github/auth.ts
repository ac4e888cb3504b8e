/**
 * Authentication as GitHub does it for apps: `Bearer <JWT>` signed RS256 with the app's private
 * key for `/app/...` routes, `token <installation token>` for everything else.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { HttpError, type Caller, type RouteAuth } from './http.ts';
import type { StandInState } from './state.ts';

export interface AppIdentity {
  readonly id: number;
  readonly publicKey: string;
}

export class Authenticator {
  private readonly key: KeyObject;
  private readonly appId: number;
  private readonly state: StandInState;

  constructor(app: AppIdentity, state: StandInState) {
    this.key = createPublicKey(app.publicKey);
    this.appId = app.id;
    this.state = state;
  }

  /** The caller of a request that needs `auth`, or a 401 like GitHub's. */
  authenticate(header: string | undefined, auth: RouteAuth): Caller {
    if (header === undefined) throw new HttpError(401, 'Requires authentication');
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const credential = header.slice(space + 1).trim();
    if (auth === 'app') {
      if (scheme !== 'bearer') throw new HttpError(401, 'A JSON web token could not be decoded');
      this.verifyJwt(credential);
      return { kind: 'app' };
    }
    if (scheme !== 'token' && scheme !== 'bearer') throw new HttpError(401, 'Bad credentials');
    const installation = this.state.tokenInstallation(credential);
    if (!installation) throw new HttpError(401, 'Bad credentials');
    return { kind: 'installation', installationId: installation.id, token: credential };
  }

  private verifyJwt(jwt: string): void {
    const [header, payload, signature] = jwt.split('.');
    if (header === undefined || payload === undefined || signature === undefined) {
      throw new HttpError(401, 'A JSON web token could not be decoded');
    }
    const head = decodeSegment(header);
    if (head.alg !== 'RS256') throw new HttpError(401, "'alg' must be RS256");
    const valid = verify(
      'RSA-SHA256',
      Buffer.from(`${header}.${payload}`),
      this.key,
      Buffer.from(signature, 'base64url'),
    );
    if (!valid) throw new HttpError(401, 'A JSON web token could not be decoded');
    const claims = decodeSegment(payload);
    const now = Math.floor(Date.now() / 1000);
    // GitHub accepts the numeric app id or the client id as issuer; this app has only the id.
    if (String(claims.iss) !== String(this.appId)) throw new HttpError(401, "'Issuer' claim ('iss') must be an Integer");
    if (typeof claims.exp !== 'number' || claims.exp <= now) {
      throw new HttpError(401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires");
    }
    if (typeof claims.iat !== 'number' || claims.iat > now + 60) {
      throw new HttpError(401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued");
    }
    if (claims.exp - claims.iat > 600 + 60) {
      throw new HttpError(401, "'Expiration time' claim ('exp') is too far in the future");
    }
  }
}

function decodeSegment(segment: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch {
    // fall through to the error GitHub gives
  }
  throw new HttpError(401, 'A JSON web token could not be decoded');
}
