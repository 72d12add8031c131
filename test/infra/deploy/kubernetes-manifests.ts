import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { parse, parseAllDocuments } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { repoRoot } from '../../../infra/harness/installed-tools.js';

// The example manifests under infra/deploy/kubernetes/, read the way kustomize reads them, for the
// tests beside this file.

export const manifestsDir = path.join(repoRoot, 'infra', 'deploy', 'kubernetes');

export interface Kustomization {
  resources: string[];
  configMapGenerator: { name: string; files: string[] }[];
  images: { name: string; newName?: string; newTag?: string }[];
}

export interface ManifestDocument {
  file: string;
  index: number;
  errors: string[];
  value: { apiVersion?: string; kind?: string; metadata?: { name?: string } } & Record<string, unknown>;
}

export function readManifestFile(file: string): string {
  return readFileSync(path.join(manifestsDir, file), 'utf8');
}

export const kustomization = parse(readManifestFile('kustomization.yaml')) as Kustomization;

/** The template of the Secrets: validated like the rest, though kustomization.yaml leaves it out. */
export const secretTemplateFile = 'secret.example.yaml';

export function manifestDocuments(): ManifestDocument[] {
  return [...kustomization.resources, secretTemplateFile].flatMap((file) =>
    parseAllDocuments(readManifestFile(file)).map((document, index) => ({
      file,
      index,
      errors: document.errors.map((error) => error.message),
      value: document.toJS() as ManifestDocument['value'],
    })),
  );
}

export const documents = manifestDocuments();
export const deployments = documents
  .filter((document) => document.value.kind === 'Deployment')
  .map((document) => document.value as unknown as IDeployment);
export const secrets = documents
  .filter((document) => document.value.kind === 'Secret')
  .map((document) => document.value as unknown as ISecret);

/** The generated ConfigMap's name and the file kustomize puts under its key ("config.yaml=file"). */
export function generatedConfig(): { name: string; key: string; file: string } {
  const generator = kustomization.configMapGenerator[0];
  const [key, file] = (generator?.files[0] ?? '').split('=');
  if (!generator || !key || !file) throw new Error('kustomization.yaml generates no config file');
  return { name: generator.name, key, file: path.join(manifestsDir, file) };
}

/** "100Gi" in GiB; the manifests write every size this way. */
export function gibibytes(quantity: string | number | undefined): number {
  const match = /^(\d+)Gi$/.exec(String(quantity));
  if (!match) throw new Error(`expected a size in Gi, got ${String(quantity)}`);
  return Number(match[1]);
}

const typeOfKind: Record<string, { module: string; type: string }> = {
  Deployment: { module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  Secret: { module: 'kubernetes-models/v1/Secret', type: 'ISecret' },
  ConfigMap: { module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
};

/**
 * The fields no Kubernetes type has: kubernetes-models' JSON-schema validation lets unknown fields
 * through (a misspelt `readOnlyRootFileSystem` passes), so each document is also typed as a
 * TypeScript literal of its kubernetes-models interface, where any field the API lacks is an error.
 */
export function unknownFieldErrors(manifests: readonly ManifestDocument[]): string[] {
  const file = path.join(repoRoot, 'test', 'infra', 'deploy', 'manifest-fields.check.ts');
  // Two lines per document, so a diagnostic's line says which document it is about.
  const lines = manifests.map(({ value }, index) => {
    const known = typeOfKind[value.kind ?? ''];
    if (!known) throw new Error(`no Kubernetes type known for kind ${String(value.kind)}`);
    return `import type { ${known.type} as T${index} } from '${known.module}';\nexport const m${index}: T${index} = ${JSON.stringify(value)};`;
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const readSource = host.getSourceFile.bind(host);
  const exists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : readSource(name, language, ...rest);
  host.fileExists = (name) => name === file || exists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const line = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line ?? 0;
    const manifest = manifests[Math.floor(line / 2)];
    const where = manifest ? `${manifest.file} (document ${manifest.index + 1})` : 'manifests';
    return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n').split('\n')[0] ?? ''}`;
  });
}
