/**
 * The lab models real defaults, so every weak pool pair must be one the default dictionary tries on
 * that device's logins (src/access/dictionary/default-list.test.ts checks the pairs are listed; this
 * also checks an entry is not limited to other protocols), and a weak lock-out device must be found
 * before it locks: with the maker identified, its pairs come early enough that the failures before
 * them, plus a control pair, stay under the device's limit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDictionary, orderFor, type Dictionary } from '../access/dictionary/index.js';
import { loadProfiles } from './profiles.js';
import { accessProtocolOf } from './score-access.js';

let dict: Dictionary;
beforeAll(async () => {
  dict = await loadDictionary();
});
const profiles = loadProfiles();

describe('lab weak pools and the default dictionary', () => {
  it('tries every weak pool pair on every login protocol of its profile', () => {
    const missing: string[] = [];
    for (const p of profiles) {
      const protocols = [...new Set(p.services.map((s) => accessProtocolOf(s.auth)).filter((x) => x !== null))];
      for (const c of p.weakCredentials) {
        for (const protocol of protocols) {
          const listed = orderFor(dict, null, { protocol }).some((e) => e.username === c.username && e.password === c.password);
          if (!listed) missing.push(`${p.id}: ${c.username}/${c.password} on ${protocol}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('puts a lock-out profile\'s weak pairs before its lock, once its maker is identified', () => {
    const lockouts = profiles.filter((p) => p.behaviour === 'lockout');
    expect(lockouts.length).toBeGreaterThan(0);
    const late: string[] = [];
    for (const p of lockouts) {
      // One control pair (HTTP modules send it first) may count as a failure too.
      const limit = (p.lockoutAfter ?? 5) - 1;
      for (const hint of [{ vendor: p.vendor, product: null, type: p.type }, { vendor: p.vendor, product: p.model, type: p.type }]) {
        const order = orderFor(dict, hint);
        for (const c of p.weakCredentials) {
          const rank = order.findIndex((e) => e.username === c.username && e.password === c.password) + 1;
          if (rank < 1 || rank > limit) late.push(`${p.id} (${hint.product ?? 'vendor only'}): ${c.username} at #${rank}, limit ${limit}`);
        }
      }
    }
    expect(late).toEqual([]);
  });
});
