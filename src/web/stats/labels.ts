/** Names of finding kinds and device types in ja/en, shared by the dashboard and the statistics pages. */
import { deviceTypes, findingKinds, type FindingKind } from '../../core/records.js';
import type { Messages } from '../i18n.js';
import type { Lang } from '../types.js';

export const kindNames = {
  'weak-credential': { ja: '脆弱なID・パスワード', en: 'Weak ID/password' },
  'firmware-vulnerability': { ja: 'ファームウェアの脆弱性', en: 'Firmware vulnerability' },
  infected: { ja: 'マルウェア感染', en: 'Infected' },
  'exposed-service': { ja: '公開されたサービス', en: 'Exposed service' },
  'unauthenticated-admin': { ja: '認証なしの管理画面', en: 'Unauthenticated admin page' },
  'end-of-life': { ja: 'サポート終了機器', en: 'End of life device' },
  'c2-server': { ja: 'C&Cサーバ', en: 'C&C server' },
} as const satisfies Record<FindingKind, { ja: string; en: string }>;

export const typeNames = {
  router: { ja: 'ルータ', en: 'Router' },
  'access-point': { ja: '無線アクセスポイント', en: 'Access point' },
  modem: { ja: 'モデム', en: 'Modem' },
  switch: { ja: 'スイッチ', en: 'Switch' },
  firewall: { ja: 'ファイアウォール', en: 'Firewall' },
  camera: { ja: 'ネットワークカメラ', en: 'Camera' },
  dvr: { ja: 'レコーダ (DVR)', en: 'DVR' },
  nas: { ja: 'NAS', en: 'NAS' },
  printer: { ja: 'プリンタ', en: 'Printer' },
  iot: { ja: 'IoT機器', en: 'IoT device' },
  voip: { ja: 'VoIP機器', en: 'VoIP device' },
  media: { ja: 'メディア機器', en: 'Media device' },
  server: { ja: 'サーバ', en: 'Server' },
  other: { ja: 'その他', en: 'Other' },
} as const satisfies Record<(typeof deviceTypes)[number], { ja: string; en: string }>;

const unknown: Messages[string] = { ja: '不明', en: 'Unknown' };

/** A finding kind's name (an unknown value is shown as it is). */
export const kindName = (lang: Lang, kind: string): string => ((findingKinds as readonly string[]).includes(kind) ? kindNames[kind as FindingKind][lang] : kind);

/** A device type's name; '' or null is "unknown". */
export const typeName = (lang: Lang, type: string | null): string =>
  type === null || type === '' ? unknown[lang] : (deviceTypes as readonly string[]).includes(type) ? typeNames[type as (typeof deviceTypes)[number]][lang] : type;
