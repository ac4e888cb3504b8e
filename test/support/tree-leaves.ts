import type { Comment, Mapping, Scalar, Tree } from '../../src/sops/tree.ts';

/** [path, node] for every value and comment of a tree's mappings, in document order. */
export function leavesWithPaths(tree: Tree): Array<[string[], Scalar | Comment]> {
  const out: Array<[string[], Scalar | Comment]> = [];
  const walk = (map: Mapping, path: string[]): void => {
    for (const item of map.items) {
      if (item.kind === 'comment') out.push([path, item]);
      else if (item.value.kind === 'scalar') out.push([[...path, item.key], item.value]);
      else if (item.value.kind === 'map') walk(item.value, [...path, item.key]);
    }
  };
  for (const branch of tree.branches) walk(branch, []);
  return out;
}
