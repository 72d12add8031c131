import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../infra/harness/installed-tools.js';

// infra/deploy/worker.Dockerfile, read as text: no image is built here (no registry for the base
// images), so these are the facts the image's correctness rests on, checked against the files they
// must agree with: package.json, infra/install-tools.sh, infra/build-native.sh, infra/versions.env.

const read = (file: string): string => readFileSync(path.join(repoRoot, file), 'utf8');
/** Logical lines: backslash continuations joined, comments and blank lines dropped. */
const logicalLines = (text: string): string[] =>
  text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

const dockerfile = logicalLines(read('infra/deploy/worker.Dockerfile'));
const installTools = logicalLines(read('infra/install-tools.sh'));
const packageJson = JSON.parse(read('package.json')) as { bin: Record<string, string>; engines: { node: string } };

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

const stages: Stage[] = [];
for (const line of dockerfile) {
  const from = /^FROM (\S+) AS (\S+)$/.exec(line);
  if (from) stages.push({ from: from[1] ?? '', name: from[2] ?? '', lines: [] });
  else stages.at(-1)?.lines.push(line);
}
const stage = (name: string): Stage => {
  const found = stages.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
};
const runs = (name: string): string =>
  stage(name)
    .lines.filter((line) => line.startsWith('RUN '))
    .join('\n');
const nodeVersion = /^ARG NODE_VERSION=(\d+)$/m.exec(dockerfile.join('\n'))?.[1];

/** The `pkg==$VERSION` pins of a line, e.g. the packages a virtual environment is made with. */
const pins = (line: string | undefined): string[] =>
  [...(line ?? '').matchAll(/"([\w.-]+==\$\w+)"/g)].map((m) => m[1] ?? '');
const installToolsVenv = (venv: string): string | undefined =>
  installTools.find((line) => line.startsWith(`python_venv "$root/.tools/${venv}"`));
const dockerfileVenv = (venv: string): string | undefined =>
  dockerfile.find((line) => line.includes(`.tools/${venv}/bin/pip install`));

describe('infra/deploy/worker.Dockerfile', () => {
  it("builds on Node 20 images, the major package.json's engines ask for", () => {
    expect(nodeVersion).toBe('20');
    expect(packageJson.engines.node).toMatch(new RegExp(`^>=${nodeVersion}\\.`));
    expect(stage('build').from).toBe('node:${NODE_VERSION}-bookworm');
    expect(stage('runtime').from).toBe('node:${NODE_VERSION}-bookworm-slim');
  });

  it('compiles the project and the native tile decoder in the build stage, from the lockfile', () => {
    const build = runs('build');
    expect(build).toContain('npm ci --ignore-scripts');
    expect(build).toContain('npm run build');
    expect(build).toContain('bash infra/build-native.sh');
    expect(build).toContain('npm prune --omit=dev');
  });

  it('installs at run time the libraries the native addon links, and no libvips: sharp brings its own', () => {
    const links = [...read('infra/build-native.sh').matchAll(/-l(jpeg|openjp2)\b/g)].map((m) => m[1]);
    expect(links.sort()).toEqual(['jpeg', 'openjp2']);
    const runtime = runs('runtime');
    expect(runtime).toMatch(/\blibjpeg62-turbo\b/);
    expect(runtime).toMatch(/\blibopenjp2-7\b/);
    expect(runtime).not.toMatch(/libvips/);
    expect(read('package-lock.json')).toContain('"node_modules/@img/sharp-libvips-linux-x64"');
  });

  it("makes OpenSlide 4's converter environment with install-tools.sh's pins, and copies it to the runtime", () => {
    expect(pins(installToolsVenv('openslide-venv')).length).toBeGreaterThan(0);
    expect(pins(dockerfileVenv('openslide-venv')).sort()).toEqual(pins(installToolsVenv('openslide-venv')).sort());
    expect(stage('runtime').lines).toContain('COPY --from=build /app/.tools/openslide-venv .tools/openslide-venv');
    expect(runs('runtime')).toMatch(/\bpython3\b/);
    expect(existsSync(path.join(repoRoot, 'infra', 'openslide-convert.py'))).toBe(true);
  });

  it("makes the GPU image's training environment with install-tools.sh --train's pins", () => {
    expect(pins(installToolsVenv('train-venv')).length).toBeGreaterThan(5);
    expect(pins(dockerfileVenv('train-venv')).sort()).toEqual(pins(installToolsVenv('train-venv')).sort());
    expect(stage('worker-gpu').lines).toContain('COPY --from=build-gpu /app/.tools/train-venv /app/.tools/train-venv');
    expect(runs('build-gpu')).toContain('node node_modules/onnxruntime-node/script/install');
  });

  it("checks CLIP's vocabulary against versions.env's sha256, as install-tools.sh does", () => {
    expect(read('infra/versions.env')).toMatch(/^CLIP_VOCAB_SHA256=[0-9a-f]{64}$/m);
    expect(runs('build')).toMatch(
      /\$CLIP_VOCAB_SHA256 {2}\.tools\/clip\/bpe_simple_vocab_16e6\.txt\.gz" \| sha256sum -c/,
    );
  });

  it("runs the pathgen CLI, package.json's bin, under tini as a numeric non-root user", () => {
    const runtime = stage('runtime').lines;
    expect(runtime).toContain('ENTRYPOINT ["/usr/bin/tini", "--", "pathgen"]');
    expect(runs('runtime')).toContain(`ln -s /app/${packageJson.bin.pathgen} /usr/local/bin/pathgen`);
    expect(runs('runtime')).toMatch(/\btini\b/);
    const user = runtime.find((line) => line.startsWith('USER '));
    expect(user).toMatch(/^USER [1-9]\d*:[1-9]\d*$/);
  });

  it('copies into the runtime the scripts pathgen runs from its package root', () => {
    const copies = stage('runtime').lines.filter((line) => line.startsWith('COPY --from=build'));
    for (const file of ['infra/openslide-convert.py', 'infra/export-clip-onnx.py', 'infra/train']) {
      expect(existsSync(path.join(repoRoot, file)), file).toBe(true);
      expect(
        copies.some((line) => line.includes(`/app/${file}`)),
        file,
      ).toBe(true);
    }
  });

  it('builds the cpu/agents image by default: `worker` is the last stage, `worker-gpu` the other target', () => {
    expect(stages.at(-1)?.name).toBe('worker');
    expect(stage('worker').from).toBe('runtime');
    expect(stage('worker-gpu').from).toBe('runtime');
  });

  it('keeps host builds out of the context (.dockerignore) but not what the Dockerfile copies', () => {
    const ignored = logicalLines(read('.dockerignore'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.tools']));
    const copied = stage('build')
      .lines.filter((line) => line.startsWith('COPY ') && !line.startsWith('COPY --from'))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(copied.length).toBeGreaterThan(5);
    for (const source of copied) {
      expect(existsSync(path.join(repoRoot, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
  });
});
