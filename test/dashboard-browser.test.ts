/// <reference lib="dom" />
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { formatCredits } from '../src/core/ledger/money.js';
import { projectRoot } from './helpers/cli.js';
import {
  ADMIN_TOKEN,
  api,
  makeAccount,
  serverCli,
  startServer,
  usageTransaction,
  type RunningServer,
} from './helpers/teamServer.js';

const SHOTS = path.join(projectRoot, 'test-output', 'dashboard');
const DAY = 86_400_000;
const MODELS = ['gemini-2.5-flash', 'claude-sonnet-4'];
const TASKS = ['plan', 'implement', 'verify'];
const PROJECTS = ['web-app', 'billing-api', 'infra'];

/** What the ledger says, summed here from the rows the API serves (the oracle for the page). */
interface LedgerRow {
  type: string;
  createdAt: string;
  member: string | null;
  creditsMilli: number;
  usdCostNano: number | null;
  project: string | null;
  usage: { model: string; task: string; inputTokens: number; outputTokens: number } | null;
}
const usage = (rows: LedgerRow[]) => rows.filter((r) => r.type === 'usage_deduction');
const spent = (rows: LedgerRow[]) => -rows.reduce((a, r) => a + BigInt(r.creditsMilli), 0n);
const nano = (rows: LedgerRow[]) => rows.reduce((a, r) => a + BigInt(r.usdCostNano ?? 0), 0n);

