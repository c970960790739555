/**
 * What a benchmark run leaves behind: the human summary (stdout), the whole run as
 * JSON, and a self-contained chart page (inline SVG, nothing fetched) with latency
 * percentiles over time and latency histograms of the order path and its twin.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LagFigures } from './database';
import type { BenchResult, PhaseFigures } from './run';
import { histogram, overTime, type Sample, type TimeBucket } from './stats';

const ms = (v: number | null | undefined): string => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`);
const num = (v: number | null | undefined): string => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : String(v));

function row(name: string, f: PhaseFigures): string {
  const l = f.latencyMs;
  return `  ${name.padEnd(34)} ${[l.p50, l.p95, l.p99, l.max].map((v) => ms(v).padStart(10)).join('')} ${num(f.perSecond).padStart(9)} ${String(f.failures).padStart(7)}`;
}

function lag(name: string, f: LagFigures): string {
  const incomplete = f.total - f.complete;
  return `  ${name}: p50 ${ms(f.p50Ms)}, p99 ${ms(f.p99Ms)}, max ${ms(f.maxMs)} (${f.complete} of ${f.total}${incomplete ? `; ${incomplete} not applied by every subscriber` : ''})`;
}

export function summaryText(r: BenchResult, resultsDir: string | null): string {
  const p = r.project;
  const o = r.options;
  const twinShape = `${o.twin.steps} ${o.twin.local ? 'local' : 'regular'} activities + 1 per fill`;
  const lines: string[] = [];
  lines.push(`order-service benchmark: ${r.mode === 'resting' ? `${o.orders} resting orders, a tick fills ${o.restingFills}` : `${o.orders} orders`} over ${o.accounts} accounts, ${o.loadText}, ${o.symbol}`);
  lines.push(
    `system: ${r.target.system === 'started' ? 'started by the benchmark' : 'given'} (API ${r.target.url}${r.target.temporalAddress ? `, Temporal ${r.target.temporalAddress}` : ''}); machine: ${r.machine.cpus} cpus, ${r.machine.memoryMb} MiB, node ${r.machine.node}`,
  );
  lines.push('');
  lines.push(`placement (POST /orders until its answer)     ${['p50', 'p95', 'p99', 'max'].map((h) => h.padStart(10)).join('')}  ${'per s'.padStart(8)} ${'failed'.padStart(7)}`);
  lines.push(row('order path (HTTP API)', p.placementFigures));
  if ('skipped' in r.twin) lines.push(`  twin: ${r.twin.skipped}`);
  else lines.push(row(`twin (${twinShape})`, r.twin.placementFigures));
  const counts = (c: Record<string, number>): string =>
    Object.entries(c)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
  lines.push(`  answers: ${counts(p.answers)} (202: answered before decided); then ${counts(p.statuses)}`);
  lines.push('');
  const f = p.fillsApplied;
  lines.push(`fills (one tick at ${p.tick.price}, its request took ${ms(p.tick.requestMs)}, crossed ${p.tick.ours} of the run's orders)`);
  lines.push(
    `  order path: ${f.applied}/${f.expected} applied by the portfolio subscriber in ${ms(f.ms)} = ${num(f.perSecond)} fills/s (${f.source === 'database' ? "from its processed_events" : 'polled GET /accounts/:id/portfolio'})`,
  );
  if (!('skipped' in r.twin)) {
    const t = r.twin.fillFigures;
    lines.push(`  twin: ${t.latencyMs.count} fill updates at concurrency ${o.twin.fillConcurrency}: ${num(t.perSecond)} updates/s, p50 ${ms(t.latencyMs.p50)}, p99 ${ms(t.latencyMs.p99)}`);
  }
  if (r.efficiency) {
    const e = r.efficiency;
    lines.push('');
    lines.push(`efficiency, order path ÷ bare-Temporal twin (1.0 = as fast as Temporal alone):`);
    lines.push(`  placement throughput ${num(e.placementThroughput)}, placement p99 ${num(e.placementP99)} (twin p99 ÷ order-path p99), fill throughput ${num(e.fillThroughput)}`);
  }
  lines.push('');
  lines.push('event lag, outbox commit -> every subscriber applied it');
  if (p.eventLag) {
    lines.push(lag('per event (to the last subscriber of its stream)', p.eventLag.perEvent));
    lines.push(lag('per fill (order.filled and the events it caused -> portfolio, notification, report)', p.eventLag.perFill));
  } else lines.push('  n/a without --database-url');
  lines.push('');
  if ('skipped' in r.memory) lines.push(`memory: n/a (${r.memory.skipped})`);
  else {
    const m = r.memory.maxMb;
    const others = Object.entries(m)
      .filter(([k]) => k !== 'worker' && k !== 'api')
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(`memory, VmRSS max over the run: worker ${num(m.worker)} MiB, api ${num(m.api)} MiB (${others})`);
    if (r.memory.atRestingMb) lines.push(`  at ${o.orders} resting orders: worker ${num(r.memory.atRestingMb.worker)} MiB, api ${num(r.memory.atRestingMb.api)} MiB`);
  }
  lines.push(`money: ${p.money.exact}/${p.money.accounts} accounts exact: ${p.money.exact === p.money.accounts ? 'PASS' : 'FAIL'}`);
  for (const m of p.money.mismatches.slice(0, 5)) lines.push(`  account ${m.accountId} ${m.asset} ${m.field}: expected ${m.expected}, is ${m.actual}`);
  for (const msg of p.placementFigures.failureMessages) lines.push(`  placement failure: ${msg}`);
  lines.push(r.passed ? 'result: PASS' : `result: FAIL (${r.problems.join('; ')})`);
  if (resultsDir) lines.push(`results: ${resultsDir} (result.json, report.html)`);
  return lines.join('\n');
}

// ---- chart page -------------------------------------------------------------------

const W = 720;
const H = 260;
const M = { left: 60, right: 20, top: 44, bottom: 40 };
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Line {
  name: string;
  color: string;
  dash?: string;
  points: Array<[number, number]>;
}

function ticks(max: number, n = 5): number[] {
  if (!(max > 0)) return [0];
  const step = 10 ** Math.floor(Math.log10(max / n));
  const nice = [1, 2, 5, 10].map((k) => k * step).find((s) => max / s <= n) ?? step * 10;
  return Array.from({ length: Math.floor(max / nice) + 1 }, (_, i) => i * nice);
}

function frame(title: string, xLabel: string, yLabel: string, xTicks: Array<[number, string]>, yTicks: Array<[number, string]>, body: string, legend: Line[]): string {
  const axes = [
    `<text x="${M.left}" y="16" class="t">${esc(title)}</text>`,
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" class="a"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" class="a"/>`,
    ...xTicks.map(([x, l]) => `<text x="${x}" y="${H - M.bottom + 14}" class="l" text-anchor="middle">${esc(l)}</text>`),
    ...yTicks.map(([y, l]) => `<line x1="${M.left}" y1="${y}" x2="${W - M.right}" y2="${y}" class="g"/><text x="${M.left - 6}" y="${y + 4}" class="l" text-anchor="end">${esc(l)}</text>`),
    `<text x="${(W + M.left) / 2}" y="${H - 6}" class="l" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="12" y="${(H + M.top) / 2}" class="l" transform="rotate(-90 12 ${(H + M.top) / 2})" text-anchor="middle">${esc(yLabel)}</text>`,
    // The legend is one row between the title and the plot, so it never covers a line.
    ...legend.map((s, i) => {
      const x = M.left + i * 130;
      return `<line x1="${x}" y1="30" x2="${x + 20}" y2="30" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/><text x="${x + 26}" y="34" class="l">${esc(s.name)}</text>`;
    }),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${axes.join('')}${body}</svg>`;
}

function lineChart(title: string, xLabel: string, yLabel: string, lines: Line[]): string {
  const all = lines.flatMap((l) => l.points);
  const xMax = Math.max(1e-9, ...all.map(([x]) => x));
  const yMax = Math.max(1e-9, ...all.map(([, y]) => y)) * 1.05;
  const sx = (x: number): number => M.left + (x / xMax) * (W - M.left - M.right);
  const sy = (y: number): number => H - M.bottom - (y / yMax) * (H - M.top - M.bottom);
  const body = lines
    .filter((l) => l.points.length > 0)
    .map((l) => `<polyline fill="none" stroke="${l.color}" stroke-width="1.6"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''} points="${l.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`)
    .join('');
  return frame(
    title,
    xLabel,
    yLabel,
    ticks(xMax).map((t) => [sx(t), String(t)]),
    ticks(yMax).map((t) => [sy(t), String(t)]),
    body,
    lines,
  );
}

function percentileLines(buckets: TimeBucket[], who: string, dash?: string): Line[] {
  const colors = { p50: '#2b7bb9', p95: '#e69f00', p99: '#c0392b' } as const;
  return (['p50', 'p95', 'p99'] as const).map((k) => ({ name: `${who} ${k}`, color: colors[k], dash, points: buckets.map((b) => [b.fromS, b[k]] as [number, number]) }));
}

function histogramChart(project: Sample[], twin: Sample[]): string {
  const values = [...project, ...twin].map((s) => s.latencyMs);
  if (values.length === 0) return '';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const bins = 40;
  const hp = histogram(project.map((s) => s.latencyMs), lo, hi, bins);
  const ht = histogram(twin.map((s) => s.latencyMs), lo, hi, bins);
  // Shares, not counts: the two runs have the same count, but a failed request leaves one short.
  const share = (h: typeof hp, n: number): number[] => h.map((b) => (n > 0 ? (100 * b.count) / n : 0));
  const sp = share(hp, project.length);
  const st = share(ht, twin.length);
  const yMax = Math.max(1, ...sp, ...st) * 1.05;
  const bw = (W - M.left - M.right) / bins;
  const sy = (y: number): number => H - M.bottom - (y / yMax) * (H - M.top - M.bottom);
  const bars = (vals: number[], color: string, offset: number): string =>
    vals.map((v, i) => (v > 0 ? `<rect x="${(M.left + i * bw + offset).toFixed(1)}" y="${sy(v).toFixed(1)}" width="${(bw / 2).toFixed(1)}" height="${(H - M.bottom - sy(v)).toFixed(1)}" fill="${color}"/>` : '')).join('');
  const xTicks: Array<[number, string]> = [0, 10, 20, 30, 40].map((i) => [M.left + i * bw, ms(i < bins ? hp[i].fromMs : hp[bins - 1].toMs)]);
  return frame(
    'Placement latency histogram (log-spaced bins)',
    'latency',
    '% of requests',
    xTicks,
    ticks(yMax).map((t) => [sy(t), String(t)]),
    bars(sp, '#2b7bb9', 0) + bars(st, '#7f8c8d', bw / 2),
    [
      { name: 'order path', color: '#2b7bb9', points: [] },
      { name: 'twin', color: '#7f8c8d', points: [] },
    ],
  );
}

export function chartPage(r: BenchResult, summary: string): string {
  const project = overTime(r.samples.project);
  const twin = overTime(r.samples.twin);
  const applied = r.project.fillsApplied.appliedMs;
  const charts = [
    lineChart('Order path: placement latency percentiles over time', 'seconds since placement started', 'ms', percentileLines(project, 'order path')),
    twin.length ? lineChart('Twin: placement latency percentiles over time', 'seconds since placement started', 'ms', percentileLines(twin, 'twin', '5 3')) : '',
    lineChart('Both: placement p99 over time', 'seconds since placement started', 'ms', [
      { name: 'order path p99', color: '#c0392b', points: project.map((b) => [b.fromS, b.p99]) },
      { name: 'twin p99', color: '#7f8c8d', dash: '5 3', points: twin.map((b) => [b.fromS, b.p99]) },
    ]),
    histogramChart(r.samples.project, r.samples.twin),
    applied.length
      ? lineChart('Fills applied by the portfolio subscriber after the tick', 'seconds since the tick', 'fills applied', [
          { name: 'applied', color: '#27ae60', points: applied.map((t, i) => [t / 1000, i + 1]) },
        ])
      : '',
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>order-service benchmark ${esc(r.startedAt)}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
pre { background: #f6f6f6; padding: 12px; overflow-x: auto; font-size: 12px; }
svg { display: block; margin: 18px 0; }
.t { font-size: 14px; font-weight: 600; } .l { font-size: 11px; fill: #444; }
.a { stroke: #444; } .g { stroke: #e4e4e4; }
</style></head><body>
<h1>order-service benchmark</h1>
<pre>${esc(summary)}</pre>
${charts.join('\n')}
</body></html>
`;
}

/** Writes result.json and report.html into `dir` (created). */
export function writeResults(dir: string, r: BenchResult, summary: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'result.json'), `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(join(dir, 'report.html'), chartPage(r, summary));
}
