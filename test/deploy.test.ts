import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { projectRoot } from './helpers/cli.js';

const deploy = path.join(projectRoot, 'deploy');
const k8s = path.join(deploy, 'k8s');
const manifests = readdirSync(k8s)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => path.join(k8s, f));

function run(cmd: string, args: string[]) {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
}

/** Every YAML document of the files, parsed by PyYAML from the checkers' venv. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function loadYaml(files: string[]): any[] {
  const script =
    'import json,sys,yaml\nprint(json.dumps([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f))]))';
  const res = run(inject('deployTools').python, ['-c', script, ...files]);
  expect(res.status, res.stderr).toBe(0);
  return JSON.parse(res.stdout);
}

describe('deploy/ files, checked offline', () => {
  it('the Dockerfile passes hadolint with no finding at all', () => {
    const res = run(inject('deployTools').hadolint, ['--failure-threshold', 'info', path.join(deploy, 'Dockerfile')]);
    expect(res.status, res.stdout + res.stderr).toBe(0);
  });

  it('the Kubernetes manifests validate strictly against the bundled schemas, and a broken one does not', () => {
    const validate = inject('deployTools').kubernetesValidate;
    const ok = run(validate, ['--strict', ...manifests]);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout.match(/passed/g)).toHaveLength(manifests.length);

    const broken = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-k8s-')), 'deployment.yaml');
    writeFileSync(
      broken,
      readFileSync(path.join(k8s, 'deployment.yaml'), 'utf8').replace('replicas: 2', 'replicas: two'),
    );
    expect(run(validate, ['--strict', broken]).status).not.toBe(0);
  });

  it('manifests, compose file and Dockerfile agree with the server: port, probes, secrets, migration', () => {
    const dockerfile = readFileSync(path.join(deploy, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^EXPOSE 8080$/m);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK [\s\S]*?\/healthz/m);
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);

    const docs = loadYaml(manifests);
    const byKind = (kind: string) => docs.find((d) => d.kind === kind);
    const container = byKind('Deployment').spec.template.spec.containers[0];
    expect(container.ports[0].containerPort).toBe(8080);
    expect(container.args).toEqual(expect.arrayContaining(['--port', '8080', '--no-migrate']));
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.resources.limits).toBeDefined();
    expect(byKind('Job').spec.template.spec.containers[0].args).toEqual(['migrate']);
    const secretKeys = Object.keys(byKind('Secret').stringData);
    const referenced = [container, byKind('Job').spec.template.spec.containers[0]].flatMap((c) =>
      c.env.map((e: { valueFrom: { secretKeyRef: { key: string } } }) => e.valueFrom.secretKeyRef.key),
    );
    for (const key of referenced) expect(secretKeys).toContain(key);
    expect(byKind('Service').spec.selector).toEqual(byKind('Deployment').spec.selector.matchLabels);

    const [compose] = loadYaml([path.join(deploy, 'compose.yaml')]);
    expect(compose.services.migrate.command).toEqual(['migrate']);
    expect(compose.services.server.depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(compose.services.server.environment.AI_DEV_BOT_SERVER_DB).toMatch(/^postgres:\/\//);
  });
});
