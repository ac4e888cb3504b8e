/** page_size / page_token / next_page_token over an ordered list, as AIP-158 describes. */
import { invalidArgument } from './errors.ts';

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const TOKEN_PREFIX = 'emu1:';

export interface Page<T> {
  readonly items: T[];
  readonly nextPageToken: string;
  readonly totalSize: number;
}

/**
 * One page of `items`. The token is opaque to clients; it also names the list it belongs to so a
 * token from another listing is refused instead of silently skipping items.
 */
export function paginate<T>(items: readonly T[], listId: string, pageSize: number, pageToken: string): Page<T> {
  if (pageSize < 0) throw invalidArgument('page_size must not be negative.');
  const size = pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(pageSize, MAX_PAGE_SIZE);
  const start = pageToken === '' ? 0 : decodeToken(pageToken, listId);
  const end = start + size;
  return {
    items: items.slice(start, end),
    nextPageToken: end < items.length ? encodeToken(listId, end) : '',
    totalSize: items.length,
  };
}

function encodeToken(listId: string, offset: number): string {
  return Buffer.from(`${TOKEN_PREFIX}${offset}:${listId}`).toString('base64url');
}

function decodeToken(token: string, listId: string): number {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const m = /^emu1:(\d+):(.*)$/s.exec(text);
  if (!m || m[2] !== listId) throw invalidArgument('Invalid page_token.');
  return Number(m[1]);
}
