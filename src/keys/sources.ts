import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { identityFromEnv, KmsClientCache } from '../kms/client.ts';
import { AgeKeySource } from './age.ts';
import type { KeySources } from './data-key.ts';
import { GcpKmsKeySource } from './gcp-kms.ts';
import { PgpKeySource } from './pgp.ts';

/** Key sources plus what must be released when the work is done (gRPC channels). */
export interface EnvironmentKeySources {
  readonly sources: KeySources;
  /** The Cloud KMS client of the environment's identity, built on first use. */
  kmsClient(): KeyManagementServiceClient;
  close(): Promise<void>;
}

/**
 * The master-key sources the environment gives, named as the ecosystem names them: `SOPS_AGE_KEY`,
 * `SOPS_AGE_KEY_FILE` and sops's default age key file; `GNUPGHOME`; `KMS_EMULATOR_HOST`,
 * `GOOGLE_OAUTH_ACCESS_TOKEN` or Application Default Credentials for Cloud KMS. The Cloud KMS
 * client is built on first use, so a file with only age keys never looks for Google credentials.
 */
export function keySourcesFromEnvironment(env: NodeJS.ProcessEnv = process.env): EnvironmentKeySources {
  const clients = new KmsClientCache();
  const identity = identityFromEnv(env);
  return {
    sources: {
      age: AgeKeySource.fromEnvironment(env),
      pgp: PgpKeySource.fromEnvironment(env),
      gcp_kms: new GcpKmsKeySource({ client: () => clients.get(identity) }),
    },
    kmsClient: () => clients.get(identity),
    close: () => clients.close(),
  };
}