describe('team dashboard in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let acme: { accountId: string; tokens: string[] };
  let globex: { accountId: string; tokens: string[] };
  let adminToken: string;
  let ledger: LedgerRow[];
  const cspViolations: string[] = [];

  beforeAll(async () => {
    const db = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-dashboard-')), 'server.db');
    acme = makeAccount(db, 'acme', ['alice', 'bob']);
    globex = makeAccount(db, 'globex', ['mallory']);
    adminToken = serverCli(['token', 'issue', '--account', 'acme', '--member', 'lead', '--role', 'admin'], db).json
      .token;
    serverCli(['grant', '--account', 'acme', '400', '--reason', 'December budget'], db);
    server = await startServer(db);
    await seedUsage(server.url, acme.tokens, globex.tokens[0]!);
    const purchase = { accountId: acme.accountId, creditsMilli: 123_457, externalTransactionId: 'stripe-pi-1' };
    expect((await api(server.url, ADMIN_TOKEN, 'POST', '/v1/purchases', purchase)).status).toBe(200);
    ledger = (await api(server.url, adminToken, 'GET', '/v1/transactions?limit=1000')).json.transactions;
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: inject('chromiumPath'), args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function signIn(
    token: string,
    viewport = { width: 1280, height: 900 },
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(`${server.url}/`);
    await page.getByLabel('Member token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/accounts\//);
    return { context, page };
  }

  const milliOf = async (page: Page, selector: string) => BigInt((await page.getAttribute(selector, 'data-milli'))!);

  it('an admin sees balance, burn-down, per-member and per-repository totals equal to the ledger to the unit', async () => {
    const { context, page } = await signIn(adminToken);
    const balance = ledger.reduce((a, r) => a + BigInt(r.creditsMilli), 0n);
    expect(await milliOf(page, '#balance')).toBe(balance);
    expect(await page.textContent('#balance')).toBe(`${formatCredits(balance)} credits`);
    expect(await page.textContent('#burn-down')).toMatch(/^At this week's rate, credits last [\d,]+ days$/);

    for (const member of ['alice', 'bob']) {
      const rows = usage(ledger).filter((r) => r.member === member);
      const row = page.locator('#by-member tbody tr', { has: page.locator(`th:text-is("${member}")`) });
      expect(BigInt((await row.locator('[data-milli]').getAttribute('data-milli'))!)).toBe(spent(rows));
      expect(BigInt((await row.locator('[data-nano]').getAttribute('data-nano'))!)).toBe(nano(rows));
      expect(await row.locator('[data-calls]').getAttribute('data-calls')).toBe(String(rows.length));
    }
    expect(await milliOf(page, '#by-member tfoot [data-milli]')).toBe(spent(usage(ledger)));
    for (const project of PROJECTS) {
      const row = page.locator('#by-project tbody tr', { has: page.locator(`th:text-is("${project}")`) });
      const expected = spent(usage(ledger).filter((r) => r.project === project));
      expect(BigInt((await row.locator('[data-milli]').getAttribute('data-milli'))!)).toBe(expected);
    }
    await page.screenshot({ path: path.join(SHOTS, 'admin.png'), fullPage: true });
    // The first screen, as docs/dashboard.png shows it.
    await page.screenshot({ path: path.join(SHOTS, 'overview.png') });

    // "This week, by whom": the tables over the last 7 days only.
    await page.getByRole('link', { name: 'last 7 days', exact: true }).click();
    await page.waitForURL(/period=7d/);
    const week = usage(ledger).filter((r) => Date.now() - Date.parse(r.createdAt) < 7 * DAY);
    for (const member of ['alice', 'bob']) {
      const row = page.locator('#by-member tbody tr', { has: page.locator(`th:text-is("${member}")`) });
      const expected = spent(week.filter((r) => r.member === member));
      expect(BigInt((await row.locator('[data-milli]').getAttribute('data-milli'))!)).toBe(expected);
    }
    expect(await milliOf(page, '#by-project tfoot [data-milli]')).toBe(spent(week));
    expect(spent(week)).toBeLessThan(spent(usage(ledger)));
    await context.close();
  });

  it('draws both stacked charts (non-blank canvases) by day and by week, under a CSP it does not violate', async () => {
    const { context, page } = await signIn(adminToken);
    for (const grain of ['day', 'week']) {
      if (grain === 'week') await page.getByRole('link', { name: 'By week' }).click();
      for (const by of ['model', 'task']) {
        await page.waitForSelector(`#chart-${by}[data-rendered="true"]`);
        const painted = await page.$eval(`#chart-${by}`, (canvas: HTMLCanvasElement) => {
          const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
          let n = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
          return n;
        });
        expect(painted, `${by} chart by ${grain}`).toBeGreaterThan(1000);
      }
      // The chart's text alternative: per-model points summed in SQL add up to the spend.
      const points = await page.$$eval('#series-model [data-milli]', (cells) =>
        cells.map((c) => c.getAttribute('data-milli')!),
      );
      expect(points.reduce((a, p) => a + BigInt(p), 0n)).toBe(spent(usage(ledger)));
    }
    await page.screenshot({ path: path.join(SHOTS, 'charts-by-week.png'), fullPage: true });
    const response = await page.goto(page.url());
    const csp = response!.headers()['content-security-policy']!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(cspViolations).toEqual([]);
    // Script and stylesheet come from this server under content-hashed names, cached for good.
    const assets = await page.$$eval('script[src], link[rel=stylesheet]', (e) =>
      e.map((x) => x.getAttribute('src') ?? x.getAttribute('href')!),
    );
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/assets\/[a-z]+-[0-9a-f]{16}\.(js|css)$/);
      const res = await context.request.get(`${server.url}${asset}`);
      expect(res.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
      expect((await res.body()).length).toBeGreaterThan(1000);
    }
    await context.close();
  });

  it('sorts a table from the keyboard and filters the latest transactions', async () => {
    const { context, page } = await signIn(adminToken);
    const callsHeader = page.locator('#by-project thead th', { hasText: 'Calls' });
    await callsHeader.locator('a').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/psort=calls/);
    expect(await callsHeader.getAttribute('aria-sort')).toBe('descending');
    const calls = await page.$$eval('#by-project tbody [data-calls]', (c) =>
      c.map((e) => Number(e.getAttribute('data-calls'))),
    );
    expect(calls).toEqual([...calls].sort((a, b) => b - a));

    await page.getByLabel('Model', { exact: true }).selectOption(MODELS[1]!);
    await page.getByLabel('Member', { exact: true }).selectOption({ label: 'bob' });
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/model=/);
    const shown = await page.$$eval('#transactions tbody [data-milli]', (c) =>
      c.map((e) => e.getAttribute('data-milli')!),
    );
    const expected = usage(ledger).filter((r) => r.member === 'bob' && r.usage?.model === MODELS[1]);
    expect(shown.length).toBe(expected.length);
    expect(shown.reduce((a, v) => a - BigInt(v), 0n)).toBe(spent(expected));
    await page.screenshot({ path: path.join(SHOTS, 'filtered.png'), fullPage: true });

    // The CSV link carries the same filter and the same exact figures.
    const href = await page.getByRole('link', { name: 'Download these transactions as CSV' }).getAttribute('href');
    const csv = await (await context.request.get(`${server.url}${href}`)).text();
    const rows = csv
      .trim()
      .split('\r\n')
      .slice(1)
      .map((l) => l.split(','));
    expect(rows.length).toBe(expected.length);
    expect(rows.every((r) => r[2] === 'bob' && r[4] === MODELS[1])).toBe(true);
    expect(-rows.reduce((a, r) => a + BigInt(r[9]!), 0n)).toBe(spent(expected));
    await context.close();
  });

  it('exports the member and repository tables as CSV with the ledger sums', async () => {
    const { context, page } = await signIn(adminToken);
    const base = page.url();
    const members = await (await context.request.get(`${base}/export/members.csv`)).text();
    const byName = new Map(
      members
        .trim()
        .split('\r\n')
        .slice(1)
        .map((l) => [l.split(',')[0], l.split(',')]),
    );
    for (const member of ['alice', 'bob']) {
      const rows = usage(ledger).filter((r) => r.member === member);
      expect(byName.get(member)!.slice(1, 4)).toEqual([
        String(rows.length),
        String(rows.reduce((a, r) => a + r.usage!.inputTokens + r.usage!.outputTokens, 0)),
        String(nano(rows)),
      ]);
      expect(byName.get(member)![5]).toBe(String(spent(rows)));
    }
    const projects = await context.request.get(`${base}/export/projects.csv`);
    expect(projects.headers()['content-type']).toContain('text/csv');
    expect(projects.headers()['content-disposition']).toBe('attachment; filename="acme-projects.csv"');
    const total = (await projects.text())
      .trim()
      .split('\r\n')
      .slice(1)
      .reduce((a, l) => a + BigInt(l.split(',')[5]!), 0n);
    expect(total).toBe(spent(usage(ledger)));
    await context.close();
  });

  it('a member sees the account totals and only their own lines (on a phone-sized screen)', async () => {
    const { context, page } = await signIn(acme.tokens[0]!, { width: 390, height: 844 });
    // Responsive: wide tables scroll in their own box, the page itself never scrolls sideways.
    const wide = await page.evaluate(() =>
      Array.from(document.querySelectorAll('body *'))
        .filter((e) => e.getBoundingClientRect().right > 391 && !e.parentElement!.closest('.table-wrap'))
        .map((e) => `${e.tagName}.${e.className}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`)
        .slice(0, 8),
    );
    expect(wide).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await page.$$eval('#by-member tbody th', (c) => c.map((e) => e.textContent))).toEqual(['alice']);
    expect(await milliOf(page, '#by-member tfoot [data-milli]')).toBe(spent(usage(ledger)));
    const members = await page.$$eval('#transactions tbody tr td:nth-child(3)', (c) => c.map((e) => e.textContent));
    expect(new Set(members)).toEqual(new Set(['alice', '—']));
    const csv = await (await context.request.get(`${page.url()}/export/transactions.csv`)).text();
    expect(csv).not.toContain(',bob,');
    await page.screenshot({ path: path.join(SHOTS, 'member.png'), fullPage: true });
    await context.close();
  });

  it("cannot reach another account's page or data; logged out is sent to the login page", async () => {
    const { context, page } = await signIn(acme.tokens[1]!);
    for (const route of ['', '/export/transactions.csv', '/export/members.csv']) {
      const res = await context.request.get(`${server.url}/accounts/${globex.accountId}${route}`, { maxRedirects: 0 });
      expect(res.status(), route).toBe(404);
      expect(await res.text()).not.toContain('mallory');
    }
    const loggedOut = await fetch(`${server.url}/accounts/${acme.accountId}`, { redirect: 'manual' });
    expect(loggedOut.status).toBe(302);
    expect(loggedOut.headers.get('location')).toBe('/login');
    const csvLoggedOut = await fetch(`${server.url}/accounts/${acme.accountId}/export/members.csv`, {
      redirect: 'manual',
    });
    expect(csvLoggedOut.status).toBe(302);

    // Signing out ends the session on the server: the old cookie no longer opens the page.
    const [session] = (await context.cookies()).filter((c) => c.name === 'adb_session');
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login$/);
    const replay = await fetch(`${server.url}/accounts/${acme.accountId}`, {
      redirect: 'manual',
      headers: { cookie: `adb_session=${session!.value}` },
    });
    expect(replay.status).toBe(302);
    await context.close();
  });

  it('refuses a login or logout without the CSRF token, and says so for an unknown token', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/login`);
    // The form's own cookie, but no token in the body: 403.
    const forged = await context.request.post(`${server.url}/login`, { form: { token: adminToken }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    const wrong = await context.request.post(`${server.url}/login`, {
      form: { token: adminToken, _csrf: 'not-the-token' },
      maxRedirects: 0,
    });
    expect(wrong.status()).toBe(403);
    // Sign-out is a state change too: without the token it is refused and the session stays.
    // (An admin issued through the admin HTTP route this time.)
    const issued = await api(server.url, ADMIN_TOKEN, 'POST', '/v1/admin/tokens', {
      accountId: acme.accountId,
      member: 'ops-lead',
      role: 'admin',
    });
    const { context: signedIn, page: dashboard } = await signIn(issued.json.token);
    expect(await dashboard.textContent('header')).toContain('Signed in as ops-lead (account admin)');
    const logout = await signedIn.request.post(`${server.url}/logout`, { form: {}, maxRedirects: 0 });
    expect(logout.status()).toBe(403);
    expect((await signedIn.request.get(dashboard.url(), { maxRedirects: 0 })).status()).toBe(200);
    await signedIn.close();

    await page.getByLabel('Member token').fill('adbt_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('unknown or revoked');
    await page.screenshot({ path: path.join(SHOTS, 'login.png') });
    await context.close();
  });
});

/** Usage for two members, two models, three tasks and three repositories over the last 12 days. */
async function seedUsage(url: string, tokens: string[], otherToken: string): Promise<void> {
  const now = Date.now();
  for (const [m, token] of tokens.entries()) {
    const transactions = Array.from({ length: 18 }, (_, i) => {
      const t = usageTransaction(700 + i * 311 + m * 53, {
        project: PROJECTS[(i + m) % 3],
        createdAt: new Date(now - (i % 12) * DAY - 60_000).toISOString(),
      });
      return {
        ...t,
        usage: {
          ...t.usage,
          model: MODELS[(i + m) % 2],
          task: TASKS[(Math.floor(i / 6) + m) % 3],
          inputTokens: 900 + i,
          outputTokens: 40 + m,
        },
      };
    });
    expect((await api(url, token, 'POST', '/v1/transactions', { transactions })).status).toBe(200);
  }
  const other = [usageTransaction(55_555, { project: 'web-app' })];
  expect((await api(url, otherToken, 'POST', '/v1/transactions', { transactions: other })).status).toBe(200);
}
