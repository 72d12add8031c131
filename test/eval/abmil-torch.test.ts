import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { predictSlide } from '../../activities/eval/abmil-forward.js';
import { abmilParameterLayout, createAbmil } from '../../activities/eval/abmil-model.js';
import { abmilToJson } from '../../activities/eval/abmil-json.js';
import { trainAbmil, trainingOrder } from '../../activities/eval/abmil-training.js';
import { repoRoot, requireTrainPython } from '../../infra/harness/installed-tools.js';
import { normalBag, seededNormal } from '../../workers/synthetic/datasets/synthetic-bags.js';

// The same model built from torch modules, from our initial weights, trained with torch.optim.AdamW
// and CosineAnnealingLR over the same slide order (infra/harness/abmil-torch-reference.py): logits,
// attention, losses and every weight must agree to 1e-4. lr and weight decay are far above PathGen's
// so that three epochs move the weights by much more than the tolerance.

interface TorchResult {
  initialLogits: number[][];
  epochLosses: number[];
  logits: number[][];
  attention: number[][];
  parameters: Record<string, number[]>;
}

function runTorchReference(python: string, testCase: unknown): TorchResult {
  const dir = mkdtempSync(path.join(tmpdir(), 'pathgen-abmil-torch-'));
  try {
    const casePath = path.join(dir, 'case.json');
    const resultPath = path.join(dir, 'result.json');
    writeFileSync(casePath, JSON.stringify(testCase));
    const script = path.join(repoRoot, 'infra', 'harness', 'abmil-torch-reference.py');
    const run = spawnSync(python, [script, casePath, resultPath], { encoding: 'utf8', timeout: 120_000 });
    if (run.status !== 0) {
      throw new Error(`torch-reference.py failed (status ${run.status}): ${run.error?.message ?? run.stderr}`);
    }
    return JSON.parse(readFileSync(resultPath, 'utf8')) as TorchResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('ABMIL against PyTorch', () => {
  it('matches torch forward, AdamW steps and cosine schedule to 1e-4', async () => {
    const python = requireTrainPython();
    const initial = createAbmil({ inputDim: 12, hiddenDim: 16, attentionDim: 8, classCount: 3, seed: 21 });
    const normal = seededNormal(22);
    const examples = [
      { bag: normalBag(normal, 7, 12), label: 2 },
      { bag: normalBag(normal, 13, 12), label: 0 },
    ];
    const settings = { epochs: 3, lr: 5e-3, weightDecay: 0.05, seed: 4 };
    const trained = await trainAbmil(examples, { classCount: 3, initialModel: initial, ...settings });

    const torch = runTorchReference(python, {
      model: abmilToJson(initial),
      bags: examples.map((example) => Array.from(example.bag.features)),
      labels: examples.map((example) => example.label),
      orders: trainingOrder(examples.length, settings.epochs, settings.seed),
      lr: settings.lr,
      weightDecay: settings.weightDecay,
    });

    const close = (values: ArrayLike<number>) => Array.from(values, (v) => expect.closeTo(v, 4));
    examples.forEach((example, i) => {
      expect(torch.initialLogits[i]).toEqual(close(predictSlide(initial, example.bag).logits));
      const prediction = predictSlide(trained.model, example.bag);
      expect(torch.logits[i]).toEqual(close(prediction.logits));
      expect(torch.attention[i]).toEqual(close(prediction.attention));
    });
    expect(torch.epochLosses).toEqual(close(trained.epochLosses));
    let largestMove = 0;
    for (const tensor of abmilParameterLayout(initial.config)) {
      const ours = trained.model.parameters.subarray(tensor.offset, tensor.offset + tensor.size);
      expect(torch.parameters[tensor.name], tensor.name).toEqual(close(ours));
      for (let i = tensor.offset; i < tensor.offset + tensor.size; i++) {
        largestMove = Math.max(largestMove, Math.abs(trained.model.parameters[i]! - initial.parameters[i]!));
      }
    }
    expect(largestMove).toBeGreaterThan(1e-2);
  });
});
