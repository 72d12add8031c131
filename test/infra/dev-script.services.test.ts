import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cleanEnv, processAlive } from '../helpers/cli-process.js';
import { freePort } from '../../infra/harness/minio-server.js';
import { repoRoot } from '../../infra/harness/installed-tools.js';

const run = promisify(execFile);

describe('infra/dev.sh', () => {
  it('up starts healthy services with the Web UI, down stops exactly what it started', async () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'pathgen-dev-'));
    const env = {
      ...cleanEnv(),
      PATHGEN_DEV_STATE: state,
      PATHGEN_DEV_TEMPORAL_PORT: String(await freePort()),
      PATHGEN_DEV_TEMPORAL_UI_PORT: String(await freePort()),
      PATHGEN_DEV_MINIO_PORT: String(await freePort()),
      PATHGEN_DEV_MINIO_CONSOLE_PORT: String(await freePort()),
    };
    const script = path.join(repoRoot, 'infra/dev.sh');
    try {
      const up = await run('bash', [script, 'up'], { env, timeout: 120_000 });
      expect(up.stdout).toContain('Temporal is healthy');
      expect(up.stdout).toContain('MinIO is healthy');
      expect(up.stdout).toMatch(/(created|found) s3:\/\/pathgen\//);
      const ui = await fetch(`http://127.0.0.1:${env.PATHGEN_DEV_TEMPORAL_UI_PORT}/`);
      expect(ui.status).toBe(200);
      const attributes = await run(
        path.join(repoRoot, '.tools/bin/temporal'),
        ['operator', 'search-attribute', 'list', '--address', `127.0.0.1:${env.PATHGEN_DEV_TEMPORAL_PORT}`],
        { env },
      );
      expect(attributes.stdout).toContain('PathgenFailureReason');
      const again = await run('bash', [script, 'up'], { env, timeout: 120_000 });
      expect(again.stdout).toContain('already running');
    } finally {
      const pids = ['temporal', 'minio'].map((name) =>
        Number(readFileSync(path.join(state, 'pids', `${name}.pid`), 'utf8')),
      );
      await run('bash', [script, 'down'], { env, timeout: 60_000 });
      for (const pid of pids) expect(processAlive(pid), `pid ${pid}`).toBe(false);
    }
    const status = await run('bash', [script, 'status'], { env }).catch(
      (error: { code: number; stdout: string }) => error,
    );
    expect(status).toMatchObject({ code: 3 });
  }, 180_000);
});
