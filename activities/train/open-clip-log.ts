// The trainer's console stream, line by line, as typed events. Everything open_clip logs goes to
// stderr (and to <logs>/<name>/out.log) through Python's logging with the format
// `%(asctime)s | %(levelname)s | %(message)s` and the date format `%Y-%m-%d,%H:%M:%S` (local time,
// no zone):
//
//   2026-11-29,11:33:42 | INFO | Start epoch 0
//   2026-11-29,11:33:42 | INFO | Train Epoch: 0 [16/64 (25%)] Data (t): 0.054 Batch (t): 0.255,
//       62.7690/s, 62.7690/s/gpu LR: 0.000500 Logit Scale: 14.286 Contrastive_loss: 3.0134 (3.0134)
//       Loss: 3.0134 (3.0134)                                                  (one line in the log)
//
// Multi-line messages (the model's repr, tracebacks) continue on lines without the prefix. Two
// kinds of line come without it and still matter: open_clip's refusals, printed to stdout
// ("Error. Experiment already exists. ..."), and Python warnings on stderr
// ("…/distributed.py:134: UserWarning: Device cuda was not available, falling back to CPU.").
// infra/train/pathgen_train.py adds "pathgen_train: saved checkpoint <path>" after each complete
// checkpoint and ends every failure with one ERROR line.

export type OpenClipLogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';

export interface LossValue {
  /** The last logged batch's value. */
  value: number;
  /** The mean over the epoch's logged batches so far. */
  average: number;
}

/** One "Train Epoch" line. Numbers are as printed: NaN when the loss diverged ("nan"). */
export interface TrainProgressEvent {
  kind: 'progress';
  time: string;
  /** 0-based, as open_clip counts: "Train Epoch: 0" is the first epoch. */
  epoch: number;
  /** Samples of this epoch done, over all processes. */
  samplesSeen: number;
  /** Samples in an epoch, rounded up to whole batches per dataloader worker. */
  samplesPerEpoch: number;
  /** Rounded to a whole percent by open_clip. */
  percent: number;
  /** Total loss: the last batch's value, and its epoch mean (the "Loss" pair). */
  loss: number;
  lossAverage: number;
  /** Every loss term the line names, by lower-case name ("contrastive_loss", "loss", …). */
  losses: Record<string, LossValue>;
  samplesPerSecond: number;
  samplesPerSecondPerGpu: number;
  /** Mean seconds per batch spent waiting for data, and in all, this epoch. */
  dataTime: number;
  batchTime: number;
  /** Printed with six decimals: a learning rate below 5e-7 reads as 0. */
  lr: number;
  logitScale: number;
}

export type OpenClipLogEvent =
  | TrainProgressEvent
  | { kind: 'epochStart'; time: string; epoch: number }
  /** `--resume` loaded a training checkpoint: training goes on at 0-based epoch `completedEpochs`. */
  | { kind: 'resumed'; time: string; path: string; completedEpochs: number }
  /** `--resume latest` looked for a checkpoint: `path` is null when it found none (a fresh start). */
  | { kind: 'resumeSearch'; time: string; path: string | null }
  /** A complete checkpoint file (pathgen_train.py); epoch_N.pt holds N completed epochs. */
  | { kind: 'checkpointSaved'; time: string; path: string; completedEpochs: number | null }
  | { kind: 'warning'; time: string | null; message: string }
  | { kind: 'error'; time: string | null; message: string };

