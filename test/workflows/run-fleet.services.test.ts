import type { Client } from '@temporalio/client';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { workflowIds } from '../../activities/contracts/keys.js';
import type { ExportPointer } from '../../activities/export/export-pointer.js';
import { readExportPointer } from '../../activities/export/index.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import { loadConfig } from '../../workers/config/load-config.js';
import { runWorkers } from '../../workers/run-workers.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import type { pathgenRun, RunResult } from '../../workflows/run.js';
import { readTarFiles } from '../export/tar-tools.js';
import { startWorkerProcess } from '../helpers/cli-process.js';
import { minioStoreEnv, newMinioStore } from '../helpers/minio-store.js';
import { waitFor } from '../helpers/wait-for.js';
import { connectTestClient, uniqueQueues } from '../helpers/temporal.js';

// A fleet that shares nothing but the object store: worker processes per role (two cpu, one gpu,
// two agents), each in a working directory and scratch folder of its own, slides, reports and the
// manifest in MinIO under s3:// URIs. One process of every role is SIGKILLed mid-run and started
// again. The export must equal, key for key and byte for byte, that of the same manifest run by
// one process: a worker that reads a local file another wrote would fail or differ here.

const slides = [
  { slideId: 'f1', seed: 51, project: 'TCGA-LUAD', report: 'Invasive adenocarcinoma, acinar predominant.' },
  { slideId: 'f2', seed: 52, project: 'TCGA-COAD', reportFile: 'Moderately differentiated adenocarcinoma.' },
  { slideId: 'f3', seed: 53, project: 'TCGA-BRCA', reportFile: 'Invasive ductal carcinoma, grade 2.' },
  { slideId: 'f4', seed: 54, project: 'TCGA-LUAD' },
];
const configYaml = [
  'select:',
  '  maxPerSlide: 8',
  'agents:',
  '  batchSize: 4',
  'run:',
  '  agentBatchesInParallel: 1',
  'workers:',
  '  cpu: { shutdownGraceSeconds: 1 }',
  '',
].join('\n');

const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-fleet-'));
const slideFiles = new Map<string, Buffer>();
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  for (const slide of slides) {
    const written = await writeSyntheticSvs(path.join(dir, `${slide.slideId}.svs`), {
      width: 4000,
      height: 3000,
      seed: slide.seed,
    });
    slideFiles.set(slide.slideId, readFileSync(written.path));
  }
}, 120_000);

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Uploads the cohort into `store`'s bucket and returns the manifest's s3:// URI. */
async function uploadCohort(store: ObjectStore): Promise<string> {
  const uri = (key: string) => `${store.description}${key}`;
  const rows = [];
  for (const slide of slides) {
    const slideKey = `inputs/slides/${slide.slideId}.svs`;
    await store.put(slideKey, slideFiles.get(slide.slideId)!);
    const row: Record<string, string> = { slideId: slide.slideId, slide: uri(slideKey), project: slide.project };
    if (slide.report) row.report = slide.report;
    if (slide.reportFile) {
      const reportKey = `inputs/reports/${slide.slideId}.txt`;
      await store.put(reportKey, Buffer.from(slide.reportFile));
      row.reportUri = uri(reportKey);
    }
    rows.push(row);
  }
  await store.put('inputs/manifest.jsonl', Buffer.from(rows.map((row) => JSON.stringify(row)).join('\n') + '\n'));
  return uri('inputs/manifest.jsonl');
}

/** Every member of every shard of the run's export, by name: what a trainer would read. */
async function exportMembers(store: ObjectStore, runId: string): Promise<Map<string, string>> {
  const pointer = (await readExportPointer(store, `exports/${runId}`)) as ExportPointer;
  const bucket = bucketOf(store);
  const members = new Map<string, string>();
  for (let shard = 0; shard < pointer.shards; shard++) {
    const key = `exports/${runId}/versions/${pointer.version}/shards/shard-${String(shard).padStart(6, '0')}.tar`;
    for (const file of readTarFiles(await store.get(key))) {
      expect(members.has(file.name), `${file.name} twice`).toBe(false);
      // Captions and metadata compare as text (a diff reads well; the metadata names the bucket
      // the slide came from, the only thing the two runs' inputs differ in), images by their hash.
      const text = file.data.toString();
      members.set(
        file.name,
        file.name.endsWith('.txt')
          ? text
          : file.name.endsWith('.json')
            ? comparableMetadata(text, bucket)
            : sha(file.data),
      );
    }
  }
  return members;
}

/** A sample's metadata without what is measured rather than computed (how long a model call took). */
function comparableMetadata(text: string, bucket: string): string {
  const metadata = JSON.parse(text.replaceAll(bucket, '<bucket>')) as { usage?: { latencyMs?: number } };
  delete metadata.usage?.latencyMs;
  return JSON.stringify(metadata);
}

