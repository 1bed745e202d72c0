import { randomBytes } from 'node:crypto';

/** Random characters from [A-Za-z0-9], so every run plants values no rule has seen before. */
function alnum(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

/**
 * Credentials in their real shapes (made up per run): an AWS secret access key (40 base64 chars)
 * and an OpenAI project key (`sk-proj-` + 74 + `T3BlbkFJ` + 74). Tests grep every output for them.
 */
export function plantedSecrets() {
  const awsSecret = `${alnum(20)}/${alnum(8)}+${alnum(10)}`;
  const openaiKey = `sk-proj-${alnum(74)}T3BlbkFJ${alnum(74)}`;
  return {
    awsSecret,
    openaiKey,
    values: [awsSecret, openaiKey],
    files: {
      'settings.py': [
        '"""Deployment settings for the billing service."""',
        'import os',
        '',
        'DEBUG = False',
        'AWS_REGION = "eu-west-1"',
        `AWS_SECRET_ACCESS_KEY = "${awsSecret}"`,
        'BUCKET_NAME = "billing-invoices"',
        '',
      ].join('\n'),
      'client.js': [
        "import OpenAI from 'openai';",
        '',
        '// Client for the summarising service.',
        `const client = new OpenAI({ apiKey: "${openaiKey}" });`,
        '',
        'export async function summarise(text) {',
        "  const reply = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] });",
        '  return reply.choices[0].message.content;',
        '}',
        '',
      ].join('\n'),
    },
  };
}
