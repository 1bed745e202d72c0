import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGeminiServer, FakeOpenAiServer, type ReceivedRequest } from './fakes/llmServers.js';
import { editBlock, editReply } from './helpers/aider.js';
import { runCliAsync } from './helpers/cli.js';
import { AIDER_METADATA, GREET, HELLO, fakeLlmEnv } from './helpers/implementRepo.js';
import { plantedSecrets } from './helpers/plantedSecrets.js';
import { git, makeGitRepo } from './helpers/repo.js';

/** An item unrelated to the files holding the secrets. */
const PLAN_JSON = JSON.stringify({
  items: [
    {
      id: 'P1',
      title: 'Greet with Hello',
      files: ['src/greet.js'],
      action: 'Make greet(name) return "Hello, <name>!" instead of "hi <name>".',
      verification: "greet('Bob') returns 'Hello, Bob!'",
    },
  ],
});

/** The architect fake answers ask, plan and review by what the system prompt asks for. */
function architectReply(request: ReceivedRequest) {
  const system = JSON.stringify(request.body.systemInstruction ?? '');
  if (/reviewing architect/.test(system))
    return { text: JSON.stringify({ status: 'APPROVED', feedback: 'Done.', problems: [] }), inputTokens: 900 };
  if (/numbered excerpts/.test(system))
    return { text: 'The keys live in settings.py and client.js.', inputTokens: 900 };
  return { text: PLAN_JSON, inputTokens: 1500, outputTokens: 200 };
}

/** Every file under `dir` as latin1 text (SQLite pages, WAL, vectors, transcripts, Aider histories). */
function filesUnder(dir: string): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out.push({ file, text: readFileSync(file).toString('latin1') });
  }
  return out;
}

