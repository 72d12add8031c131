import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  parseOpenClipLogLine,
  progressStep,
  type OpenClipLogEvent,
  type TrainProgressEvent,
} from '../../activities/train/open-clip-log.js';

// The fixtures are real output of infra/train/pathgen_train.py (open_clip 3.3.0, torch 2.9.1):
// - open-clip-resumed-out.txt: out.log of pathgen-tiny, 64 samples, batch 16, 3 epochs, fp32 on CPU,
//   SIGKILLed during epoch 1 (after epoch_1.pt) and rerun with `--resume latest`: both attempts;
// - open-clip-failures-console.txt: stdout and stderr of four refused or failed runs (same name
//   again with --resume <file>, an unknown model, a missing shard, more workers than shards) and of
//   a run without --device on a machine without CUDA;
// - open-clip-fp16-nan-out.txt: the progress lines of `--precision fp16` on CPU, which diverges.

function fixture(name: string): string[] {
  return readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8').split('\n');
}

function events(lines: string[]): OpenClipLogEvent[] {
  return lines.map(parseOpenClipLogLine).filter((event): event is OpenClipLogEvent => event !== null);
}

function progress(all: OpenClipLogEvent[]): TrainProgressEvent[] {
  return all.filter((event): event is TrainProgressEvent => event.kind === 'progress');
}

const checkpoints = '/tmp/pgfix/logs/tiny/checkpoints';

