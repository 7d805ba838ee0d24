/**
 * `iotclean serve`: the web server (operators' dashboard, ISP portal, public site) on one store,
 * on 127.0.0.1 unless told otherwise. Accounts are made with `iotclean accounts`.
 */
import { createWebApp, serveWeb, webContext } from '../../web/server.js';
import { defineCommand, type Output } from '../command.js';
import { storeOption, withStore } from '../context.js';
import { stopOnSignal } from './survey.js';

export const serveCommand = defineCommand({
  name: 'serve',
  description: 'Serve the dashboard, the ISP portal and the public site from the store (127.0.0.1:8780 by default); Ctrl-C stops it.',
  options: {
    host: { type: 'string', value: 'ADDR', description: 'address to listen on', default: '127.0.0.1' },
    port: { type: 'number', value: 'N', integer: true, min: 0, max: 65535, description: 'port to listen on (0: any free port)', default: 8780 },
    'trust-proxy': { type: 'string', value: 'LIST', list: true, description: 'reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed' },
    'public-url': { type: 'string', value: 'URL', description: 'the address users reach the site at (for links in mails), e.g. https://notice.example.jp' },
    ...storeOption,
  },
  async run(o, _args, out: Output) {
    const stop = stopOnSignal();
    try {
      return await withStore(o.db, async (store) => {
        const ctx = webContext(store, {
          ...(o['trust-proxy'] !== undefined ? { trustProxy: o['trust-proxy'].split(',').map((s) => s.trim()).filter(Boolean) } : {}),
          ...(o['public-url'] !== undefined ? { publicUrl: o['public-url'] } : {}),
        });
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
