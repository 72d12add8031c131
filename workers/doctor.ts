import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { errorMessage } from '../activities/common/errors.js';
import { doctorProbeKey, workflowIds } from '../activities/contracts/keys.js';
import type { ObjectStore } from '../activities/store/object-store.js';
import type { pathgenDiagnostic } from '../workflows/diagnostic.js';
import { queueRoles } from '../activities/contracts/task-queues.js';
import type { QueueRole } from '../activities/contracts/task-queues.js';
import type { PathgenConfig } from './config/schema.js';
import { pathgenSearchAttributes } from '../workflows/search-attributes.js';
import { namespaceCreateCommand, searchAttributeCommand, searchAttributeStatus } from './namespace-setup.js';
import { temporalConnectionOptions } from './temporal-connection.js';
import type { DoctorCheck } from './doctor-check.js';
import { checkTemporalTls } from './doctor-tls.js';
import { toolVersions } from './tool-versions.js';

export type { CheckStatus, DoctorCheck } from './doctor-check.js';

export interface DoctorOptions {
  config: PathgenConfig;
  store: ObjectStore;
  roles?: readonly QueueRole[];
  /** Seconds a queue's workers get to pick up the diagnostic activity. */
  queueTimeoutSeconds?: number;
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const { config } = options;
  const checks: DoctorCheck[] = [
    {
      check: 'config',
      status: 'ok',
      detail: `temporal ${config.temporal.address}/${config.temporal.namespace}, store ${options.store.description}`,
    },
  ];

  const [temporalChecks, storeCheck, tools] = await Promise.all([
    checkTemporal(options),
    checkStore(options.store),
    toolVersions(),
  ]);
  checks.push(...temporalChecks, storeCheck);
  for (const tool of tools) {
    checks.push(
      tool.version
        ? { check: `tool ${tool.tool}`, status: 'ok', detail: `${tool.version} (${tool.path})` }
        : {
            check: `tool ${tool.tool}`,
            status: 'warn',
            detail: `not installed: ${tool.purpose}`,
            fix: 'run infra/install-tools.sh',
          },
    );
  }
  return checks;
}

async function checkTemporal(options: DoctorOptions): Promise<DoctorCheck[]> {
  const { config } = options;
  const roles = options.roles ?? queueRoles;
  // Wrong TLS settings are named one by one; trying to connect with them would only say "unreachable".
  const tls = checkTemporalTls(config);
  if (tls.some((check) => check.status === 'fail')) {
    return [
      ...tls,
      { check: 'temporal', status: 'skip', detail: 'not tried: the TLS settings above are wrong' },
      ...roles.map((role): DoctorCheck => ({ check: `queue ${role}`, status: 'skip', detail: 'Temporal not tried' })),
    ];
  }
  return [...tls, ...(await checkConnection(options, roles))];
}

async function checkConnection(options: DoctorOptions, roles: readonly QueueRole[]): Promise<DoctorCheck[]> {
  const { config } = options;
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...temporalConnectionOptions(config.temporal), connectTimeout: '5s' });
  } catch (error) {
    return [
      {
        check: 'temporal',
        status: 'fail',
        detail: `cannot reach ${config.temporal.address}: ${errorMessage(error)}`,
        fix: 'start it (infra/dev.sh up) or set PATHGEN_TEMPORAL_ADDRESS',
      },
      ...roles.map((role): DoctorCheck => ({ check: `queue ${role}`, status: 'skip', detail: 'Temporal unreachable' })),
    ];
  }
  try {
    const namespace = config.temporal.namespace;
    try {
      await connection.workflowService.describeNamespace({ namespace });
    } catch (error) {
      return [
        {
          check: 'temporal',
          status: 'fail',
          detail: `namespace ${namespace} not found on ${config.temporal.address}: ${errorMessage(error)}`,
          fix: `run pathgen setup --create-namespace (or: ${namespaceCreateCommand(namespace, 30)})`,
        },
      ];
    }
    const attributes = await checkSearchAttributes(connection, namespace);
    const system = await connection.workflowService.getSystemInfo({});
    const client = new Client({ connection, namespace });
    const temporalCheck: DoctorCheck = {
      check: 'temporal',
      status: 'ok',
      detail: `${config.temporal.address} namespace ${namespace} (server ${system.serverVersion || 'unknown'})`,
    };
    const queueChecks = await Promise.all(
      roles.map((role) => checkQueue(client, config, role, options.queueTimeoutSeconds ?? 10)),
    );
    return [temporalCheck, attributes, ...queueChecks];
  } finally {
    await connection.close();
  }
}

