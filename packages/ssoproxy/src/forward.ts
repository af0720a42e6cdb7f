// Sending an allowed request to its upstream and streaming the answer back: the proxy's hot path.
//
// undici's dispatcher API (one keep-alive Pool per route) rather than node:http's client: measured
// with wrk flat out against a minimal forwarder on this machine, node:http's ClientRequest +
// IncomingMessage cost ~100-120 µs of CPU per request, undici's Pool ~65-80 µs, for the same
// server side (see docs/sso-proxy.md, "Performance"). Upgrades (websockets) keep node:http, which
// hands over the raw sockets; they are rare and long-lived.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { clientResponseHeaders } from './headers.ts';
import type { Route } from './routes.ts';

export interface ForwardOptions {
  /** the request target upstream (base path + path + query) */
  path: string;
  /** upstreamRequestHeaders(...) with `host` set to the upstream's */
  headers: OutgoingHttpHeaders;
  /** Set-Cookie lines the proxy adds to the answer (a refreshed session) */
  setCookies: readonly string[];
  /** the upstream did not answer: the caller's 502 page (only while nothing was sent) */
  onUpstreamError: (e: Error) => void;
}

export interface Forwarder {
  forward(req: IncomingMessage, res: ServerResponse, route: Route, o: ForwardOptions): void;
  close(): Promise<void>;
}

/** Request headers undici refuses to send: the client's `Expect: 100-continue` was answered here. */
const NOT_FORWARDED = ['expect'];

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * One Pool per route. No connection limit (as node:http's agent had none: a long poll or a stream
 * must not queue everyone else's requests behind it) and no headers/body timeout (streams and
 * long polls stay open; docs/sso-proxy.md "Limits").
 */
export function createForwarder(routes: readonly Route[], isOurCookie: (name: string) => boolean): Forwarder {
  const pools = new Map<string, Pool>();
  for (const r of routes)
    pools.set(
      r.name,
      new Pool(new URL(r.upstream).origin, {
        headersTimeout: 0,
        bodyTimeout: 0,
        ...(r.upstreamCaPem ? { connect: { ca: r.upstreamCaPem } } : {}),
      }),
    );

  const forward = (req: IncomingMessage, res: ServerResponse, route: Route, o: ForwardOptions): void => {
    for (const h of NOT_FORWARDED) delete o.headers[h];
    let controller: Dispatcher.DispatchController | undefined;
    let done = false;
    const abort = () => {
      if (!done && !res.writableFinished) controller?.abort(new Error('the client went away'));
    };
    res.once('close', abort);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        // the client left while the request waited for a connection
        if (res.destroyed) c.abort(new Error('the client went away'));
      },
      onResponseStart(c, statusCode, upstreamHeaders, statusMessage) {
        const headers = clientResponseHeaders(upstreamHeaders, isOurCookie);
        if (o.setCookies.length) {
          const prior = headers['set-cookie'];
          headers['set-cookie'] = [
            ...(Array.isArray(prior) ? prior : prior ? [String(prior)] : []),
            ...o.setCookies,
          ];
        }
        // the head goes out with the first body chunk (or with end): one write for small answers
        if (statusMessage) res.writeHead(statusCode, statusMessage, headers);
        else res.writeHead(statusCode, headers);
      },
      onResponseData(c, chunk) {
        if (!res.write(chunk)) {
          c.pause();
          res.once('drain', () => c.resume());
        }
      },
      onResponseEnd() {
        done = true;
        res.end();
      },
      onResponseError(_c, e) {
        done = true;
        if (res.destroyed) return; // our own abort: the client went away
        if (!res.headersSent) o.onUpstreamError(e);
        else res.destroy();
      },
    };
    try {
      pools.get(route.name)!.dispatch(
        {
          method: req.method as Dispatcher.HttpMethod,
          path: o.path,
          headers: o.headers as Record<string, string | string[]>,
          body: hasBody(req) ? req : null,
        },
        handler,
      );
    } catch (e) {
      // a request undici will not send (a header value it refuses): same answer as no upstream
      done = true;
      o.onUpstreamError(e as Error);
    }
  };

  return {
    forward,
    close: async () => {
      await Promise.all([...pools.values()].map((p) => p.destroy()));
    },
  };
}
