import { z } from 'zod';
import { defaultTaskQueues } from '../../activities/contracts/task-queues.js';
import { AgentsConfig } from './agents-schema.js';

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

// Machine-local: where workers stage slides from the store and cache OpenSlide conversions.
const slideCache = z.strictObject({
  dir: nonEmpty.default('.pathgen/cache'),
  maxGiB: z.number().positive().default(100),
});

// Slide reading on this machine, shared by the tile and select stages and the export.
const reader = z.strictObject({
  /** Tile decodes at once in this process (0: one per core). */
  threads: z.number().int().nonnegative().max(1024).default(0),
  /** Decoded tiles kept per open slide, so neighbouring patches decode each tile once. */
  tileCacheMiB: z.number().positive().max(1_048_576).default(256),
});

// The select stage. PathGen's numbers are the defaults; every knob of the method is here.
const select = z.strictObject({
  /** A CLIP model directory (local path or store prefix). Absent: model-free selection (the embedded default). */
  model: nonEmpty.optional(),
  /**
   * ONNX Runtime execution providers in order of preference: `[cuda, cpu]` falls back to the CPU with a
   * warning; `[cuda]` alone fails the worker at start when CUDA cannot load (no silent CPU).
   */
  executionProviders: z
    .array(z.enum(['cpu', 'cuda']))
    .min(1)
    .default(['cpu']),
  /** ONNX Runtime threads per session (0: its default, all cores). */
  intraOpThreads: z.number().int().nonnegative().default(0),
  /** Patches embedded per session.run; also the checkpoint unit. */
  batchSize: z.number().int().min(1).max(4096).default(32),
  topAttributes: z.number().int().nonnegative().default(64),
  topFindings: z.number().int().nonnegative().default(64),
  /** Model-free mode: the top N by tissue quality take the two text routes' place. */
  topQuality: z.number().int().nonnegative().default(128),
  /** k-means k: ⌈√N⌉ (paper) or ⌈√(1.6·N/128)⌉ (released code); `k` overrides both. */
  kPolicy: z.enum(['sqrtPatches', 'sqrtBatches']).default('sqrtPatches'),
  k: z.number().int().positive().optional(),
  kmeansMaxIterations: z.number().int().positive().default(100),
  /** Patches sampled from clusters in all: max(perClusterMin, ⌊clusterTarget/k⌋) per cluster. */
  clusterTarget: z.number().int().nonnegative().default(256),
  perClusterMin: z.number().int().nonnegative().default(1),
  /** PathGen draws at random inside a cluster; `nearest` takes those closest to the centroid. */
  clusterSampling: z.enum(['random', 'nearest']).default('random'),
  duplicateThreshold: z.number().min(-1).max(1).default(0.88),
  /** `greedy` drops every later near-duplicate; `probabilistic` drops it with a seeded coin; `off`: none (released code). */
  duplicateMode: z.enum(['greedy', 'probabilistic', 'off']).default('greedy'),
  maxPerSlide: z.number().int().positive().default(256),
  seed: z.number().int().default(0),
  /** JPEG quality of the selected patches written for the agents and the export. */
  jpegQuality: z.number().int().min(50).max(100).default(95),
  /**
   * CLIP mode: decode the candidates' JPEG tiles at 1/2 in libjpeg's DCT domain (a 672-px patch
   * read as 336) before the model's resize: about twice the feed (bench:select), embeddings within
   * cosine 0.998 of the exact read. Other codecs are read exactly. Off: the exact pixels, as PathGen.
   */
  scaledDecode: z.boolean().default(false),
});

// How a run (pathgenRun) schedules its slides and exports; a run's input may override any of it.
const run = z.strictObject({
  /** Slide workflows in flight at once per run. */
  maxInFlight: z.number().int().min(1).max(10_000).default(100),
  /** Agent batches (of agents.batchSize patches) of one slide in flight at once. */
  agentBatchesInParallel: z.number().int().min(1).max(64).default(4),
  /** Manifest rows fetched per page (pages also stop at ~256 KB). */
  manifestPageSize: z.number().int().min(1).max(10_000).default(200),
  /** Workflow history events after which the run continues as new (Temporal's hard limit is 51,200). */
  historyEventBudget: z.number().int().min(500).max(40_000).default(10_000),
  export: z
    .strictObject({
      enabled: z.boolean().default(true),
      samplesPerShard: z.number().int().min(1).default(1000),
      webdataset: z.boolean().default(true),
      /** open_clip's CSV loader (a TSV plus a second copy of every JPEG under images/). */
      csv: z.boolean().default(true),
      pathgenJson: z.boolean().default(true),
    })
    .prefault({}),
});

// Human review of a run's samples before they are exported (the review CLI, the web app, the gate).
const review = z.strictObject({
  /** Who this machine's reviews are recorded as (default: PATHGEN_REVIEWER, else user@host). */
  reviewer: nonEmpty.optional(),
  /**
   * With a gate, pathgenRun finishes its slides, then waits (for days if need be) for an
   * `approveExport` update before it exports. The update is refused until at least
   * `samplesPerSlide` samples of every slide (all of a smaller slide's) are reviewed, and while the
   * share of reviewed samples that are flagged is above `maxFlagRate`.
   */
  gate: z
    .strictObject({
      samplesPerSlide: z.number().int().min(1).max(10_000),
      maxFlagRate: z.number().min(0).max(1),
    })
    .optional(),
});

export const PathgenConfig = z.strictObject({
  temporal: temporal.prefault({}),
  taskQueues: taskQueues.prefault({}),
  storage: storage.default({ kind: 'fs', root: '.pathgen/store' }),
  workers: workers.prefault({}),
  tile: tile.prefault({}),
  slideCache: slideCache.prefault({}),
  reader: reader.prefault({}),
  select: select.prefault({}),
  agents: AgentsConfig.prefault({}),
  run: run.prefault({}),
  review: review.prefault({}),
  /**
   * CLIP's BPE vocabulary (bpe_simple_vocab_16e6.txt.gz or a tokenizer.json) for caption token
   * budgets when no CLIP model is configured; default: the copy infra/install-tools.sh installs.
   */
  clipVocabulary: nonEmpty.optional(),
  /**
   * The Python that runs open_clip for pathgenTrain (infra/install-tools.sh --train makes
   * .tools/train-venv); default: that venv's python.
   */
  trainPython: nonEmpty.optional(),
});

export type PathgenConfig = z.infer<typeof PathgenConfig>;
export type StorageConfig = PathgenConfig['storage'];
export type TemporalConfig = PathgenConfig['temporal'];
export type TileConfig = PathgenConfig['tile'];
export type SelectConfig = PathgenConfig['select'];
export type RunConfig = PathgenConfig['run'];
export type { AgentsConfig };
