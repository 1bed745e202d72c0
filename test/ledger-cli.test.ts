import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv, runCli } from './helpers/cli.js';

/** `credits` and `pricing` through bin/, outside any git repository (the ledger is per user). */
describe('credits and pricing commands', () => {
  const env = cliEnv();
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'aidb-nogit-'));
  const cli = (...args: string[]) => runCli(args, { cwd, env });

  it('shows the initial grant on first use, with the DESIGN §3 fields', () => {
    const res = cli('credits', '--json');
    expect(res.code, res.stderr).toBe(0);
    expect(res.json.balance).toBe(500);
    expect(res.json.recent).toHaveLength(1);
    const [grant] = res.json.recent;
    expect(Object.keys(grant)).toEqual(
      expect.arrayContaining(['id', 'type', 'credits', 'usd', 'description', 'createdAt']),
    );
    expect(grant).toMatchObject({ type: 'initial_grant', credits: 500, usd: null });
    expect(grant.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(res.json.spend).toMatchObject({ calls: 0, credits: 0, usd: 0, byTask: [], byModel: [] });
    expect(res.json.ledger).toBe(path.join(env.AI_DEV_BOT_HOME!, 'ledger.db'));
  });

  it('grants exactly, lists history newest first with --limit, and prints plain text without --json', () => {
    const granted = cli('credits', 'grant', '2.345', '--reason', 'monthly top-up', '--json');
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.json.balance).toBe(502.345);
    expect(granted.json.transaction).toMatchObject({ type: 'grant', credits: 2.345, description: 'monthly top-up' });
    expect(cli('credits', 'grant', '0.1').code).toBe(0);
    const history = cli('credits', 'history', '--limit', '2', '--json');
    expect(history.json.recent.map((t: { credits: number }) => t.credits)).toEqual([0.1, 2.345]);
    expect(history.json.balance).toBe(502.445);
    const human = cli('credits');
    expect(human.stdout).toContain('Balance: 502.445 credits');
    expect(human.stdout).toContain('monthly top-up');
  });

  it('rejects bad amounts and limits with exit 2', () => {
    for (const args of [
      ['credits', 'grant', 'abc', '--json'],
      ['credits', 'grant', '0', '--json'],
      ['credits', 'history', '--limit', '0', '--json'],
      ['pricing', 'set', 'gemini', 'x', '--input', '-1', '--output', '1', '--json'],
      ['pricing', 'set', 'anthropic', 'x', '--input', '1', '--output', '1', '--json'],
    ]) {
      const res = cli(...args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.json.error.code).toBe('bad_argument');
    }
    expect(cli('pricing', 'set', 'gemini', 'x', '--input', '1').code).toBe(2);
  });

  it('lists seeded prices and sets new ones', () => {
    const list = cli('pricing', '--json');
    expect(list.code, list.stderr).toBe(0);
    const models = list.json.prices.map((p: { provider: string; model: string }) => `${p.provider}/${p.model}`);
    expect(models).toEqual(
      expect.arrayContaining([
        'gemini/gemini-2.5-pro',
        'gemini/gemini-2.5-flash',
        'gemini/gemini-2.5-flash-lite',
        'openrouter/anthropic/claude-sonnet-4.5',
        'openrouter/openai/gpt-4o-mini',
        'openrouter/google/gemini-2.5-flash',
      ]),
    );
    expect(list.json.prices.find((p: { model: string }) => p.model === 'gemini-2.5-pro')).toMatchObject({
      inputUsdPerMtok: 1.25,
      outputUsdPerMtok: 10,
      source: 'seed 2026-11',
    });
    expect(list.json.fallback).toEqual({ input: 5, output: 20 });
    const set = cli('pricing', 'set', 'openai', 'llama3.1:8b', '--input', '0', '--output', '0', '--json');
    expect(set.code, set.stderr).toBe(0);
    const after = cli('pricing', 'list', '--json');
    expect(after.json.prices.find((p: { model: string }) => p.model === 'llama3.1:8b')).toMatchObject({
      provider: 'openai',
      inputUsdPerMtok: 0,
      outputUsdPerMtok: 0,
      source: 'user',
    });
  });
});
