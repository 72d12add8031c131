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
  /** Heartbeats reach the server (and the UI, and a retry's resume point) at most this often. */
  heartbeatThrottleSeconds: z.number().positive().default(10),
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

// The tile stage's defaults (PathGen's: 672 px patches at level 0, a 32x thumbnail, cells more
// than half tissue). Part of a tiling result's identity: changing any of them tiles anew.
const tile = z.strictObject({
  patchSize: z.number().int().min(16).max(8192).default(672),
  /** Pyramid level to read patches at; ignored when targetMpp is set. */
  level: z.number().int().nonnegative().default(0),
  /** Microns per pixel of the patches; the best level is read and scaled to it. */
  targetMpp: z.number().positive().optional(),
  minTissueFraction: z.number().min(0).max(1).default(0.5),
  /** Level-0 pixels per tissue-mask pixel. */
  thumbnailDownsample: z.number().int().min(2).max(256).default(32),
  /** Keep at most this many candidates per slide, drawn with `seed`. */
  maxCandidates: z.number().int().positive().optional(),
  seed: z.number().int().default(0),
  /** Also write every candidate patch as a lossless PNG to the store. */
  writePatches: z.boolean().default(false),
});

// Machine-local: where workers stage slides from the store and cache vips conversions.
const slideCache = z.strictObject({
  dir: nonEmpty.default('.pathgen/cache'),
  maxGiB: z.number().positive().default(100),
});

export const PathgenConfig = z.strictObject({
  temporal: temporal.prefault({}),
  taskQueues: taskQueues.prefault({}),
  storage: storage.default({ kind: 'fs', root: '.pathgen/store' }),
  workers: workers.prefault({}),
  tile: tile.prefault({}),
  slideCache: slideCache.prefault({}),
});

export type PathgenConfig = z.infer<typeof PathgenConfig>;
export type StorageConfig = PathgenConfig['storage'];
export type TemporalConfig = PathgenConfig['temporal'];
export type TileConfig = PathgenConfig['tile'];
