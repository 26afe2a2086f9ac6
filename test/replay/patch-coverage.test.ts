// Every patch id the workflows use is exercised by at least one stored history (its `core_patch`
// marker is in the history's events), so the replay test proves both branches of each `patched()`
// call: the old one through the histories recorded before the id, the new one through these.
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import * as patches from '../../workflows/patches.ts';

const dir = new URL('histories/', import.meta.url);

/**
 * Patch ids no stored history carries, each with the reason a recording cannot reach it. Keep this
 * short: an id leaves the list as soon as a scenario in record-histories.test.ts records it.
 */
const NOT_RECORDED: Readonly<Record<string, string>> = {};

/** The patch ids in the `core_patch` markers of one stored history (JSON as historyToJSON writes it). */
function patchIdsIn(json: string): string[] {
  const history = JSON.parse(json) as {
    events: {
      markerRecordedEventAttributes?: {
        markerName?: string;
        details?: Record<string, { payloads?: { data?: string }[] }>;
      };
    }[];
  };
  const ids: string[] = [];
  for (const event of history.events) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') continue;
    for (const payload of marker.details?.['patch-data']?.payloads ?? []) {
      const data = JSON.parse(Buffer.from(payload.data ?? '', 'base64').toString('utf8')) as { id?: string };
      if (data.id) ids.push(data.id);
    }
  }
  return ids;
}

describe('stored histories cover the patch ids', () => {
  it('every patch id in workflows/patches.ts is in some stored history, or in the commented allow-list', async () => {
    const declared: string[] = Object.values(patches).filter((v) => typeof v === 'string');
    expect(declared.length).toBeGreaterThan(0);
    const recorded = new Map<string, string[]>();
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
      for (const id of patchIdsIn(await readFile(new URL(file, dir), 'utf8'))) {
        recorded.set(id, [...(recorded.get(id) ?? []), file]);
      }
    }
    const missing = declared.filter((id) => !recorded.has(id) && !(id in NOT_RECORDED));
    expect(missing, 'patch ids no stored history carries (record a scenario for each)').toEqual([]);
    // An allow-listed id that a history now carries leaves the list.
    const stale = Object.keys(NOT_RECORDED).filter((id) => recorded.has(id));
    expect(stale, 'allow-listed patch ids that a history now carries').toEqual([]);
    // A marker of an id the workflows no longer declare: the list above would miss its removal.
    const unknown = [...recorded.keys()].filter((id) => !declared.includes(id));
    expect(unknown, 'patch ids in stored histories that workflows/patches.ts does not declare').toEqual([]);
  });
});
