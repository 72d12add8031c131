import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { applyAgentEnvShortcuts } from './agents-schema.js';
import { envOverrides } from './env-overrides.js';
import { PathgenConfig } from './schema.js';

export interface ConfigIssue {
  /** Dotted path of the field ("storage.kind"), or the file / variable the problem is in. */
  path: string;
  message: string;
  /** Where the bad value came from: the config file, an environment variable, or the defaults. */
  source?: string;
}

export type ConfigResult = { ok: true; config: PathgenConfig } | { ok: false; issues: ConfigIssue[] };

export interface LoadConfigOptions {
  /** JSON or YAML file; defaults to $PATHGEN_CONFIG when set. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest precedence: values set in code (CLI flags, tests). */
  overrides?: Record<string, unknown>;
}

/** Defaults < config file < PATHGEN_* environment < explicit overrides. Never throws for bad input. */
export function loadConfig(options: LoadConfigOptions = {}): ConfigResult {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const sources = new Map<string, string>();

  const configPath = options.configPath ?? env.PATHGEN_CONFIG;
  let raw: Record<string, unknown> = {};
  if (configPath) {
    const file = readConfigFile(configPath);
    if (!file.ok) return { ok: false, issues: [file.issue] };
    raw = file.value;
  }
  // PATHGEN_AGENT_* fill every agent's unset fields: below the file's per-agent settings, unlike PATHGEN_* overrides.
  const shortcuts = applyAgentEnvShortcuts(raw.agents, env);
  if (shortcuts.agents !== undefined) raw = { ...raw, agents: shortcuts.agents };
  for (const [field, variable] of shortcuts.sources) sources.set(field, variable);

  const fromEnv: Record<string, unknown> = {};
  for (const variable of envOverrides) {
    const value = env[variable.name];
    if (value === undefined || value === '') continue;
    const parsed = variable.parse(value);
    if (!parsed.ok) {
      issues.push({ path: variable.path.join('.'), message: parsed.message, source: variable.name });
      continue;
    }
    setPath(fromEnv, variable.path, parsed.value);
    sources.set(variable.path.join('.'), variable.name);
  }
  if (issues.length > 0) return { ok: false, issues };

  const merged = withDefaultStorageKind(mergeStorageAware(mergeStorageAware(raw, fromEnv), options.overrides ?? {}));
  const result = PathgenConfig.safeParse(merged, { reportInput: true });
  if (result.success) return { ok: true, config: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((issue) => describeIssue(issue, sources, configPath)),
  };
}

function readConfigFile(
  file: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; issue: ConfigIssue } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { ok: false, issue: { path: file, message: `cannot read config file: ${(error as Error).message}` } };
  }
  let value: unknown;
  try {
    value = path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    return {
      ok: false,
      issue: {
        path: file,
        message: `not valid ${path.extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
      },
    };
  }
  if (value === null || value === undefined) return { ok: true, value: {} };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, issue: { path: file, message: 'the config file must hold an object at the top level' } };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** Deep merge where a different storage kind replaces the whole storage section instead of mixing fields. */
function mergeStorageAware(base: Record<string, unknown>, top: Record<string, unknown>): Record<string, unknown> {
  const baseStorage = base.storage as Record<string, unknown> | undefined;
  const topStorage = top.storage as Record<string, unknown> | undefined;
  if (
    isObject(baseStorage) &&
    isObject(topStorage) &&
    topStorage.kind !== undefined &&
    topStorage.kind !== baseStorage.kind
  ) {
    return deepMerge({ ...base, storage: {} }, top);
  }
  return deepMerge(base, top);
}

/** A storage section without a kind (say, only PATHGEN_STORAGE_ROOT) means the default, `fs`. */
function withDefaultStorageKind(config: Record<string, unknown>): Record<string, unknown> {
  const storage = config.storage;
  return isObject(storage) && storage.kind === undefined ? { ...config, storage: { kind: 'fs', ...storage } } : config;
}

export function deepMerge(base: Record<string, unknown>, top: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(top)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setPath(target: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  let node = target;
  keys.slice(0, -1).forEach((key) => {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
  node[keys[keys.length - 1] as string] = value;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  sources: Map<string, string>,
  configPath: string | undefined,
): ConfigIssue {
  const dotted = issue.path.map(String).join('.') || '(top level)';
  const source = sources.get(dotted) ?? (configPath ? path.basename(configPath) : undefined);
  return { path: dotted, message: explain(issue), ...(source ? { source } : {}) };
}

function explain(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `required (${issue.expected})`
        : `expected ${issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        const options = (issue as { options?: unknown[] }).options;
        const expected = options ? ` (expected ${options.map((o) => JSON.stringify(o)).join(' | ')})` : '';
        const input = issue.input as Record<string, unknown> | undefined;
        return `unknown ${String(issue.discriminator)} ${describeValue(input?.[issue.discriminator])}${expected}`;
      }
      return issue.message;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}`;
    default:
      return issue.message;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  const lines = issues.map(
    (issue) => `  - ${issue.path}: ${issue.message}${issue.source ? ` (from ${issue.source})` : ''}`,
  );
  return `invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}
