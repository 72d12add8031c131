import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type {
  EncoderKind,
  EncoderSignature,
  ExecutionProvider,
  SessionWorkerData,
  WorkerReply,
  WorkerRequest,
} from './clip-session.js';
import { cudaOnlyRefusal, cudaUnavailableReason } from './cuda-provider.js';

// The thread that owns a CLIP model's two onnxruntime sessions (see clip-session.ts for why).
// It answers one `ready` or `failed`, then one `result` or `error` per `run`, until `dispose`.

const port = parentPort;
if (!port) throw new Error('clip-session-worker runs only as a worker thread');
const data = workerData as SessionWorkerData;

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function createSession(file: string, providers: readonly ExecutionProvider[]) {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [...providers],
    graphOptimizationLevel: 'all',
    logSeverityLevel: severities[data.logLevel],
  };
  if (data.intraOpNumThreads !== undefined) options.intraOpNumThreads = data.intraOpNumThreads;
  return ort.InferenceSession.create(file, options);
}

const severities = { verbose: 0, info: 1, warning: 2, error: 3, fatal: 4 } as const;

async function createBoth(providers: readonly ExecutionProvider[]) {
  const sessions: Partial<Record<EncoderKind, ort.InferenceSession>> = {};
  try {
    sessions.image = await createSession(data.imageEncoderPath, providers);
    sessions.text = await createSession(data.textEncoderPath, providers);
    return { image: sessions.image, text: sessions.text };
  } catch (error) {
    await Promise.all(Object.values(sessions).map((session) => session.release()));
    throw Object.assign(new Error(errorText(error)), { encoder: sessions.image ? 'text' : 'image' });
  }
}

function signature(session: ort.InferenceSession): EncoderSignature {
  const info = (metadata: readonly ort.InferenceSession.ValueMetadata[]) =>
    metadata.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : m));
  return { inputs: info(session.inputMetadata), outputs: info(session.outputMetadata) };
}

async function start() {
  ort.env.logLevel = data.logLevel;
  const warnings: string[] = [];
  const requested = [...new Set<ExecutionProvider>(data.executionProviders)];
  // Without `cpu` in the list the user asked for the GPU only: a CPU session in its place would
  // quietly run a GPU job at a hundredth of the speed, so it is a failure instead.
  const cpuAllowed = requested.includes('cpu');
  const refuse = (why: string) => {
    reply({
      type: 'failed',
      encoder: 'image',
      code: 'ProviderUnavailable',
      message: cudaOnlyRefusal(why, requested),
      warnings,
    });
    port?.close();
  };
  let providers = requested;
  const cudaMissing = providers.includes('cuda') ? cudaUnavailableReason() : undefined;
  if (cudaMissing) {
    if (!cpuAllowed) return refuse(cudaMissing);
    warnings.push(`${cudaMissing}; running CLIP on the CPU`);
    providers = ['cpu'];
  }
  let sessions;
  try {
    sessions = await createBoth(providers);
  } catch (error) {
    if (providers.includes('cuda') && !cpuAllowed) {
      return refuse(`the CUDA execution provider failed to load (${errorText(error)})`);
    }
    if (!providers.includes('cuda')) {
      const encoder = (error as { encoder?: EncoderKind }).encoder ?? 'image';
      reply({ type: 'failed', encoder, message: errorText(error), warnings });
      port?.close();
      return;
    }
    warnings.push(`the CUDA execution provider is unavailable (${errorText(error)}); running CLIP on the CPU`);
    providers = ['cpu'];
    try {
      sessions = await createBoth(providers);
    } catch (cpuError) {
      const encoder = (cpuError as { encoder?: EncoderKind }).encoder ?? 'image';
      reply({ type: 'failed', encoder, message: errorText(cpuError), warnings });
      port?.close();
      return;
    }
  }
  const ready = sessions;
  reply({
    type: 'ready',
    provider: providers.includes('cuda') ? 'cuda' : 'cpu',
    warnings,
    image: signature(ready.image),
    text: signature(ready.text),
  });

  port?.on('message', (request: WorkerRequest) => {
    if (request.type === 'dispose') {
      void Promise.all([ready.image.release(), ready.text.release()]).finally(() => port.close());
      return;
    }
    const session = ready[request.encoder];
    const type = request.data instanceof Float32Array ? 'float32' : 'int64';
    const feeds = { [request.input]: new ort.Tensor(type, request.data, request.dims) };
    session.run(feeds, [request.output]).then(
      (outputs) => {
        const tensor = outputs[request.output];
        if (!tensor || !(tensor.data instanceof Float32Array)) {
          reply({ type: 'error', id: request.id, message: `output ${request.output} is not a float32 tensor` });
          return;
        }
        // A fresh array owns its whole buffer and can be transferred instead of copied.
        const owned =
          tensor.data.byteOffset === 0 && tensor.data.byteLength === tensor.data.buffer.byteLength
            ? tensor.data
            : tensor.data.slice();
        reply({ type: 'result', id: request.id, data: owned, dims: [...tensor.dims] }, [owned.buffer as ArrayBuffer]);
      },
      (error: unknown) => reply({ type: 'error', id: request.id, message: errorText(error) }),
    );
  });
}

void start();
