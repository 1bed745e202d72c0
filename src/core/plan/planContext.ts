import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { classifyContent, classifyPath, isSecretPath, listGitFiles } from '../index/discover.js';
import type { Reporter } from '../reporter.js';
import { describeRedaction, redactExcerpts, type ExcerptRedaction } from '../secrets/excerptRedaction.js';
import { outlineSymbols } from './symbolOutline.js';

/**
 * What the architect sees of the repository: a trimmed file tree, the README and package
 * manifests, the index's best hits for the goal, and a one-line symbol outline per source file.
 * Everything is size-capped so a large repository costs a bounded number of prompt tokens, and
 * secret files (.env, keys, credential stores) are never read or even listed.
 */

export interface ContextLimits {
  /** Entries in the rendered tree; deeper directories collapse into "dir/ (N files)". */
  treeEntries: number;
  readmeChars: number;
  manifestChars: number;
  /** All manifests together. */
  manifestsTotalChars: number;
  hits: number;
  hitChars: number;
  outlineFiles: number;
  outlineChars: number;
  /** Files larger than this are not read for the outline. */
  outlineFileBytes: number;
}

export const DEFAULT_CONTEXT_LIMITS: ContextLimits = {
  treeEntries: 400,
  readmeChars: 6000,
  manifestChars: 3000,
  manifestsTotalChars: 9000,
  hits: 8,
  hitChars: 1500,
  outlineFiles: 400,
  outlineChars: 10_000,
  outlineFileBytes: 256 * 1024,
};

export interface ContextHit {
  path: string;
  startLine: number;
  endLine: number;
  text: string;
}

export type IndexSearch = (query: string, k: number) => Promise<ContextHit[]>;

export interface ContextDocument {
  path: string;
  text: string;
  truncated: boolean;
}

export interface PlanContext {
  /** Files git lists (tracked + untracked, not ignored), secrets excluded. */
  fileCount: number;
  /** Rendered, trimmed tree: one path per line. */
  tree: string;
  readme: ContextDocument | undefined;
  manifests: ContextDocument[];
  hits: ContextHit[];
  /** Why there are no hits (no index yet, empty index, …), for the prompt and the user. */
  indexNote: string | undefined;
  /** `path: symbol, symbol()` lines. */
  outline: string;
}

export interface GatherOptions {
  root: string;
  goal: string;
  /** Semantic/keyword search over the index; absent or throwing `index_missing` → no hits, noted. */
  search?: IndexSearch;
  /** Repository-relative paths to leave out (the plan file itself). */
  exclude?: string[];
  limits?: Partial<ContextLimits>;
  reporter?: Reporter;
}

const README_NAMES = ['README.md', 'README.markdown', 'README.rst', 'README.txt', 'README', 'readme.md', 'Readme.md'];

/** Files that say what a project is built with; read at the root only. */
export const MANIFEST_NAMES = [
  'package.json',
  'tsconfig.json',
  'deno.json',
  'pyproject.toml',
  'setup.cfg',
  'setup.py',
  'requirements.txt',
  'Pipfile',
  'Cargo.toml',
  'go.mod',
  'Gemfile',
  'composer.json',
  'pom.xml',
  'build.gradle',
  'build.gradle.kts',
  'mix.exs',
  'CMakeLists.txt',
  'Makefile',
];

