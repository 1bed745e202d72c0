#!/usr/bin/env python3
"""Export all-MiniLM-L6-v2 to ONNX straight from its safetensors weights, without PyTorch.

The BERT encoder is small and fixed (6 layers, 12 heads, hidden 384), so the graph is written
op by op with onnx.helper; the weights are read from model.safetensors with numpy alone. The
fp32 graph is saved as model.onnx, then dynamically quantised to int8 as model_quantized.onnx.

Usage: export_model.py --source <dir with model.safetensors, config.json, tokenizer*.json>
                       --out <model dir>
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # LayerNormalization is a standard op from 17 on; onnxruntime fuses it natively.
SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Parse the safetensors container: u64 header length, JSON header, raw little-endian data."""
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    data_start = 8 + header_len
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = SAFETENSORS_DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        array = np.frombuffer(raw, dtype=dtype, count=(end - begin) // np.dtype(dtype).itemsize, offset=data_start + begin)
        tensors[name] = array.reshape(info["shape"]).astype(np.float32 if dtype == np.float16 else dtype)
    return tensors


class GraphBuilder:
    """Collects nodes and initializers; every helper returns the name of its output."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.counter = 0

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, **attrs: object) -> str:
        output = self.fresh(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attrs))
        return output

    def linear(self, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
        # torch Linear stores [out, in]; MatMul wants [in, out]. MatMul + Add is the pattern the
        # dynamic quantiser and onnxruntime's MatMul/bias fusions recognise.
        weight = self.const(f"{prefix}.weight", weights[f"{prefix}.weight"].T.copy())
        bias = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("Add", [self.op("MatMul", [x, weight], f"{prefix}.matmul"), bias], f"{prefix}.out")

    def layer_norm(self, x: str, weights: dict[str, np.ndarray], prefix: str, epsilon: float) -> str:
        scale = self.const(f"{prefix}.weight", weights[f"{prefix}.weight"])
        bias = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("LayerNormalization", [x, scale, bias], f"{prefix}.out", axis=-1, epsilon=epsilon)


def standard_self_attention(g: GraphBuilder, x: str, weights: dict[str, np.ndarray], p: str, heads: int, head_dim: int, mask_bias: str) -> str:
    """Self-attention in plain ONNX ops (portable to any runtime); returns the merged context."""
    query = g.op("Reshape", [g.linear(x, weights, f"{p}.attention.self.query"), "heads_shape"], f"{p}.q_heads")
    key = g.op("Reshape", [g.linear(x, weights, f"{p}.attention.self.key"), "heads_shape"], f"{p}.k_heads")
    value = g.op("Reshape", [g.linear(x, weights, f"{p}.attention.self.value"), "heads_shape"], f"{p}.v_heads")
    query = g.op("Transpose", [query], f"{p}.q_t", perm=[0, 2, 1, 3])  # [B, H, S, D]
    key = g.op("Transpose", [key], f"{p}.k_t", perm=[0, 2, 3, 1])  # [B, H, D, S]
    value = g.op("Transpose", [value], f"{p}.v_t", perm=[0, 2, 1, 3])  # [B, H, S, D]
    scores = g.op("Mul", [g.op("MatMul", [query, key], f"{p}.scores_raw"), "attention_scale"], f"{p}.scores")
    probs = g.op("Softmax", [g.op("Add", [scores, mask_bias], f"{p}.scores_masked")], f"{p}.probs", axis=-1)
    context = g.op("Transpose", [g.op("MatMul", [probs, value], f"{p}.context")], f"{p}.context_t", perm=[0, 2, 1, 3])
    return g.op("Reshape", [context, "hidden_shape"], f"{p}.context_merged")


def fused_self_attention(g: GraphBuilder, x: str, weights: dict[str, np.ndarray], p: str, heads: int, mask_index: str) -> str:
    """Self-attention as onnxruntime's com.microsoft Attention op.

    One packed QKV projection and a fused softmax kernel; about twice as fast on CPU as the
    plain-op graph, whose attention pattern onnxruntime does not fuse by itself. The dynamic
    quantiser turns it into QAttention. The raw 1/0 mask becomes the additive bias
    (mask_filter_value) inside the kernel.
    """
    names = ("query", "key", "value")
    packed_weight = np.concatenate([weights[f"{p}.attention.self.{n}.weight"].T for n in names], axis=1)
    packed_bias = np.concatenate([weights[f"{p}.attention.self.{n}.bias"] for n in names])
    weight = g.const(f"{p}.attention.self.qkv.weight", packed_weight)
    bias = g.const(f"{p}.attention.self.qkv.bias", packed_bias)
    output = g.fresh(f"{p}.attention")
    g.nodes.append(
        helper.make_node(
            "Attention", [x, weight, bias, mask_index], [output], name=output, domain="com.microsoft", num_heads=heads, mask_filter_value=-10000.0
        )
    )
    return output


def build_graph(weights: dict[str, np.ndarray], config: dict, fused_attention: bool) -> onnx.ModelProto:
    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    layers = int(config["num_hidden_layers"])
    epsilon = float(config["layer_norm_eps"])
    head_dim = hidden // heads
    if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise SystemExit("export_model.py: only absolute-position BERT with erf GELU is supported")

    g = GraphBuilder()
    g.const("slice_start", np.array([0], dtype=np.int64))
    g.const("slice_axis", np.array([0], dtype=np.int64))
    g.const("float_one", np.array(1.0, dtype=np.float32))
    g.const("float_half", np.array(0.5, dtype=np.float32))
    g.const("sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))
    # Padding positions get a large negative bias before softmax (as transformers does with the
    # extended attention mask); -1e4 makes exp() exactly 0 in fp32 without risking inf - inf.
    g.const("mask_fill", np.array(-10000.0, dtype=np.float32))
    g.const("attention_scale", np.array(1.0 / math.sqrt(head_dim), dtype=np.float32))
    g.const("heads_shape", np.array([0, 0, heads, head_dim], dtype=np.int64))
    g.const("hidden_shape", np.array([0, 0, hidden], dtype=np.int64))
    g.const("mask_axes", np.array([1, 2], dtype=np.int64))

    # Embeddings: word + absolute position + token type, then LayerNorm.
    word_table = g.const("embeddings.word_embeddings.weight", weights["embeddings.word_embeddings.weight"])
    position_table = g.const("embeddings.position_embeddings.weight", weights["embeddings.position_embeddings.weight"])
    type_table = g.const("embeddings.token_type_embeddings.weight", weights["embeddings.token_type_embeddings.weight"])
    word = g.op("Gather", [word_table, "input_ids"], "word_embeddings", axis=0)
    # Positions 0..seq-1 are the first seq rows of the table: one Slice, no position_ids input.
    seq_len = g.op("Shape", ["input_ids"], "seq_len", start=1, end=2)  # 1-D [seq]
    position = g.op("Slice", [position_table, "slice_start", seq_len, "slice_axis"], "position_embeddings")
    token_type = g.op("Gather", [type_table, "token_type_ids"], "token_type_embeddings", axis=0)
    summed = g.op("Add", [g.op("Add", [word, position], "embeddings_sum"), token_type], "embeddings_sum")
    x = g.layer_norm(summed, weights, "embeddings.LayerNorm", epsilon)

    if fused_attention:
        mask = g.op("Cast", ["attention_mask"], "mask_index", to=TensorProto.INT32)  # raw [B, S] mask
    else:
        # [batch, seq] mask of 1/0 → additive bias [batch, 1, 1, seq] shared by every layer.
        mask_float = g.op("Cast", ["attention_mask"], "mask_float", to=TensorProto.FLOAT)
        inverted = g.op("Sub", ["float_one", mask_float], "mask_inverted")
        mask = g.op("Unsqueeze", [g.op("Mul", [inverted, "mask_fill"], "mask_bias_2d"), "mask_axes"], "mask_bias")

    for index in range(layers):
        p = f"encoder.layer.{index}"
        if fused_attention:
            context = fused_self_attention(g, x, weights, p, heads, mask)
        else:
            context = standard_self_attention(g, x, weights, p, heads, head_dim, mask)
        attention_out = g.linear(context, weights, f"{p}.attention.output.dense")
        x = g.layer_norm(g.op("Add", [attention_out, x], f"{p}.attention_residual"), weights, f"{p}.attention.output.LayerNorm", epsilon)

        intermediate = g.linear(x, weights, f"{p}.intermediate.dense")
        # Exact GELU, h · (1 + erf(h / √2)) · 0.5, written in the op order torch exports: that is
        # the pattern onnxruntime's GeluFusion/BiasGeluFusion match (one kernel instead of five).
        erf = g.op("Erf", [g.op("Div", [intermediate, "sqrt2"], f"{p}.gelu_scaled")], f"{p}.gelu_erf")
        gated = g.op("Mul", [intermediate, g.op("Add", [erf, "float_one"], f"{p}.gelu_erf1")], f"{p}.gelu_gated")
        gelu = g.op("Mul", [gated, "float_half"], f"{p}.gelu")
        ffn_out = g.linear(gelu, weights, f"{p}.output.dense")
        x = g.layer_norm(g.op("Add", [ffn_out, x], f"{p}.ffn_residual"), weights, f"{p}.output.LayerNorm", epsilon)

    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="last_hidden_state"))
    dims = ["batch_size", "sequence_length"]
    used = {name for node in g.nodes for name in node.input}
    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(name, TensorProto.INT64, dims) for name in ("input_ids", "attention_mask", "token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*dims, hidden])],
        [tensor for tensor in g.initializers if tensor.name in used],
    )
    opsets = [helper.make_opsetid("", OPSET)]
    if fused_attention:
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="ai-dev-bot export_model.py")
    model.ir_version = 8  # readable by every onnxruntime ≥ 1.10
    # full_check runs ONNX shape inference, which knows no com.microsoft ops.
    onnx.checker.check_model(model, full_check=not fused_attention)
    return model


def quantize(fp32_path: Path, int8_path: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Its "consider pre-processing" warning is about static quantisation; it does not apply here.
    logging.getLogger().setLevel(logging.ERROR)

    # The MatMuls and Attention's QKV projection (→ QAttention) are where the time goes: signed
    # int8 weights with uint8 activations (U8S8) is the fast path of VNNI (vpdpbusd), and
    # per-channel weight scales keep accuracy. The embedding tables (Gather) are quantised too:
    # that shrinks the file from 58 to 23 MB and session creation — paid by every cold `search` —
    # by ~60 ms, for a cosine to sentence-transformers still ≥ 0.98 on the reference inputs.
    quantize_dynamic(
        model_input=str(fp32_path),
        model_output=str(int8_path),
        op_types_to_quantize=["MatMul", "Attention", "Gather"],
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=False,
        # ONNX shape inference cannot type the outputs of com.microsoft ops; they are all float.
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT},
    )


def smoke_test(model_dir: Path, vocab_size: int) -> None:
    """Run both exports once and compare them, so a broken export fails here, not at index time."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, vocab_size, size=(2, 24), dtype=np.int64)
    ids[:, 0], ids[:, -1] = 101, 102
    mask = np.ones_like(ids)
    mask[1, 16:] = 0
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    outputs = {}
    for name in ("model.onnx", "model_quantized.onnx"):
        session = ort.InferenceSession(str(model_dir / name), providers=["CPUExecutionProvider"])
        (hidden,) = session.run(["last_hidden_state"], feeds)
        pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        outputs[name] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    cosines = (outputs["model.onnx"] * outputs["model_quantized.onnx"]).sum(1)
    print(f"export_model.py: int8 vs fp32 cosine on a smoke batch: {', '.join(f'{c:.4f}' for c in cosines)}")
    if cosines.min() < 0.95:
        raise SystemExit("export_model.py: the int8 model diverges from fp32; refusing to keep it")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", required=True, type=Path, help="directory holding model.safetensors and config.json")
    parser.add_argument("--out", required=True, type=Path, help="model directory to write")
    parser.add_argument(
        "--attention",
        choices=("fused", "standard"),
        default="fused",
        help="fused: onnxruntime's Attention kernel (fast, onnxruntime only); standard: plain ONNX ops",
    )
    args = parser.parse_args()

    source: Path = args.source
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    config = json.loads((source / "config.json").read_text())
    weights = read_safetensors(source / "model.safetensors")
    # Some checkpoints prefix every name with "bert."; the graph uses the bare BertModel names.
    weights = {name.removeprefix("bert."): value for name, value in weights.items()}

    fp32_path, int8_path = out / "model.onnx", out / "model_quantized.onnx"
    onnx.save_model(build_graph(weights, config, fused_attention=args.attention == "fused"), str(fp32_path))
    print(f"export_model.py: wrote {fp32_path} ({fp32_path.stat().st_size} bytes)")
    quantize(fp32_path, int8_path)
    print(f"export_model.py: wrote {int8_path} ({int8_path.stat().st_size} bytes)")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(source / name, out / name)
    smoke_test(out, int(config["vocab_size"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
