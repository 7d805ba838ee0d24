/**
 * Comparing vendor and model names from different rule sets: "TP-LINK", "TP-Link" and
 * "TP-LINK Technologies Co., Ltd." are one maker; "Aterm WG2600HP" and "aterm-wg2600hp" one model.
 */

/** Company-form words that do not tell makers apart. */
const companyWords = /\b(?:inc|incorporated|corp|corporation|co|company|ltd|limited|llc|gmbh|ag|sa|plc|kk|technologies|technology|tech|networks|network|systems|electronics|electric|digital|international|group)\b/g;

/** Known spellings of one maker, after the generic normalisation. */
const vendorAliases: Readonly<Record<string, string>> = {
  hangzhouhikvision: 'hikvision',
  hikvisiondigital: 'hikvision',
  zhejiangdahua: 'dahua',
  xiongmaitech: 'xiongmai',
  hangzhouxiongmai: 'xiongmai',
  iodatadevice: 'iodata',
  buffaloinc: 'buffalo',
  melco: 'buffalo',
  yamahacorporation: 'yamaha',
  necplatforms: 'nec',
  panasonicconnect: 'panasonic',
  panasonicsystem: 'panasonic',
  sonycorporation: 'sony',
  ubiquitinetworks: 'ubiquiti',
  ubnt: 'ubiquiti',
  huaweitechnologies: 'huawei',
  ztecorporation: 'zte',
  synologyinc: 'synology',
  tplinktechnologies: 'tplink',
  sercommcorporation: 'sercomm',
  ubeeinteractive: 'ubee',
};

const vendorMemo = new Map<string, string>();
const memoCap = 10_000;

/** A comparable key for a maker's name; "" for no name. */
export function vendorKey(name: string | null | undefined): string {
  if (!name) return '';
  const hit = vendorMemo.get(name);
  if (hit !== undefined) return hit;
  const key = computeVendorKey(name);
  if (vendorMemo.size >= memoCap) vendorMemo.clear();
  vendorMemo.set(name, key);
  return key;
}

function computeVendorKey(name: string): string {
  const plain = name.toLowerCase().replace(/[^a-z0-9]+/g, ' ');
  const stripped = plain.replace(companyWords, ' ').replace(/\s+/g, '');
  const key = stripped || plain.replace(/\s+/g, '');
  return vendorAliases[key] ?? key;
}

/** A comparable key for a model name: lower case, letters and digits only. */
export function modelKey(name: string | null | undefined): string {
  return name ? name.toLowerCase().replace(/[^a-z0-9]+/g, '') : '';
}
