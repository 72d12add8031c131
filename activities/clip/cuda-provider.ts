import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

/**
 * Why CUDA cannot be used by this onnxruntime-node install, or undefined when it may be. npm
 * installs the CUDA provider libraries only on request (--onnxruntime-node-install=cuda12), and
 * onnxruntime prints a loud error when asked for a provider whose library is absent. A library
 * that is there can still fail to load (no driver, no libcudart): only creating a session tells.
 */
export function cudaUnavailableReason(): string | undefined {
  if (!ort.listSupportedBackends().some((backend) => backend.name === 'cuda')) {
    return 'this onnxruntime-node build has no CUDA execution provider';
  }
  const library = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  const binaryDir = onnxruntimeBinaryDir();
  if (!existsSync(path.join(binaryDir, library))) {
    return `the CUDA provider library ${library} is not installed in ${binaryDir} (install it: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js)`;
  }
  return undefined;
}

export function onnxruntimeBinaryDir(): string {
  const packageDir = path.dirname(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node')));
  return path.join(packageDir, 'bin', 'napi-v6', process.platform, process.arch);
}

/** Why a GPU-only provider list is refused rather than run on the CPU: the one wording for every place that refuses. */
export function cudaOnlyRefusal(why: string, providers: readonly string[]): string {
  return `${why}; select.executionProviders is [${providers.join(', ')}] without cpu, so CLIP does not fall back to the CPU (add cpu to allow it)`;
}
