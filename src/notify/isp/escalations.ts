/**
 * The escalation list: subscribers whose device stayed vulnerable or infected after N alerts that
 * demonstrably reached them (the SMTP server accepted them), with the evidence — alert dates and
 * the server's answers, and the re-scans that saw the problem still there. It is the input a
 * connection-refusal guideline asks for; iotclean only lists, it never disconnects anyone.
 */
import type { AlertRecord } from '../../store/cases.js';
import type { Store } from '../../store/store.js';
import type { TrackedCase } from './cases.js';
import type { Verification } from './types.js';

export interface EscalationRow {
  readonly case: TrackedCase;
  /** Every alert tried, delivered or not, in order. */
  readonly alerts: readonly AlertRecord[];
  readonly verifications: readonly Verification[];
  /** The latest re-scan that saw the problem still present. */
  readonly lastPresent: Verification;
}

/**
 * Cases escalated, or still open (persisting, re-alerted) with at least `minDelivered` delivered
 * alerts delivered before their latest re-scan, which still saw the problem.
 */
export async function listEscalations(store: Store, minDelivered: number): Promise<EscalationRow[]> {
  const out: EscalationRow[] = [];
  for (const c of await store.cases.list({ states: ['escalated', 'persisting', 're-alerted'] })) {
    if (c.alertsDelivered < minDelivered) continue;
    const alerts = await store.cases.alerts(c.reference);
    const delivered = alerts.filter((a) => a.delivered);
    const verifications = await store.cases.verifications(c.reference);
    const latest = verifications.reduce<Verification | undefined>((a, v) => (a === undefined || v.at >= a.at ? v : a), undefined);
    // The evidence must show the problem still there after N alerts reached the subscriber (a
    // re-alert sent after that re-scan does not hide it).
    if (!latest?.present || delivered.filter((a) => a.at < latest.at).length < minDelivered) continue;
    out.push({ case: c, alerts, verifications, lastPresent: latest });
  }
  return out;
}

/** The list for people: one block per case with its evidence. */
export function escalationsText(rows: readonly EscalationRow[], minDelivered: number): string {
  if (!rows.length) return `no subscriber stayed at risk after ${minDelivered} delivered alert(s)`;
  const lines: string[] = [`${rows.length} case(s) still at risk after ${minDelivered}+ delivered alert(s) (iotclean lists; it never disconnects):`];
  for (const r of rows) {
    const c = r.case;
    lines.push('', `${c.reference}  subscriber ${c.subscriber}  ${c.findingKind} port ${c.port ?? '-'}  ${c.state}  ${c.alertsDelivered} delivered  opened ${c.openedAt}`);
    lines.push(`  device: ${[c.device.vendor, c.device.model, c.device.firmware].filter(Boolean).join(' ') || 'unidentified'}; last seen ${c.lastIp} at ${r.lastPresent.at}`);
    for (const a of r.alerts) lines.push(`  alert ${a.at}  ${a.channel} ${a.recipient}  ${a.delivered ? 'delivered' : 'NOT delivered'}  ${JSON.stringify(a.response ?? '')}`);
    for (const v of r.verifications) lines.push(`  re-scan ${v.at}  ${v.ip}:${v.port ?? '-'}  ${v.present ? 'still present' : 'gone'}${v.ticket ? `  (${v.ticket})` : ''}`);
  }
  return lines.join('\n');
}
