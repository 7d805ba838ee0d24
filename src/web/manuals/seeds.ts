/**
 * The shipped remediation manuals (./data/<key>.yaml): per manual key of the device catalogue, a
 * title and a plain-text body in Japanese and English, the device type its generic steps are for,
 * and the catalogue models that use it. They are the first version of each manual in the store;
 * from then on operators edit the store's copy (every edit a new version), so a seed is loaded
 * only for a key the store does not know yet.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { deviceTypes } from '../../core/records.js';
import { IotcleanError } from '../../core/errors.js';
import { firstIssue, readYamlFolder } from '../../identify/data-files.js';
import type { Store } from '../../store/store.js';
import type { ManualText, SupportLang } from '../../store/web-support.js';

/** A manual key, as the catalogue writes it and as it appears in /manuals/<key>. */
export const manualKeyPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;

export const manualLimits = { title: 200, body: 20_000, note: 500 } as const;

const textSchema = z.strictObject({
  title: z.string().trim().min(1).max(manualLimits.title),
  body: z.string().min(1).max(manualLimits.body),
});

const seedSchema = z.strictObject({
  key: z.string().regex(manualKeyPattern, 'a kebab-case manual key'),
  type: z.enum(deviceTypes),
  /** "Vendor Model" of the catalogue entries that use this manual (documentation; a test checks it). */
  models: z.array(z.string().min(1)).min(1),
  ja: textSchema,
  en: textSchema,
});

export interface ManualSeed {
  readonly key: string;
  readonly type: (typeof deviceTypes)[number];
  readonly models: readonly string[];
  readonly texts: Readonly<Record<SupportLang, ManualText>>;
  /** SHA-256 of the texts, kept in the version note ("seed sha256:…"). */
  readonly digest: string;
}

/** Where the shipped manuals are: beside this module from source, else src/ when run from dist/. */
export function defaultManualDir(): string {
  const candidates = [fileURLToPath(new URL('./data/', import.meta.url)), fileURLToPath(new URL('../../../../src/web/manuals/data/', import.meta.url))];
  for (const dir of candidates) if (existsSync(dir)) return dir;
  throw new IotcleanError('E_NOT_FOUND', 'the shipped manuals were not found', { hint: `looked in ${candidates.join(', ')}` });
}

/** Read and check every manual file of a folder; an error names the file and the field. */
export function loadManualSeeds(dir: string = defaultManualDir()): ManualSeed[] {
  const seen = new Set<string>();
  return readYamlFolder(dir, 'E_ARGS', 'manual').map((f) => {
    const r = seedSchema.safeParse(f.data);
    if (!r.success) throw new IotcleanError('E_ARGS', `bad manual file: ${firstIssue(r.error)}`, { file: f.file, hint: 'a manual is key, type, models, and ja/en each with title and body' });
    if (r.data.key !== f.stem) throw new IotcleanError('E_ARGS', `manual file ${f.stem}.yaml holds key ${r.data.key}`, { file: f.file, hint: 'name the file after its key' });
    if (seen.has(r.data.key)) throw new IotcleanError('E_ARGS', `manual ${r.data.key} twice`, { file: f.file, hint: 'one file per key' });
    seen.add(r.data.key);
    const texts = { ja: r.data.ja, en: r.data.en };
    return { key: r.data.key, type: r.data.type, models: r.data.models, texts, digest: createHash('sha256').update(JSON.stringify(texts)).digest('hex') };
  });
}

/** Put the seeds the store lacks into it (idempotent; safe when two servers start at once). Returns the keys added. */
export async function seedManuals(store: Store, seeds: readonly ManualSeed[], nowMs: number): Promise<string[]> {
  const added: string[] = [];
  for (const s of seeds) if (await store.support.seedManual(s.key, s.texts, `seed sha256:${s.digest.slice(0, 16)}`, nowMs)) added.push(s.key);
  return added;
}
