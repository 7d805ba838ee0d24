/**
 * The device-model catalogue: what is publicly known of each model (maker, type, release year, end
 * of support, support page, remediation manual), as data in src/identify/catalogue/*.yaml. It feeds
 * the statistics by release year and tells notify which manual a subscriber gets. Every entry cites
 * where its dates come from; a date nobody published stays null.
 */
import { z } from 'zod';
import { deviceTypes, type CatalogueEntry } from '../core/records.js';
import { IotcleanError } from '../core/errors.js';
import { defaultDataDir, firstIssue, readYamlFolder } from './data-files.js';
import { modelKey, vendorKey } from './names.js';

const entrySchema = z.strictObject({
  vendor: z.string().min(1),
  model: z.string().min(1),
  /** Other spellings of the model seen in banners and titles ("WG2600HP" for "Aterm WG2600HP"). */
  aliases: z.array(z.string().min(1)).default([]),
  type: z.enum(deviceTypes),
  releaseYear: z.number().int().min(1980).max(2100).nullable(),
  endOfLife: z.iso.date().nullable(),
  supportUrl: z.url().nullable(),
  manual: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a kebab-case manual key').nullable(),
  /** Public page(s) the dates and type were taken from. */
  reference: z.array(z.url()).min(1),
});

const fileSchema = z.strictObject({ entries: z.array(z.unknown()).min(1) });

export interface Catalogue {
  readonly entries: readonly CatalogueEntry[];
  /** The entry for a maker's model (any known spelling of either), else null. */
  lookup(vendor: string | null | undefined, model: string | null | undefined): CatalogueEntry | null;
}

/** Build a catalogue from parsed files; errors name the file and the entry. */
export function compileCatalogue(files: readonly { readonly file: string; readonly data: unknown }[]): Catalogue {
  const entries: CatalogueEntry[] = [];
  const index = new Map<string, CatalogueEntry>();
  for (const f of files) {
    const parsed = fileSchema.safeParse(f.data);
    if (!parsed.success) {
      throw new IotcleanError('E_CATALOGUE_FILE', `bad catalogue file: ${firstIssue(parsed.error)}`, { file: f.file, hint: 'a catalogue file is "entries:" followed by a list of models' });
    }
    parsed.data.entries.forEach((raw, i) => {
      const r = entrySchema.safeParse(raw);
      const model = (raw as { model?: unknown } | null)?.model;
      const name = typeof model === 'string' ? `entry "${model}"` : `entry #${i + 1}`;
      if (!r.success) {
        throw new IotcleanError('E_CATALOGUE_FILE', `${name}: ${firstIssue(r.error)}`, {
          file: f.file,
          hint: 'each entry needs vendor, model, type, releaseYear, endOfLife, supportUrl, manual and reference (src/identify/catalogue.ts)',
        });
      }
      const e = r.data;
      const entry: CatalogueEntry = {
        vendor: e.vendor,
        model: e.model,
        type: e.type,
        releaseYear: e.releaseYear,
        endOfLife: e.endOfLife,
        supportUrl: e.supportUrl,
        manual: e.manual,
      };
      const v = vendorKey(e.vendor);
      for (const spelling of [e.model, ...e.aliases]) {
        const key = `${v}/${modelKey(spelling)}`;
        const other = index.get(key);
        if (other && other !== entry) {
          throw new IotcleanError('E_CATALOGUE_FILE', `${name}: the spelling "${spelling}" also names ${other.vendor} ${other.model}`, { file: f.file, hint: 'each model spelling belongs to one entry' });
        }
        index.set(key, entry);
      }
      entries.push(entry);
    });
  }
  return {
    entries,
    lookup(vendor, model) {
      if (!vendor || !model) return null;
      return index.get(`${vendorKey(vendor)}/${modelKey(model)}`) ?? null;
    },
  };
}

/** Where the catalogue files live by default. */
export function defaultCatalogueDir(): string {
  return defaultDataDir('catalogue', 'E_CATALOGUE_FILE');
}

/** Load and validate every catalogue file in a folder (default: src/identify/catalogue/). */
export function loadCatalogue(dir: string = defaultCatalogueDir()): Catalogue {
  return compileCatalogue(readYamlFolder(dir, 'E_CATALOGUE_FILE', 'catalogue'));
}

/** An empty catalogue (no model known). */
export const emptyCatalogue: Catalogue = { entries: [], lookup: () => null };
