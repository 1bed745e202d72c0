import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

// Field numbers of onnx.proto: ModelProto.graph = 7, GraphProto.node = 1, NodeProto.op_type = 4.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const NODE_OP_TYPE = 4;
const LENGTH_DELIMITED = 2;

/** Calls `onField` with a reader positioned on each length-delimited field `field`; skips the rest. */
function eachField(bytes: Uint8Array, field: number, onField: (value: Uint8Array) => void): void {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === field && (tag & 7) === LENGTH_DELIMITED) onField(reader.bytes());
    else reader.skipType(tag & 7);
  }
}

/** Counts the op types of an ONNX model's top-level graph (enough for a BERT encoder: no subgraphs). */
export function graphOpTypes(onnxFile: string): Map<string, number> {
  const counts = new Map<string, number>();
  eachField(readFileSync(onnxFile), MODEL_GRAPH, (graph) =>
    eachField(graph, GRAPH_NODE, (node) =>
      eachField(node, NODE_OP_TYPE, (opType) => {
        const name = Buffer.from(opType).toString('utf8');
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }),
    ),
  );
  return counts;
}
