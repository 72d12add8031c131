import pkg from 'onnx-proto';

const { onnx } = pkg;

// A small ONNX graph builder for test and benchmark models: enough of ModelProto to describe CLIP-shaped
// encoders with seeded weights, serialised exactly as an exporter would write them, so the runtime loads
// them through the same path as a real export.

/** IR 8 is the first IR version that opset 17 (LayerNormalization) may use. */
const irVersion = 8;
export const defaultOpset = 17;

export type ElementType = 'float32' | 'int64';
const dataTypes: Readonly<Record<ElementType, number>> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

/** A dimension is a fixed size or a symbolic name (a dynamic axis such as the batch). */
export type Dimension = number | string;

/** An attribute value, tagged because ONNX tells ints from floats and JavaScript does not. */
export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string };

export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  ints: (value: readonly number[]): Attribute => ({ kind: 'ints', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
};

function attributeProto(name: string, attribute: Attribute): InstanceType<typeof onnx.AttributeProto> {
  const types = onnx.AttributeProto.AttributeType;
  switch (attribute.kind) {
    case 'int':
      return onnx.AttributeProto.create({ name, type: types.INT, i: attribute.value });
    case 'ints':
      return onnx.AttributeProto.create({ name, type: types.INTS, ints: [...attribute.value] });
    case 'float':
      return onnx.AttributeProto.create({ name, type: types.FLOAT, f: attribute.value });
    case 'string':
      return onnx.AttributeProto.create({ name, type: types.STRING, s: Buffer.from(attribute.value, 'utf8') });
  }
}

function valueInfo(name: string, type: ElementType, shape: readonly Dimension[]) {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: dataTypes[type], shape: { dim } } },
  });
}

/** Little-endian bytes of a typed array, as ONNX's raw_data wants them (every platform Node runs on is LE). */
function rawBytes(values: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

export class OnnxGraph {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private counter = 0;

  constructor(private readonly name: string) {}

  input(name: string, type: ElementType, shape: readonly Dimension[]): string {
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  /** Marks `value` (the output of some node) as a graph output under its own name. */
  output(value: string, type: ElementType, shape: readonly Dimension[]): void {
    this.outputs.push(valueInfo(value, type, shape));
  }

  /** A constant tensor stored in the model; returns its value name. */
  tensor(values: Float32Array | BigInt64Array, dims: readonly number[], hint = 'w'): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== values.length)
      throw new Error(`tensor ${hint}: ${values.length} values for dims [${dims.join(',')}]`);
    const name = this.fresh(hint);
    const dataType = values instanceof Float32Array ? dataTypes.float32 : dataTypes.int64;
    this.initializers.push(onnx.TensorProto.create({ name, dims: [...dims], dataType, rawData: rawBytes(values) }));
    return name;
  }

  floats(values: readonly number[], dims: readonly number[] = [values.length], hint = 'f'): string {
    return this.tensor(Float32Array.from(values), dims, hint);
  }

  int64s(values: readonly number[], dims: readonly number[] = [values.length], hint = 'i'): string {
    return this.tensor(
      BigInt64Array.from(values, (v) => BigInt(v)),
      dims,
      hint,
    );
  }

  /** Adds a node with one output and returns the output's name (or `outputName` when given). */
  op(opType: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}, outputName?: string) {
    const [output] = this.opMulti(opType, inputs, 1, attributes, outputName === undefined ? [] : [outputName]);
    return output as string;
  }

  opMulti(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Record<string, Attribute> = {},
    outputNames: readonly string[] = [],
  ): string[] {
    const output = Array.from({ length: outputCount }, (_, i) => outputNames[i] ?? this.fresh(opType.toLowerCase()));
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: this.fresh(`${opType}_node`),
        input: [...inputs],
        output,
        attribute: Object.entries(attributes).map(([key, value]) => attributeProto(key, value)),
      }),
    );
    return output;
  }

  /** The serialised ModelProto. */
  encode(options: { opset?: number; producer?: string } = {}): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion,
      producerName: options.producer ?? 'pathgen-test',
      opsetImport: [{ domain: '', version: options.opset ?? defaultOpset }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private fresh(hint: string): string {
    this.counter += 1;
    return `${hint}_${this.counter}`;
  }
}

// The same seeded generator as the patch grid's: the same seed gives the same model on every machine.
export { seededRandom } from '../../../activities/common/seeded-random.js';

/** Uniform weights with unit-variance outputs for a layer of `fanIn` inputs: U(±√(3/fanIn)). */
export function randomWeights(random: () => number, count: number, fanIn: number): Float32Array {
  const bound = Math.sqrt(3 / fanIn);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = (random() * 2 - 1) * bound;
  return values;
}
