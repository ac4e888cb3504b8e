/**
 * The "action required" issue opened when the repository's configuration cannot be used: it
 * names the file, each field and its problem. Pure rendering; the runner creates, updates or
 * closes it.
 */
import type { ConfigError } from './config-error.ts';
import { cell, code, table } from './markdown.ts';

export const CONFIG_ISSUE_MARKER = '<!-- sops-rekey:config-error -->';
export const CONFIG_ISSUE_TITLE = 'sops-rekey: action required: invalid configuration';

export function renderConfigIssue(error: ConfigError): string {
  const file = `${error.repository}:${error.file ?? '.github/sops-rekey.yml'}`;
  return [
    CONFIG_ISSUE_MARKER,
    `sops-rekey cannot use the configuration in ${code(file)}. Until it is fixed, sops-rekey writes nothing to this repository (no branch, no pull request).`,
    table(['Field', 'Problem'], error.issues.map((i) => [code(i.path), cell(i.message)])),
    'Fix the file on the default branch; the push starts a new scan and this issue is closed once the configuration is valid. The fields are described in the JSON Schema `schema/sops-rekey.schema.json` of sops-rekey.',
  ].join('\n\n') + '\n';
}
