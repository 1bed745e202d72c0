import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FUSION } from '../src/core/index/fusion.js';
import { cliEnv, runCli, runCliAsync } from './helpers/cli.js';
import { readFixtureTree } from './helpers/fixtures.js';
import { git, makeGitRepo, writeFiles } from './helpers/repo.js';

interface Hit {
  path: string;
  startLine: number;
  endLine: number;
  score: number;
  text: string;
}

/** Every hit must quote the file exactly at its lines: the index agrees with the tree. */
function expectHitsMatchTree(root: string, hits: Hit[]) {
  for (const hit of hits) {
    const lines = readFileSync(path.join(root, hit.path), 'utf8').split(/\r?\n/);
    expect(lines.slice(hit.startLine - 1, hit.endLine).join('\n')).toBe(hit.text);
  }
}

function search(root: string, env: NodeJS.ProcessEnv, query: string, extra: string[] = []): Hit[] {
  const res = runCli(['search', query, '--json', ...extra], { cwd: root, env });
  expect(res.code, res.stderr).toBe(0);
  return res.json.results as Hit[];
}

describe('index + search through bin/ (real model, hnswlib, SQLite)', () => {
  const env = cliEnv();
  let root: string;

  beforeAll(() => {
    root = makeGitRepo(readFixtureTree('sample-repo'));
    const res = runCli(['index', '--json'], { cwd: root, env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.json).toMatchObject({ filesChanged: 6, filesRemoved: 0 });
    expect(res.json.chunksEmbedded).toBeGreaterThanOrEqual(6);
    expect(res.json.chunksTotal).toBe(res.json.chunksEmbedded);
    for (const key of ['filesScanned', 'filesChanged', 'filesRemoved', 'chunksEmbedded', 'chunksTotal', 'seconds']) {
      expect(typeof res.json[key]).toBe('number');
    }
  });

  it.each([
    ['where is the retry delay computed', 'src/http/retry.ts'],
    ['how are user passwords hashed and checked at login', 'src/auth/password.ts'],
    ['evict the least recently used entry', 'src/cache/lru.ts'],
    ['apply database schema changes in order', 'src/db/migrations.ts'],
    ['scale the web pods during a release', 'docs/deploy.md'],
  ])('finds the right file for "%s"', (query, expected) => {
    for (const mode of ['hybrid', 'vector']) {
      const hits = search(root, env, query, ['--mode', mode, '-k', '3']);
      expect(hits[0]?.path, `${mode}: ${JSON.stringify(hits.map((h) => h.path))}`).toBe(expected);
      expectHitsMatchTree(root, hits);
    }
  });

  it('keyword mode finds identifiers, split or whole', () => {
    expect(search(root, env, 'computeRetryDelay', ['--mode', 'keyword'])[0]?.path).toBe('src/http/retry.ts');
    expect(search(root, env, 'timing safe equal', ['--mode', 'keyword'])[0]?.path).toBe('src/auth/password.ts');
  });

  it('never indexes secret files', () => {
    const hits = search(root, env, 'OPENAI_API_KEY sk-test-secret-value', ['-k', '20']);
    expect(hits.map((h) => h.path)).not.toContain('.env.example-secret');
    for (const h of hits) expect(h.text).not.toContain('sk-test-secret-value');
  });

  it('prints human-readable results without --json', () => {
    const res = runCli(['search', 'retry', 'delay', '-k', '1'], { cwd: root, env });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^src\/http\/retry\.ts:\d+-\d+ {2}\(score [\d.]+\)\n/);
  });

  it('--explain shows where each ranking put a result and the fused score', () => {
    const res = runCli(['search', 'computeRetryDelay backoff', '--explain', '--json', '-k', '8'], { cwd: root, env });
    expect(res.code, res.stderr).toBe(0);
    const results = res.json.results as Array<Hit & { explain: Record<string, number | undefined> }>;
    const top = results[0]!;
    expect(top.path).toBe('src/http/retry.ts');
    expect(top.explain.vectorRank).toBeGreaterThanOrEqual(1);
    expect(top.explain.keywordRank).toBe(1);
    expect(top.explain.similarity).toBeGreaterThan(0);
    expect(top.explain.similarity).toBeLessThanOrEqual(1);
    expect(top.explain.bm25).toBeGreaterThan(0);
    for (const r of results) {
      // The query names an identifier, so both rankings weigh the same: the fused score is the sum
      // of the reciprocal ranks the chunk was found at.
      const part = (rank: number | undefined) => (rank === undefined ? 0 : 1 / (DEFAULT_FUSION.rrfK + rank));
      expect(r.score).toBeCloseTo(part(r.explain.vectorRank) + part(r.explain.keywordRank), 12);
    }
    expect(results.map((r) => r.score)).toEqual([...results.map((r) => r.score)].sort((a, b) => b - a));
    // Without --explain the JSON keeps its documented shape.
    expect(Object.keys(search(root, env, 'computeRetryDelay backoff')[0]!).sort()).toEqual(
      ['endLine', 'path', 'score', 'startLine', 'text'].sort(),
    );
  });

  it('--explain in keyword mode and in human output', () => {
    const keyword = runCli(['search', 'computeRetryDelay', '--mode', 'keyword', '--explain', '--json'], {
      cwd: root,
      env,
    });
    const first = keyword.json.results[0];
    expect(first.explain.keywordRank).toBe(1);
    expect(first.explain.vectorRank).toBeUndefined();
    expect(first.score).toBeCloseTo(first.explain.bm25, 12);
    const human = runCli(['search', 'retry', 'delay', '-k', '2', '--explain'], { cwd: root, env });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(
      /^src\/http\/retry\.ts:\d+-\d+ {2}\(score [\d.]+\)\n {4}\[vector #\d+ \(0\.\d{3}\) · keyword #\d+ \(bm25 [\d.]+\) · fused [\d.]+\]\n/,
    );
  });

  it('re-embeds only the edited file, and a no-op refresh embeds nothing', () => {
    const noop = runCli(['index', '--json'], { cwd: root, env });
    expect(noop.json).toMatchObject({ filesChanged: 0, filesRemoved: 0, chunksEmbedded: 0 });
    const file = path.join(root, 'src/cache/lru.ts');
    writeFileSync(
      file,
      readFileSync(file, 'utf8') + '\n/** Removes every entry at once. */\nexport function clearAll() {}\n',
    );
    const edit = runCli(['index', '--json'], { cwd: root, env });
    expect(edit.code, edit.stderr).toBe(0);
    expect(edit.json).toMatchObject({ filesChanged: 1, filesRemoved: 0 });
    expect(edit.json.chunksEmbedded).toBeGreaterThanOrEqual(1);
    expect(edit.json.chunksEmbedded).toBeLessThanOrEqual(2);
    expect(search(root, env, 'remove every entry at once')[0]?.path).toBe('src/cache/lru.ts');
  });

  it('touching a file without changing it embeds nothing; a copy reuses cached vectors', () => {
    const file = path.join(root, 'src/db/migrations.ts');
    const content = readFileSync(file, 'utf8');
    writeFileSync(file, content);
    const touched = runCli(['index', '--json'], { cwd: root, env });
    expect(touched.json).toMatchObject({ filesChanged: 0, chunksEmbedded: 0 });
    writeFiles(root, { 'src/db/migrations-copy.ts': content });
    const copied = runCli(['index', '--json'], { cwd: root, env });
    expect(copied.json).toMatchObject({ filesChanged: 1, chunksEmbedded: 0 });
    expect(copied.json.chunksReused).toBeGreaterThanOrEqual(1);
    rmSync(path.join(root, 'src/db/migrations-copy.ts'));
  });

  it('a deleted file never comes back in results', () => {
    rmSync(path.join(root, 'docs/deploy.md'));
    const res = runCli(['index', '--json'], { cwd: root, env });
    expect(res.json.filesRemoved).toBeGreaterThanOrEqual(1);
    for (const mode of ['hybrid', 'vector', 'keyword']) {
      const hits = search(root, env, 'kubectl scale deployment web replicas', ['--mode', mode, '-k', '20']);
      expect(hits.map((h) => h.path)).not.toContain('docs/deploy.md');
    }
    git(root, 'checkout', '--', 'docs/deploy.md');
    runCli(['index'], { cwd: root, env });
    expect(search(root, env, 'kubectl scale deployment web replicas')[0]?.path).toBe('docs/deploy.md');
  });

  it('recovers from a damaged vector file: search warns and still answers, index repairs it', () => {
    const file = path.join(root, '.ai-dev-bot/index/vectors.hnsw');
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, Math.floor(size / 3));
    closeSync(fd);
    // search scans the flat vector file and never reads the graph; without that file it falls back to it.
    const flat = runCli(['search', 'retry delay', '--json'], { cwd: root, env });
    expect(flat.stderr).not.toMatch(/damaged/);
    expect(flat.json.results[0].path).toBe('src/http/retry.ts');
    rmSync(path.join(root, '.ai-dev-bot/index/vectors.i8'));
    const res = runCli(['search', 'retry delay', '--json'], { cwd: root, env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/damaged; rebuilding/);
    expect(res.json.results[0].path).toBe('src/http/retry.ts');
    const repaired = runCli(['index', '--json'], { cwd: root, env });
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.json).toMatchObject({ repaired: true, chunksEmbedded: 0 });
    const clean = runCli(['search', 'retry delay', '--json'], { cwd: root, env });
    expect(clean.stderr).not.toMatch(/damaged/);
    expect(clean.json.results[0].path).toBe('src/http/retry.ts');
  });

  it('a missing vector file is rebuilt from stored vectors without re-embedding', () => {
    rmSync(path.join(root, '.ai-dev-bot/index/vectors.hnsw'));
    const res = runCli(['index', '--json'], { cwd: root, env });
    expect(res.json).toMatchObject({ repaired: true, chunksEmbedded: 0 });
    expect(existsSync(path.join(root, '.ai-dev-bot/index/vectors.hnsw'))).toBe(true);
  });

  it('a no-op run does not load the graph; a run that changes a file does', () => {
    const loaded = /Loaded the vector graph \(\d+ vectors\)/;
    const noop = runCli(['index', '--json', '--verbose'], { cwd: root, env });
    expect(noop.code, noop.stderr).toBe(0);
    expect(noop.json).toMatchObject({ filesChanged: 0, chunksEmbedded: 0 });
    expect(noop.stderr).not.toMatch(loaded);
    appendFileSync(path.join(root, 'src/http/retry.ts'), '\n// retries back off exponentially\n');
    const changed = runCli(['index', '--json', '--verbose'], { cwd: root, env });
    expect(changed.json).toMatchObject({ filesChanged: 1, repaired: false });
    expect(changed.stderr).toMatch(loaded);
    // --verbose times the phases; this run embedded, so the model load is counted.
    const phases =
      /index phases: scan ([\d.]+) s, read \+ chunk \+ embed ([\d.]+) s \(model load ([\d.]+) s\), write ([\d.]+) s/.exec(
        changed.stderr,
      );
    expect(phases, changed.stderr).not.toBeNull();
    expect(Number(phases![3])).toBeGreaterThan(0);
    expect(Number(phases![2])).toBeGreaterThanOrEqual(Number(phases![3]));
    // The graph written by that run answers (the flat file moved away, so search reads the graph).
    rmSync(path.join(root, '.ai-dev-bot/index/vectors.i8'));
    const hits = runCli(['search', 'retry delay', '--json', '--verbose'], { cwd: root, env });
    expect(hits.stderr).toMatch(loaded);
    expect(hits.json.results[0].path).toBe('src/http/retry.ts');
    expect(runCli(['index', '--json'], { cwd: root, env }).json.filesChanged).toBe(0);
  });

  it('--full re-embeds everything', () => {
    const res = runCli(['index', '--full', '--json'], { cwd: root, env });
    expect(res.code).toBe(0);
    expect(res.json.chunksEmbedded).toBe(res.json.chunksTotal);
  });
});

