import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtInDictionaryPath, loadDictionary } from './dictionary.js';
import { loadPlanDictionary, resolveDictionaryPath } from './plan-dictionary.js';

describe('resolveDictionaryPath', () => {
  it('maps the built-in name, keeps absolute paths, and reads relative ones from the plan folder', () => {
    expect(resolveDictionaryPath('default')).toBe(builtInDictionaryPath());
    expect(resolveDictionaryPath('/srv/lists/a.yaml', '/etc/plans/p.yaml')).toBe('/srv/lists/a.yaml');
    expect(resolveDictionaryPath('lists/a.yaml', '/etc/plans/p.yaml')).toBe(join('/etc/plans', 'lists', 'a.yaml'));
    expect(resolveDictionaryPath('../a.yaml', '/etc/plans/p.yaml')).toBe('/etc/a.yaml');
    // A stored plan has no file: relative paths are taken from the working folder.
    expect(resolveDictionaryPath('a.yaml')).toBe(resolve('a.yaml'));
  });
});

describe('loadPlanDictionary', () => {
  it('loads the built-in list and accepts its own digest as the pin', async () => {
    const d = await loadDictionary();
    expect((await loadPlanDictionary({ dictionary: 'default', dictionaryDigest: d.digest })).digest).toBe(d.digest);
  });

  it('refuses a pin that does not match, naming the plan file and the digest to set', async () => {
    const wrong = '0'.repeat(64);
    const actual = (await loadDictionary()).digest;
    await expect(loadPlanDictionary({ dictionary: 'default', dictionaryDigest: wrong }, '/etc/plans/p.yaml')).rejects.toMatchObject({
      code: 'E_PLAN_FILE',
      where: { file: '/etc/plans/p.yaml', hint: expect.stringContaining(actual) },
    });
  });
});
