import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGeminiServer, FakeOpenAiServer } from './fakes/llmServers.js';
import { editBlock, editReply } from './helpers/aider.js';
import { runCliAsync } from './helpers/cli.js';
import { GREET, HELLO, greetRepo, reviewReply } from './helpers/implementRepo.js';

const parseEvents = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));

describe('--events: NDJSON steps on stdout for pipeline logs', () => {
  let coder: FakeOpenAiServer;
  let architect: FakeGeminiServer;
  beforeAll(async () => {
    coder = await FakeOpenAiServer.start({ apiKey: 'sk-coder-test' });
    architect = await FakeGeminiServer.start({ apiKey: 'test-key' });
  });
  afterAll(async () => {
    await coder.close();
    await architect.close();
  });

  it('implement: attempt, Aider, charge, checks, review, commit per attempt, then the result', async () => {
    const { root, env } = greetRepo({
      coderUrl: coder.url,
      architectUrl: architect.url,
      config: { verify: { command: 'node -e "process.exit(0)"' } },
    });
    const bad = "export function greet(name) {\n  return 'Hey ' + name;\n}\n";
    coder.enqueue({ text: editReply(editBlock('src/greet.js', GREET, bad)), inputTokens: 900, outputTokens: 40 });
    architect.enqueue(reviewReply('REJECTED', 'Must say Hello.'));
    // The second attempt starts from the first one's edit (the tree is restored only at the end).
    coder.enqueue({ text: editReply(editBlock('src/greet.js', bad, HELLO)), inputTokens: 900, outputTokens: 40 });
    architect.enqueue(reviewReply('APPROVED', 'Says Hello.'));

    const res = await runCliAsync(['implement', 'next', '--events'], { cwd: root, env }).done;
    expect(res.code, res.stderr).toBe(0);
    const events = parseEvents(res.stdout);
    expect(events.map((e) => e.type)).toEqual([
      'attempt_started',
      'aider_finished',
      'charge',
      'checks',
      'charge',
      'review',
      'attempt_started',
      'aider_finished',
      'charge',
      'checks',
      'charge',
      'review',
      'commit',
      'result',
    ]);
    expect(events[0]).toMatchObject({ item: 'P1', attempt: 1, attempts: 3 });
    expect(events[1]).toMatchObject({ item: 'P1', attempt: 1, exitCode: 0, calls: 1, editedFiles: ['src/greet.js'] });
    expect(events[2]).toMatchObject({ task: 'coding', provider: 'openai', model: 'fake-coder', inputTokens: 900 });
    expect(events[3]).toMatchObject({ attempt: 1, passed: true, exitCode: 0 });
    expect(events[4]).toMatchObject({ task: 'verification', provider: 'gemini' });
    expect(events[5]).toMatchObject({ attempt: 1, verdict: 'REJECTED', feedback: 'Must say Hello.' });
    expect(events[11]).toMatchObject({ attempt: 2, verdict: 'APPROVED' });
    expect(events[12].sha).toMatch(/^[0-9a-f]{40}$/);
    expect(events[13]).toMatchObject({ outcome: 'approved', commit: events[12].sha });
    for (const e of events) expect(Date.parse(e.time)).not.toBeNaN();
    // The charges add up to what the result reports.
    const charged = events.filter((e) => e.type === 'charge').reduce((n, e) => n + e.usd, 0);
    expect(charged).toBeCloseTo(events[13].usd, 9);
    expect(readFileSync(path.join(root, 'src/greet.js'), 'utf8')).toBe(HELLO);
  }, 180_000);

  it('index: progress events per phase, then the result; an error is an error event', async () => {
    const { root, env } = greetRepo({ coderUrl: coder.url, architectUrl: architect.url });
    const res = await runCliAsync(['index', '--events'], { cwd: root, env }).done;
    expect(res.code, res.stderr).toBe(0);
    const events = parseEvents(res.stdout);
    const phases = events.filter((e) => e.type === 'index_progress').map((e) => e.phase);
    expect(phases[0]).toBe('scan');
    expect(phases).toContain('embed');
    expect(events.at(-1)).toMatchObject({ type: 'result', filesScanned: 4, chunksTotal: expect.any(Number) });

    const failed = await runCliAsync(['index', '--events', '--cwd', path.join(root, 'nope')], { cwd: root, env }).done;
    expect(failed.code).toBe(2);
    expect(parseEvents(failed.stdout)).toEqual([
      { type: 'error', error: expect.objectContaining({ code: expect.any(String) }), time: expect.any(String) },
    ]);
  });
});
