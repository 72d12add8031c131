import { z } from 'zod';
import { PathgenError } from '../common/errors.js';
import { abmilParameterCount, abmilParameterLayout } from './abmil-model.js';
import type { AbmilConfig, AbmilModel } from './abmil-model.js';

// A trained ABMIL as JSON: the configuration and each tensor by its torch state_dict name, its shape
// and its float32 values as little-endian base64 (exact, a third the size of decimal text).

export interface AbmilJson {
  format: 'pathgen-abmil';
  version: 1;
  config: AbmilConfig;
  tensors: { name: string; shape: number[]; float32Base64: string }[];
}

const positiveInt = z.number().int().min(1);
const abmilJsonSchema = z.object({
  format: z.literal('pathgen-abmil'),
  version: z.literal(1),
  config: z.object({
    inputDim: positiveInt,
    hiddenDim: positiveInt,
    attentionDim: positiveInt,
    classCount: z.number().int().min(2),
    dropout: z.number().min(0).lt(1),
  }),
  tensors: z.array(z.object({ name: z.string(), shape: z.array(z.number().int()), float32Base64: z.string() })),
});

export function abmilToJson(model: AbmilModel): AbmilJson {
  return {
    format: 'pathgen-abmil',
    version: 1,
    config: { ...model.config },
    tensors: abmilParameterLayout(model.config).map((tensor) => {
      const bytes = new DataView(new ArrayBuffer(tensor.size * 4));
      for (let i = 0; i < tensor.size; i++) bytes.setFloat32(i * 4, model.parameters[tensor.offset + i]!, true);
      return {
        name: tensor.name,
        shape: tensor.shape,
        float32Base64: Buffer.from(bytes.buffer).toString('base64'),
      };
    }),
  };
}

/** The model `abmilToJson` wrote (float32), or 'InvalidInput' naming what does not fit. */
export function abmilFromJson(json: unknown): AbmilModel {
  const parsed = abmilJsonSchema.safeParse(json);
  if (!parsed.success) {
    throw new PathgenError('InvalidInput', `not a pathgen ABMIL model: ${parsed.error.message}`, {
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    });
  }
  const { config, tensors } = parsed.data;
  const parameters = new Float32Array(abmilParameterCount(config));
  const byName = new Map(tensors.map((tensor) => [tensor.name, tensor]));
  for (const expected of abmilParameterLayout(config)) {
    const tensor = byName.get(expected.name);
    if (!tensor || tensor.shape.join('x') !== expected.shape.join('x')) {
      throw new PathgenError('InvalidInput', `ABMIL tensor ${expected.name} is missing or has the wrong shape`, {
        tensor: expected.name,
        expected: expected.shape,
        found: tensor?.shape ?? null,
      });
    }
    const bytes = Buffer.from(tensor.float32Base64, 'base64');
    if (bytes.length !== expected.size * 4) {
      throw new PathgenError('InvalidInput', `ABMIL tensor ${expected.name} holds the wrong number of values`, {
        tensor: expected.name,
        expected: expected.size,
        found: bytes.length / 4,
      });
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < expected.size; i++) {
      const value = view.getFloat32(i * 4, true);
      if (!Number.isFinite(value)) {
        throw new PathgenError('InvalidInput', `ABMIL tensor ${expected.name} holds a non-finite value`, {
          tensor: expected.name,
          index: i,
        });
      }
      parameters[expected.offset + i] = value;
    }
  }
  const unknown = tensors
    .map((t) => t.name)
    .filter((name) => !abmilParameterLayout(config).some((t) => t.name === name));
  if (unknown.length > 0) {
    throw new PathgenError('InvalidInput', 'ABMIL JSON holds tensors the model does not have', { unknown });
  }
  return { config, parameters };
}