function sha(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function runOnce(
  queue: string,
  runId: string,
  manifest: string,
  during?: () => Promise<void>,
): Promise<RunResult> {
  const { client, connection } = await connectTestClient();
  try {
    const handle = await client.workflow.start<typeof pathgenRun>('pathgenRun', {
      taskQueue: queue,
      workflowId: workflowIds.run(runId),
      args: [{ runId, manifest: { uri: manifest } }],
    });
    await during?.();
    return await handle.result();
  } finally {
    await connection.close();
  }
}

/** Worker processes holding a started activity of the run's slide workflows or the run itself. */
async function startedActivityHolders(client: Client, runId: string): Promise<{ pid: number; activityType: string }[]> {
  const ids = [workflowIds.run(runId), ...slides.map((slide) => workflowIds.slide(runId, slide.slideId))];
  const holders: { pid: number; activityType: string }[] = [];
  for (const id of ids) {
    const description = await client.workflow
      .getHandle(id)
      .describe()
      .catch(() => undefined);
    for (const activity of description?.raw.pendingActivities ?? []) {
      if (Number(activity.state) !== 2 /* STARTED */ || !activity.lastWorkerIdentity) continue;
      holders.push({
        pid: Number(activity.lastWorkerIdentity.split('@')[0]),
        activityType: activity.activityType?.name ?? '?',
      });
    }
  }
  return holders;
}

function bucketOf(store: ObjectStore): string {
  return /^s3:\/\/([^/]+)\//.exec(store.description)![1]!;
}

describe('a fleet of worker processes sharing only the store', () => {
  it('survives a SIGKILL of every role and exports what one process exports', async () => {
    const runId = 'fleet-run';

    // The reference: the same cohort, in a bucket of its own, run by one in-process worker for all queues.
    const referenceStore = await newMinioStore('fleet-ref');
    const referenceManifest = await uploadCohort(referenceStore);
    const referenceQueues = uniqueQueues('fleet-ref');
    const configFile = path.join(dir, 'reference.yaml');
    writeFileSync(configFile, configYaml);
    const loaded = loadConfig({
      configPath: configFile,
      env: minioStoreEnv(bucketOf(referenceStore)),
      overrides: {
        temporal: { address: inject('temporalAddress') },
        taskQueues: referenceQueues,
        slideCache: { dir: path.join(dir, 'reference-cache') },
      },
    });
    if (!loaded.ok) throw new Error('reference config invalid');
    let stop!: () => void;
    const workers = runWorkers({
      config: loaded.config,
      roles: ['cpu', 'gpu', 'agents'],
      store: referenceStore,
      until: new Promise<void>((resolve) => (stop = resolve)),
    });
    let reference: RunResult;
    try {
      reference = await runOnce(referenceQueues.cpu, runId, referenceManifest);
    } finally {
      stop();
      await workers;
    }
    expect(reference.progress).toMatchObject({ total: 4, completed: 4, failed: 0 });

    // The fleet: five processes, each with its own working directory (and so its own default
    // .pathgen/cache scratch folder) and config file, sharing only the bucket and the queues.
    const store = await newMinioStore('fleet');
    const manifest = await uploadCohort(store);
    const queues = uniqueQueues('fleet');
    const env = {
      ...minioStoreEnv(bucketOf(store)),
      PATHGEN_TEMPORAL_ADDRESS: inject('temporalAddress'),
      PATHGEN_TASK_QUEUE_CPU: queues.cpu,
      PATHGEN_TASK_QUEUE_GPU: queues.gpu,
      PATHGEN_TASK_QUEUE_AGENTS: queues.agents,
      PATHGEN_CONFIG: 'pathgen.yaml',
    };
    const start = async (name: string, role: string) => {
      const cwd = path.join(dir, `worker-${name}`);
      mkdirSync(cwd, { recursive: true });
      writeFileSync(path.join(cwd, 'pathgen.yaml'), configYaml);
      const child = await startWorkerProcess(['--queues', role, '--log-level', 'WARN'], env, cwd);
      children.push(child);
      return child;
    };
    const kill = async (child: ChildProcessWithoutNullStreams) => {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    };
    const fleet = {
      cpu1: await start('cpu1', 'cpu'),
      cpu2: await start('cpu2', 'cpu'),
      gpu: await start('gpu', 'gpu'),
      agents1: await start('agents1', 'agents'),
      agents2: await start('agents2', 'agents'),
    };
    const { client, connection } = await connectTestClient();
    const killed: string[] = [];
    const result = await runOnce(queues.cpu, runId, manifest, async () => {
      // For each role in turn: wait until one of its processes holds a started activity (the
      // workflows' pending activities name the worker, pid@host), SIGKILL that process, start it again.
      // Whichever role is seen first holding a started activity (the workflows' pending activities
      // name the worker, pid@host) loses that process to a SIGKILL, and it is started again, until
      // every role has lost one: the stages overlap across slides, so the order is the run's.
      const roleOf = (name: string) => name.replace(/\d$/, '') as 'cpu' | 'gpu' | 'agents';
      const left = new Set(['cpu', 'gpu', 'agents']);
      while (left.size > 0) {
        let victim: keyof typeof fleet | undefined;
        await waitFor(
          async () => {
            const pids = new Map(Object.entries(fleet).map(([name, child]) => [child.pid, name as keyof typeof fleet]));
            for (const holder of await startedActivityHolders(client, runId)) {
              const name = pids.get(holder.pid);
              if (name && left.has(roleOf(name))) {
                victim = name;
                killed.push(`${name} during ${holder.activityType}`);
                return true;
              }
            }
            return false;
          },
          `a started activity on a worker of ${[...left].join(' or ')}`,
          240_000,
        );
        left.delete(roleOf(victim!));
        await kill(fleet[victim!]);
        fleet[victim!] = await start(victim!, roleOf(victim!));
      }
    }).finally(() => connection.close());
    expect(killed, killed.join('; ')).toHaveLength(3);
    expect(result.progress).toMatchObject({ total: 4, completed: 4, failed: 0 });
    expect(result.progress.captions).toBe(reference.progress.captions);

    const expected = await exportMembers(referenceStore, runId);
    const actual = await exportMembers(store, runId);
    expect(expected.size).toBeGreaterThan(0);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
    for (const child of Object.values(fleet)) child.kill('SIGTERM');
  }, 600_000);
});
