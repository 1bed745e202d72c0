import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { isSecretPath } from '../index/discover.js';
import type { ContextHit } from '../plan/planContext.js';
import type { PlanItem } from '../plan/planFile.js';
import type { PlanLocation } from '../plan/planStore.js';
import type { Reporter } from '../reporter.js';
import { filesHoldingCredentials } from '../secrets/credentialFiles.js';
import type { Workspace } from '../workspace.js';
import { aiderAllowList } from './aiderAllowList.js';
import { resolvesOutsideRepo } from './repoPaths.js';

/** The files one item's attempts work with, chosen once per item. */
export interface ItemFiles {
  /** The item's own files, which Aider edits. */
  files: string[];
  /** Read-only context from the index. */
  readFiles: string[];
  /** Everything Aider may see (--aiderignore keeps out the rest). */
  allowed: string[];
}

export interface ItemFilesDeps {
  ws: Workspace;
  config: Config;
  plan: PlanLocation;
  reporter: Reporter;
  /** Index search for context files; absent or failing → only the item's files. */
  search?: ((query: string, k: number) => Promise<ContextHit[]>) | undefined;
}

export function relPosix(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}

/** The item's files, its index context and Aider's allow-list; warns about names it leaves out. */
export async function chooseItemFiles(deps: ItemFilesDeps, item: PlanItem): Promise<ItemFiles> {
  const { ws, reporter } = deps;
  const files = editableFiles(ws, item, deps.plan.rel);
  const named = item.files.map((f) => f.replace(/^`|`$/g, '').trim()).filter(Boolean);
  const secret = named.filter((f) => isSecretPath(f));
  if (secret.length > 0)
    reporter.warn(`${item.id} names secret files; they are not given to Aider: ${secret.join(', ')}`);
  const linkedOut = named.filter((f) => !secret.includes(f) && resolvesOutsideRepo(ws.root, f));
  if (linkedOut.length > 0)
    reporter.warn(
      `${item.id} names files that lead out of the repository through a symlink; they are not given to Aider: ${linkedOut.join(', ')}`,
    );
  const readFiles = await contextFiles(deps, item, files);
  if (readFiles.length > 0) reporter.debug(`Context files for ${item.id}: ${readFiles.join(', ')}`);
  // Aider may see these and nothing else (--aiderignore): not secrets, links out, the plan or our state.
  const allowed = await withoutCredentialFiles(
    deps,
    await aiderAllowList(ws.root, { editable: files, planRel: deps.plan.rel }),
    files,
  );
  return { files, readFiles, allowed };
}

/** The item's files Aider may edit: inside the repo (links included), not secret, not directories. */
export function editableFiles(ws: Workspace, item: PlanItem, planRel: string): string[] {
  const out: string[] = [];
  for (const raw of item.files) {
    const cleaned = raw.replace(/^`|`$/g, '').trim();
    if (!cleaned || /[*?[\]{}]/.test(cleaned)) continue;
    const abs = path.resolve(ws.root, cleaned);
    const rel = relPosix(ws.root, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel) || rel === planRel || rel.startsWith('.ai-dev-bot/')) continue;
    if (isSecretPath(rel) || resolvesOutsideRepo(ws.root, rel)) continue;
    if (existsSync(abs) && !statSync(abs).isFile()) continue;
    if (!out.includes(rel)) out.push(rel);
  }
  return out;
}

/** Extra read-only context: files of the best index hits for the item, other than its own files. */
async function contextFiles(deps: ItemFilesDeps, item: PlanItem, own: string[]): Promise<string[]> {
  const limit = deps.config.implement.contextFiles;
  if (!deps.search || limit === 0) return [];
  let hits: ContextHit[];
  try {
    hits = await deps.search(`${item.title}\n${item.action}`, limit * 3);
  } catch (error) {
    deps.reporter.debug(`No index context for ${item.id}: ${(error as Error).message}`);
    return [];
  }
  const files: string[] = [];
  for (const hit of hits) {
    if (files.length >= limit) break;
    if (own.includes(hit.path) || files.includes(hit.path) || isSecretPath(hit.path)) continue;
    if (hit.path === relPosix(deps.ws.root, deps.plan.file)) continue;
    if (!existsSync(path.join(deps.ws.root, hit.path)) || resolvesOutsideRepo(deps.ws.root, hit.path)) continue;
    if (await unfitForContext(deps, hit.path)) continue;
    files.push(hit.path);
  }
  return files;
}

/**
 * Aider sends a read-only file whole, so one holding a credential (by content) is left out, as is
 * one the index would not read (a symlink, binary, generated). Said with --verbose, never the value.
 */
async function unfitForContext(deps: ItemFilesDeps, rel: string): Promise<boolean> {
  const unfit = await filesHoldingCredentials(deps.ws.root, [rel]);
  const findings = unfit.get(rel);
  if (!findings) return false;
  if (findings.length > 0) {
    const where = findings.map((f) => `line ${f.line} (${f.rule})`).join(', ');
    deps.reporter.debug(`Not giving ${rel} to Aider as context: it holds a credential at ${where}.`);
  }
  return true;
}

/**
 * Files holding a credential (by content) are withheld from Aider as well: its repo map quotes
 * definition lines, and under --yes-always it adds any allowed file the model asks for. The item's
 * own files stay (Aider must edit them), with a warning that they go to the model whole.
 */
async function withoutCredentialFiles(deps: ItemFilesDeps, allowed: string[], editable: string[]): Promise<string[]> {
  const unfit = await filesHoldingCredentials(deps.ws.root, allowed);
  const where = (rel: string) => unfit.get(rel)!.map((f) => `${rel}:${f.line} (${f.rule})`);
  const editedSecrets = editable.filter((rel) => unfit.get(rel)?.length).flatMap(where);
  if (editedSecrets.length > 0)
    deps.reporter.warn(
      `Files of this item hold credentials and go to the coder model whole: ${editedSecrets.join(', ')}`,
    );
  const withheld = new Set(allowed.filter((rel) => unfit.has(rel) && !editable.includes(rel)));
  const named = [...withheld].filter((rel) => unfit.get(rel)!.length > 0).flatMap(where);
  if (named.length > 0) deps.reporter.debug(`Withheld from Aider (credentials inside): ${named.join(', ')}`);
  return allowed.filter((rel) => !withheld.has(rel));
}
