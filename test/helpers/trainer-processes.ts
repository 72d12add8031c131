import { readdirSync, readFileSync } from 'node:fs';

// The processes of one training, read from /proc: under torchrun the ranks lead sessions of their
// own, so a process group says nothing about them; the command line does (each rank's and each
// dataloader worker's names the training's logs folder).

export interface TrainerProcess {
  pid: number;
  ppid: number;
  /** The command line, arguments joined by spaces. */
  args: string;
}

/** Live processes whose command line contains `marker` (zombies, dead but not reaped, are left out). */
export function trainerProcesses(marker: string): TrainerProcess[] {
  const found: TrainerProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const candidate = readProcess(Number(entry));
    if (candidate?.args.includes(marker)) found.push(candidate);
  }
  return found;
}

/** Whether a process still runs: it exists, is not a zombie, and still has the same command line. */
export function stillRunning(known: TrainerProcess): boolean {
  return readProcess(known.pid)?.args === known.args;
}

function readProcess(pid: number): TrainerProcess | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z' || state === 'X') return undefined;
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return { pid, ppid: Number(ppid), args };
  } catch {
    return undefined; // gone between the listing and the read
  }
}
