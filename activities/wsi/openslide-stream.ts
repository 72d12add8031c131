import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { slideUnreadable, unsupportedFormat } from './slide-errors.js';

// The reading side of infra/openslide-convert.py: it runs in the OpenSlide 4 environment that
// infra/install-tools.sh makes (.tools/openslide-venv) and writes a JSON header line, then raw RGB
// tiles level by level, then the associated images (the script's docstring has the layout). This
// file starts it, reads exactly the bytes the header announces, and turns every way it can end
// early into a slide error: a missing environment is UnsupportedFormat (installing fixes it),
// anything OpenSlide cannot read is SlideUnreadable.

export const converterInstallHint = 'run infra/install-tools.sh (it makes .tools/openslide-venv)';

export interface ConverterHeader {
  openslide: string;
  vendor: string | null;
  mppX: number | null;
  mppY: number | null;
  objectivePower: number | null;
  tileSize: number;
  levels: { width: number; height: number; downsample: number }[];
  associated: { name: string; width: number; height: number }[];
}

const scriptName = join('infra', 'openslide-convert.py');
// From activities/wsi (tsx) or dist/activities/wsi (built): the repository is a few folders up.
const packageRoot = ((): string | undefined => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++, dir = dirname(dir)) if (existsSync(join(dir, scriptName))) return dir;
  return undefined;
})();

/** $PATHGEN_CONVERTER_PYTHON, else the Python of .tools/openslide-venv. */
export function defaultConverterPython(): string {
  return process.env.PATHGEN_CONVERTER_PYTHON ?? join(packageRoot ?? '.', '.tools', 'openslide-venv', 'bin', 'python');
}

const maxHeaderBytes = 1024 * 1024;
const keptStderrBytes = 8 * 1024;
// The converter's exit codes (infra/openslide-convert.py).
const cannotOpen = 3;
const doesNotLoad = 4;

export class OpenSlideStream {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private readonly input: AsyncIterator<Buffer>;
  private stderr = '';
  private spawnError: NodeJS.ErrnoException | undefined;
  private readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcessByStdio<null, Readable, Readable>,
    private readonly path: string,
    private readonly python: string,
    private readonly reason: string,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.input = (child.stdout as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-keptStderrBytes);
    });
    this.exit = new Promise((resolve) => {
      child.on('error', (error) => {
        this.spawnError ??= error;
        // A process that never started emits no 'close' to wait for.
        if (child.pid === undefined) resolve({ code: null, signal: null });
      });
      child.on('close', (code, exitSignal) => resolve({ code, signal: exitSignal }));
    });
  }

  /** Starts the converter on `path` and reads its header; `reason` says why the slide needs converting. */
  static async open(
    path: string,
    options: { python: string; reason: string; signal?: AbortSignal },
  ): Promise<{ stream: OpenSlideStream; header: ConverterHeader }> {
    if (!packageRoot)
      throw unsupportedFormat(path, `it is ${options.reason}, and ${scriptName} is not installed beside pathgen`);
    const child = spawn(options.python, [join(packageRoot, scriptName), path], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const stream = new OpenSlideStream(child, path, options.python, options.reason, options.signal);
    try {
      const line = await stream.readLine();
      return { stream, header: stream.parseHeader(line) };
    } catch (error) {
      stream.close();
      throw error;
    }
  }

  /** Exactly `length` bytes of the stream; ending sooner is the converter's failure. */
  async read(length: number): Promise<Buffer> {
    while (this.buffered < length) {
      const next = await this.input.next();
      if (next.done) throw await this.failure(`its output ended ${this.buffered} bytes into a read of ${length}`);
      this.chunks.push(next.value);
      this.buffered += next.value.length;
    }
    return this.take(length);
  }

  /** The stream must end here and the converter exit cleanly. */
  async finish(): Promise<void> {
    if (this.buffered > 0 || !(await this.input.next()).done)
      throw slideUnreadable(this.path, 'the OpenSlide converter wrote more than its header announced');
    const { code, signal } = await this.exit;
    if (code !== 0) throw await this.failure(`it exited with ${code ?? signal}`);
  }

  /** Stops the converter (after a failure elsewhere); what it was writing is discarded. */
  close(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private async readLine(): Promise<Buffer> {
    for (;;) {
      const joined = Buffer.concat(this.chunks);
      const newline = joined.indexOf(0x0a);
      this.chunks.splice(0, this.chunks.length, joined);
      if (newline >= 0) return this.take(newline + 1).subarray(0, newline);
      if (joined.length > maxHeaderBytes) throw slideUnreadable(this.path, 'the OpenSlide converter wrote no header');
      const next = await this.input.next();
      if (next.done) throw await this.failure('it wrote no header');
      this.chunks.push(next.value);
      this.buffered += next.value.length;
    }
  }

  private take(length: number): Buffer {
    const first = this.chunks[0]!;
    let taken: Buffer;
    if (first.length >= length) {
      taken = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
    } else {
      const joined = Buffer.concat(this.chunks);
      taken = joined.subarray(0, length);
      this.chunks.splice(0, this.chunks.length, ...(joined.length > length ? [joined.subarray(length)] : []));
    }
    this.buffered -= length;
    return taken;
  }

  private parseHeader(line: Buffer): ConverterHeader {
    let header: ConverterHeader;
    try {
      header = JSON.parse(line.toString('utf8')) as ConverterHeader;
    } catch (error) {
      throw slideUnreadable(this.path, 'the OpenSlide converter wrote a damaged header', {}, error);
    }
    const size = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) > 0;
    if (!Array.isArray(header.levels) || header.levels.length === 0)
      throw slideUnreadable(this.path, 'OpenSlide reports no levels');
    if (!size(header.tileSize) || !header.levels.every((l) => size(l.width) && size(l.height) && l.downsample > 0))
      throw slideUnreadable(this.path, 'the OpenSlide converter reports impossible level sizes');
    if (!Array.isArray(header.associated) || !header.associated.every((a) => size(a.width) && size(a.height)))
      throw slideUnreadable(this.path, 'the OpenSlide converter reports impossible associated images');
    return header;
  }

  /** Why the stream ended early, once the converter has exited: the error to throw. */
  private async failure(what: string): Promise<Error> {
    const { code } = await this.exit;
    if (this.signal?.aborted) return this.signal.reason instanceof Error ? this.signal.reason : new Error('aborted');
    const message = this.stderr
      .trim()
      .split('\n')
      .slice(-3)
      .join(' ')
      .replace(/^openslide-convert: /, '');
    const needs = `it is ${this.reason}; converting it needs OpenSlide 4`;
    if (this.spawnError?.code === 'ENOENT')
      return unsupportedFormat(this.path, `${needs}, and ${this.python} does not exist: ${converterInstallHint}`, {
        python: this.python,
      });
    if (this.spawnError)
      return unsupportedFormat(this.path, `${needs}, and ${this.python} does not start (${this.spawnError.message})`);
    if (code === doesNotLoad)
      return unsupportedFormat(this.path, `${needs}, which does not load: ${message}; ${converterInstallHint}`, {
        python: this.python,
      });
    if (code === cannotOpen) return slideUnreadable(this.path, `OpenSlide cannot open it: ${message}`);
    return slideUnreadable(
      this.path,
      `the OpenSlide converter stopped early: ${what} (exit ${code ?? 'by signal'})${message ? `: ${message}` : ''}`,
    );
  }
}
