import { readFile, readdir, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { isPatchFailureRecord, runPatchAgents, addUsage } from '../activities/agents/index.js';
import type { AgentUsage, Agents } from '../activities/agents/index.js';
import { PathgenError } from '../activities/common/errors.js';

// `pathgen agents run`: the agent cascade over a folder of patch images, for iterating on prompts
// and models without Temporal. One JSON per patch; a failed patch is a record, not an exit code.

const imageExtensions = new Set(['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp']);

export interface AgentsOnFolderOptions {
  patchesDir: string;
  outDir: string;
  agents: Agents;
  report?: string;
  project?: string;
  /** µm per pixel of the patches, for the built-in nuclei density. */
  mpp?: number;
  signal?: AbortSignal;
  onPatch?: (name: string, ok: boolean) => void;
}

export interface AgentsOnFolderSummary {
  patches: number;
  captioned: number;
  failed: number;
  findings: string[];
  usage: AgentUsage;
  out: string;
}

export async function runAgentsOnFolder(options: AgentsOnFolderOptions): Promise<AgentsOnFolderSummary> {
  const names = await patchFiles(options.patchesDir);
  await mkdir(options.outDir, { recursive: true });
  const { agents, signal } = options;
  const findingsResult = options.report?.trim()
    ? await agents.findings(options.report, signal ? { signal } : {})
    : undefined;
  const findings = findingsResult?.findings ?? [];
  let usage = addUsage(findingsResult?.usage);
  let captioned = 0;
  let next = 0;
  const parallel = agents.settings.describe.backend === 'openai' ? agents.settings.endpointConcurrency : 1;
  const lane = async () => {
    while (next < names.length) {
      const name = names[next++] as string;
      const image = await readFile(path.join(options.patchesDir, name));
      const outcome = await runPatchAgents(
        {
          image,
          imageSha256: createHash('sha256').update(image).digest('hex'),
          project: options.project,
          findings,
          mpp: options.mpp,
        },
        agents,
        signal ? { signal } : {},
      );
      const ok = !isPatchFailureRecord(outcome);
      if (ok) captioned += 1;
      usage = addUsage(usage, outcome.usage.total);
      const record = { patch: name, project: options.project ?? null, findings, ...outcome };
      await writeFile(
        path.join(options.outDir, `${path.parse(name).name}.json`),
        `${JSON.stringify(record, null, 2)}\n`,
      );
      options.onPatch?.(name, ok);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, names.length)) }, lane));
  return { patches: names.length, captioned, failed: names.length - captioned, findings, usage, out: options.outDir };
}

/** The patch images of a folder, sorted; an unreadable or image-less folder is bad input. */
export async function patchFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new PathgenError('InvalidInput', `cannot read the patches folder ${dir}: ${(error as Error).message}`, {
      dir,
    });
  }
  const names = entries
    .filter((entry) => entry.isFile() && imageExtensions.has(path.extname(entry.name).toLowerCase()))
    .map((entry) => entry.name)
    .sort();
  if (names.length === 0) {
    throw new PathgenError('InvalidInput', `no patch images (${[...imageExtensions].join(', ')}) in ${dir}`, { dir });
  }
  return names;
}
