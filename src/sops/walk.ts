import type { LeafRule } from './selectors.ts';
import type { Comment, Mapping, Node, Scalar, Sequence, Tree } from './tree.ts';

/**
 * Visits every leaf of a tree in document order, the order the MAC is computed in (sops-format.md
 * §3.1), with the AAD of §2 and the encrypt/clear decision of §4. Nulls are never visited.
 */

export interface LeafVisit {
  /** Mapping keys from the root; for a comment, those of the collection holding it. */
  readonly path: readonly string[];
  readonly aad: string;
  readonly encrypt: boolean;
}

export interface LeafVisitor {
  scalar(node: Scalar, visit: LeafVisit): void;
  comment(node: Comment, visit: LeafVisit): void;
}

export function walkTree(tree: Tree, rule: LeafRule, visitor: LeafVisitor): void {
  for (const branch of tree.branches) new Walker(rule, visitor).collection(branch, []);
}

export const aadOf = (path: readonly string[]): string => (path.length === 0 ? ':' : `${path.join(':')}:`);

class Walker {
  /** Per nesting level, the comments since the last non-comment item (§4.3). */
  private readonly runs: string[][] = [];
  private readonly rule: LeafRule;
  private readonly visitor: LeafVisitor;

  constructor(rule: LeafRule, visitor: LeafVisitor) {
    this.rule = rule;
    this.visitor = visitor;
  }

  collection(node: Mapping | Sequence, path: string[]): void {
    const run: string[] = [];
    this.runs.push(run);
    for (const item of node.items) {
      if (item.kind === 'comment') {
        run.push(item.text);
        this.visitor.comment(item, this.visit(path, true));
        continue;
      }
      if (item.kind === 'entry') this.node(item.value, [...path, item.key]);
      else this.node(item, path);
      run.length = 0;
    }
    this.runs.pop();
  }

  private node(node: Node, path: string[]): void {
    if (node.kind === 'null') return;
    if (node.kind === 'scalar') this.visitor.scalar(node, this.visit(path, false));
    else this.collection(node, path);
  }

  private visit(path: readonly string[], isComment: boolean): LeafVisit {
    return { path, aad: aadOf(path), encrypt: this.rule.shouldEncrypt(path, this.runs, isComment) };
  }
}
