/**
 * Serving a fetch handler (a hono app) on host:port, for every HTTP server of the product (the
 * ISP API, the web server, the TAXII server): 127.0.0.1 and a free port unless told otherwise,
 * and a close that ends open keep-alive connections instead of waiting for clients to leave.
 */
import type { Server } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';

export interface RunningServer {
  /** http://host:port, with an IPv6 host in brackets. */
  readonly url: string;
  close(): Promise<void>;
}

export function serveFetch(fetch: (request: Request) => Response | Promise<Response>, options: { readonly host?: string; readonly port?: number } = {}): Promise<RunningServer> {
  const hostname = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server: ServerType = serve({ fetch, hostname, port: options.port ?? 0 }, (info) => {
      server.off('error', reject);
      resolve({
        url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            (server as Server).closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
    server.once('error', reject);
  });
}
