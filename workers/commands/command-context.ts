import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../../activities/common/errors.js';
import { queueRoles } from '../../activities/contracts/task-queues.js';
import type { QueueRole } from '../../activities/contracts/task-queues.js';
import { assertSlideFileExists } from '../../activities/staging/slide-reference.js';
import { tcgaProject } from '../../activities/tcga/tcga-projects.js';
import { formatConfigIssues, loadConfig } from '../config/load-config.js';
import type { PathgenConfig } from '../config/schema.js';
import { ExitError, exitCodes } from './exit-status.js';

// What several subcommands share: the config they run with, the flag checks that turn bad input
// into a one-line message and its exit code instead of a stack trace, and how results are printed.

/** The config of the global --config flag (and PATHGEN_* env), or a usage error listing every issue. */
export function configFrom(command: Command): PathgenConfig {
  const { config: configPath } = command.optsWithGlobals<{ config?: string }>();
  const result = loadConfig({ configPath });
  if (!result.ok) throw new ExitError(exitCodes.usage, formatConfigIssues(result.issues));
  return result.config;
}

export function parseQueues(value: string): QueueRole[] {
  const roles = value
    .split(',')
    .map((role) => role.trim())
    .filter(Boolean);
  const unknown = roles.filter((role) => !(queueRoles as readonly string[]).includes(role));
  if (unknown.length > 0 || roles.length === 0) {
    throw new ExitError(
      exitCodes.usage,
      `--queues takes a comma-separated list of ${queueRoles.join(', ')}; got ${JSON.stringify(value)}`,
    );
  }
  return [...new Set(roles)] as QueueRole[];
}

export function numberFlag(value: string, flag: string, integer = false): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || (integer && !Number.isInteger(parsed))) {
    throw new ExitError(
      exitCodes.usage,
      `${flag} takes ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}

/** The project's canonical code (the flag may differ in case). */
export function checkedProject(value: string): string {
  const project = tcgaProject(value);
  if (!project) {
    throw new ExitError(
      exitCodes.usage,
      `--project takes a TCGA project code such as TCGA-LUAD; got ${JSON.stringify(value)}`,
    );
  }
  return project.code;
}

export async function readTextFlag(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ExitError(exitCodes.usage, `${flag}: cannot read ${file}: ${errorMessage(error)}`);
  }
}

/** The local commands read files on this machine; store keys are for workers. */
export async function localSlidePath(reference: string): Promise<string> {
  const file = reference.startsWith('file://') ? fileURLToPath(reference) : path.resolve(reference);
  await assertSlideFileExists(file);
  return file;
}

/** Where slides that need converting before they can be read are kept between runs. */
export function conversionCacheDir(config: PathgenConfig): string {
  return path.join(config.slideCache.dir, 'converted');
}

/** One JSON document on stdout: the result a local command hands to scripts. */
export function printJson(value: unknown, indent?: number): void {
  process.stdout.write(`${JSON.stringify(value, null, indent)}\n`);
}
