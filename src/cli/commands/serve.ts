/**
 * `iotclean serve`: the web server (operators' dashboard, ISP portal, public site) on one store,
 * on 127.0.0.1 unless told otherwise. Accounts are made with `iotclean accounts`.
 */
import { surveyUrlMismatch } from '../../grab/http/client.js';
import { loadContacts } from '../../notify/contacts.js';
import { parseSmtpUrl } from '../../notify/mail.js';
import { loadIspTable } from '../../scope/isp.js';
import { createWebApp, serveWeb, webContext } from '../../web/server.js';
import { defineCommand, type Output } from '../command.js';
import { stopOnSignal, storeOption, withStore } from '../context.js';

/** The SMTP URL, refused at start-up (E_ARGS) rather than at the first opt-out when malformed. */
const checkedSmtp = (url: string): string => {
  parseSmtpUrl(url);
  return url;
};

export const serveCommand = defineCommand({
  name: 'serve',
  description: 'Serve the dashboard, the ISP portal and the public site from the store (127.0.0.1:8780 by default); Ctrl-C stops it.',
  options: {
    host: { type: 'string', value: 'ADDR', description: 'address to listen on', default: '127.0.0.1' },
    port: { type: 'number', value: 'N', integer: true, min: 0, max: 65535, description: 'port to listen on (0: any free port)', default: 8780 },
    'trust-proxy': { type: 'string', value: 'LIST', list: true, description: 'reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed' },
    'public-url': { type: 'string', value: 'URL', description: 'the address users reach the site at (for links in mails, and the survey User-Agent\'s /about-survey), e.g. https://notice.example.jp; default IOTCLEAN_PUBLIC_URL, which the survey commands read too' },
    isps: { type: 'string', value: 'FILE', description: 'prefix → ISP table: whose abuse contact confirms an opt-out for a network' },
    contacts: { type: 'string', value: 'FILE', description: 'ISP abuse contacts (isp_id,email,language), mailed to confirm opt-outs' },
    smtp: { type: 'string', value: 'URL', description: 'SMTP relay for opt-out confirmation mails, e.g. smtp://127.0.0.1:2525' },
    'survey-sources': { type: 'string', value: 'LIST', list: true, description: 'the addresses surveys are sent from, shown on /about-survey' },
    'survey-contact': { type: 'string', value: 'TEXT', description: 'whom to contact about the survey, shown on /about-survey' },
    ...storeOption,
  },
  async run(o, _args, out: Output) {
    const publicUrl = o['public-url'] ?? process.env.IOTCLEAN_PUBLIC_URL;
    const stop = stopOnSignal();
    try {
      return await withStore(o.db, async (store) => {
        const ctx = webContext(store, {
          ...(o['trust-proxy'] !== undefined ? { trustProxy: o['trust-proxy'].split(',').map((s) => s.trim()).filter(Boolean) } : {}),
          ...(publicUrl !== undefined ? { publicUrl } : {}),
          ...(o.isps !== undefined ? { ispTable: await loadIspTable(o.isps) } : {}),
          ...(o.contacts !== undefined ? { contacts: await loadContacts(o.contacts) } : {}),
          ...(o.smtp !== undefined ? { smtp: checkedSmtp(o.smtp) } : {}),
          ...(o['survey-sources'] !== undefined || o['survey-contact'] !== undefined
            ? { survey: { sourceAddresses: (o['survey-sources'] ?? '').split(',').map((s) => s.trim()).filter(Boolean), contact: o['survey-contact'] ?? '' } }
            : {}),
        });
        const mismatch = surveyUrlMismatch(publicUrl);
        if (mismatch !== null) out.info(`note: ${mismatch}`);
        const web = await serveWeb(createWebApp(ctx), { host: o.host, port: o.port });
        const accounts = (await store.web.listAccounts()).filter((a) => !a.disabled).length;
        out.result(`iotclean web on ${web.url} (${accounts} account(s)); Ctrl-C stops it`, { url: web.url, accounts });
        await new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve(), { once: true })));
        await web.close();
        return 0;
      });
    } finally {
      stop.done();
    }
  },
});
