/**
 * The browser's files: ./static/*.css|js|svg, served as they are (no build step). Only names made
 * of [a-z0-9-] with a known extension are answered, so no path leaves the folder.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WebModule } from './types.js';

const types: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8', svg: 'image/svg+xml' };

// From src/web/ under vitest/tsx, from dist/src/web/ once built (tsc does not copy these files).
const folders = [new URL('./static/', import.meta.url), new URL('../../../src/web/static/', import.meta.url)].map((u) => fileURLToPath(u));

const cache = new Map<string, Buffer | null>();
function read(name: string): Buffer | null {
  if (cache.has(name)) return cache.get(name)!;
  let body: Buffer | null = null;
  for (const dir of folders) {
    try {
      body = readFileSync(dir + name);
      break;
    } catch {
      // try the next folder
    }
  }
  cache.set(name, body);
  return body;
}

export const staticModule: WebModule = {
  name: 'static',
  mount(app) {
    app.get('/static/:file{[a-z0-9-]+\\.(css|js|svg)}', (c) => {
      const name = c.req.param('file');
      const body = read(name);
      if (body === null) return c.text('not found', 404);
      return c.body(new Uint8Array(body), 200, { 'Content-Type': types[name.split('.').pop()!]!, 'Cache-Control': 'public, max-age=300' });
    });
  },
};
