import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AiderPaths } from '../../src/core/implement/aiderInvocation.js';
import { projectRoot } from './cli.js';
import { git } from './repo.js';

/** The pinned Aider installed by test/global-setup.ts (scripts/setup-aider.mjs). */
export const AIDER_BIN = path.join(projectRoot, '.venv', 'aider', 'bin', 'aider');

/** Placeholder state-dir paths for building an Aider invocation without running it. */
export const FAKE_AIDER_PATHS: AiderPaths = {
  messageFile: '/s/msg.md',
  envFile: '/s/aider.env',
  home: '/s/home',
  chatHistoryFile: '/s/chat.md',
  inputHistoryFile: '/s/input',
  llmHistoryFile: '/s/llm.log',
  analyticsLog: '/s/analytics.jsonl',
  aiderIgnoreFile: '/s/allow.aiderignore',
};

/** A reply in Aider's `diff` edit format: path, fence, SEARCH/REPLACE, fence. Empty search creates a file. */
export function editBlock(file: string, search: string, replace: string): string {
  return `${file}\n\`\`\`\n<<<<<<< SEARCH\n${search}=======\n${replace}>>>>>>> REPLACE\n\`\`\`\n`;
}

export function editReply(...blocks: string[]): string {
  return `Here are the changes.\n\n${blocks.join('\n')}`;
}

/** Every file of the work tree (not .git, not the tool's state, not Aider's cache) with hash and mode. */
export function treeState(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(root, full).split(path.sep).join('/');
      if (rel === '.git' || rel === '.ai-dev-bot' || rel.startsWith('.aider.tags.cache')) continue;
      if (entry.isDirectory()) {
        out[`${rel}/`] = 'dir';
        walk(full);
      } else {
        const mode = (lstatSync(full).mode & 0o777).toString(8);
        out[rel] = `${mode}:${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
      }
    }
  };
  walk(root);
  out['<git status>'] = git(root, 'status', '--porcelain=v1', '--untracked-files=all');
  out['<HEAD>'] = git(root, 'rev-parse', 'HEAD').trim();
  return out;
}

/** Writes the user config file of a cliEnv() home. */
export function writeUserConfig(env: NodeJS.ProcessEnv, config: object): void {
  const dir = path.join(env.XDG_CONFIG_HOME!, 'ai-dev-bot');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
}
