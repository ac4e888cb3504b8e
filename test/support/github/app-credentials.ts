/**
 * A throwaway GitHub App identity for tests: an RSA key pair in the PKCS#1 PEM form GitHub hands
 * out, so Probot and `@octokit/auth-app` sign App JWTs exactly as they would in production.
 */
import { generateKeyPairSync } from 'node:crypto';

export interface AppCredentials {
  readonly appId: number;
  /** PEM, `BEGIN RSA PRIVATE KEY`, what `PRIVATE_KEY` holds. */
  readonly privateKey: string;
  /** PEM (SPKI); the stand-in verifies App JWTs with it. */
  readonly publicKey: string;
  readonly webhookSecret: string;
}

export function generateAppCredentials(appId = 4242): AppCredentials {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { appId, privateKey, publicKey, webhookSecret: `whsec-${appId}-${Date.now()}` };
}
