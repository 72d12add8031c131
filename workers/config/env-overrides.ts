// PATHGEN_* environment variables and the config paths they set. Env beats the config file; both
// beat the built-in defaults (README, "Configuration"). Values are parsed here so that a bad one
// is reported by the variable's name.

type Parse = (raw: string) => { ok: true; value: unknown } | { ok: false; message: string };

const text: Parse = (raw) => ({ ok: true, value: raw });
const integer: Parse = (raw) =>
  /^-?\d+$/.test(raw.trim())
    ? { ok: true, value: Number(raw) }
    : { ok: false, message: `expected an integer, got ${JSON.stringify(raw)}` };
const boolean: Parse = (raw) => {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return { ok: true, value: true };
  if (['0', 'false', 'no', 'off'].includes(value)) return { ok: true, value: false };
  return { ok: false, message: `expected true or false, got ${JSON.stringify(raw)}` };
};

const list: Parse = (raw) => ({
  ok: true,
  value: raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
});

export const envOverrides: readonly { name: string; path: readonly string[]; parse: Parse; about: string }[] = [
  {
    name: 'PATHGEN_TEMPORAL_ADDRESS',
    path: ['temporal', 'address'],
    parse: text,
    about: 'Temporal frontend host:port',
  },
  { name: 'PATHGEN_TEMPORAL_NAMESPACE', path: ['temporal', 'namespace'], parse: text, about: 'Temporal namespace' },
  // Any TLS path turns TLS on, even over a file's `tls: false` (the env's object replaces it).
  {
    name: 'PATHGEN_TEMPORAL_TLS_SERVER_NAME',
    path: ['temporal', 'tls', 'serverName'],
    parse: text,
    about: 'TLS server name (SNI)',
  },
  {
    name: 'PATHGEN_TEMPORAL_TLS_CA_CERT',
    path: ['temporal', 'tls', 'serverRootCaCertPath'],
    parse: text,
    about: "PEM file of the cluster's CA",
  },
  {
    name: 'PATHGEN_TEMPORAL_TLS_CLIENT_CERT',
    path: ['temporal', 'tls', 'clientCertPath'],
    parse: text,
    about: 'PEM client certificate (mTLS)',
  },
  {
    name: 'PATHGEN_TEMPORAL_TLS_CLIENT_KEY',
    path: ['temporal', 'tls', 'clientKeyPath'],
    parse: text,
    about: 'PEM client key (mTLS)',
  },
  {
    name: 'PATHGEN_TEMPORAL_API_KEY_ENV',
    path: ['temporal', 'apiKeyEnv'],
    parse: text,
    about: 'name of the env variable holding the API key',
  },
  { name: 'PATHGEN_TASK_QUEUE_CPU', path: ['taskQueues', 'cpu'], parse: text, about: 'workflow + CPU task queue' },
  { name: 'PATHGEN_TASK_QUEUE_GPU', path: ['taskQueues', 'gpu'], parse: text, about: 'GPU task queue' },
  { name: 'PATHGEN_TASK_QUEUE_AGENTS', path: ['taskQueues', 'agents'], parse: text, about: 'agents task queue' },
  { name: 'PATHGEN_STORAGE_KIND', path: ['storage', 'kind'], parse: text, about: '`fs` or `s3`' },
  { name: 'PATHGEN_STORAGE_ROOT', path: ['storage', 'root'], parse: text, about: 'fs store root folder' },
  { name: 'PATHGEN_S3_ENDPOINT', path: ['storage', 'endpoint'], parse: text, about: 'S3 host name' },
  { name: 'PATHGEN_S3_PORT', path: ['storage', 'port'], parse: integer, about: 'S3 port' },
  { name: 'PATHGEN_S3_USE_SSL', path: ['storage', 'useSSL'], parse: boolean, about: 'S3 over TLS' },
  { name: 'PATHGEN_S3_BUCKET', path: ['storage', 'bucket'], parse: text, about: 'S3 bucket' },
  { name: 'PATHGEN_S3_REGION', path: ['storage', 'region'], parse: text, about: 'S3 region' },
  { name: 'PATHGEN_S3_PREFIX', path: ['storage', 'prefix'], parse: text, about: 'key prefix inside the bucket' },
  {
    name: 'PATHGEN_CPU_CONCURRENCY',
    path: ['workers', 'cpu', 'maxConcurrentActivities'],
    parse: integer,
    about: 'CPU activities at once',
  },
  {
    name: 'PATHGEN_GPU_CONCURRENCY',
    path: ['workers', 'gpu', 'maxConcurrentActivities'],
    parse: integer,
    about: 'GPU activities at once',
  },
  {
    name: 'PATHGEN_AGENTS_CONCURRENCY',
    path: ['workers', 'agents', 'maxConcurrentActivities'],
    parse: integer,
    about: 'agent activities at once',
  },
  {
    name: 'PATHGEN_SLIDE_CACHE_DIR',
    path: ['slideCache', 'dir'],
    parse: text,
    about: "this machine's scratch folder for staged slides",
  },
  { name: 'PATHGEN_REVIEWER', path: ['review', 'reviewer'], parse: text, about: 'who review records name' },
  { name: 'PATHGEN_TRAIN_PYTHON', path: ['trainPython'], parse: text, about: 'Python of the training environment' },
  { name: 'PATHGEN_CLIP_MODEL', path: ['select', 'model'], parse: text, about: 'CLIP model directory or store prefix' },
  {
    name: 'PATHGEN_CLIP_PROVIDERS',
    path: ['select', 'executionProviders'],
    parse: list,
    about: 'ONNX Runtime providers, e.g. `cuda,cpu`',
  },
  {
    name: 'PATHGEN_READER_THREADS',
    path: ['reader', 'threads'],
    parse: integer,
    about: 'tile decodes at once (0: one per core)',
  },
  {
    name: 'PATHGEN_READER_TILE_CACHE_MIB',
    path: ['reader', 'tileCacheMiB'],
    parse: integer,
    about: 'decoded tiles kept per open slide, MiB',
  },
];