describe('content secrets and links out of the repo never leave the machine: index, search, ask, plan, implement (real Aider)', () => {
  const planted = plantedSecrets();
  // In a manifest, which plan reads straight from disk (not through the index).
  const dbPassword = `Pw${Date.now().toString(36)}x9Q`;
  const manifest = JSON.stringify(
    { name: 'billing', config: { databaseUrl: `postgres://billing:${dbPassword}@db.internal:5432/billing` } },
    null,
    2,
  );
  // Tracked symlinks to a file outside the repo: one named like a manifest plan would read.
  const outsideKey = `OUTSIDE_${Date.now().toString(36)}_k3Y9`;
  const secrets = [...planted.values, dbPassword, outsideKey];
  let coder: FakeOpenAiServer;
  let architect: FakeGeminiServer;
  let root: string;
  let env: NodeJS.ProcessEnv;
  const outputs: string[] = [];

  const expectNoSecret = (where: string, text: string) => {
    for (const value of secrets) expect(text.includes(value), `${where} holds a planted secret`).toBe(false);
  };

  beforeAll(async () => {
    coder = await FakeOpenAiServer.start({
      apiKey: 'sk-coder-test',
      fallback: { text: editReply(editBlock('src/greet.js', GREET, HELLO)), inputTokens: 800, outputTokens: 60 },
    });
    architect = await FakeGeminiServer.start({ apiKey: 'test-key', fallback: architectReply });
    root = makeGitRepo({
      ...planted.files,
      'src/greet.js': GREET,
      'package.json': manifest,
      'README.md': '# Billing\n\nUploads invoices to S3 and summarises them with OpenAI.\n',
      '.aider.model.metadata.json': AIDER_METADATA,
    });
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'aidb-elsewhere-'));
    writeFileSync(path.join(elsewhere, '.env'), `export function key() { return '${outsideKey}'; }\n`);
    symlinkSync(path.join(elsewhere, '.env'), path.join(root, 'Makefile'));
    symlinkSync(path.join(elsewhere, '.env'), path.join(root, 'src/config.js'));
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'links out of the repo');
    env = fakeLlmEnv({
      coderUrl: coder.url,
      architectUrl: architect.url,
      config: {
        // The repo map stays on (Aider's default size) and every index hit is a context candidate.
        aider: { mapTokens: 1024, timeoutSec: 120 },
        implement: { contextFiles: 20 },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await coder?.close();
    await architect?.close();
  });

  it('index, search, ask, plan and implement run without sending or storing the planted values', async () => {
    // Async: the fakes answer from this process, so a blocking spawn would starve them.
    const run = async (args: string[]) => {
      const res = await runCliAsync([...args, '--verbose'], { cwd: root, env }).done;
      outputs.push(res.stdout, res.stderr);
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(0);
      return res;
    };
    await run(['index']);
    const search = await run(['search', 'AWS secret access key OpenAI apiKey client', '-k', '10', '--json']);
    const hitPaths = search.json.results.map((h: { path: string }) => h.path);
    expect(hitPaths).toEqual(expect.arrayContaining(['settings.py', 'client.js']));

    const ask = await run(['ask', 'which AWS secret key and OpenAI API key does the app use?', '-k', '10']);
    expect(ask.stdout).toContain('settings.py');
    const plan = await run(['plan', 'friendlier greetings that mention the S3 bucket settings and the OpenAI client']);
    expect(plan.stderr).toMatch(
      /redacted a secret before sending: package\.json:4 \(database-connection-string\/\w+\)/,
    );

    const implement = await runCliAsync(['implement', 'next', '--yes', '--json', '--verbose'], { cwd: root, env }).done;
    outputs.push(implement.stdout, implement.stderr);
    expect(implement.code, implement.stderr).toBe(0);
    expect(implement.json.outcome).toBe('approved');
    expect(readFileSync(path.join(root, 'src/greet.js'), 'utf8')).toBe(HELLO);
    // Both files were context candidates and were left out because of their content.
    expect(implement.stderr).toMatch(/Not giving settings\.py to Aider as context: it holds a credential at line 6/);
    expect(implement.stderr).toMatch(/Not giving client\.js to Aider as context: it holds a credential at line 4/);
    // Nor can Aider see them at all: not in its repo map, not addable (its --aiderignore allow-list).
    expect(implement.stderr).toMatch(/Withheld from Aider \(credentials inside\): .*client\.js:4 .*settings\.py:6/);
    for (const r of coder.requests) {
      const text = JSON.stringify(r.body);
      expect(text).not.toContain('settings.py');
      expect(text).not.toContain('client.js');
      expect(text).toContain('src/greet.js');
    }

    expect(architect.requests.length).toBeGreaterThanOrEqual(3);
    expect(coder.requests.length).toBeGreaterThanOrEqual(1);
    // Proof the secrets' files were in reach: their non-secret lines reached the models.
    const architectText = architect.requests.map((r) => JSON.stringify(r.body)).join('\n');
    expect(architectText).toContain('AWS_SECRET_ACCESS_KEY');
    expect(architectText).toContain('databaseUrl');
    for (const r of architect.requests) expectNoSecret(`architect request ${r.path}`, JSON.stringify(r.body));
    for (const r of coder.requests) expectNoSecret('Aider request', JSON.stringify(r.body));
    for (const text of outputs) expectNoSecret('CLI output', text);
    for (const { file, text } of filesUnder(path.join(root, '.ai-dev-bot'))) expectNoSecret(file, text);
    for (const { file, text } of filesUnder(path.join(env.AI_DEV_BOT_HOME!))) expectNoSecret(file, text);
  }, 600_000);

  it('verify: a change that adds a credential is reviewed with the value masked', async () => {
    const leaked = `ghp_${'Zq4'.repeat(12)}`;
    const file = path.join(root, 'src/greet.js');
    writeFileSync(file, `${readFileSync(file, 'utf8')}const GITHUB_TOKEN = "${leaked}";\n`);
    architect.reset();
    const res = await runCliAsync(['verify', 'P1', '--verbose'], { cwd: root, env }).done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/redacted a secret in the review diff: line \d+ \(github\/\w+\)/);
    expect(architect.requests).toHaveLength(1);
    const sent = JSON.stringify(architect.requests[0]!.body);
    expect(sent).toContain('const GITHUB_TOKEN = \\"[REDACTED]\\"');
    expect(sent).not.toContain(leaked);
  }, 120_000);
});
