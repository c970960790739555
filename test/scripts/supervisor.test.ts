/**
 * The `npm start` supervisor's core (scripts/supervisor.ts), on real child processes:
 * restart backoff doubles from its base to a cap of a few seconds, starts over after a
 * healthy run, the supervisor never exits while a child is down, and stop() stops the
 * children in order and restarts nothing.
 */
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DEFAULT_SUPERVISION, Supervisor, type SupervisorOptions } from '../../scripts/supervisor';

type Crash = Parameters<NonNullable<SupervisorOptions['onCrash']>>[1];

/** Supervises one child until `count` crashes were seen; returns them. */
async function crashes(childCode: string, count: number, options: Partial<SupervisorOptions>): Promise<Crash[]> {
  const seen: Crash[] = [];
  let done!: () => void;
  const enough = new Promise<void>((resolve) => (done = resolve));
  const s = new Supervisor({
    ...DEFAULT_SUPERVISION,
    ...options,
    onCrash: (_name, exit) => {
      seen.push(exit);
      if (seen.length === count) done();
    },
  });
  s.start({ name: 'child', command: process.execPath, args: ['-e', childCode] });
  await enough;
  await s.stop([], 5_000);
  return seen;
}

describe('supervisor', () => {
  it('backs off from the base, doubling, to the cap; every crash is restarted', async () => {
    const seen = await crashes('process.exit(3)', 6, { baseDelayMs: 50, maxDelayMs: 300, healthyAfterMs: 60_000 });
    expect(seen.map((c) => c.restartInMs)).toEqual([50, 100, 200, 300, 300, 300]);
    expect(seen.map((c) => c.crashesInARow)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seen.every((c) => c.code === 3)).toBe(true);
  });

  it('the default cap is a few seconds', () => {
    expect(DEFAULT_SUPERVISION.maxDelayMs).toBeLessThanOrEqual(5_000);
  });

  it('a child that ran for the healthy period starts its count over', async () => {
    const seen = await crashes('setTimeout(() => process.exit(1), 400)', 3, { baseDelayMs: 50, maxDelayMs: 1_000, healthyAfterMs: 200 });
    expect(seen.map((c) => c.crashesInARow)).toEqual([1, 1, 1]);
    expect(seen.map((c) => c.restartInMs)).toEqual([50, 50, 50]);
  });

  it('never exits on its own while its only child is down', async () => {
    // A supervisor process of its own, whose one child always crashes: it must still be
    // there, restarting, after several crashes (nothing else keeps its event loop alive).
    const root = join(__dirname, '..', '..');
    const program = `
      const fs = require('node:fs');
      const swc = require('@swc/core');
      require.extensions['.ts'] = (m, f) => m._compile(swc.transformSync(fs.readFileSync(f, 'utf8'), { filename: f, jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }).code, f);
      const { Supervisor } = require(${JSON.stringify(join(root, 'scripts/supervisor.ts'))});
      new Supervisor({ baseDelayMs: 100, maxDelayMs: 200, healthyAfterMs: 60000, onCrash: (n, e) => console.log('crash ' + e.crashesInARow) })
        .start({ name: 'c', command: process.execPath, args: ['-e', 'process.exit(1)'] });
    `;
    const sup = spawn(process.execPath, ['-e', program], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    const exitedEarly = new Promise<string>((resolve) => sup.once('exit', (code) => resolve(`exited with ${code}`)));
    const fifth = new Promise<string>((resolve) =>
      createInterface({ input: sup.stdout }).on('line', (l) => {
        lines.push(l);
        if (l === 'crash 5') resolve('alive');
      }),
    );
    try {
      expect(await Promise.race([fifth, exitedEarly])).toBe('alive');
      expect(sup.exitCode).toBeNull();
      expect(lines.slice(0, 5)).toEqual(['crash 1', 'crash 2', 'crash 3', 'crash 4', 'crash 5']);
    } finally {
      sup.kill('SIGKILL');
    }
  });

  it('stop() stops the children in the order given and restarts none', async () => {
    const stopped: string[] = [];
    const crashed: string[] = [];
    const s = new Supervisor({ ...DEFAULT_SUPERVISION, onCrash: (name) => crashed.push(name) });
    for (const name of ['a', 'b', 'c']) s.start({ name, command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] });
    expect(['a', 'b', 'c'].every((n) => typeof s.pid(n) === 'number')).toBe(true);
    await s.stop(['c', 'a'], 5_000, (n) => stopped.push(n));
    expect(stopped).toEqual(['c', 'a', 'b']);
    expect(crashed).toEqual([]);
    expect(['a', 'b', 'c'].map((n) => s.pid(n))).toEqual([undefined, undefined, undefined]);
  });
});
