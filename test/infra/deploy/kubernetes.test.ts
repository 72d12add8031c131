import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { describe, expect, it } from 'vitest';
import { queueRoles } from '../../../activities/contracts/task-queues.js';
import type { QueueRole } from '../../../activities/contracts/task-queues.js';
import { repoRoot } from '../../../infra/harness/installed-tools.js';
import { parseQueues } from '../../../workers/commands/command-context.js';
import { addWorkerCommand } from '../../../workers/commands/worker.js';
import { agentEnvShortcuts } from '../../../workers/config/agents-schema.js';
import { envOverrides } from '../../../workers/config/env-overrides.js';
import { loadConfig } from '../../../workers/config/load-config.js';
import type { PathgenConfig } from '../../../workers/config/schema.js';
import {
  deployments,
  documents,
  generatedConfig,
  gibibytes,
  kustomization,
  manifestsDir,
  secrets,
  unknownFieldErrors,
} from './kubernetes-manifests.js';

// The Kubernetes example (infra/deploy/kubernetes/): no cluster here, so the manifests are checked
// against the Kubernetes API's schema and types (kubernetes-models, generated from its OpenAPI spec)
// and against pathgen itself: its config schema, its CLI, its queue roles, the Secret they read.

const modelOf = (value: Record<string, unknown>): { validate(): void } => {
  switch (value.kind) {
    case 'Deployment':
      return new Deployment(value);
    case 'Secret':
      return new Secret(value);
    case 'ConfigMap':
      return new ConfigMap(value);
    default:
      throw new Error(`unexpected kind ${String(value.kind)}`);
  }
};

function loadedConfig(): PathgenConfig {
  const result = loadConfig({ configPath: generatedConfig().file, env: {} });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.config;
}

function workerOf(deployment: IDeployment): IContainer {
  const container = deployment.spec?.template.spec?.containers[0];
  if (!container) throw new Error(`${deployment.metadata?.name} has no container`);
  return container;
}

function deploymentFor(role: QueueRole): IDeployment {
  const deployment = deployments.find((candidate) => candidate.metadata?.name === `pathgen-worker-${role}`);
  if (!deployment) throw new Error(`no Deployment pathgen-worker-${role}`);
  return deployment;
}

