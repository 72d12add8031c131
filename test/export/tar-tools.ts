import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

// The system's own tar readers, as a user of an export would open a shard: GNU tar and Python's
// tarfile (the module webdataset reads shards with).

const run = promisify(execFile);

export async function gnuTar(args: string[], cwd?: string): Promise<string> {
  const { stdout, stderr } = await run('tar', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  if (stderr.trim() !== '') throw new Error(`tar ${args.join(' ')} complained: ${stderr}`);
  return stdout;
}

export interface PythonTarMember {
  name: string;
  size: number;
  mtime: number;
  mode: number;
  uid: number;
  gid: number;
  type: string;
  /** Contents as hex, to compare bytes exactly. */
  hex: string;
}

const listMembers = `
import json, sys, tarfile
out = []
for path in sys.argv[1:]:
    with tarfile.open(path, mode="r:") as archive:
        members = []
        for m in archive:
            data = archive.extractfile(m).read() if m.isfile() else b""
            members.append({"name": m.name, "size": m.size, "mtime": m.mtime, "mode": m.mode, "uid": m.uid,
                            "gid": m.gid, "type": m.type.decode(), "hex": data.hex()})
        out.append(members)
print(json.dumps(out))
`;

/** Every member of each archive as Python's tarfile reads it (it verifies header checksums). */
export async function pythonTarMembers(paths: string[]): Promise<PythonTarMember[][]> {
  const { stdout } = await run('/usr/bin/python3', ['-c', listMembers, ...paths], { maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(stdout) as PythonTarMember[][];
}

export async function python(script: string, args: string[]): Promise<string> {
  const { stdout } = await run('/usr/bin/python3', ['-c', script, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Names and contents of a ustar archive's regular files (pax `path` records honoured): a reader for tests. */
export function readTarFiles(archive: Buffer): Array<{ name: string; data: Buffer }> {
  const files: Array<{ name: string; data: Buffer }> = [];
  let paxPath: string | undefined;
  for (let offset = 0; offset + 512 <= archive.length;) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start: number, length: number) =>
      header.toString('utf8', start, start + length).replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12), 8);
    const type = field(156, 1);
    const data = archive.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      paxPath = /\d+ path=(.*)\n/.exec(data.toString('utf8'))?.[1];
      continue;
    }
    const prefix = field(345, 155);
    files.push({ name: paxPath ?? (prefix === '' ? field(0, 100) : `${prefix}/${field(0, 100)}`), data });
    paxPath = undefined;
  }
  return files;
}
