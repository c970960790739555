/**
 * Replays the workflow histories recorded from the lifecycle scenarios (test/histories,
 * written with RECORD_HISTORIES=1 and committed) against the current workflow code:
 * a change that is not deterministic, or not guarded with `patched`, fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { HISTORIES_DIR, historyFiles } from './support/histories';

function histories() {
  return historyFiles().map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, f), 'utf8'))) }));
}

describe('workflow replay', () => {
  it('has histories recorded from the lifecycle scenarios, for every release', () => {
    const releases = new Set(historyFiles().map((f) => f.split('/')[0]));
    expect([...releases].sort()).toEqual(['2026-11-24', '2026-11-29-admit-in-one-commit', '2026-11-29-local-steps', '2026-11-29-submission-deadline']);
    expect(histories().length).toBeGreaterThanOrEqual(54);
  });

  it('replays every recorded history against the current workflow code', async () => {
    const results: { workflowId: string; error?: unknown }[] = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE as string } }, histories())) {
      results.push({ workflowId: r.workflowId, error: r.error && String(r.error) });
    }
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results).toHaveLength(histories().length);
  });

  it('fails for workflow code that takes its steps in another order (negative control)', async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('./support/nondeterministic-workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const [first] = histories();
    await expect(Worker.runReplayHistory({ workflowBundle: { code } }, first.history, first.workflowId)).rejects.toThrow(/[Nn]ondeterminism|DeterminismViolation/);
  });
});
