import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan, renderPlan, type PlanItemData } from '../src/core/plan/planFile.js';
import { FakeGeminiServer, FakeOpenAiServer, requestText } from './fakes/llmServers.js';
import { AIDER_BIN, editBlock, editReply, treeState, writeUserConfig } from './helpers/aider.js';
import { cliEnv, runCliAsync, type CliResult } from './helpers/cli.js';
import { plantedSecrets } from './helpers/plantedSecrets.js';
import { git, makeGitRepo } from './helpers/repo.js';

/**
 * Issue 8, the Aider side: what the real Aider 0.86.2 may see, write and do when the provider is
 * down. Secrets are planted in the repository and searched for in everything that left the
 * process (the loopback model's request log) and everything the tool kept (`.ai-dev-bot/`).
 */

const CLIENT = 'export const apiKey = undefined;\n';
const CLIENT_FIXED = "export const apiKey = process.env.OPENAI_API_KEY ?? '';\n";
const LIVE_KEY = 'sk-live-0123456789abcdefPLANTED';
const DB_PASSWORD = 'Tr0ub4dor-planted-db-password';
const PEM_BODY = 'MIIEplantedPEMbodyQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo';

const approved = () => ({
  text: JSON.stringify({ status: 'APPROVED', feedback: 'Meets the criteria.', problems: [] }),
  inputTokens: 2000,
  outputTokens: 50,
});

const item = (fields: Partial<PlanItemData> = {}): PlanItemData => ({
  id: 'P1',
  title: 'Read the API key from the environment',
  status: 'open',
  files: ['src/client.js', '.env'],
  action: 'Make src/client.js read the key from the .env file (the deploy key is in config/prod.pem).',
  verification: 'apiKey comes from OPENAI_API_KEY',
  ...fields,
});

/** Every file under `dir` (recursively) as one string, for grepping. */
function allText(dir: string): string {
  if (!existsSync(dir)) return '';
  let out = '';
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if (entry.isFile()) out += `\n== ${full}\n${readFileSync(full, 'latin1')}`;
  }
  return out;
}

function planStatus(root: string): string {
  return parsePlan(readFileSync(path.join(root, 'TODO.md'), 'utf8')).plan.items[0]!.status;
}

