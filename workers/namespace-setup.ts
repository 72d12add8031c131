import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { PathgenError, errorMessage } from '../activities/common/errors.js';
import { pathgenSearchAttributes } from '../workflows/search-attributes.js';

// What a Temporal namespace needs before pathgen's workflows can run on it: the namespace itself
// and the custom search attributes the workflows set (a workflow that upserts an unregistered
// attribute fails its task, over and over). `pathgen setup`, `pathgen doctor` and the demo's dev
// server all ask and answer here, so they agree on what "ready" means.

/** Temporal's IndexedValueType numbers, by the SDK's names for them. */
const indexedValueType: Record<string, number> = {
  TEXT: 1,
  KEYWORD: 2,
  INT: 3,
  DOUBLE: 4,
  BOOL: 5,
  DATETIME: 6,
  KEYWORD_LIST: 7,
};
/** The CLI's spelling of the same types (`temporal operator search-attribute create --type`). */
const cliTypeNames = ['Unspecified', 'Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'];

export interface SearchAttributeStatus {
  /** Attributes the workflows use that the namespace lacks. */
  missing: string[];
  /** Attributes registered with another type than the workflows use: `name (has X, needs Y)`. */
  wrongType: string[];
}

export function cliTypeName(sdkType: string): string {
  return cliTypeNames[indexedValueType[sdkType] ?? 0] ?? sdkType;
}

export async function namespaceExists(connection: Connection, namespace: string): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch (error) {
    if (grpcCode(error) === notFound) return false;
    throw error;
  }
}

export async function searchAttributeStatus(connection: Connection, namespace: string): Promise<SearchAttributeStatus> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const registered = customAttributes ?? {};
  const missing: string[] = [];
  const wrongType: string[] = [];
  for (const key of pathgenSearchAttributes) {
    const has = registered[key.name];
    if (has === undefined || has === null) missing.push(key.name);
    else if (Number(has) !== indexedValueType[key.type]) {
      wrongType.push(`${key.name} (has ${cliTypeNames[Number(has)] ?? String(has)}, needs ${cliTypeName(key.type)})`);
    }
  }
  return { missing, wrongType };
}

/** Registers the attributes the namespace lacks; returns their names. A wrongly typed one is an error. */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const status = await searchAttributeStatus(connection, namespace);
  if (status.wrongType.length > 0) {
    throw new PathgenError(
      'Misconfigured',
      `namespace ${namespace} has search attributes of the wrong type: ${status.wrongType.join(', ')}; ` +
        'a search attribute cannot change type, so remove them (temporal operator search-attribute remove) and run pathgen setup again',
      { namespace, wrongType: status.wrongType },
    );
  }
  if (status.missing.length === 0) return [];
  const types = new Map(pathgenSearchAttributes.map((key) => [key.name, indexedValueType[key.type]!]));
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(status.missing.map((name) => [name, types.get(name)!])),
    });
  } catch (error) {
    throw new PathgenError(
      'Misconfigured',
      `cannot register search attributes on ${namespace} (${errorMessage(error)}); have an operator run: ${searchAttributeCommand(namespace, status.missing)}`,
      { namespace, missing: status.missing },
      { cause: error },
    );
  }
  return status.missing;
}

/** Creates the namespace; the server may take a few seconds before it serves it everywhere. */
export async function createNamespace(connection: Connection, namespace: string, retentionDays: number): Promise<void> {
  await connection.workflowService.registerNamespace({
    namespace,
    description: 'pathgen',
    workflowExecutionRetentionPeriod: msToTs(`${retentionDays}d`),
  });
  const deadline = Date.now() + 30_000;
  // The frontend knows a new namespace before every service's namespace cache does: wait until
  // the operator service (search attributes) serves it too.
  const served = () =>
    connection.operatorService.listSearchAttributes({ namespace }).then(
      () => true,
      () => false,
    );
  while (!(await served())) {
    if (Date.now() > deadline) {
      throw new PathgenError('ServiceUnavailable', `namespace ${namespace} was created but is not served after 30 s`, {
        namespace,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The one command an operator runs to register the attributes by hand (self-hosted clusters). */
export function searchAttributeCommand(namespace: string, names: readonly string[]): string {
  const types = new Map(pathgenSearchAttributes.map((key) => [key.name, cliTypeName(key.type)]));
  const flags = names.map((name) => `--name ${name} --type ${types.get(name)}`).join(' ');
  return `temporal operator search-attribute create --namespace ${namespace} ${flags}`;
}

export function namespaceCreateCommand(namespace: string, retentionDays: number): string {
  return `temporal operator namespace create --namespace ${namespace} --retention ${retentionDays * 24}h`;
}

const notFound = 5;

function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
