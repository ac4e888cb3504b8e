/**
 * Which Cloud KMS identity a repository's job uses: the app's own, or the service account the
 * repository config names (`kms.identity`), impersonated with the app's own identity as source.
 * `loadConfig` has already refused identities the organization config does not allow for the
 * repository, so this only builds the identity.
 */
import type { KmsIdentity } from '../kms/client.ts';
import type { ResolvedConfig } from './config.ts';

export function kmsIdentityFor(config: Pick<ResolvedConfig, 'settings'>, appIdentity: KmsIdentity): KmsIdentity {
  const serviceAccount = config.settings.kms.identity;
  // The emulator has no IAM: every repository shares its one plain channel.
  if (serviceAccount === undefined || appIdentity.kind === 'emulator') return appIdentity;
  if (appIdentity.kind === 'impersonate') return { ...appIdentity, serviceAccount };
  return { kind: 'impersonate', serviceAccount, source: appIdentity };
}
