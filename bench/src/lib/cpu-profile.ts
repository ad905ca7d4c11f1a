/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and says where the time went: the functions with
 * the most self time, the packages that time belongs to, and the regstack functions with the most inclusive
 * time (themselves plus everything they called). Idle time is left out of every percentage.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  where: string;
  ms: number;
  percent: number;
}

/** One long interval between two samples: the main thread did not come back for that long. */
export interface ProfileGap {
  ms: number;
  /** Innermost frames first. */
  stack: string[];
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  /**
   * The longest intervals between samples, with the stack the thread was in: a stall inside a synchronous call
   * (an fsync, a big JSON) shows that call; a thread waiting for a core shows wherever it was preempted.
   */
  longestGaps: ProfileGap[];
  topSelf: ProfileEntry[];
  byPackage: ProfileEntry[];
  regstackInclusive: ProfileEntry[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function shortUrl(url: string): string {
  if (!url) return '';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const workspace = url.search(/\/(server|shared|client|bench)\/src\//);
  if (workspace >= 0) return url.slice(workspace + 1);
  return url.replace(/^file:\/\//, '');
}

/** The package a frame belongs to: an npm package name, a workspace package, `node:` internals, or V8. */
function packageOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return SPECIAL.has(functionName) ? functionName : '(native/V8)';
  if (url.startsWith('node:')) return 'node: internals';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const workspace = /\/(server|shared|client|bench)\/src\//.exec(url);
  if (workspace) return `@regstack/${workspace[1]}`;
  return url;
}

export async function summarizeCpuProfile(path: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const keyOf = (node: ProfileNode) =>
    `${node.callFrame.functionName || '(anonymous)'}\u0000${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;

  const self = new Map<string, number>();
  const packages = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  const gaps: Array<{ us: number; id: number }> = [];
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    // A sample's weight is the time until the next sample (the first delta belongs to the start).
    const us = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    if (!node) continue;
    gaps.push({ us, id: node.id });
    if (node.callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const key = keyOf(node);
    self.set(key, (self.get(key) ?? 0) + us);
    const pkg = packageOf(node);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
    // Inclusive time of regstack's own functions: each function once per sample, however deep it recurs.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id);
      if (!frame || !/\/(server|shared)\/src\//.test(frame.callFrame.url)) continue;
      const k = keyOf(frame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const toEntries = (map: Map<string, number>, n: number): ProfileEntry[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, us]) => {
        const [name, where] = key.split('\u0000');
        return { name: name ?? key, where: where ?? '', ms: us / 1000, percent: busyUs ? (100 * us) / busyUs : 0 };
      });
  const stackOf = (id: number): string[] => {
    const frames: string[] = [];
    for (let at: number | undefined = id; at !== undefined && frames.length < 8; at = parent.get(at)) {
      const frame = byId.get(at);
      if (!frame || frame.callFrame.functionName === '(root)') continue;
      const where = shortUrl(frame.callFrame.url);
      frames.push(
        `${frame.callFrame.functionName || '(anonymous)'}${where ? ` ${where}:${frame.callFrame.lineNumber + 1}` : ''}`,
      );
    }
    return frames;
  };
  const longestGaps = gaps
    .sort((a, b) => b.us - a.us)
    .slice(0, 5)
    .map((g) => ({ ms: g.us / 1000, stack: stackOf(g.id) }));
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    longestGaps,
    topSelf: toEntries(self, top),
    byPackage: toEntries(packages, top),
    regstackInclusive: toEntries(inclusive, top),
  };
}