const prefixed = /^(\d{4}-\d\d-\d\d,\d\d:\d\d:\d\d) \| (DEBUG|INFO|WARNING|ERROR|CRITICAL) \| (.*)$/;
const num = String.raw`([-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|nan|inf))`;
const progressLine = new RegExp(
  String.raw`^Train Epoch: (\d+) \[\s*(\d+)/(\d+) \((\d+)%\)\] ` +
    String.raw`Data \(t\): ${num} Batch \(t\): ${num}, ${num}/s, ${num}/s/gpu ` +
    String.raw`LR: ${num} Logit Scale: ${num} (.*)$`,
);
const lossTerm = new RegExp(String.raw`(\w+): ${num} \(${num}\)`, 'g');
const epochStart = /^Start epoch (\d+)$/;
const resumed = /^=> resuming checkpoint '(.*)' \(epoch (\d+)\)$/;
const foundLatest = /^Found latest resume checkpoint at (.*)\.$/;
const noLatest = /^No latest resume checkpoint found in /;
const saved = /^pathgen_train: saved checkpoint (.*)$/;
const checkpointFile = /(?:^|\/)epoch_(\d+)\.pt$/;
const pythonWarning = /^\S.*:\d+: (\w*Warning): (.*)$/;

/** The event a line of the trainer's console stream (or out.log) reports, or null for the rest. */
export function parseOpenClipLogLine(line: string): OpenClipLogEvent | null {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const match = prefixed.exec(text);
  if (!match) return parseUnprefixed(text);
  const [, time = '', level, message = ''] = match;
  if (level === 'ERROR' || level === 'CRITICAL') return { kind: 'error', time, message };
  if (level === 'WARNING') return { kind: 'warning', time, message };
  return parseMessage(time, message);
}

function parseUnprefixed(text: string): OpenClipLogEvent | null {
  if (text.startsWith('Error. ')) return { kind: 'error', time: null, message: text };
  const warning = pythonWarning.exec(text);
  if (warning) return { kind: 'warning', time: null, message: `${warning[1]}: ${warning[2]}` };
  return null;
}

function parseMessage(time: string, message: string): OpenClipLogEvent | null {
  const progress = progressLine.exec(message);
  if (progress) return progressEvent(time, progress);
  let match = epochStart.exec(message);
  if (match) return { kind: 'epochStart', time, epoch: Number(match[1]) };
  match = resumed.exec(message);
  if (match) return { kind: 'resumed', time, path: match[1] ?? '', completedEpochs: Number(match[2]) };
  match = foundLatest.exec(message);
  if (match) return { kind: 'resumeSearch', time, path: match[1] ?? '' };
  if (noLatest.test(message)) return { kind: 'resumeSearch', time, path: null };
  match = saved.exec(message);
  if (match) {
    const path = match[1] ?? '';
    const epoch = checkpointFile.exec(path);
    return { kind: 'checkpointSaved', time, path, completedEpochs: epoch ? Number(epoch[1]) : null };
  }
  return null;
}

function progressEvent(time: string, m: RegExpExecArray): TrainProgressEvent | null {
  const losses: Record<string, LossValue> = {};
  for (const term of (m[11] ?? '').matchAll(lossTerm)) {
    losses[(term[1] ?? '').toLowerCase()] = { value: number(term[2]), average: number(term[3]) };
  }
  const total = losses.loss;
  if (total === undefined) return null;
  return {
    kind: 'progress',
    time,
    epoch: Number(m[1]),
    samplesSeen: Number(m[2]),
    samplesPerEpoch: Number(m[3]),
    percent: Number(m[4]),
    loss: total.value,
    lossAverage: total.average,
    losses,
    dataTime: number(m[5]),
    batchTime: number(m[6]),
    samplesPerSecond: number(m[7]),
    samplesPerSecondPerGpu: number(m[8]),
    lr: number(m[9]),
    logitScale: number(m[10]),
  };
}

function number(text: string | undefined): number {
  if (text === undefined) return Number.NaN;
  const unsigned = text.replace(/^[-+]/, '');
  if (unsigned === 'inf') return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text); // "nan" → NaN
}

/**
 * Optimizer steps done when a progress line was logged, counted from the start of training.
 * `globalBatchSize` is --batch-size × --accum-freq × processes; the log does not carry it.
 */
export function progressStep(event: TrainProgressEvent, globalBatchSize: number): number {
  const perEpoch = Math.round(event.samplesPerEpoch / globalBatchSize);
  return event.epoch * perEpoch + Math.round(event.samplesSeen / globalBatchSize);
}
