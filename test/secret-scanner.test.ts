import { describe, expect, it } from 'vitest';
import { redactContentSecrets, REDACTION_MARK, scanSecrets } from '../src/core/secrets/secretScanner.js';
import { plantedSecrets } from './helpers/plantedSecrets.js';

describe('scanSecrets', () => {
  it('finds an AWS secret key in settings.py and an OpenAI key in client.js, with line and rule', async () => {
    const planted = plantedSecrets();
    const aws = await scanSecrets(planted.files['settings.py'], 'settings.py');
    expect(aws).toHaveLength(1);
    expect(aws[0]!.line).toBe(6);
    expect(aws[0]!.rule).toMatch(/^aws\//);
    expect(planted.files['settings.py'].slice(aws[0]!.start, aws[0]!.end)).toContain(planted.awsSecret);
    const openai = await scanSecrets(planted.files['client.js'], 'client.js');
    expect(openai).toHaveLength(1);
    expect(openai[0]!.line).toBe(4);
    expect(openai[0]!.rule).toMatch(/openai/);
  });

  it('catches provider key shapes and random values assigned to secret names', async () => {
    const text = [
      'const router = "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef";',
      'const gemini = "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q";',
      "const config = { password: 'x9F2kQ7vL3mN8pR1tW6z' };",
      'DB_URL = "postgres://app:S3cretPassw0rd@db.internal:5432/app"',
    ].join('\n');
    const findings = await scanSecrets(text, 'config.ts');
    expect(findings.map((f) => f.line)).toEqual([1, 2, 3, 4]);
  });

  it('leaves ordinary code and prose alone', async () => {
    const text = [
      'const tokenizer = await loadTokenizer("bert-base-uncased");',
      'export const password = process.env.DB_PASSWORD;',
      'Use scikit-learn (sk-learn-compatible estimators) for the baseline.',
      'const apiKey = "your-api-key-here";',
      'function task-runner-for-everything() {}',
    ].join('\n');
    expect(await scanSecrets(text, 'app.ts')).toEqual([]);
  });
});

describe('scanSecrets on hostile input', () => {
  // Each pattern repeats a rule's prefix so a quadratic regex would take minutes on 1 MiB.
  it.each([
    ['sk-', 'sk-'],
    ['password = "', 'password = "'],
    ['token', 'token'],
    ['postgres://', 'postgres://'],
    ['ghp_', 'ghp_'],
  ])(
    '1 MiB of %s repeated finishes (no catastrophic backtracking)',
    async (_name, unit) => {
      const text = unit.repeat(Math.ceil((1 << 20) / unit.length));
      await expect(scanSecrets(text, 'hostile.txt')).resolves.toBeInstanceOf(Array);
    },
    20_000,
  );
});

describe('redactContentSecrets', () => {
  it('masks each value, keeps every other character and the line count', async () => {
    const planted = plantedSecrets();
    const body = ['MIIEpAIBAAKCAQEA1x2y3z'.padEnd(64, 'Q'), 'abcdef123456'.padEnd(64, 'z'), 'QUJDREVGR0g='];
    const pem = ['-----BEGIN RSA PRIVATE KEY-----', ...body, '-----END RSA PRIVATE KEY-----'];
    const text = `${planted.files['settings.py']}KEY = """\n${pem.join('\n')}\n"""\n`;
    const { text: redacted, findings } = await redactContentSecrets(text, 'settings.py');
    expect(findings.length).toBeGreaterThanOrEqual(2);
    for (const value of [planted.awsSecret, ...body]) expect(redacted).not.toContain(value);
    expect(redacted).toContain(`AWS_SECRET_ACCESS_KEY = "${REDACTION_MARK}"`);
    expect(redacted.split('\n')).toHaveLength(text.split('\n').length);
    expect(redacted).toContain('BUCKET_NAME = "billing-invoices"');
  });

  it('returns the same text when nothing is found', async () => {
    const text = 'export const answer = 42;\n';
    expect(await redactContentSecrets(text, 'a.ts')).toEqual({ text, findings: [] });
  });
});

describe('scanning many files', () => {
  it('leaves no performance marks behind (secretlint kept every one and searched them all on each new one)', async () => {
    performance.clearMarks();
    const file = 'const region = "eu-west-1";\nexport function retry(n) { return n * 2; }\n'.repeat(20);
    for (let i = 0; i < 2400; i++) await scanSecrets(file, `src/file${i}.js`);
    // secretlint's profiler would have left ~2 marks per rule per file (151,200 here).
    expect(performance.getEntriesByType('mark')).toHaveLength(0);
  });
});
