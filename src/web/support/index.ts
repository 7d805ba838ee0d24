/**
 * The support desk and the remediation manuals as one part of the site (issue 10 item 4, and the
 * manuals of item 3): see ../manuals/routes.ts and ./routes.ts. The catalogue and the shipped
 * manuals are read when the part is mounted; the manuals are put into the store on first use.
 */
import { loadCatalogue, type Catalogue } from '../../identify/catalogue.js';
import { deskDeps } from '../manuals/deps.js';
import { mountManuals } from '../manuals/routes.js';
import { loadManualSeeds, type ManualSeed } from '../manuals/seeds.js';
import type { WebModule } from '../types.js';
import { mountSupport } from './routes.js';

export interface SupportModuleOptions {
  /** Default: src/identify/catalogue/. */
  readonly catalogue?: Catalogue;
  /** Default: src/web/manuals/data/. */
  readonly seeds?: readonly ManualSeed[];
}

export function createSupportModule(o: SupportModuleOptions = {}): WebModule {
  return {
    name: 'support',
    mount(app, ctx) {
      const deps = deskDeps(ctx, o.catalogue ?? loadCatalogue(), o.seeds ?? loadManualSeeds());
      // Seed at start so the first visitor does not wait; a failure here is retried on first use.
      deps.ready().catch((e: unknown) => console.error(`web: manuals not seeded yet: ${(e as Error).message}`));
      mountManuals(app, ctx, deps);
      mountSupport(app, ctx, deps);
    },
  };
}

export const supportModule: WebModule = createSupportModule();