describe('implement: what Aider may see and touch (real Aider, loopback model)', () => {
  let coder: FakeOpenAiServer;
  let architect: FakeGeminiServer;

  beforeAll(async () => {
    coder = await FakeOpenAiServer.start({ apiKey: 'sk-coder-test', fallback: { text: 'Nothing to change.' } });
    architect = await FakeGeminiServer.start({ apiKey: 'test-key', fallback: approved() });
  });
  afterEach(() => {
    coder.reset();
    architect.reset();
  });
  afterAll(async () => {
    await coder.close();
    await architect.close();
  });

  function setup(options: { items?: PlanItemData[]; files?: Record<string, string>; coderUrl?: string } = {}) {
    const root = makeGitRepo({
      'src/client.js': CLIENT,
      // Committed on purpose (`git add -f` in the issue): the worst case for a file-name rule.
      '.env': `OPENAI_API_KEY=${LIVE_KEY}\nDB_PASSWORD=${DB_PASSWORD}\n`,
      'config/prod.pem': `-----BEGIN PRIVATE KEY-----\n${PEM_BODY}\n-----END PRIVATE KEY-----\n`,
      ...options.files,
    });
    writeFileSync(
      path.join(root, 'TODO.md'),
      renderPlan({ goal: 'configurable key', items: options.items ?? [item()] }),
    );
    const env = cliEnv({ GEMINI_API_KEY: 'test-key', OPENAI_API_KEY: 'sk-coder-test', AIDER_BIN });
    writeUserConfig(env, {
      llm: {
        coder: { provider: 'openai', model: 'fake-coder' },
        openai: { baseUrl: options.coderUrl ?? coder.url },
        gemini: { baseUrl: architect.url },
        maxRetries: 0,
        retryBaseDelayMs: 10,
      },
      aider: { mapTokens: 1024, timeoutSec: 120 },
    });
    return { root, env };
  }

  const implement = (root: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> =>
    runCliAsync(['implement', 'next', '--json', ...args], { cwd: root, env }).done;

  const expectNoSecretsLeft = (root: string) => {
    const sent = coder.requests.map(requestText).join('\n');
    const kept = allText(path.join(root, '.ai-dev-bot'));
    for (const secret of [LIVE_KEY, DB_PASSWORD, PEM_BODY]) {
      expect(sent).not.toContain(secret);
      expect(kept).not.toContain(secret);
    }
    // No per-run key file or allow-list survives the run.
    expect(readdirSync(path.join(root, '.ai-dev-bot', 'aider')).filter((f) => /\.(env|aiderignore)$/.test(f))).toEqual(
      [],
    );
  };

  it('D2: a committed .env and a .pem named by the item are neither added nor sent; their names stay out of the message', async () => {
    const { root, env } = setup();
    coder.enqueue({ text: editReply(editBlock('src/client.js', CLIENT, CLIENT_FIXED)) });
    const res = await implement(root, env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('names secret files; they are not given to Aider: .env');
    expect(readFileSync(path.join(root, 'src/client.js'), 'utf8')).toBe(CLIENT_FIXED);

    expect(coder.requests).toHaveLength(1);
    const sent = requestText(coder.requests[0]!);
    expect(sent).toContain('Make src/client.js read the key from the [a secret file, withheld] file');
    expect(sent).not.toMatch(/\.env\b|prod\.pem/);
    expectNoSecretsLeft(root);
    // What Aider printed says the same: only src/client.js was in the chat.
    const transcript = readFileSync(path.join(root, res.json.attempts[0].aider.transcript), 'utf8');
    expect(transcript).toContain('Added src/client.js to the chat');
    expect(transcript).not.toMatch(/Added \.env|Added config\/prod\.pem/);
  }, 180_000);

  it('D2: a reply that edits .env anyway stops the attempt (exit 6), .env restored, nothing reviewed', async () => {
    const { root, env } = setup();
    const before = treeState(root);
    coder.enqueue({
      text: editReply(
        editBlock('src/client.js', CLIENT, CLIENT_FIXED),
        editBlock('.env', `DB_PASSWORD=${DB_PASSWORD}\n`, 'DB_PASSWORD=changed-by-the-model\n'),
      ),
    });
    const res = await implement(root, env);
    expect(res.code, res.stderr).toBe(6);
    expect(res.json.error.message).toContain('.env (secret)');
    expect(treeState(root)).toEqual(before);
    expect(architect.requests).toHaveLength(0);
    expect(planStatus(root)).toBe('open');
    expectNoSecretsLeft(root);
  }, 180_000);

  it('D2: a reply that guesses a secret path is stopped before Aider quotes that file back to the model', async () => {
    const { root, env } = setup({
      items: [item({ files: ['src/client.js'], action: 'Make src/client.js read the key.' })],
    });
    const before = treeState(root);
    // A SEARCH that does not match: Aider's follow-up request would quote the closest real lines
    // of .env ("Did you mean to match some of these actual lines from .env?").
    coder.enqueue({ text: editReply(editBlock('.env', 'DB_PASSWORD=guess\n', 'DB_PASSWORD=x\n')) });
    const res = await implement(root, env);
    expect(res.code, res.stderr).toBe(6);
    expect(res.json.error.message).toContain('.env (secret)');
    expect(coder.requests).toHaveLength(1);
    expect(treeState(root)).toEqual(before);
    expectNoSecretsLeft(root);
  }, 180_000);

  it('D2: a file the item names that holds a credential by content is not added by Aider', async () => {
    const planted = plantedSecrets();
    const { root, env } = setup({
      files: { 'settings.py': planted.files['settings.py'] },
      items: [item({ files: ['src/client.js'], action: 'Make src/client.js use the AWS region of settings.py.' })],
    });
    coder.enqueue({ text: editReply(editBlock('src/client.js', CLIENT, CLIENT_FIXED)) });
    const res = await implement(root, env);
    expect(res.code, res.stderr).toBe(0);
    const sent = requestText(coder.requests[0]!);
    expect(sent).toContain('settings.py'); // the name is no secret; the file's content is
    expect(sent).not.toContain(planted.awsSecret);
    expectNoSecretsLeft(root);
  }, 180_000);

  it('D4: a link to a file outside the repo is not given to Aider; a write through it is undone (exit 6)', async () => {
    const outsideDir = mkdtempSync(path.join(os.tmpdir(), 'aidb-outside-'));
    const victim = path.join(outsideDir, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    const { root, env } = setup({ items: [item({ files: ['link.txt'], action: 'Change link.txt to say "owned".' })] });
    symlinkSync(victim, path.join(root, 'link.txt'));
    git(root, 'add', 'link.txt');
    git(root, 'commit', '-qm', 'a link out');
    const before = treeState(root);
    coder.enqueue({ text: editReply(editBlock('link.txt', 'precious\n', 'owned\n')) });
    const res = await implement(root, env);
    expect(res.stderr).toContain('lead out of the repository through a symlink; they are not given to Aider: link.txt');
    expect(res.code, res.stderr).toBe(6);
    expect(res.json.error.message).toContain('link.txt (symlink out of the repository)');
    // Hidden by the allow-list, the link is "not in the repo" for Aider, whose `git add` of the
    // resolved path then fails before the write (the loop test covers a write that got through).
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(treeState(root)).toEqual(before);
    expect(architect.requests).toHaveLength(0);
    // The link was not in Aider's chat: the model saw neither its name as a file nor its content.
    expect(requestText(coder.requests[0]!)).not.toContain('precious');
  }, 180_000);

  it('D7: a context file named `-rf` (an index hit for the item) reaches Aider as a file, not a flag', async () => {
    const NOTE = 'Frobnicator retry budget: three attempts with jitter.\n';
    const { root, env } = setup({
      files: { '-rf': NOTE.repeat(3) },
      items: [item({ files: ['src/client.js'], action: 'Make src/client.js honour the frobnicator retry budget.' })],
    });
    const indexed = await runCliAsync(['index', '--json'], { cwd: root, env }).done;
    expect(indexed.code, indexed.stderr).toBe(0);
    coder.enqueue({ text: editReply(editBlock('src/client.js', CLIENT, CLIENT_FIXED)) });
    const res = await implement(root, env);
    expect(res.code, res.stderr).toBe(0);
    // It went in read-only: its text is in Aider's request, and it was not edited.
    expect(requestText(coder.requests[0]!)).toContain('Frobnicator retry budget');
    expect(readFileSync(path.join(root, '-rf'), 'utf8')).toBe(NOTE.repeat(3));
    expect(git(root, 'show', '--name-only', '--format=', 'HEAD').trim().split('\n').sort()).toEqual([
      'TODO.md',
      'src/client.js',
    ]);
  }, 240_000);

  describe('D1: a provider outage while Aider runs is exit 7, the tree restored, the item left open', () => {
    it('connection refused: stopped after its first retry instead of ~90 s of them', async () => {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const { root, env } = setup({ coderUrl: `http://127.0.0.1:${port}/v1` });
      const before = treeState(root);
      const started = Date.now();
      const res = await implement(root, env);
      const seconds = (Date.now() - started) / 1000;
      expect(res.code, res.stderr).toBe(7);
      expect(res.json.error.code).toBe('provider_failed');
      expect(res.json.error.message).toMatch(/Connection error|APIConnectionError/);
      expect(res.json.attempts).toHaveLength(1);
      expect(seconds).toBeLessThan(60);
      expect(treeState(root)).toEqual(before);
      expect(planStatus(root)).toBe('open');
      expect(architect.requests).toHaveLength(0);
    }, 180_000);

    it('HTTP 500: no retry storm, no [!], exit 7', async () => {
      const { root, env } = setup();
      const before = treeState(root);
      for (let i = 0; i < 30; i++) coder.enqueue({ status: 500, message: 'upstream exploded' });
      const res = await implement(root, env);
      expect(res.code, res.stderr).toBe(7);
      expect(res.json.error.message).toContain('InternalServerError');
      // One Aider try plus one of its retries (each try is up to 3 HTTP requests of its client).
      expect(coder.requests.length).toBeLessThanOrEqual(6);
      expect(treeState(root)).toEqual(before);
      expect(planStatus(root)).toBe('open');
    }, 180_000);
  });

  it('D9: no key file outlives the run, and a run killed with -9 leaves none after recovery', async () => {
    const { root, env } = setup();
    coder.enqueue({ text: editReply(editBlock('src/client.js', CLIENT, CLIENT_FIXED)), delayMs: 60_000 });
    const run = runCliAsync(['implement', '--json'], { cwd: root, env });
    const deadline = Date.now() + 60_000;
    while (coder.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(coder.requests).toHaveLength(1);
    const aiderDir = path.join(root, '.ai-dev-bot', 'aider');
    // Aider has read its env file: it is gone while Aider still runs.
    expect(readdirSync(aiderDir).filter((f) => f.endsWith('.env'))).toEqual([]);
    // A key file left by an older run killed before Aider started (0600, plaintext key).
    const stale = path.join(aiderDir, '00000000-dead-run.env');
    writeFileSync(stale, "OPENAI_API_KEY='sk-left-behind-by-a-killed-run'\n", { mode: 0o600 });
    expect(statSync(stale).mode & 0o777).toBe(0o600);
    run.child.kill('SIGKILL');
    await run.done;

    const res = await runCliAsync(['verify', '--json'], { cwd: root, env }).done;
    expect(res.stderr).toMatch(/Found an interrupted attempt at P1/);
    expect(readdirSync(aiderDir).filter((f) => /\.(env|aiderignore)$/.test(f))).toEqual([]);
  }, 180_000);

  describe('D8: one lock per repo for the plan file', () => {
    const waitForRequest = async (server: { requests: unknown[] }) => {
      const deadline = Date.now() + 60_000;
      while (server.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(server.requests).toHaveLength(1);
    };

    it('`plan --replace` while implement runs: exit 2 before any LLM call, the plan untouched', async () => {
      const { root, env } = setup();
      const planBefore = readFileSync(path.join(root, 'TODO.md'), 'utf8');
      coder.enqueue({ text: editReply(editBlock('src/client.js', CLIENT, CLIENT_FIXED)), delayMs: 60_000 });
      const run = runCliAsync(['implement', '--json'], { cwd: root, env });
      await waitForRequest(coder);
      const plan = await runCliAsync(['plan', 'another goal', '--replace', '--json'], { cwd: root, env }).done;
      expect(plan.code, plan.stderr).toBe(2);
      expect(plan.json.error.message).toMatch(/Another ai-dev-bot implement \(pid \d+\) is working on TODO\.md/);
      expect(architect.requests).toHaveLength(0);
      expect(readFileSync(path.join(root, 'TODO.md'), 'utf8')).toBe(planBefore);
      run.child.kill('SIGINT');
      expect((await run.done).code).toBe(130);
    }, 180_000);

    it('implement while `plan` waits for the model: exit 2; after plan is killed -9 the lock is taken over', async () => {
      const { root, env } = setup();
      architect.enqueue({ text: '{}', delayMs: 60_000 });
      const plan = runCliAsync(['plan', 'another goal', '--replace', '--json'], { cwd: root, env });
      await waitForRequest(architect);
      const blocked = await implement(root, env);
      expect(blocked.code, blocked.stderr).toBe(2);
      expect(blocked.json.error.message).toMatch(/Another ai-dev-bot plan \(pid \d+\)/);
      expect(coder.requests).toHaveLength(0);
      plan.child.kill('SIGKILL');
      await plan.done;
      coder.enqueue({ text: editReply(editBlock('src/client.js', CLIENT, CLIENT_FIXED)) });
      const res = await implement(root, env);
      expect(res.code, res.stderr).toBe(0);
      expect(planStatus(root)).toBe('done');
    }, 180_000);
  });
});