/** Workflows that set an unregistered search attribute fail every task: a missing one is a failure. */
async function checkSearchAttributes(connection: Connection, namespace: string): Promise<DoctorCheck> {
  const check = 'search attributes';
  try {
    const { missing, wrongType } = await searchAttributeStatus(connection, namespace);
    if (wrongType.length > 0) {
      return {
        check,
        status: 'fail',
        detail: `wrong type on ${namespace}: ${wrongType.join(', ')}`,
        fix: 'remove them (temporal operator search-attribute remove), then run pathgen setup',
      };
    }
    if (missing.length > 0) {
      return {
        check,
        status: 'fail',
        detail: `missing on ${namespace}: ${missing.join(', ')}`,
        fix: `run pathgen setup (or: ${searchAttributeCommand(namespace, missing)})`,
      };
    }
    return { check, status: 'ok', detail: `${pathgenSearchAttributes.map((key) => key.name).join(', ')} registered` };
  } catch (error) {
    return { check, status: 'fail', detail: `cannot list them on ${namespace}: ${errorMessage(error)}` };
  }
}

/**
 * A real round trip: a diagnostic workflow on the workflow queue runs one activity on the queue
 * under test. It proves a worker is polling, can run code and can report back.
 */
async function checkQueue(
  client: Client,
  config: PathgenConfig,
  role: QueueRole,
  timeoutSeconds: number,
): Promise<DoctorCheck> {
  const queue = config.taskQueues[role];
  const workflowQueue = config.taskQueues.cpu;
  const started = Date.now();
  try {
    const result = await client.workflow.execute<typeof pathgenDiagnostic>('pathgenDiagnostic', {
      taskQueue: workflowQueue,
      workflowId: workflowIds.doctor(role, hostname(), randomUUID()),
      args: [{ queue, scheduleToStartSeconds: timeoutSeconds }],
      // Without a workflow worker nothing happens at all; this bound turns that into an answer.
      workflowExecutionTimeout: `${timeoutSeconds + 5}s`,
    });
    return {
      check: `queue ${role}`,
      status: 'ok',
      detail: `${queue}: worker ${result.host} pid ${result.pid} (pathgen ${result.pathgenVersion}) answered in ${Date.now() - started} ms${clipDetail(role, result.clipSessions)}`,
    };
  } catch (error) {
    const noWorkflowWorker =
      error instanceof WorkflowFailedError && error.cause?.name === 'TimeoutFailure' && !error.cause.cause;
    const missing = noWorkflowWorker && role !== 'cpu' ? workflowQueue : queue;
    const missingRole = missing === workflowQueue ? 'cpu' : role;
    return {
      check: `queue ${role}`,
      status: 'fail',
      detail: `${queue}: no worker answered on ${missing} within ${timeoutSeconds} s (${describeFailure(error)})`,
      fix: `start a worker for it: pathgen worker --queues ${missingRole}`,
    };
  }
}

/** Where the GPU queue's CLIP sessions run: the one thing a GPU box can get silently wrong. */
function clipDetail(role: QueueRole, sessions: readonly string[] | undefined): string {
  if (role !== 'gpu') return '';
  // A worker older than this field says nothing about its sessions.
  if (sessions === undefined) return '';
  return sessions.length > 0 ? `; CLIP ${sessions.join(', ')}` : '; no CLIP model open (model-free selection)';
}

function describeFailure(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error && parts.length < 4) {
    parts.push(current.message);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.filter(Boolean).join(': ');
}

async function checkStore(store: ObjectStore): Promise<DoctorCheck> {
  const key = doctorProbeKey(hostname(), randomUUID());
  const payload = Buffer.from(`pathgen doctor ${new Date().toISOString()}`);
  const started = Date.now();
  try {
    await store.put(key, payload, { contentType: 'text/plain' });
    const back = await store.get(key);
    await store.delete(key);
    if (!back.equals(payload)) throw new Error('read back different bytes than were written');
    return {
      check: 'store',
      status: 'ok',
      detail: `put/get/delete on ${store.description} in ${Date.now() - started} ms`,
    };
  } catch (error) {
    return {
      check: 'store',
      status: 'fail',
      detail: `${store.description}: ${errorMessage(error)}`,
      fix: 'check the storage settings (README, Configuration); for MinIO: infra/dev.sh up',
    };
  }
}

export function formatChecks(checks: readonly DoctorCheck[]): string {
  const rows = checks.map((c) => [c.check, c.status.toUpperCase(), c.detail + (c.fix ? `\n→ fix: ${c.fix}` : '')]);
  const width = [Math.max(5, ...rows.map((r) => r[0]!.length)), 6];
  const pad = (text: string, n: number) => text.padEnd(n);
  const lines = [`${pad('CHECK', width[0]!)}  ${pad('STATUS', width[1]!)}  DETAIL`];
  for (const [check, status, detail] of rows) {
    const [first, ...rest] = detail!.split('\n');
    lines.push(`${pad(check!, width[0]!)}  ${pad(status!, width[1]!)}  ${first}`);
    for (const line of rest) lines.push(`${' '.repeat(width[0]! + width[1]! + 4)}${line}`);
  }
  return lines.join('\n');
}
