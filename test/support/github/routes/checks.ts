/** Check runs: the app reports config errors and rekey results on commits. */
import { repoOf, type RouteContext } from '../context.ts';
import { HttpError, objectBody, optionalString, requireString, route, type Route } from '../http.ts';
import type { CheckRunRecord } from '../state.ts';

export function checkRoutes(ctx: RouteContext): Route[] {
  const { state } = ctx;
  const json = (run: CheckRunRecord) => ({
    id: run.id,
    name: run.name,
    head_sha: run.headSha,
    status: run.status,
    conclusion: run.conclusion,
    output: run.output,
    details_url: run.detailsUrl,
    external_id: run.externalId,
    started_at: run.startedAt,
    completed_at: run.completedAt,
  });

  return [
    route('POST', '/repos/:owner/:repo/check-runs', async (req) => {
      const repo = repoOf(ctx, req);
      const body = objectBody(req);
      const headSha = requireString(body, 'head_sha');
      if ((await repo.git.objectType(headSha)) !== 'commit') throw new HttpError(422, 'No commit found for SHA: ' + headSha);
      const conclusion = optionalString(body, 'conclusion') ?? null;
      const run: CheckRunRecord = {
        id: state.id(),
        name: requireString(body, 'name'),
        headSha,
        status: optionalString(body, 'status') ?? (conclusion === null ? 'queued' : 'completed'),
        conclusion,
        output: body.output ?? null,
        detailsUrl: optionalString(body, 'details_url') ?? null,
        externalId: optionalString(body, 'external_id') ?? null,
        startedAt: optionalString(body, 'started_at') ?? state.now(),
        completedAt: conclusion === null ? null : (optionalString(body, 'completed_at') ?? state.now()),
      };
      repo.checkRuns.set(run.id, run);
      return { status: 201, body: json(run) };
    }),

    route('PATCH', '/repos/:owner/:repo/check-runs/:id', (req) => {
      const repo = repoOf(ctx, req);
      const run = repo.checkRuns.get(Number(req.params.id));
      if (!run) throw new HttpError(404, 'Not Found');
      const body = objectBody(req);
      const name = optionalString(body, 'name');
      if (name !== undefined) run.name = name;
      const status = optionalString(body, 'status');
      if (status !== undefined) run.status = status;
      const conclusion = optionalString(body, 'conclusion');
      if (conclusion !== undefined) {
        run.conclusion = conclusion;
        run.status = 'completed';
        run.completedAt = optionalString(body, 'completed_at') ?? state.now();
      }
      if ('output' in body) run.output = body.output;
      return { status: 200, body: json(run) };
    }),

    route('GET', '/repos/:owner/:repo/check-runs/:id', (req) => {
      const repo = repoOf(ctx, req);
      const run = repo.checkRuns.get(Number(req.params.id));
      if (!run) throw new HttpError(404, 'Not Found');
      return { status: 200, body: json(run) };
    }),

    route('GET', '/repos/:owner/:repo/commits/:ref/check-runs', async (req) => {
      const repo = repoOf(ctx, req);
      const ref = req.params.ref ?? '';
      const sha = (await repo.git.resolve(`refs/heads/${ref}`)) ?? (await repo.git.resolve(ref));
      const name = req.query.get('check_name');
      const runs = [...repo.checkRuns.values()]
        .filter((run) => run.headSha === sha && (name === null || run.name === name))
        .sort((a, b) => b.id - a.id)
        .map(json);
      return { status: 200, body: { total_count: runs.length, check_runs: runs } };
    }),
  ];
}
