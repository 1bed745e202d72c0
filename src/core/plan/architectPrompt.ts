import { MAX_FILES_PER_ITEM, MAX_PLAN_ITEMS } from './planSchema.js';
import type { ContextDocument, PlanContext } from './planContext.js';

/**
 * The architect's prompts. The system prompt states what a good item is (the original system's
 * rules: small, ordered, each with files, action and verification); the user message carries the
 * goal and the repository context. Kept free of I/O so tests can assert on the exact text.
 */

export const ARCHITECT_SYSTEM_PROMPT = `You are the software architect of ai-dev-bot, a coding agent that works inside a git repository.
Turn the user's goal into an ordered implementation plan that a coding assistant (Aider) will carry
out one item at a time, each item in a single session, with a reviewer checking it against its
verification criteria before the next item starts.

Rules for the plan:
- Items are in execution order; later items may rely on earlier ones. Use ids P1, P2, P3, ….
- Each item is one small, self-contained change: typically 1-4 files and under ~300 changed lines.
  Split anything bigger. At most ${MAX_FILES_PER_ITEM} files per item, at most ${MAX_PLAN_ITEMS} items in total.
- title: an imperative one-line summary ("Add retry with backoff to the HTTP client").
- files: repository-relative paths the item creates or edits. Prefer paths that exist in the tree
  shown; new files go where the project's conventions put them.
- action: concrete instructions — which functions, types or modules to add or change, and how.
  Name real identifiers from the context. No vague steps like "improve" or "refactor as needed".
- verification: criteria a reviewer can check from the diff and the project's checks: tests to add
  or update (and what they assert), commands that must pass, observable behaviour.
- Include tests with the code they test (in the same item), not as a separate final item.
- Do not plan work that is already done, and no items for committing, pushing or opening PRs.

Answer with JSON only, matching the given schema: {"items": [{"id", "title", "files", "action", "verification"}]}.`;

/** A Markdown code fence longer than any backtick run inside `text`, so content cannot close it. */
function fenced(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

function documentSection(doc: ContextDocument): string {
  return `### ${doc.path}${doc.truncated ? ' (truncated)' : ''}\n${fenced(doc.text)}`;
}

/** The user message: goal first, then the repository context in decreasing order of value. */
export function buildArchitectUserPrompt(goal: string, context: PlanContext): string {
  const sections = [`# Goal\n\n${goal}`];
  sections.push(
    `# Repository files (${context.fileCount} files; deep directories collapsed)\n\n${fenced(context.tree || '(empty repository)')}`,
  );
  if (context.readme) sections.push(`# README\n\n${documentSection(context.readme)}`);
  if (context.manifests.length > 0)
    sections.push(`# Project manifests\n\n${context.manifests.map(documentSection).join('\n\n')}`);
  if (context.hits.length > 0) {
    const hits = context.hits.map((hit) => `### ${hit.path}:${hit.startLine}-${hit.endLine}\n${fenced(hit.text)}`);
    sections.push(`# Code most relevant to the goal (semantic index search)\n\n${hits.join('\n\n')}`);
  } else {
    sections.push(`# Code most relevant to the goal\n\n(none: ${context.indexNote ?? 'the index returned no hits.'})`);
  }
  if (context.outline) sections.push(`# Main symbols per file\n\n${fenced(context.outline)}`);
  sections.push('Write the plan for the goal above as JSON.');
  return sections.join('\n\n');
}
