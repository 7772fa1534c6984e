/**
 * Summarises a V8 CPU profile (from `npm run bench -- --cpu-prof DIR`): self time by area (our
 * folders, each node_modules package, node internals, GC, idle) and the top functions.
 *
 *   npx tsx bench/cpuprofile-summary.ts DIR/worker-sync-….cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function areaOf(url: string, fn: string): string {
  if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') return fn;
  if (!url) return '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node:internals';
  const ours =
    /\/work\/[^/]+\/[^/]+\/([^/]+)\//.exec(url) ??
    /file:\/\/\/.*?\/(activities|db|powerschool|api|worker|workflows|temporal|secrets|email|bench)\//.exec(url);
  return ours ? `ours:${ours[1]}` : url;
}

export function summarise(profile: Profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++)
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = (profile.endTime - profile.startTime) / 1000;
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const area = areaOf(n.callFrame.url, n.callFrame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us / 1000);
    const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules\/)?/, '')}:${n.callFrame.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us / 1000);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, areas: sorted(areas), functions: sorted(fns).slice(0, top) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } });
  for (const file of positionals) {
    const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(values.top ?? 25));
    console.log(`\n${file}: ${(s.totalMs / 1000).toFixed(1)} s profiled`);
    console.log('  self time by area:');
    for (const [a, ms] of s.areas.slice(0, 20)) console.log(`    ${(ms / 1000).toFixed(2).padStart(7)} s  ${a}`);
    console.log('  top functions (self):');
    for (const [f, ms] of s.functions) console.log(`    ${(ms / 1000).toFixed(2).padStart(7)} s  ${f}`);
  }
}
