import { z } from 'zod';
import { defaultTaskQueues } from '../../workflows/task-queues.js';

// The one schema for the whole system. Later stages add their sections here. Every object is
// strict, so a misspelt key is an error rather than a silently ignored setting.

const nonEmpty = z.string().trim().min(1);

const temporalTls = z.strictObject({
  serverName: nonEmpty.optional(),
  serverRootCaCertPath: nonEmpty.optional(),
  clientCertPath: nonEmpty.optional(),
  clientKeyPath: nonEmpty.optional(),
});

const temporal = z.strictObject({
  address: nonEmpty.default('127.0.0.1:7233'),
  namespace: nonEmpty.default('default'),
  /** `false` for plaintext (the dev server); an object for TLS or mTLS (Temporal Cloud, prod clusters). */
  tls: z.union([z.literal(false), temporalTls]).default(false),
  /** Env variable holding an API key (Temporal Cloud), never the key itself. */
  apiKeyEnv: nonEmpty.optional(),
});

const taskQueues = z.strictObject({
  cpu: nonEmpty.default(defaultTaskQueues.cpu),
  gpu: nonEmpty.default(defaultTaskQueues.gpu),
  agents: nonEmpty.default(defaultTaskQueues.agents),
});

const fsStorage = z.strictObject({
  kind: z.literal('fs'),
  root: nonEmpty.default('.pathgen/store'),
});

// Keys are never in files: they come from the environment variables named here.
const s3Storage = z.strictObject({
  kind: z.literal('s3'),
  endpoint: nonEmpty,
  port: z.number().int().min(1).max(65535).optional(),
  useSSL: z.boolean().default(true),
  bucket: nonEmpty,
  region: nonEmpty.optional(),
  prefix: z.string().default(''),
  accessKeyEnv: nonEmpty.default('PATHGEN_S3_ACCESS_KEY'),
  secretKeyEnv: nonEmpty.default('PATHGEN_S3_SECRET_KEY'),
});

const storage = z.discriminatedUnion('kind', [fsStorage, s3Storage]);

const queueWorker = z.strictObject({
  /** Activities this process runs at once on the queue. */
  maxConcurrentActivities: z.number().int().positive(),
  /** Seconds in-flight activities get to finish after SIGINT/SIGTERM before they are cancelled. */
  shutdownGraceSeconds: z.number().nonnegative().default(30),
});

const workers = z.strictObject({
  cpu: queueWorker
    .extend({
      maxConcurrentActivities: queueWorker.shape.maxConcurrentActivities.default(4),
      maxConcurrentWorkflowTasks: z.number().int().positive().default(40),
    })
    .prefault({}),
  gpu: queueWorker
    .extend({ maxConcurrentActivities: queueWorker.shape.maxConcurrentActivities.default(1) })
    .prefault({}),
  agents: queueWorker
    .extend({ maxConcurrentActivities: queueWorker.shape.maxConcurrentActivities.default(16) })
    .prefault({}),
});

export const PathgenConfig = z.strictObject({
  temporal: temporal.prefault({}),
  taskQueues: taskQueues.prefault({}),
  storage: storage.default({ kind: 'fs', root: '.pathgen/store' }),
  workers: workers.prefault({}),
});

export type PathgenConfig = z.infer<typeof PathgenConfig>;
export type StorageConfig = PathgenConfig['storage'];
export type TemporalConfig = PathgenConfig['temporal'];
