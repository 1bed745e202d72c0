import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { locateModel, sha256File } from '../../src/core/index/model/locateModel.js';
import { modelManifest } from '../../src/core/index/model/manifest.js';

/**
 * A loopback server with the Hugging Face Hub's URL layout: /<repo>/resolve/<revision>/<path>;
 * large (LFS) files answer 302 to a CDN URL with X-Linked-Etag = sha256, as the real Hub does.
 * It serves the real int8 model files of the installed model, so what lands must also load.
 */
export interface ServedFile {
  hubPath: string;
  /** File on disk to stream. */
  content: string;
  sha256: string;
  size: number;
  lfs: boolean;
}

export interface ModelHub {
  /** For HF_ENDPOINT. */
  endpoint: string;
  served: ServedFile[];
  /** Paths requested, in order. */
  requests: string[];
  /** When set, this hub path is answered with a corrupted copy (same size, one byte flipped). */
  corruptPath: string | undefined;
  /** When set, file bodies are sent at about this many bytes per second (to overlap two clients). */
  bytesPerSecond: number | undefined;
  close(): Promise<void>;
}

async function servedFiles(): Promise<ServedFile[]> {
  let installed;
  try {
    installed = locateModel({ precision: 'int8' });
  } catch (error) {
    throw new Error(
      `The model hub serves the installed int8 model over loopback; run \`npm run build && npm run fetch-model\` first.\n${String(error)}`,
    );
  }
  const byRole = {
    int8: installed.onnxPath,
    tokenizer: installed.tokenizerPath,
    tokenizerConfig: installed.tokenizerConfigPath,
  };
  const served: ServedFile[] = [];
  for (const file of modelManifest.sources.huggingface.files) {
    if (file.role === 'fp32') continue;
    const content = byRole[file.role];
    served.push({
      hubPath: file.path,
      content,
      sha256: await sha256File(content),
      size: statSync(content).size,
      lfs: file.path.endsWith('.onnx'),
    });
  }
  return served;
}

async function* throttled(bytes: Buffer, bytesPerSecond: number): AsyncGenerator<Buffer> {
  const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
  for (let at = 0; at < bytes.length; at += slice) {
    yield bytes.subarray(at, at + slice);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startModelHub(): Promise<ModelHub> {
  const served = await servedFiles();
  const { repo, revision } = modelManifest.sources.huggingface;
  const hub: ModelHub = {
    endpoint: '',
    served,
    requests: [],
    corruptPath: undefined,
    bytesPerSecond: undefined,
    close: async () => {},
  };
  const send = (file: ServedFile, res: ServerResponse) => {
    if (hub.corruptPath !== file.hubPath && hub.bytesPerSecond === undefined)
      return void createReadStream(file.content).pipe(res);
    const bytes = readFileSync(file.content);
    if (hub.corruptPath === file.hubPath) bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    if (hub.bytesPerSecond === undefined) return void res.end(bytes);
    const stream = Readable.from(throttled(bytes, hub.bytesPerSecond));
    res.once('close', () => stream.destroy());
    stream.pipe(res);
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    hub.requests.push(url.pathname);
    const cdn = url.pathname.match(/^\/cdn\/([0-9a-f]{64})$/);
    if (cdn) {
      const file = served.find((f) => f.sha256 === cdn[1]);
      if (!file) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': file.size, 'content-type': 'application/octet-stream' });
      return void send(file, res);
    }
    const prefix = `/${repo}/resolve/${revision}/`;
    const file = url.pathname.startsWith(prefix)
      ? served.find((f) => f.hubPath === url.pathname.slice(prefix.length))
      : undefined;
    if (!file) return void res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('Entry not found');
    if (file.lfs) {
      const { port } = server.address() as AddressInfo;
      res.writeHead(302, {
        location: `http://127.0.0.1:${port}/cdn/${file.sha256}`,
        'x-linked-etag': `"${file.sha256}"`,
        'x-linked-size': String(file.size),
      });
      return void res.end();
    }
    res.writeHead(200, { 'content-length': file.size, etag: '"0123456789abcdef0123456789abcdef01234567"' });
    send(file, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hub.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  hub.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return hub;
}
