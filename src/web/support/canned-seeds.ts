/**
 * The desk's first canned answers (for any model, ja and en), stored once when the desk has none
 * at all; from then on operators edit, add and delete them (a deleted one stays deleted: deletion
 * is a flag, so the table is never empty again and nothing comes back).
 */
import type { Store } from '../../store/store.js';
import type { SupportLang } from '../../store/web-support.js';

export const cannedSeeds: readonly { readonly lang: SupportLang; readonly title: string; readonly body: string }[] = [
  {
    lang: 'ja',
    title: 'パスワードの変え方',
    body: 'お問い合わせありがとうございます。\n機器の設定画面にログインし、管理者のパスワードを長く推測されにくいものに変更してください。設定画面の開き方とメニューの場所は、機種ごとに異なりますので、マニュアルのページと、メーカーの取扱説明書をご覧ください。\n変更後は、新しいパスワードを控えておいてください。当窓口からパスワードをお尋ねすることはありません。',
  },
  {
    lang: 'en',
    title: 'How to change the password',
    body: 'Thank you for your question.\nLog in to the device\'s settings page and change the administrator password to a long one that is hard to guess. How to open the settings page and where the menu is differ by model: see the manual page and the maker\'s manual.\nKeep a note of the new password. This desk will never ask you for it.',
  },
  {
    lang: 'ja',
    title: '感染の疑い: 初期化してから設定',
    body: 'お問い合わせありがとうございます。\nマルウェアに感染している可能性があります。機器を初期化（工場出荷時の状態に戻す）し、インターネットにつなぐ前に管理者パスワードの変更とファームウェアの更新を行ってください。初期化の方法はメーカーの取扱説明書をご覧ください。初期化すると接続設定も消えますので、プロバイダーの接続用 ID とパスワードを手元にご用意ください。',
  },
  {
    lang: 'en',
    title: 'Possible infection: reset, then secure',
    body: 'Thank you for your question.\nThe device may be infected with malware. Reset it to its factory settings, then change the administrator password and update the firmware before connecting it to the Internet again. How to reset is in the maker\'s manual. A reset also erases the connection settings, so have your provider\'s connection ID and password at hand.',
  },
  {
    lang: 'ja',
    title: 'プロバイダーからのレンタル機器',
    body: 'お問い合わせありがとうございます。\nプロバイダー（ISP）からレンタルされている機器は、設定やファームウェアの更新を ISP が管理していることがあります。お手数ですが、受付番号を添えてご契約の ISP のサポートにご相談ください。',
  },
  {
    lang: 'en',
    title: 'Device rented from the provider',
    body: 'Thank you for your question.\nA device rented from your Internet provider (ISP) may have its settings and firmware managed by the ISP. Please contact your ISP\'s support and quote the reference in your notice.',
  },
];

/** Store the seeds when the desk has no canned answer at all (not even a deleted one). */
export async function seedCanned(store: Store, nowMs: number): Promise<boolean> {
  const any = await store.db.selectFrom('web_support_canned').select('id').limit(1).executeTakeFirst();
  if (any) return false;
  for (const s of cannedSeeds) await store.support.saveCanned({ modelKey: null, lang: s.lang, title: s.title, body: s.body, by: 'seed' }, nowMs);
  return true;
}
