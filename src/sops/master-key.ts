import type { RawObject, RawValue } from './tree.ts';

/** Every master-key type sops writes (sops-format.md §5.2, §5.4). */
export const MASTER_KEY_TYPES = ['kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault', 'pgp', 'age'] as const;
export type MasterKeyType = (typeof MASTER_KEY_TYPES)[number];

/**
 * One master-key entry of a key group. Its fields are kept exactly as read (unknown ones too), so
 * an entry the app does not touch is written back unchanged; a new wrap only replaces `enc`.
 */
export interface MasterKey {
  readonly type: MasterKeyType;
  readonly fields: RawObject;
}

/** The key as sops names it: recipient, fingerprint, CryptoKey name, ARN, vault key URL. */
export function masterKeyId(key: MasterKey): string {
  const f = key.fields;
  switch (key.type) {
    case 'age':
      return text(f.recipient);
    case 'pgp':
      return text(f.fp);
    case 'gcp_kms':
      return text(f.resource_id);
    case 'kms':
      return text(f.arn) + (text(f.role) ? `+${text(f.role)}` : '');
    case 'azure_kv':
      return `${text(f.vault_url)}/keys/${text(f.name)}/${text(f.version)}`;
    case 'hc_vault':
      return `${text(f.vault_address)}/v1/${text(f.engine_path)}/keys/${text(f.key_name)}`;
    case 'hckms':
      return text(f.key_id);
  }
}

/** The wrapped data key (or Shamir share) as stored. */
export function masterKeyEnc(key: MasterKey): string {
  return text(key.fields.enc);
}

/** The same entry with a new `enc`; every other field is kept. */
export function withEnc(key: MasterKey, enc: string): MasterKey {
  return { type: key.type, fields: { ...key.fields, enc } };
}

/** A field as text; a mapping or list where a scalar belongs names nothing (and must not throw). */
function text(value: RawValue | undefined): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return '';
}