describe('infra/deploy/kubernetes', () => {
  it('parses: every file kustomization.yaml lists, and the Secret template, is YAML', () => {
    expect(documents.length).toBeGreaterThanOrEqual(5);
    expect(documents.flatMap((document) => document.errors)).toEqual([]);
  });

  it('passes the Kubernetes API schema, kind by kind', () => {
    for (const { file, index, value } of documents) {
      expect(() => modelOf(value).validate(), `${file} document ${index + 1}`).not.toThrow();
    }
    const { name, key, file } = generatedConfig();
    expect(() =>
      modelOf({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name },
        data: { [key]: readFileSync(file, 'utf8') },
      }).validate(),
    ).not.toThrow();
  });

  it('has no field the Kubernetes types lack', () => {
    expect(unknownFieldErrors(documents)).toEqual([]);
  });

  it('finds a misspelt field (the check above is not vacuous)', () => {
    const [first] = documents.filter((document) => document.value.kind === 'Deployment');
    if (!first) throw new Error('no Deployment');
    const misspelt = structuredClone(first);
    (misspelt.value.spec as Record<string, unknown>).replica = 3;
    expect(unknownFieldErrors([misspelt])).toEqual([expect.stringMatching(/"replica".*IDeploymentSpec/)]);
  });

  it('lists files that exist, and generates the ConfigMap every Deployment mounts at PATHGEN_CONFIG', () => {
    for (const file of kustomization.resources) expect(existsSync(path.join(manifestsDir, file)), file).toBe(true);
    const { name, key, file } = generatedConfig();
    expect(existsSync(file)).toBe(true);
    for (const deployment of deployments) {
      const worker = workerOf(deployment);
      const configPath = worker.env?.find((variable) => variable.name === 'PATHGEN_CONFIG')?.value;
      const mount = worker.volumeMounts?.find((candidate) => candidate.mountPath === configPath);
      const volume = deployment.spec?.template.spec?.volumes?.find((candidate) => candidate.name === mount?.name);
      expect(volume?.configMap?.name, deployment.metadata?.name).toBe(name);
      expect(mount?.subPath).toBe(key);
    }
  });

  it("holds a config that pathgen's own schema accepts: an S3 store, a cluster address", () => {
    const config = loadedConfig();
    expect(config.storage.kind).toBe('s3');
    expect(config.temporal.address).not.toMatch(/^(127\.0\.0\.1|localhost)/);
  });

  it('has one Deployment per queue role, each running `pathgen worker --queues <role>`', () => {
    expect(deployments.map((deployment) => deployment.metadata?.name).sort()).toEqual(
      queueRoles.map((role) => `pathgen-worker-${role}`).sort(),
    );
    const program = new Command();
    addWorkerCommand(program);
    const worker = program.commands.find((command) => command.name() === 'worker');
    expect(worker?.options.map((option) => option.long)).toContain('--queues');
    for (const role of queueRoles) {
      const args = workerOf(deploymentFor(role)).args ?? [];
      expect(args.slice(0, 2)).toEqual(['worker', '--queues']);
      expect(parseQueues(args[2] ?? '')).toEqual([role]);
    }
  });

  it('gives the gpu Deployment a GPU and lets it onto tainted GPU nodes; the others ask for none', () => {
    const gpu = deploymentFor('gpu');
    expect(Number(workerOf(gpu).resources?.limits?.['nvidia.com/gpu'])).toBeGreaterThanOrEqual(1);
    expect(gpu.spec?.template.spec?.tolerations).toContainEqual(
      expect.objectContaining({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }),
    );
    expect(workerOf(gpu).image).toMatch(/^pathgen-worker-gpu(:|$)/);
    for (const role of ['cpu', 'agents'] as const) {
      expect(workerOf(deploymentFor(role)).resources?.limits?.['nvidia.com/gpu']).toBeUndefined();
      expect(workerOf(deploymentFor(role)).image).toMatch(/^pathgen-worker(:|$)/);
    }
    const images = kustomization.images.map((image) => image.name);
    for (const deployment of deployments) expect(images).toContain(workerOf(deployment).image?.split(':')[0]);
  });

  it("gives every pod longer to stop than its role's shutdown grace", () => {
    const config = loadedConfig();
    for (const role of queueRoles) {
      const grace = deploymentFor(role).spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
      expect(grace, role).toBeGreaterThan(config.workers[role].shutdownGraceSeconds);
    }
  });

  it('mounts a scratch emptyDir at slideCache.dir, larger than the cache trims itself to where slides are staged', () => {
    const config = loadedConfig();
    for (const role of queueRoles) {
      const deployment = deploymentFor(role);
      const mount = workerOf(deployment).volumeMounts?.find(
        (candidate) => candidate.mountPath === config.slideCache.dir,
      );
      const volume = deployment.spec?.template.spec?.volumes?.find((candidate) => candidate.name === mount?.name);
      expect(volume?.emptyDir, role).toBeDefined();
      if (role !== 'agents') expect(gibibytes(volume?.emptyDir?.sizeLimit)).toBeGreaterThan(config.slideCache.maxGiB);
    }
  });

  it('reads from Secrets only keys the Secret template has', () => {
    const keysOf = (name: string): string[] => {
      const secret = secrets.find((candidate) => candidate.metadata?.name === name);
      return Object.keys({ ...secret?.data, ...secret?.stringData });
    };
    for (const deployment of deployments) {
      for (const variable of workerOf(deployment).env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (ref) expect(keysOf(ref.name ?? ''), `${deployment.metadata?.name}: ${variable.name}`).toContain(ref.key);
      }
      for (const volume of deployment.spec?.template.spec?.volumes ?? []) {
        if (volume.secret) expect(keysOf(volume.secret.secretName ?? '').length, volume.name).toBeGreaterThan(0);
      }
    }
  });

  it('sets only variables pathgen reads: PATHGEN_* overrides, and the key variables its config names', () => {
    const config = loadedConfig();
    const keyVariables = [
      ...(config.storage.kind === 's3' ? [config.storage.accessKeyEnv, config.storage.secretKeyEnv] : []),
      ...(['findings', 'describe', 'revise', 'summarize'] as const).map((agent) => config.agents[agent].apiKeyEnv),
      config.temporal.apiKeyEnv ?? 'TEMPORAL_API_KEY',
    ];
    const known = new Set([
      'PATHGEN_CONFIG',
      ...envOverrides.map((variable) => variable.name),
      ...agentEnvShortcuts.map((variable) => variable.name),
      ...keyVariables,
    ]);
    for (const deployment of deployments) {
      for (const variable of workerOf(deployment).env ?? []) {
        if (variable.name.startsWith('PATHGEN_') || variable.valueFrom?.secretKeyRef)
          expect(known, `${deployment.metadata?.name}: ${variable.name}`).toContain(variable.name);
      }
      const required = (workerOf(deployment).env ?? []).filter((v) => v.valueFrom?.secretKeyRef?.optional !== true);
      if (config.storage.kind === 's3') {
        expect(required.map((variable) => variable.name)).toEqual(
          expect.arrayContaining([config.storage.accessKeyEnv, config.storage.secretKeyEnv]),
        );
      }
    }
  });

  it("runs as the image's non-root user, on a read-only root filesystem", () => {
    const dockerfile = readFileSync(path.join(repoRoot, 'infra', 'deploy', 'worker.Dockerfile'), 'utf8');
    const imageUser = /^USER (\d+):(\d+)$/m.exec(dockerfile);
    for (const deployment of deployments) {
      const pod = deployment.spec?.template.spec?.securityContext;
      expect(pod?.runAsNonRoot).toBe(true);
      expect(String(pod?.runAsUser)).toBe(imageUser?.[1]);
      const container = workerOf(deployment).securityContext;
      expect(container?.readOnlyRootFilesystem).toBe(true);
      expect(container?.allowPrivilegeEscalation).toBe(false);
    }
  });
});
