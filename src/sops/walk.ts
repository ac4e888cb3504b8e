import type { LeafRule } from './selectors.ts';
import type { Comment, Mapping, Node, Scalar, Sequence, Tree } from './tree.ts';

/**
 * Visits every leaf of a tree in document order, the order the MAC is computed in (sops-format.md
 * §3.1), with the AAD of §2 and the encrypt/clear decision of §4. Nulls are never visited.
 */

/** What a visitor learns about a leaf. One object per walk, updated in place: read it during the call only. */
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
  for (const branch of tree.branches) new Walker(rule, visitor).collection(branch, '');
}

/**
 * One path array pushed and popped, each level's AAD prefix built once from its parent's, and one
 * visit object: a walk visits every leaf of a file twice per rotation, and a new path array, joined
 * AAD and visit per leaf were most of its time and garbage.
 */
class Walker {
  /** Per nesting level, the comments since the last non-comment item (§4.3). */
  private readonly runs: string[][] = [];
  private readonly path: string[] = [];
  private readonly current: { path: readonly string[]; aad: string; encrypt: boolean } = { path: this.path, aad: '', encrypt: false };
  private readonly rule: LeafRule;
  private readonly visitor: LeafVisitor;

  constructor(rule: LeafRule, visitor: LeafVisitor) {
    this.rule = rule;
    this.visitor = visitor;
  }

  /** `prefix`: the AAD of `path` without its root form (`''` at the root, `a:b:` below). */
  collection(node: Mapping | Sequence, prefix: string): void {
    const run: string[] = [];
    this.runs.push(run);
    for (const item of node.items) {
      if (item.kind === 'comment') {
        run.push(item.text);
        this.visitor.comment(item, this.visit(prefix, true));
        continue;
      }
      if (item.kind === 'entry') {
        this.path.push(item.key);
        this.node(item.value, `${prefix}${item.key}:`);
        this.path.pop();
      } else {
        this.node(item, prefix);
      }
      run.length = 0;
    }
    this.runs.pop();
  }

  private node(node: Node, prefix: string): void {
    if (node.kind === 'null') return;
    if (node.kind === 'scalar') this.visitor.scalar(node, this.visit(prefix, false));
    else this.collection(node, prefix);
  }

  private visit(prefix: string, isComment: boolean): LeafVisit {
    const visit = this.current;
    visit.aad = prefix === '' ? ':' : prefix;
    visit.encrypt = this.rule.shouldEncrypt(this.path, this.runs, isComment);
    return visit;
  }
}
