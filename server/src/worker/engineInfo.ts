/** Normalises describeEngines()'s answer into the protocol's EngineInfoResult (tolerant of its exact shape). */
import type { EngineInfo } from '../../../protocol/results';
import type { EngineInfoResult } from '../../../protocol/messages';

function isInfo(x: unknown): x is EngineInfo {
  return !!x && typeof x === 'object' && typeof (x as EngineInfo).engine === 'string' && typeof (x as EngineInfo).device === 'string';
}

export function toEngineInfoResult(described: unknown): EngineInfoResult {
  const engines: EngineInfoResult['engines'] = [];
  let preferred: EngineInfo | null = null;
  const d = described as Record<string, unknown> | unknown[] | null;
  const list: unknown[] = Array.isArray(d)
    ? d
    : d && typeof d === 'object'
      ? Array.isArray((d as Record<string, unknown>).engines)
        ? ((d as Record<string, unknown>).engines as unknown[])
        : Object.values(d)
      : [];
  if (d && !Array.isArray(d) && typeof d === 'object') {
    for (const k of ['preferred', 'auto', 'selected', 'default']) if (isInfo(d[k])) preferred = d[k] as EngineInfo;
  }
  for (const e of list) {
    if (!e || typeof e !== 'object') continue;
    const o = e as Record<string, unknown>;
    if (isInfo(e) && o.available !== false) {
      const { engine, backend, device, version } = e;
      engines.push({
        name: engine,
        available: true,
        info: { engine, backend, device, version },
        ...(typeof o.note === 'string' ? { reason: o.note } : {}),
      });
      continue;
    }
    const info = isInfo(o.info) ? (o.info as EngineInfo) : null;
    const name = String(o.name ?? o.engine ?? info?.engine ?? 'unknown');
    const available = typeof o.available === 'boolean' ? o.available : info !== null;
    const reason = [o.reason, o.note, o.error].find((x): x is string => typeof x === 'string');
    engines.push({ name, available, info, ...(reason ? { reason } : {}) });
  }
  preferred ??= engines.find((e) => e.available && e.info?.device === 'gpu')?.info ?? engines.find((e) => e.available)?.info ?? null;
  return { preferred, engines };
}
