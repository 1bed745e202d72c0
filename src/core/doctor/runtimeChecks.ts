import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../index/model/locateModel.js';
import { failed, messageOf, ok, type DoctorCheck } from './doctorCheck.js';

const REINSTALL =
  'Reinstall ai-dev-bot for this Node version and platform: npm install -g ai-dev-bot --onnxruntime-node-install=skip ' +
  '(in a clone: npm ci); prebuilt binaries exist for Linux, macOS and Windows on x64/arm64.';

/** Node itself, against package.json's engines range (`>=X.Y`). */
export function nodeCheck(version: string = process.versions.node): DoctorCheck {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    engines?: { node?: string };
  };
  const wanted = pkg.engines?.node ?? '>=20';
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [wantMajor = 0, wantMinor = 0] = (/>=\s*(\d+(?:\.\d+)?)/.exec(wanted)?.[1] ?? '20').split('.').map(Number);
  const enough = major > wantMajor || (major === wantMajor && minor >= wantMinor);
  return enough
    ? ok('node', `Node ${version} (needs ${wanted})`)
    : failed(
        'node',
        `Node ${version} is too old: ai-dev-bot needs ${wanted}`,
        `Install Node ${wanted.replace('>=', '')} or newer (e.g. with nvm).`,
      );
}

/** Each native addon loaded and exercised once: a missing prebuilt binary shows here, not mid-command. */
export async function nativeModuleChecks(): Promise<DoctorCheck[]> {
  const probes: Array<[string, () => Promise<string>]> = [
    [
      'better-sqlite3',
      async () => {
        const { default: Database } = await import('better-sqlite3');
        const db = new Database(':memory:');
        try {
          const row = db.prepare('SELECT sqlite_version() AS v').get() as { v: string };
          return `SQLite ${row.v}`;
        } finally {
          db.close();
        }
      },
    ],
    [
      'hnswlib-node',
      async () => {
        const { default: hnswlib } = await import('hnswlib-node');
        const index = new hnswlib.HierarchicalNSW('cosine', 4);
        index.initIndex(1);
        index.addPoint([1, 0, 0, 0], 0);
        return 'index built and queried';
      },
    ],
    [
      'onnxruntime-node',
      async () => {
        const ort = await import('onnxruntime-node');
        return `onnxruntime ${ort.env.versions?.node ?? ort.env.versions?.common ?? 'loaded'}`;
      },
    ],
  ];
  const checks: DoctorCheck[] = [];
  for (const [name, probe] of probes) {
    try {
      checks.push(ok(`native.${name}`, `${name}: ${await probe()}`));
    } catch (error) {
      checks.push(failed(`native.${name}`, `${name} does not load: ${messageOf(error).split('\n')[0]}`, REINSTALL));
    }
  }
  return checks;
}
