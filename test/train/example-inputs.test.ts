import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEvalInput } from '../../activities/eval/eval-input.js';
import { pathgenDatasetIds } from '../../activities/eval/datasets/index.js';
import { parseTrainInput } from '../../activities/train/train-input.js';
import { repoRoot } from '../../infra/harness/installed-tools.js';

// The README points at these inputs; they must stay valid as the schemas change.
const example = (name: string): unknown =>
  JSON.parse(readFileSync(path.join(repoRoot, 'infra', 'examples', name), 'utf8')) as unknown;

describe('the example training and evaluation inputs', () => {
  it('parse, with defaults filled', () => {
    const tiny = parseTrainInput(example('train.json'));
    expect(tiny.stages[0]!.hyperparameters).toMatchObject({ epochs: 30, weightDecay: 0.1, seed: 0, extraArgs: [] });
    const b16 = parseTrainInput(example('train-pathgen-clip.json'));
    expect(b16.stages.map((stage) => stage.name)).toEqual(['stage1-pathgen', 'stage2-public']);
    expect(b16.heartbeatTimeout).toBe('2m');
    expect(parseEvalInput(example('eval.json')).zeroShot[0]!.ensemble).toBe(false);
    const benchmarks = parseEvalInput(example('eval-pathgen-benchmarks.json'));
    for (const task of benchmarks.zeroShot) expect(pathgenDatasetIds).toContain(task.dataset.definition);
    expect(benchmarks.slideTasks[0]).toMatchObject({ epochs: 50, lr: 1e-4, weightDecay: 1e-5 });
  });

  it('name the field that is wrong', () => {
    expect(() => parseTrainInput({ trainId: 'x', model: 'ViT-B-16', stages: [] })).toThrow(/stages: /);
    expect(() =>
      parseTrainInput({
        trainId: 'x',
        model: 'ViT-B-16',
        stages: [{ name: 'a', datasets: [{ exportRun: 'r' }], hyperparameters: { lr: -1 } }],
      }),
    ).toThrow(/stages\.0\.hyperparameters\.lr/);
    expect(() => parseEvalInput({ evalId: 'e', model: 'm' })).toThrow(/at least one task/);
  });
});