function byPath(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Lists paths, collapsing the deepest directories first until at most `maxEntries` lines remain.
 * A collapsed directory shows as `dir/ (N files)` so the model still sees where code lives.
 */
export function trimTree(paths: string[], maxEntries: number): string {
  const sorted = [...paths].sort(byPath);
  const depthOf = (p: string) => p.split('/').length;
  let maxDepth = sorted.reduce((max, p) => Math.max(max, depthOf(p)), 1);
  const render = (depth: number): string[] => {
    const lines: string[] = [];
    const collapsed = new Map<string, number>();
    for (const p of sorted) {
      const parts = p.split('/');
      if (parts.length <= depth) {
        lines.push(p);
        continue;
      }
      const dir = `${parts.slice(0, depth).join('/')}/`;
      if (!collapsed.has(dir)) lines.push(dir);
      collapsed.set(dir, (collapsed.get(dir) ?? 0) + 1);
    }
    return lines.map((line) => {
      const n = collapsed.get(line);
      return n === undefined ? line : `${line} (${n} file${n === 1 ? '' : 's'})`;
    });
  };
  let lines = render(maxDepth);
  while (lines.length > maxEntries && maxDepth > 1) {
    maxDepth--;
    lines = render(maxDepth);
  }
  if (lines.length > maxEntries) {
    const rest = lines.length - maxEntries;
    lines = [...lines.slice(0, maxEntries), `… ${rest} more entries`];
  }
  return lines.join('\n');
}

/**
 * Reads at most `maxBytes` of a file as UTF-8, or undefined if unreadable, binary, secret-bearing
 * or a symlink (a README linked to ~/.env must not be read).
 */
async function readHead(file: string, maxBytes: number): Promise<{ text: string; truncated: boolean } | undefined> {
  let handle;
  try {
    handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    const size = (await handle.stat()).size;
    const buffer = Buffer.alloc(Math.min(size, maxBytes));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    // Cut at a line end so a truncated file never ends mid-character or mid-line.
    let text = buffer.subarray(0, bytesRead).toString('utf8');
    const truncated = size > bytesRead;
    if (truncated) text = text.slice(0, Math.max(0, text.lastIndexOf('\n')));
    const reason = classifyContent(text);
    if (reason === 'binary' || reason === 'secret') return undefined;
    return { text, truncated };
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

type OnRedaction = (redaction: ExcerptRedaction) => void;

async function readDocument(
  root: string,
  rel: string,
  maxChars: number,
  onRedaction: OnRedaction,
): Promise<ContextDocument | undefined> {
  // Reading 4 bytes per allowed char covers any UTF-8 text; the char cap is applied afterwards.
  const head = await readHead(path.join(root, rel), maxChars * 4);
  if (!head) return undefined;
  let { text, truncated } = head;
  if (text.length > maxChars) {
    text = text.slice(0, maxChars);
    text = text.slice(0, Math.max(0, text.lastIndexOf('\n')));
    truncated = true;
  }
  // Keys pasted into a README or a config manifest must not travel to the provider either.
  const [masked] = await redactExcerpts([{ path: rel, text: redactSecrets(text) }], onRedaction);
  return { path: rel, text: masked!.text, truncated };
}

function capHit(hit: ContextHit, maxChars: number): ContextHit {
  if (hit.text.length <= maxChars) return hit;
  const kept = hit.text.slice(0, maxChars);
  const cut = kept.lastIndexOf('\n');
  const text = cut > 0 ? kept.slice(0, cut) : kept;
  return { ...hit, text, endLine: hit.startLine + text.split('\n').length - 1 };
}

const SECONDARY_DIRS =
  /(^|\/)(tests?|__tests__|spec|specs|fixtures?|examples?|docs?|benchmarks?|bench|e2e|testdata|vendor|third_party)\//i;
const SECONDARY_FILES = /(\.|_)(test|spec)\.[^/]+$|_test\.go$|(^|\/)test_[^/]+\.py$/i;

/** Tests, fixtures, examples and docs: outlined after application code. */
export function isSecondaryPath(relPath: string): boolean {
  return SECONDARY_DIRS.test(relPath) || SECONDARY_FILES.test(relPath);
}

export async function gatherPlanContext(options: GatherOptions): Promise<PlanContext> {
  const limits = { ...DEFAULT_CONTEXT_LIMITS, ...options.limits };
  const { root } = options;
  const onRedaction: OnRedaction = (r) =>
    options.reporter?.debug(`redacted a secret before sending: ${describeRedaction(r)}`);
  const excluded = new Set(options.exclude ?? []);
  const files = (await listGitFiles(root)).filter((p) => !isSecretPath(p) && !excluded.has(p)).sort(byPath);
  const present = new Set(files);

  const readmeName = README_NAMES.find((name) => present.has(name));
  const readme = readmeName ? await readDocument(root, readmeName, limits.readmeChars, onRedaction) : undefined;

  const manifests: ContextDocument[] = [];
  let manifestBudget = limits.manifestsTotalChars;
  for (const name of MANIFEST_NAMES) {
    if (!present.has(name) || manifestBudget <= 0) continue;
    const doc = await readDocument(root, name, Math.min(limits.manifestChars, manifestBudget), onRedaction);
    if (!doc || doc.text === '') continue;
    manifests.push(doc);
    manifestBudget -= doc.text.length;
  }

  let hits: ContextHit[] = [];
  let indexNote: string | undefined;
  if (!options.search) {
    indexNote = 'No index search available.';
  } else {
    try {
      const found = (await options.search(options.goal, limits.hits)).filter(
        (hit) => !isSecretPath(hit.path) && !excluded.has(hit.path),
      );
      hits = (await redactExcerpts(found, onRedaction)).map((hit) =>
        capHit({ ...hit, text: redactSecrets(hit.text) }, limits.hitChars),
      );
    } catch (err) {
      // No index yet (or no model to query it) must not stop planning: the tree and outline still
      // give the architect a map; the user is told how to get better context.
      if (
        !(err instanceof AppError) ||
        !['index_missing', 'index_corrupt', 'model_missing', 'model_invalid'].includes(err.code)
      )
        throw err;
      indexNote = `${err.message} Planning without index hits.`;
      options.reporter?.warn(`${err.message} Planning without index hits${err.hint ? ` (${err.hint})` : ''}.`);
    }
  }

  // Outline: files the index hits point at first (most relevant), then application code, then
  // tests, fixtures, examples and docs; path order within each group. The budget runs out on the
  // least useful files in a large repository.
  const secondary = files.filter(isSecondaryPath);
  const primary = files.filter((p) => !isSecondaryPath(p));
  const outlineCandidates = [...new Set([...hits.map((h) => h.path), ...primary, ...secondary])].filter(
    (p) => present.has(p) && classifyPath(p, { include: [], exclude: [] }) === undefined,
  );
  const outlineLines: string[] = [];
  let outlineChars = 0;
  let read = 0;
  for (const rel of outlineCandidates) {
    if (read >= limits.outlineFiles || outlineChars >= limits.outlineChars) break;
    if (!outlineSymbols.supports(rel)) continue;
    read++;
    const head = await readHead(path.join(root, rel), limits.outlineFileBytes);
    if (!head) continue;
    const symbols = outlineSymbols(rel, head.text);
    if (symbols.length === 0) continue;
    const line = `${rel}: ${symbols.join(', ')}`;
    if (outlineChars + line.length > limits.outlineChars) break;
    outlineLines.push(line);
    outlineChars += line.length + 1;
  }

  return {
    fileCount: files.length,
    tree: trimTree(files, limits.treeEntries),
    readme,
    manifests,
    hits,
    indexNote,
    outline: outlineLines.join('\n'),
  };
}
