import { readFileSync } from 'node:fs';
import type { NativeConnectionOptions } from '@temporalio/worker';

// Accepted by both the client's Connection and the worker's NativeConnection.
export type TemporalConnectionOptions = Pick<NativeConnectionOptions, 'address' | 'tls' | 'apiKey'>;
import type { TemporalConfig } from './config/schema.js';

/** Connection options shared by the client (CLI, doctor) and the workers' native connection. */
export function temporalConnectionOptions(
  config: TemporalConfig,
  env: NodeJS.ProcessEnv = process.env,
): TemporalConnectionOptions {
  const apiKey = config.apiKeyEnv ? env[config.apiKeyEnv] : undefined;
  if (config.apiKeyEnv && !apiKey) {
    throw new Error(`temporal.apiKeyEnv names ${config.apiKeyEnv}, but that environment variable is empty`);
  }
  const tls =
    config.tls === false
      ? apiKey
        ? true
        : undefined
      : {
          serverNameOverride: config.tls.serverName,
          serverRootCACertificate: config.tls.serverRootCaCertPath
            ? readFileSync(config.tls.serverRootCaCertPath)
            : undefined,
          clientCertPair:
            config.tls.clientCertPath && config.tls.clientKeyPath
              ? { crt: readFileSync(config.tls.clientCertPath), key: readFileSync(config.tls.clientKeyPath) }
              : undefined,
        };
  return { address: config.address, ...(tls ? { tls } : {}), ...(apiKey ? { apiKey } : {}) };
}
