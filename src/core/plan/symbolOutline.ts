import path from 'node:path';

/**
 * A cheap outline of the main declarations in a source file, by regular expressions per language.
 * It only has to tell the architect which names live where (so items cite real files and
 * functions); a real parser per language would cost start-up time and dependencies for little gain.
 */

interface Rule {
  re: RegExp;
  /** Marks exported declarations: when a file has any, its unexported helpers are left out. */
  exported?: boolean;
  /** Capture group holding the name; the keyword group (if any) decides whether to add `()`. */
  name: number;
  kind?: number;
}

const FUNCTION_KEYWORDS = new Set(['function', 'function*', 'def', 'func', 'fn', 'fun', 'sub']);

const JS_RULES: Rule[] = [
  {
    re: /^export\s+(?:default\s+)?(?:declare\s+)?(?:async\s+)?(?:abstract\s+)?(function\*?|class|interface|type|enum|const|let|var|namespace)\s+([A-Za-z_$][\w$]*)/,
    kind: 1,
    name: 2,
    exported: true,
  },
  { re: /^(?:async\s+)?(function\*?|class)\s+([A-Za-z_$][\w$]*)/, kind: 1, name: 2 },
];
const PY_RULES: Rule[] = [{ re: /^(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)/, kind: 1, name: 2 }];
const GO_RULES: Rule[] = [
  { re: /^(func)\s+(?:\([^)]*\)\s*)?([A-Za-z_]\w*)/, kind: 1, name: 2 },
  { re: /^(type)\s+([A-Za-z_]\w*)/, kind: 1, name: 2 },
];
const RUST_RULES: Rule[] = [
  {
    re: /^(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:unsafe\s+)?(fn|struct|enum|trait|mod|type|const|static)\s+([A-Za-z_]\w*)/,
    kind: 1,
    name: 2,
  },
  { re: /^(impl)(?:<[^>]*>)?\s+(?:[\w:<>, ]+\s+for\s+)?([A-Za-z_][\w:]*)/, kind: 1, name: 2 },
];
const JVM_RULES: Rule[] = [
  {
    re: /^\s{0,4}(?:(?:public|protected|private|internal|static|abstract|final|sealed|data|open|partial)\s+)*(class|interface|enum|record|object|fun|struct)\s+([A-Za-z_]\w*)/,
    kind: 1,
    name: 2,
  },
];
const RUBY_RULES: Rule[] = [{ re: /^\s{0,2}(class|module|def)\s+((?:self\.)?[\w:]+[?!=]?)/, kind: 1, name: 2 }];
const PHP_RULES: Rule[] = [
  {
    re: /^\s{0,4}(?:(?:abstract|final|public|private|protected|static)\s+)*(class|interface|trait|enum|function)\s+([A-Za-z_]\w*)/,
    kind: 1,
    name: 2,
  },
];
const MD_RULES: Rule[] = [{ re: /^#{1,2}\s+(.+?)\s*#*$/, name: 1 }];

const RULES_BY_EXT: Record<string, Rule[]> = {
  ts: JS_RULES,
  tsx: JS_RULES,
  mts: JS_RULES,
  cts: JS_RULES,
  js: JS_RULES,
  jsx: JS_RULES,
  mjs: JS_RULES,
  cjs: JS_RULES,
  py: PY_RULES,
  go: GO_RULES,
  rs: RUST_RULES,
  java: JVM_RULES,
  kt: JVM_RULES,
  kts: JVM_RULES,
  scala: JVM_RULES,
  cs: JVM_RULES,
  swift: JVM_RULES,
  rb: RUBY_RULES,
  php: PHP_RULES,
  md: MD_RULES,
};

/** Names per file are capped: the outline is a map, not an API reference. */
export const MAX_SYMBOLS_PER_FILE = 15;

function rulesFor(relPath: string): Rule[] | undefined {
  return RULES_BY_EXT[path.posix.extname(relPath).slice(1).toLowerCase()];
}

/** Main declarations of a file, in order, e.g. `['RetryPolicy', 'computeRetryDelay()']`. */
export function outlineSymbols(relPath: string, text: string): string[] {
  const rules = rulesFor(relPath);
  if (!rules) return [];
  const exported: string[] = [];
  const local: string[] = [];
  const seen = new Set<string>();
  let inFence = false;
  for (const line of text.split('\n')) {
    if (rules === MD_RULES && /^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    for (const rule of rules) {
      const match = rule.re.exec(line);
      if (!match) continue;
      const base = match[rule.name]!.trim();
      const keyword = rule.kind === undefined ? undefined : match[rule.kind];
      const name = keyword && FUNCTION_KEYWORDS.has(keyword) ? `${base}()` : base;
      if (!seen.has(name)) {
        seen.add(name);
        (rule.exported ? exported : local).push(name);
      }
      break;
    }
    if (exported.length > MAX_SYMBOLS_PER_FILE) break;
  }
  // A module's exports are its interface; its private helpers only matter when it exports nothing.
  const names = exported.length > 0 ? exported : local;
  if (names.length > MAX_SYMBOLS_PER_FILE) return [...names.slice(0, MAX_SYMBOLS_PER_FILE), '…'];
  return names;
}

outlineSymbols.supports = (relPath: string): boolean => rulesFor(relPath) !== undefined;
