import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ScaleWorkerJob } from '../workers/scale/scale-worker.js';

// The processes of the scale benchmark, as a chaos monkey sees them: worker processes it can
// SIGKILL and start again, the Temporal dev server it can kill and restart on the same SQLite file,
// and a sampler of each process's memory and CPU time from /proc (Linux).

const clockTicks = 100; // USER_HZ on Linux

export interface ProcessSample {
  atMs: number;
  rssMb: number;
}

/** CPU seconds (user + system) and resident memory of a live process; undefined once it is gone. */
export function procStats(pid: number): { cpuSeconds: number; rssMb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / clockTicks;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuSeconds, rssMb: rssKb / 1024 };
  } catch {
    return undefined;
  }
}

/** One worker slot: its current process, restarted when killed or when it exits on its own. */
export class WorkerSlot {
  child?: ChildProcess;
  /** CPU seconds of the slot's earlier processes, plus the last reading of the current one. */
  private cpuDone = 0;
  private cpuCurrent = 0;
  peakRssMb = 0;
  samples: ProcessSample[] = [];
  starts = 0;
  unexpectedExits = 0;
  private stopping = false;

  constructor(
    readonly index: number,
    private readonly script: string,
    private readonly jobFile: string,
    private readonly logFile: string,
    private readonly nodeArgs: readonly string[],
  ) {}

  static async create(
    index: number,
    dir: string,
    script: string,
    job: ScaleWorkerJob,
    nodeArgs: readonly string[] = [],
  ): Promise<WorkerSlot> {
    const jobFile = path.join(dir, `worker-${index}.json`);
    await writeFile(jobFile, JSON.stringify(job));
    return new WorkerSlot(index, script, jobFile, path.join(dir, `worker-${index}.log`), nodeArgs);
  }

  /** Starts the process; resolves when its workers poll. */
  start(): Promise<void> {
    this.starts += 1;
    const child = spawn(process.execPath, [...process.execArgv, ...this.nodeArgs, this.script, this.jobFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const log = (chunk: Buffer) => void writeFile(this.logFile, chunk, { flag: 'a' });
    child.stderr?.on('data', log);
    return new Promise((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        log(chunk);
        if (chunk.toString().includes('"ready"')) resolve();
      });
      child.once('exit', (code, signal) => {
        this.cpuDone += this.cpuCurrent;
        this.cpuCurrent = 0;
        if (this.child === child) this.child = undefined;
        if (!this.stopping && signal !== 'SIGKILL') {
          this.unexpectedExits += 1;
          // A worker that gave up (its server was down too long) is started again, as a supervisor would.
          void this.start().catch(() => undefined);
        }
        reject(new Error(`worker ${this.index} exited (${code ?? signal}) before it was ready; see ${this.logFile}`));
      });
    });
  }

  kill(): void {
    this.child?.kill('SIGKILL');
  }

  sample(atMs: number): void {
    const pid = this.child?.pid;
    const stats = pid === undefined ? undefined : procStats(pid);
    if (!stats) return;
    this.cpuCurrent = stats.cpuSeconds;
    this.peakRssMb = Math.max(this.peakRssMb, stats.rssMb);
    this.samples.push({ atMs, rssMb: stats.rssMb });
  }

  cpuSeconds(): number {
    return this.cpuDone + this.cpuCurrent;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Peak resident memory of any worker between two times (e.g. the export's). */
export function peakRssBetween(slots: readonly WorkerSlot[], fromMs: number, toMs: number): number {
  let peak = 0;
  for (const slot of slots)
    for (const sample of slot.samples)
      if (sample.atMs >= fromMs && sample.atMs <= toMs) peak = Math.max(peak, sample.rssMb);
  return peak;
}
