import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { pathgenSearchAttributes } from '../../workflows/search-attributes.js';
import { startMinio } from '../../infra/harness/minio-server.js';
import type { MinioConnection } from '../../infra/harness/minio-server.js';
import { installRuntime } from '../../workers/install-runtime.js';
import { requireTool } from '../../infra/harness/installed-tools.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    minio: MinioConnection;
  }
}

// One real Temporal dev server (the installed CLI, never a download) and one real MinIO for the
// whole run, on free loopback ports. Tests isolate themselves with their own task queues,
// workflow ids and buckets.
export default async function startServices(project: TestProject): Promise<() => Promise<void>> {
  const temporalBinary = requireTool('temporal');
  const minioBinary = requireTool('minio');
  installRuntime('ERROR', () => undefined);
  const [temporal, minio] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalBinary },
        ip: '127.0.0.1',
        searchAttributes: [...pathgenSearchAttributes],
      },
    }),
    startMinio(minioBinary),
  ]);
  project.provide('temporalAddress', temporal.address);
  project.provide('minio', {
    endpoint: minio.endpoint,
    port: minio.port,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
  });
  return async () => {
    await Promise.all([temporal.teardown(), minio.stop()]);
  };
}
