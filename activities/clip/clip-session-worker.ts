import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
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

/**
 * Why CUDA cannot be used by this onnxruntime-node install, or undefined when it may be. npm
 * installs the CUDA provider libraries only on request (--onnxruntime-node-install=cuda12), and
 * onnxruntime prints a loud error when asked for a provider whose library is absent.
 */
function cudaUnavailableReason(): string | undefined {
  if (!ort.listSupportedBackends().some((backend) => backend.name === 'cuda')) {
    return 'this onnxruntime-node build has no CUDA execution provider';
  }
  const library = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  const packageDir = path.dirname(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node')));
  const binaryDir = path.join(packageDir, 'bin', 'napi-v6', process.platform, process.arch);
  if (!existsSync(path.join(binaryDir, library))) {
    return `the CUDA provider library ${library} is not installed in ${binaryDir} (install onnxruntime-node with --onnxruntime-node-install=cuda12)`;
  }
  return undefined;
}

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
  let providers: ExecutionProvider[] = [...new Set<ExecutionProvider>([...data.executionProviders, 'cpu'])];
  const cudaMissing = providers.includes('cuda') ? cudaUnavailableReason() : undefined;
  if (cudaMissing) {
    warnings.push(`${cudaMissing}; running CLIP on the CPU`);
    providers = ['cpu'];
  }
  let sessions;
  try {
    sessions = await createBoth(providers);
  } catch (error) {
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
