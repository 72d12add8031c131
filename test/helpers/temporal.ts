import { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';

/** A client on the test run's dev server; the caller closes `connection`. */
export async function connectTestClient(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  return { client: new Client({ connection, namespace: 'default' }), connection };
}

/** Task queue names unique to one test, so tests never steal each other's tasks. */
export function uniqueQueues(label: string): { cpu: string; gpu: string; agents: string } {
  const id = `${label}-${randomUUID().slice(0, 8)}`;
  return { cpu: `${id}-cpu`, gpu: `${id}-gpu`, agents: `${id}-agents` };
}