describe('parseOpenClipLogLine on a killed and resumed run', () => {
  const lines = fixture('open-clip-resumed-out.txt');
  const all = events(lines);

  it('reads a progress line field by field', () => {
    const line =
      '2026-11-29,11:42:29 | INFO | Train Epoch: 0 [16/64 (25%)] Data (t): 0.184 Batch (t): 1.901, 8.41749/s, ' +
      '8.41749/s/gpu LR: 0.000500 Logit Scale: 14.286 Contrastive_loss: 2.8669 (2.8669) Loss: 2.8669 (2.8669)';
    expect(lines).toContain(line);
    expect(parseOpenClipLogLine(line)).toEqual({
      kind: 'progress',
      time: '2026-11-29,11:42:29',
      epoch: 0,
      samplesSeen: 16,
      samplesPerEpoch: 64,
      percent: 25,
      loss: 2.8669,
      lossAverage: 2.8669,
      losses: { contrastive_loss: { value: 2.8669, average: 2.8669 }, loss: { value: 2.8669, average: 2.8669 } },
      dataTime: 0.184,
      batchTime: 1.901,
      samplesPerSecond: 8.41749,
      samplesPerSecondPerGpu: 8.41749,
      lr: 0.0005,
      logitScale: 14.286,
    });
  });

  it('turns every Train Epoch line into progress', () => {
    const trainLines = lines.filter((line) => line.includes('| INFO | Train Epoch: '));
    // Attempt 1: epoch 0 (4 batches) and half of epoch 1; attempt 2: epochs 1 and 2 in full.
    expect(trainLines).toHaveLength(14);
    const seen = progress(all).map((event) => [event.epoch, event.samplesSeen, event.percent]);
    expect(seen).toEqual([
      [0, 16, 25],
      [0, 32, 50],
      [0, 48, 75],
      [0, 64, 100],
      [1, 16, 25],
      [1, 32, 50],
      [1, 16, 25],
      [1, 32, 50],
      [1, 48, 75],
      [1, 64, 100],
      [2, 16, 25],
      [2, 32, 50],
      [2, 48, 75],
      [2, 64, 100],
    ]);
  });

  it('tells epochs, saved checkpoints and the resume in the order they happened', () => {
    const milestones = all
      .filter((event) => event.kind !== 'progress' && event.kind !== 'warning')
      .map((event) => {
        if (event.kind === 'epochStart') return `start ${event.epoch}`;
        if (event.kind === 'checkpointSaved') return `saved ${event.completedEpochs} ${event.path}`;
        if (event.kind === 'resumeSearch') return `found ${event.path}`;
        if (event.kind === 'resumed') return `resumed ${event.completedEpochs} ${event.path}`;
        return `${event.kind} ${event.message}`;
      });
    expect(milestones).toEqual([
      'start 0',
      `saved 1 ${checkpoints}/epoch_1.pt`,
      'start 1',
      // The rerun with --resume latest: open_clip finds the newest checkpoint, loads it, goes on at epoch 1.
      `found ${checkpoints}/epoch_1.pt`,
      `resumed 1 ${checkpoints}/epoch_1.pt`,
      'start 1',
      `saved 2 ${checkpoints}/epoch_2.pt`,
      'start 2',
      `saved 3 ${checkpoints}/epoch_3.pt`,
    ]);
  });

  it('reports warnings and ignores the model, the parameters and the rest', () => {
    const warnings = all.filter((event) => event.kind === 'warning');
    expect(warnings.map((event) => event.message)).toEqual([
      "No pretrained weights loaded for model 'pathgen-tiny'. Model initialized randomly.",
      "No pretrained weights loaded for model 'pathgen-tiny'. Model initialized randomly.",
    ]);
    expect(parseOpenClipLogLine('2026-11-29,11:42:26 | INFO |   batch_size: 16')).toBeNull();
    expect(parseOpenClipLogLine('2026-11-29,11:42:26 | INFO | CLIP(')).toBeNull();
    expect(parseOpenClipLogLine('  (visual): VisionTransformer(')).toBeNull();
    expect(parseOpenClipLogLine('')).toBeNull();
  });

  it('counts optimizer steps from the start of training', () => {
    const steps = progress(all).map((event) => progressStep(event, 16));
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('accepts a line that still ends in a carriage return', () => {
    const line = '2026-11-29,11:42:35 | INFO | Start epoch 1';
    expect(parseOpenClipLogLine(`${line}\r`)).toEqual(parseOpenClipLogLine(line));
  });
});

describe('parseOpenClipLogLine on failures', () => {
  const all = events(fixture('open-clip-failures-console.txt'));
  const errors = all.filter((event) => event.kind === 'error');

  it('reports the refusal open_clip prints, and one summary line per failure last', () => {
    const summaries = errors.map((event) => event.message).filter((message) => !message.includes('Traceback'));
    expect(summaries.map((message) => message.slice(0, 90))).toEqual([
      'Error. Experiment already exists. Use --name {} to specify a new experiment.',
      'pathgen_train: open_clip_train refused to run (returned -1; its reason is printed above)',
      "pathgen_train: training failed: RuntimeError: Model config for 'pathgen-huge' not found in",
      'pathgen_train: 1 data file(s) missing: /tmp/pgfix/shards/shard-000002.tar',
      'pathgen_train: training failed: AssertionError: number of shards must be >= total workers',
    ]);
    expect(errors[0]?.time).toBeNull();
    expect(errors[1]?.time).toBe('2026-11-29,11:43:11');
  });

  it('reports the fall back from CUDA to CPU', () => {
    const warnings = all.filter((event) => event.kind === 'warning').map((event) => event.message);
    expect(warnings).toContain('UserWarning: Device cuda was not available, falling back to CPU.');
  });
});

describe('parseOpenClipLogLine on a diverged run', () => {
  it('reads nan as NaN', () => {
    const steps = progress(events(fixture('open-clip-fp16-nan-out.txt')));
    expect(steps).toHaveLength(8);
    expect(steps[0]?.loss).toBe(2.9336);
    expect(steps[1]?.loss).toBeNaN();
    expect(steps[1]?.lossAverage).toBeNaN();
    expect(steps[1]?.logitScale).toBe(14.279);
    expect(steps[2]?.logitScale).toBeNaN();
  });

  it('reads inf and exponents', () => {
    const line =
      '2026-11-29,11:38:52 | INFO | Train Epoch: 3 [1024/4096 (25%)] Data (t): 0.002 Batch (t): 0.142, ' +
      '1.23457e+06/s, 3.08642e+05/s/gpu LR: 0.000001 Logit Scale: 100.000 Contrastive_loss: inf (inf) Loss: -inf (inf)';
    const event = parseOpenClipLogLine(line);
    expect(event).toMatchObject({
      kind: 'progress',
      samplesPerSecond: 1234570,
      samplesPerSecondPerGpu: 308642,
      loss: -Infinity,
      lossAverage: Infinity,
    });
  });
});