describe('kill -9 during index', () => {
  it('leaves a usable index and the next run completes consistently', async () => {
    const env = cliEnv();
    // Enough distinct code that embedding takes a few seconds.
    const files: Record<string, string> = {};
    for (let i = 0; i < 120; i++) {
      files[`src/mod${i}.ts`] = Array.from(
        { length: 60 },
        (_, j) =>
          `export function handler${i}_${j}(input${j}: number): number {\n  return input${j} * ${i + j} + ${i * j};\n}\n`,
      ).join('\n');
    }
    const root = makeGitRepo(files, 'aidb-kill-');
    for (const delayMs of [300, 900, 1600, 2600]) {
      const run = runCliAsync(['index'], { cwd: root, env });
      await new Promise((r) => setTimeout(r, delayMs));
      run.child.kill('SIGKILL');
      await run.done;
    }
    const res = runCli(['index', '--json'], { cwd: root, env, timeoutMs: 500_000 });
    expect(res.code, res.stderr).toBe(0);
    const files2 = runCli(['index', '--json'], { cwd: root, env });
    expect(files2.json).toMatchObject({ filesChanged: 0, chunksEmbedded: 0 });
    const hits = search(root, env, 'handler57_3 input3', ['-k', '10']);
    expect(hits.length).toBe(10);
    expectHitsMatchTree(root, hits);
    expect(hits.map((h) => h.path)).toContain('src/mod57.ts');
    // A full embed of 120 files takes ~10 s on an idle 2-core machine; a busy one needs far longer.
  }, 600_000);
});

