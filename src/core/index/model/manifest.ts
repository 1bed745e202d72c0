import { z } from 'zod';
import manifestJson from '../../../../models/manifest.json' with { type: 'json' };

/** int8: dynamically quantised (the default, ~2x faster); fp32: the exact export. */
export type Precision = 'int8' | 'fp32';
export const precisions: readonly Precision[] = ['int8', 'fp32'];

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');
const fileRoleSchema = z.enum(['int8', 'fp32', 'tokenizer', 'tokenizerConfig']);
export type ModelFileRole = z.infer<typeof fileRoleSchema>;

const manifestSchema = z.object({
  id: z.string().min(1),
  description: z.string(),
  dims: z.number().int().positive(),
  maxTokens: z.number().int().positive(),
  pooling: z.literal('mean'),
  normalize: z.boolean(),
  onnx: z.object({
    inputs: z.tuple([z.literal('input_ids'), z.literal('attention_mask'), z.literal('token_type_ids')]),
    output: z.string().min(1),
  }),
  dirName: z.string().regex(/^[\w.-]+$/),
  files: z.object({
    int8: z.string(),
    fp32: z.string(),
    tokenizer: z.string(),
    tokenizerConfig: z.string(),
    info: z.string(),
  }),
  sources: z.object({
    huggingface: z.object({
      repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
      // A commit sha, never a branch: the bytes behind a branch name can change under us.
      revision: z.string().regex(/^[0-9a-f]{40}$/),
      urlTemplate: z.string(),
      checksumNote: z.string(),
      files: z.array(
        z.object({
          path: z.string().min(1),
          role: fileRoleSchema,
          size: z.number().int().positive(),
          sha256: sha256Schema.nullable(),
        }),
      ),
    }),
    pypi: z.object({
      package: z.string(),
      version: z.string(),
      wheel: z.string().endsWith('.whl'),
      sha256: sha256Schema,
      modelDirInWheel: z.string(),
      exportScript: z.string(),
      /** Bumped whenever export_model.py's output changes, so older exported copies are redone. */
      exportRevision: z.number().int().positive(),
      requirements: z.string(),
    }),
  }),
});

export type ModelManifest = z.infer<typeof manifestSchema>;
export type HuggingFaceFile = ModelManifest['sources']['huggingface']['files'][number];

/** The bundled manifest, validated once at load so a bad edit fails loudly, not at download time. */
export const modelManifest: ModelManifest = manifestSchema.parse(manifestJson);

/** File name, inside a model directory, of the file playing `role`. */
export function modelFileName(manifest: ModelManifest, role: ModelFileRole): string {
  return manifest.files[role];
}

/** The file roles a model directory needs for `precision` (the tokenizer files always). */
export function requiredRoles(precision: Precision): ModelFileRole[] {
  return [precision, 'tokenizer', 'tokenizerConfig'];
}
