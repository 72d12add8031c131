import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { threadEntryCode } from '../runtime/thread-entry.js';
import { PathgenError } from '../common/errors.js';

// onnxruntime-node runs a session synchronously on the calling thread (its `run` promise only defers
// the call to the next turn of the event loop), so a session on the main thread would stall
// everything else (preparing the next batch, heartbeats, cancellation) for as long as a batch takes.
// The CLIP encoders therefore live in a worker thread of their own; this is the main thread's end
// of that channel, clip-session-worker.ts the other.

export type ExecutionProvider = 'cpu' | 'cuda';
export type OrtLogLevel = 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
export type EncoderKind = 'image' | 'text';

export interface SessionWorkerData {
  imageEncoderPath: string;
  textEncoderPath: string;
  executionProviders: readonly ExecutionProvider[];
  intraOpNumThreads?: number;
  logLevel: OrtLogLevel;
}

/** A graph input or output as onnxruntime describes it; string dimensions are symbolic. */
export interface ValueInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

export interface EncoderSignature {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export type WorkerRequest =
  | {
      type: 'run';
      id: number;
      encoder: EncoderKind;
      input: string;
      output: string;
      data: Float32Array | BigInt64Array;
      dims: number[];
    }
  | { type: 'dispose' };

export type WorkerReply =
  | {
      type: 'ready';
      provider: ExecutionProvider;
      warnings: string[];
      image: EncoderSignature;
      text: EncoderSignature;
    }
  | { type: 'failed'; encoder: EncoderKind; code?: 'ProviderUnavailable'; message: string; warnings: string[] }
  | { type: 'result'; id: number; data: Float32Array; dims: number[] }
  | { type: 'error'; id: number; message: string };

export interface SessionReady {
  provider: ExecutionProvider;
  warnings: string[];
  image: EncoderSignature;
  text: EncoderSignature;
}

export interface RunOutput {
  data: Float32Array;
  dims: number[];
}

interface Pending {
  resolve: (output: RunOutput) => void;
  reject: (error: Error) => void;
}

/** Both encoders of one model in a worker thread. */
export class ClipSessionWorker {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;
  private exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    readonly ready: SessionReady,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (error) => this.fail(error));
    worker.once('exit', (code) => this.fail(new Error(`the CLIP session thread exited with code ${code}`)));
    // An idle worker must not keep the process alive; a pending run must.
    worker.unref();
  }

  /** Starts the thread and creates both sessions; `failed` replies become `ModelInvalid`. */
  static async start(data: SessionWorkerData): Promise<ClipSessionWorker> {
    const worker = new Worker(bootstrapCode(), { eval: true, workerData: data });
    let settle: { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void } | undefined;
    const onMessage = (reply: WorkerReply) => settle?.resolve(reply);
    const onError = (error: Error) => settle?.reject(error);
    const onExit = (code: number) => settle?.reject(new Error(`the CLIP session thread exited with code ${code}`));
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    const reply = await new Promise<WorkerReply>((resolve, reject) => (settle = { resolve, reject }))
      .catch((error: unknown) => {
        throw new PathgenError('ModelUnavailable', 'could not start the CLIP session thread', {}, { cause: error });
      })
      .finally(() => {
        // Only our own listeners: a Worker keeps internal ones (removeAllListeners would break it).
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      });
    if (reply.type === 'failed') {
      await worker.terminate();
      if (reply.code === 'ProviderUnavailable') {
        throw new PathgenError('ProviderUnavailable', reply.message, { providers: data.executionProviders });
      }
      const file = path.basename(reply.encoder === 'image' ? data.imageEncoderPath : data.textEncoderPath);
      throw new PathgenError('ModelInvalid', `onnxruntime cannot load ${file}: ${reply.message}`, {
        file,
        encoder: reply.encoder,
        warnings: reply.warnings,
      });
    }
    if (reply.type !== 'ready') {
      await worker.terminate();
      throw new PathgenError('ModelUnavailable', `the CLIP session thread answered ${reply.type} before ready`);
    }
    return new ClipSessionWorker(worker, reply);
  }

  /** Runs one encoder; the input array is copied, so the caller keeps its buffer. */
  run(
    encoder: EncoderKind,
    input: string,
    output: string,
    data: Float32Array | BigInt64Array,
    dims: number[],
  ): Promise<RunOutput> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const copy = data.slice();
    const promise = new Promise<RunOutput>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    if (this.pending.size === 1) this.worker.ref();
    const request: WorkerRequest = { type: 'run', id, encoder, input, output, data: copy, dims };
    this.worker.postMessage(request, [copy.buffer]);
    return promise;
  }

  async dispose(): Promise<void> {
    if (!this.failure) {
      const request: WorkerRequest = { type: 'dispose' };
      this.worker.postMessage(request);
      this.worker.ref();
    }
    await this.exited;
  }

  private settle(reply: WorkerReply): void {
    if (reply.type !== 'result' && reply.type !== 'error') return;
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.type === 'result') pending.resolve({ data: reply.data, dims: reply.dims });
    else pending.reject(new PathgenError('ModelRunFailed', `onnxruntime failed to run the model: ${reply.message}`));
  }

  private fail(cause: Error): void {
    this.failure ??= new PathgenError(
      'ModelUnavailable',
      `the CLIP session thread stopped: ${cause.message}`,
      {},
      { cause },
    );
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
  }
}

// The worker's entry is clip-session-worker, a module beside this one.
function bootstrapCode(): string {
  return threadEntryCode(import.meta.url, 'clip-session-worker');
}