describe('CLI basics', () => {
  it('init creates the state dir and hides it via .git/info/exclude only', () => {
    const root = makeGitRepo({ 'a.txt': 'a\n' });
    const res = runCli(['init', '--json'], { cwd: root });
    expect(res.code).toBe(0);
    expect(res.json).toMatchObject({ created: true, excludeAdded: true });
    expect(readFileSync(path.join(root, '.git/info/exclude'), 'utf8')).toContain('/.ai-dev-bot/');
    expect(git(root, 'status', '--porcelain')).toBe('');
    expect(runCli(['init', '--json'], { cwd: root }).json).toMatchObject({ created: false, excludeAdded: false });
  });

  it('outside a git repo: exit 2 with a hint, JSON error shape', () => {
    const res = runCli(['search', 'x', '--json', '--cwd', '/'], { cwd: '/' });
    expect(res.code).toBe(2);
    expect(res.json.error).toMatchObject({ code: 'not_a_git_repo' });
    expect(res.json.error.hint).toMatch(/git/);
  });

  it('search before index: exit 2 telling to run index', () => {
    const root = makeGitRepo({ 'a.txt': 'a\n' });
    const res = runCli(['search', 'x'], { cwd: root });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/ai-dev-bot index/);
  });

  it('bad flags and bad config give exit 2', () => {
    const root = makeGitRepo({ 'ai-dev-bot.config.json': '{"search":{"k":0}}' });
    expect(runCli(['index', '--bogus'], { cwd: root }).code).toBe(2);
    const res = runCli(['index'], { cwd: root });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/search\.k/);
    expect(res.stderr).toContain('ai-dev-bot.config.json');
    // zod's English messages survive the build dropping its other locales.
    expect(res.stderr).toContain('Too small: expected number to be >=1');
  });

  it('--version and --help', () => {
    const root = makeGitRepo({ 'a.txt': 'a\n' });
    expect(runCli(['--version'], { cwd: root }).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = runCli(['--help'], { cwd: root });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples:/);
    expect(help.stdout).toMatch(/Exit codes/);
  });
});
