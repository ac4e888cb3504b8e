import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findSopsFiles } from '../../src/rekey/find-sops-files.ts';
import {
  findFluxKustomizations,
  mapSopsFilesToKustomizations,
  parseFluxKustomizations,
  resolveFluxPath,
} from '../../src/rekey/flux.ts';
import { VECTORS_DIR as VECTORS } from '../support/vectors.ts';


const APPS_YAML = `---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  url: https://example.invalid/repo
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/prod
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  decryption:
    provider: sops
    secretRef:
      name: sops-gcp
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: infra
  namespace: flux-system
spec:
  path: ./infrastructure
  sourceRef:
    kind: GitRepository
    name: flux-system
`;

const SYNC_YAML = `apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  path: ./clusters/prod
  sourceRef: {kind: GitRepository, name: flux-system}
  decryption:
    provider: sops
`;

const KUSTOMIZE_YAML = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - db/secret.enc.yaml
`;

describe('Flux layout: which Kustomizations decrypt which SOPS files', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });

  function put(rel: string, content: string): void {
    const full = path.join(root as string, rel);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }

  function putVector(rel: string, vector: string): void {
    put(rel, '');
    copyFileSync(path.join(VECTORS, vector), path.join(root as string, rel));
  }

  it('maps files under spec.path to the decrypting Kustomizations only', async () => {
    root = mkdtempSync(path.join(tmpdir(), 'flux-'));
    put('clusters/prod/apps.yaml', APPS_YAML);
    put('clusters/prod/flux-system/gotk-sync.yaml', SYNC_YAML);
    put('apps/prod/kustomization.yaml', KUSTOMIZE_YAML);
    putVector('apps/prod/db/secret.enc.yaml', 'getsops-sops__functional-tests-res-format.enc.yaml');
    putVector('apps/prod/app.env', 'getsops-sops__functional-tests-res-format.enc.env');
    putVector('apps/production/other.yaml', 'getsops-sops__example.yaml');
    putVector('infrastructure/secret.yaml', 'getsops-sops__example.yaml');
    putVector('clusters/prod/cluster-secret.json', 'getsops-sops__example.json');

    const scan = await findSopsFiles(root);
    const sopsPaths = scan.sopsFiles.map((f) => f.path);
    const flux = await findFluxKustomizations(root, scan.discovery.files.map((f) => f.path));

    expect(flux.problems).toEqual([]);
    expect(flux.kustomizations.map((k) => [k.id, k.file, k.decryption?.provider ?? null])).toEqual([
      ['flux-system/apps', 'clusters/prod/apps.yaml', 'sops'],
      ['flux-system/infra', 'clusters/prod/apps.yaml', null],
      ['flux-system/flux-system', 'clusters/prod/flux-system/gotk-sync.yaml', 'sops'],
    ]);

    const mapping = mapSopsFilesToKustomizations(flux.kustomizations, sopsPaths);
    const apps = { id: 'flux-system/apps', file: 'clusters/prod/apps.yaml', path: './apps/prod', secretRef: 'sops-gcp' };
    expect(Object.fromEntries(mapping)).toEqual({
      'apps/prod/app.env': [apps],
      'apps/prod/db/secret.enc.yaml': [apps],
      'clusters/prod/cluster-secret.json': [
        {
          id: 'flux-system/flux-system',
          file: 'clusters/prod/flux-system/gotk-sync.yaml',
          path: './clusters/prod',
          secretRef: null,
        },
      ],
    });
  });
});

describe('parseFluxKustomizations', () => {
  it('reads every Flux API version and skips other kinds and groups', () => {
    const docs = ['v1', 'v1beta1', 'v1beta2', 'v2']
      .map((v) => `apiVersion: kustomize.toolkit.fluxcd.io/${v}\nkind: Kustomization\nmetadata: {name: k-${v}}\nspec: {path: x}\n`)
      .concat('apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Other\nmetadata: {name: o}\n')
      .join('---\n');
    const { kustomizations } = parseFluxKustomizations(docs, 'k.yaml');
    expect(kustomizations.map((k) => k.id)).toEqual(['default/k-v1', 'default/k-v1beta1', 'default/k-v1beta2']);
  });

  it('keeps a sourceRef to another repository: the path still maps in this one', () => {
    const { kustomizations } = parseFluxKustomizations(
      'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a, namespace: ns}\n' +
        'spec: {path: apps, sourceRef: {kind: GitRepository, name: other, namespace: src}, decryption: {provider: sops}}\n',
      'k.yaml',
    );
    expect(kustomizations[0]?.sourceRef).toEqual({ kind: 'GitRepository', name: 'other', namespace: 'src' });
    expect(mapSopsFilesToKustomizations(kustomizations, ['apps/s.yaml']).get('apps/s.yaml')?.[0]?.id).toBe('ns/a');
  });

  it('reports a broken document holding a Flux Kustomization and still reads the others', () => {
    const text =
      'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: ok}\n---\n' +
      'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: [broken\n';
    const result = parseFluxKustomizations(text, 'k.yaml');
    expect(result.kustomizations.map((k) => k.name)).toEqual(['ok']);
    expect(result.problems).toMatchObject([{ file: 'k.yaml' }]);
  });

  it('a Kustomization without path decrypts the whole repository', () => {
    const { kustomizations } = parseFluxKustomizations(
      'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: all}\nspec: {decryption: {provider: sops}}\n',
      'k.yaml',
    );
    expect(mapSopsFilesToKustomizations(kustomizations, ['deep/x.yaml']).has('deep/x.yaml')).toBe(true);
  });
});

describe('resolveFluxPath', () => {
  it.each([
    ['./apps/prod', 'apps/prod'],
    ['apps/prod/', 'apps/prod'],
    ['/apps', 'apps'],
    ['./', ''],
    ['', ''],
    ['./apps/../infra/./x', 'infra/x'],
    ['../../etc', 'etc'],
  ])('%j resolves to %j', (input, expected) => {
    expect(resolveFluxPath(input)).toBe(expected);
  });
});
