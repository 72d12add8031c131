import { describe, expect, it } from 'vitest';
import { PathgenError } from '../../activities/common/errors.js';
import {
  dataloaderWorkers,
  globalBatchSize,
  launchArgs,
  requireShardPerProcess,
} from '../../activities/train/processes-per-node.js';
import { parseTrainInput, TrainHyperparameters } from '../../activities/train/train-input.js';
import { trainerArgs } from '../../activities/train/trainer-args.js';

// How processesPerNode shapes a training attempt: the command line, the global batch, dataloader
// workers and the shards each process needs. The real torchrun runs in test/infra/train/torchrun.test.ts
// and test/workflows/train-distributed.services.test.ts.

const attempt = {
  script: 'infra/train/pathgen_train.py',
  model: 'pathgen-tiny',
  trainData: '/data/shard-{000000..000003}.tar',
  samples: 320,
  hyperparameters: TrainHyperparameters.parse({ batchSize: 32, epochs: 2 }),
  logsDir: '/data/logs',
  name: 'attempt-1',
  forceQuickGelu: false,
  logEveryNSteps: 10,
};

describe('processesPerNode', () => {
  it('defaults to 1 and is part of the training input, checked like the rest', () => {
    const base = { trainId: 't', model: 'pathgen-tiny', stages: [{ name: 's', datasets: [{ exportRun: 'r' }] }] };
    expect(parseTrainInput(base).processesPerNode).toBe(1);
    expect(parseTrainInput({ ...base, processesPerNode: 8 }).processesPerNode).toBe(8);
    expect(() => parseTrainInput({ ...base, processesPerNode: 0 })).toThrow(/processesPerNode/);
    expect(() => parseTrainInput({ ...base, processesPerNode: 1.5 })).toThrow(/processesPerNode/);
  });

  it('runs the script alone for one process, and under torchrun for more', () => {
    const alone = trainerArgs(attempt);
    expect(alone[0]).toBe('infra/train/pathgen_train.py');
    expect(trainerArgs({ ...attempt, processesPerNode: 1 })).toEqual(alone);

    const distributed = trainerArgs({ ...attempt, processesPerNode: 4 });
    const separator = distributed.indexOf('--');
    expect(distributed.slice(0, separator)).toEqual([
      '-m',
      'torch.distributed.run',
      '--standalone',
      '--nproc-per-node=4',
      '--max-restarts=0',
    ]);
    // open_clip's flags follow unchanged, after the `--` that keeps torchrun from reading them.
    expect(distributed.slice(separator + 1)).toEqual(alone);
    expect(launchArgs(2, ['x.py', '--logs', '/l'])).toEqual([
      '-m',
      'torch.distributed.run',
      '--standalone',
      '--nproc-per-node=2',
      '--max-restarts=0',
      '--',
      'x.py',
      '--logs',
      '/l',
    ]);
  });

  it('multiplies the per-process batch into the global batch', () => {
    expect(globalBatchSize(32, 1)).toBe(32);
    expect(globalBatchSize(32, 2)).toBe(64);
  });

  it('gives each process at most the dataloader workers its own shards can feed', () => {
    expect(dataloaderWorkers(8, 4, 1)).toBe(4);
    expect(dataloaderWorkers(8, 4, 2)).toBe(2);
    expect(dataloaderWorkers(1, 4, 2)).toBe(1);
    expect(dataloaderWorkers(8, 5, 2)).toBe(2);
    expect(dataloaderWorkers(8, 2, 2)).toBe(1);
  });

  it('refuses a stage with fewer shards than processes, naming both', () => {
    expect(() => requireShardPerProcess('stage1', 2, 2)).not.toThrow();
    let failure: unknown;
    try {
      requireShardPerProcess('stage1', 1, 2);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(PathgenError);
    expect(failure).toMatchObject({
      code: 'InvalidTrainInput',
      message: expect.stringContaining('stage stage1 has 1 shard(s) for 2 processes'),
      details: { stage: 'stage1', shards: 1, processesPerNode: 2 },
    });
  });
});
