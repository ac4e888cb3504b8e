/**
 * Writes `schema/sops-rekey.schema.json` from the zod schema: `npx node src/github/json-schema.ts`.
 * A test fails when the committed file is out of date.
 */
import { writeFile } from 'node:fs/promises';
import { configJsonSchema } from './config-schema.ts';

export const JSON_SCHEMA_PATH = new URL('../../schema/sops-rekey.schema.json', import.meta.url);

/** The file's exact text: stable key order, two-space indent, final newline. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

if (import.meta.main) {
  await writeFile(JSON_SCHEMA_PATH, renderJsonSchema());
  console.log(`wrote ${JSON_SCHEMA_PATH.pathname}`);
}
