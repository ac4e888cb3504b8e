/**
 * The app's git commands (the shallow clone, and the scan's `git ls-files`), run in a worker
 * thread so that starting them never holds the event loop that answers webhooks (see
 * src/io/off-thread.ts for why a spawn does).
 */
import { moduleBeside, OffThread } from '../io/off-thread.ts';
import type { RunGit } from '../rekey/discover.ts';
import type { CloneRequest } from './clone.ts';

const SHALLOW_CLONE = { module: moduleBeside('./clone.ts', import.meta.url).href, name: 'shallowClone' };
const GIT_OUTPUT = { module: moduleBeside('../rekey/discover.ts', import.meta.url).href, name: 'gitOutput' };

export interface GitOffThread {
  readonly clone: (request: CloneRequest) => Promise<string>;
  readonly git: RunGit;
}

export function gitOffThread(thread: OffThread = new OffThread()): GitOffThread {
  return {
    clone: (request) => thread.call<string>(SHALLOW_CLONE, request),
    git: (cwd, args) => thread.call<string>(GIT_OUTPUT, cwd, args),
  };
}
