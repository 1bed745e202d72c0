import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from './helpers/cli.js';
import { plantedSecrets } from './helpers/plantedSecrets.js';
import { git, makeGitRepo } from './helpers/repo.js';

/** Every byte under `dir` (index DB, WAL, vectors, logs), as latin1 so binary files compare too. */
function allBytes(dir: string): string {
  let out = '';
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) out += allBytes(file);
    else if (entry.isFile()) out += readFileSync(file).toString('latin1');
  }
  return out;
}

const PROSE_PARAGRAPH =
  'The release train leaves every second Tuesday; a change that misses it waits for the next one, ' +
  'so reviewers look at the calendar before they approve anything that touches the billing pipeline. ';

describe('index: content secrets, symlinks, unreadable files, prose, --verbose (real model, SQLite)', () => {
  const env = cliEnv();
  const planted = plantedSecrets();
  const outsideSecret = `OUTSIDE_TOKEN=${'q7Rk2'.repeat(8)}`;
  let root: string;
  let first: ReturnType<typeof runCli>;

  beforeAll(() => {
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'aidb-elsewhere-'));
    writeFileSync(path.join(elsewhere, '.env'), `${outsideSecret}\n# which API key is configured for production\n`);
    root = makeGitRepo({
      ...planted.files,
      'README.md': '# Billing\n\nInvoices are uploaded to a bucket.\n',
      // Unwrapped Markdown: every paragraph one long line (mean line length far above 300).
      'docs/release-process.md': `# Release process\n\n${PROSE_PARAGRAPH.repeat(12)}\n\n${PROSE_PARAGRAPH.repeat(15)}\n`,
      'static/app.js': `!function(){${'var a=1,b=2;if(a<b){a=b}'.repeat(400)}}();`,
      'locked.txt': 'nothing to see\n',
    });
    mkdirSync(path.join(root, 'src'));
    symlinkSync(path.join(elsewhere, '.env'), path.join(root, 'src/config.js'));
    symlinkSync('../README.md', path.join(root, 'docs/readme-link.md'));
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'links');
    chmodSync(path.join(root, 'locked.txt'), 0o000);
    first = runCli(['index', '--json', '--verbose'], { cwd: root, env });
    expect(first.code, first.stderr).toBe(0);
  });

  it('masks content secrets in stored text, BM25 and vectors, and says where with --verbose', () => {
    expect(first.json.redactions).toEqual([
      { path: 'client.js', line: 4, rule: expect.stringMatching(/openai/) },
      { path: 'settings.py', line: 6, rule: expect.stringMatching(/^aws\//) },
    ]);
    expect(first.stderr).toMatch(/redacted a secret: settings\.py:6 \(aws\/\w+\)/);
    expect(first.stderr).toMatch(/redacted a secret: client\.js:4 \(\S*openai\S*\)/);
    for (const value of planted.values) expect(first.stderr).not.toContain(value);
    const state = allBytes(path.join(root, '.ai-dev-bot'));
    for (const value of planted.values) expect(state).not.toContain(value);
    expect(state).not.toContain(outsideSecret);
    // The rest of the file is still searchable, the key itself is not.
    for (const [query, file] of [
      ['AWS_SECRET_ACCESS_KEY bucket settings', 'settings.py'],
      ['OpenAI client apiKey summarise', 'client.js'],
    ]) {
      const res = runCli(['search', query!, '-k', '5', '--json'], { cwd: root, env });
      expect(res.code, res.stderr).toBe(0);
      const hit = res.json.results.find((h: { path: string }) => h.path === file);
      expect(hit?.text).toContain('[REDACTED]');
      for (const value of planted.values) expect(res.stdout).not.toContain(value);
    }
    const byValue = runCli(['search', planted.awsSecret, '--mode', 'keyword', '--json'], { cwd: root, env });
    expect(byValue.code, byValue.stderr).toBe(0);
    expect(JSON.stringify(byValue.json.results)).not.toContain(planted.awsSecret.slice(0, 20));
  });

  it('never follows a symlink: the outside .env is not indexed nor returned, links are listed as skipped', () => {
    expect(first.stderr).toContain('skipped (symlink): src/config.js');
    expect(first.stderr).toContain('skipped (symlink): docs/readme-link.md');
    for (const mode of ['hybrid', 'vector', 'keyword']) {
      const res = runCli(
        ['search', 'which API key is configured OUTSIDE_TOKEN', '--mode', mode, '-k', '20', '--json'],
        {
          cwd: root,
          env,
        },
      );
      expect(res.code, res.stderr).toBe(0);
      expect(res.json.results.map((h: { path: string }) => h.path)).not.toContain('src/config.js');
      expect(res.stdout).not.toContain('q7Rk2q7Rk2');
    }
  });

  it('indexes unwrapped prose Markdown, still skips minified code, and lists each skipped file', () => {
    expect(first.stderr).toContain('skipped (generated): static/app.js');
    expect(first.stderr).not.toContain('docs/release-process.md');
    const res = runCli(['search', 'when does the release train leave', '-k', '3', '--json'], { cwd: root, env });
    expect(res.json.results[0]?.path).toBe('docs/release-process.md');
    // A no-op run still names the file skipped by content on the first run.
    const again = runCli(['index', '--verbose'], { cwd: root, env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('skipped (generated): static/app.js');
    expect(again.stderr).toContain('skipped (unreadable): locked.txt');
  });

  it('a chmod-000 file is skipped as unreadable, not stale forever; readable again, it is indexed', () => {
    expect(first.stderr).toContain('skipped (unreadable): locked.txt');
    const status = runCli(['status', '--json'], { cwd: root, env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.json.index.stale).toBe(0);
    chmodSync(path.join(root, 'locked.txt'), 0o644);
    expect(statSync(path.join(root, 'locked.txt')).mode & 0o777).toBe(0o644);
    expect(runCli(['status', '--json'], { cwd: root, env }).json.index.stale).toBe(1);
    const res = runCli(['index', '--json'], { cwd: root, env });
    expect(res.json.filesChanged).toBe(1);
    expect(runCli(['status', '--json'], { cwd: root, env }).json.index.stale).toBe(0);
  });
});
