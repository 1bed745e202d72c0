import type { Plan } from '../plan/planFile.js';
import type { PlanContext } from '../plan/planContext.js';

/** How the architect talks when it writes the target project's README. */

export const README_SYSTEM_PROMPT = `You write the README.md of a software project for its users.
Use only what the material shows: the plan of work done, the manifests, the file tree, the symbol
outline and the code excerpts. Cover, in this order and only when the material supports it: what it
is, prerequisites, install, configuration, how to run, features, usage examples. Leave out any
section the material cannot support (say which in "leftOut") — never invent commands, options,
URLs, badges, licences or version numbers. Plain GitHub Markdown, starting with "# <name>".
Answer with one JSON object only: {"readme": string, "leftOut": string[]}.`;

export const README_JSON_SCHEMA = {
  type: 'object',
  properties: {
    readme: { type: 'string', description: 'the complete README.md in Markdown' },
    leftOut: {
      type: 'array',
      items: { type: 'string' },
      description: 'sections left out because the material does not support them',
    },
  },
  required: ['readme', 'leftOut'],
};

const fence = (text: string) => `\`\`\`\n${text.trim()}\n\`\`\``;

/** The material: the plan's goal and items, manifests, tree, outline and index excerpts. */
export function buildReadmePrompt(plan: Plan | undefined, context: PlanContext): string {
  const parts: string[] = [];
  if (plan) {
    parts.push(`## The plan of work (goal: ${plan.goal || 'not stated'})`);
    for (const item of plan.items) {
      const mark = item.status === 'done' ? '[x]' : item.status === 'rejected' ? '[!] (not done)' : '[ ] (not done)';
      parts.push(`- ${mark} ${item.id} ${item.title}: ${item.action.split('\n')[0]}`);
    }
    parts.push('Only items marked [x] are implemented; do not describe the others as features.', '');
  }
  for (const doc of context.manifests) parts.push(`## ${doc.path}`, fence(doc.text), '');
  parts.push(`## File tree (${context.fileCount} files)`, fence(context.tree), '');
  if (context.outline) parts.push('## Symbols per file', fence(context.outline), '');
  if (context.hits.length > 0) {
    parts.push('## Code excerpts');
    for (const hit of context.hits) parts.push(`### ${hit.path}:${hit.startLine}-${hit.endLine}`, fence(hit.text));
    parts.push('');
  }
  parts.push('Write the README.md now.');
  return parts.join('\n');
}

/** What the reviewer checks the README against (sent as the item's verification criteria). */
export const README_REVIEW_CRITERIA = `Every statement (commands, options, configuration keys, requirements, features) is supported by
the material in the Action above; nothing is invented. Sections the material cannot support are left
out rather than guessed. It says what the project is and how to install and run it when the
material shows that.`;
