/**
 * `POST /graphql`, answering exactly the one mutation the app sends: `updateRefs`, GitHub's
 * atomic, conditional ref update (https://docs.github.com/en/graphql/reference/mutations#updaterefs;
 * GHES 3.16 and later). Input `{ repositoryId, refUpdates: [{ name, beforeOid, afterOid, force }] }`
 * with fully qualified ref names; `beforeOid` must be where the ref is now (40 zeros: it must not
 * exist), `afterOid` where it goes (40 zeros: delete), `force` allows a non-fast-forward. All
 * updates apply or none does. The answer is `{ data: { updateRefs: { clientMutationId } } }`; a
 * refusal is HTTP 200 with `data.updateRefs: null` and an `errors` entry, as GraphQL answers.
 *
 * `updateRefs: false` answers like a GitHub Enterprise Server older than 3.16, whose schema has no
 * `updateRefs`: an `undefinedField` error.
 */
import type { RouteContext } from '../context.ts';
import { HttpError, objectBody, route, type Reply, type Request, type Route } from '../http.ts';
import type { RepoRecord } from '../state.ts';

const SHA = /^[0-9a-f]{40}$/;
const ZERO = '0'.repeat(40);

export interface GraphqlSchema {
  /** Whether the schema has `updateRefs`; read on every request, so a test may switch it. */
  updateRefs: boolean;
}

export function graphqlRoutes(ctx: RouteContext, options: GraphqlSchema): Route[] {
  return [
    route('POST', '/graphql', async (req) => {
      if (req.caller.kind !== 'installation') throw new HttpError(403, 'Resource not accessible by integration');
      const body = objectBody(req);
      const query = typeof body.query === 'string' ? body.query : '';
      if (!/\bmutation\b[\s\S]*\bupdateRefs\s*\(/.test(query)) {
        return errors([{ type: 'STAND_IN', message: 'The stand-in answers only the updateRefs mutation.' }]);
      }
      if (!options.updateRefs) {
        return errors([{ path: ['mutation', 'updateRefs'], extensions: { code: 'undefinedField', typeName: 'Mutation', fieldName: 'updateRefs' }, message: "Field 'updateRefs' doesn't exist on type 'Mutation'" }]);
      }
      return updateRefs(ctx, req, inputOf(body));
    }),
  ];
}

interface RefUpdate {
  readonly name: string;
  readonly beforeOid: string | undefined;
  readonly afterOid: string;
  readonly force: boolean;
}

/** `input` from the variables (`$input`), which is how the app passes it. */
function inputOf(body: Record<string, unknown>): Record<string, unknown> {
  const variables = body.variables as Record<string, unknown> | undefined;
  const input = variables?.input;
  if (typeof input !== 'object' || input === null) throw new HttpError(400, 'updateRefs: the stand-in expects the input as the $input variable');
  return input as Record<string, unknown>;
}

async function updateRefs(ctx: RouteContext, req: Request, input: Record<string, unknown>): Promise<Reply> {
  if (req.caller.kind !== 'installation') throw new HttpError(403, 'Resource not accessible by integration');
  const repo = repoByNodeId(ctx, req.caller.installationId, input.repositoryId);
  if (!repo) return errors([{ type: 'NOT_FOUND', path: ['updateRefs'], message: `Could not resolve to a node with the global id of '${String(input.repositoryId)}'` }]);
  const updates = parseUpdates(input.refUpdates);
  if (typeof updates === 'string') return errors([{ type: 'UNPROCESSABLE', path: ['updateRefs'], message: updates }]);

  // Every condition is checked before anything is written: all or nothing.
  for (const update of updates) {
    const current = (await repo.git.resolve(update.name)) ?? ZERO;
    if (update.beforeOid !== undefined && update.beforeOid !== current) {
      return refused(`${update.name} is at ${current}, not ${update.beforeOid}`);
    }
    if (update.afterOid === ZERO) continue;
    if ((await repo.git.objectType(update.afterOid)) !== 'commit') return refused(`${update.afterOid} is not a commit`);
    if (!update.force && current !== ZERO && !(await repo.git.isAncestor(current, update.afterOid))) {
      return refused(`${update.name}: not a fast forward`);
    }
  }
  for (const update of updates) {
    const current = await repo.git.resolve(update.name);
    if (update.afterOid === ZERO) {
      if (current !== undefined) await repo.git.deleteRef(update.name);
      continue;
    }
    // Compare-and-swap on what was checked, so a push landing meanwhile is not overwritten.
    if (!(await repo.git.updateRef(update.name, update.afterOid, current))) return refused(`${update.name} moved during the update`);
  }
  const clientMutationId = typeof input.clientMutationId === 'string' ? input.clientMutationId : null;
  return { status: 200, body: { data: { updateRefs: { clientMutationId } } } };
}

function repoByNodeId(ctx: RouteContext, installationId: number, nodeId: unknown): RepoRecord | undefined {
  const installation = ctx.state.installations.get(installationId);
  if (!installation) return undefined;
  for (const repo of ctx.state.repos.values()) {
    if (`R_${repo.id}` === nodeId && ctx.state.canAccess(installation, repo.owner.login, repo.name)) return repo;
  }
  return undefined;
}

function parseUpdates(raw: unknown): RefUpdate[] | string {
  if (!Array.isArray(raw) || raw.length === 0) return 'refUpdates must be a non-empty list';
  const out: RefUpdate[] = [];
  for (const item of raw as unknown[]) {
    const u = (item ?? {}) as Record<string, unknown>;
    if (typeof u.name !== 'string' || !/^refs\/[^/]+\/.+/.test(u.name)) return 'RefUpdate.name must be a fully qualified ref name';
    if (typeof u.afterOid !== 'string' || !SHA.test(u.afterOid)) return 'RefUpdate.afterOid must be a 40-character object id';
    if (u.beforeOid !== undefined && u.beforeOid !== null && (typeof u.beforeOid !== 'string' || !SHA.test(u.beforeOid))) return 'RefUpdate.beforeOid must be a 40-character object id';
    out.push({ name: u.name, afterOid: u.afterOid, beforeOid: typeof u.beforeOid === 'string' ? u.beforeOid : undefined, force: u.force === true });
  }
  return out;
}

function refused(message: string): Reply {
  return errors([{ type: 'UNPROCESSABLE', path: ['updateRefs'], message: `A ref update was rejected: ${message}` }], { updateRefs: null });
}

function errors(list: readonly Record<string, unknown>[], data: Record<string, unknown> | null = null): Reply {
  return { status: 200, body: { data, errors: list } };
}
