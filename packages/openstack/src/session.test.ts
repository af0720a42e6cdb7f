// Transport only (pagination, retries, Retry-After, timeouts, 404 on delete, error mapping,
// token refresh) against a local HTTP server that answers like keystone and a service would.
// Everything about what the services do is tested against the real ones:
// test/integration/openstack-client.test.ts.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudError } from '@kaas/providers';
import { Session } from './session.ts';
import type { SessionOptions } from './session.ts';
import { parseRetryAfterMs, retryDelayMs } from './backoff.ts';
import { codeForStatus, openStackMessage } from './errors.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let base = '';
let handler: Handler = (_q, res) => res.end();
let tokensIssued = 0;
let tokenTtlMs = 3_600_000;
const calls: string[] = [];

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/v3/auth/tokens' && req.method === 'POST') {
        tokensIssued++;
        const now = Date.now();
        res.setHeader('x-subject-token', `tok-${tokensIssued}`);
        json(res, 201, {
          token: {
            issued_at: new Date(now).toISOString(),
            expires_at: new Date(now + tokenTtlMs).toISOString(),
            methods: ['password'],
            user: { id: 'u1', name: 'demo', domain: { id: 'default', name: 'Default' } },
            project: { id: 'p1', name: 'demo', domain: { id: 'default', name: 'Default' } },
            roles: [{ id: 'r1', name: 'member' }],
            catalog: [
              {
                id: 's1',
                type: 'network',
                name: 'neutron',
                endpoints: [{ id: 'e1', interface: 'public', region: 'RegionOne', url: base }],
              },
              {
                id: 's2',
                type: 'volumev3',
                name: 'cinderv3',
                endpoints: [
                  { id: 'e2', interface: 'public', region: 'RegionOne', url: `${base}/v3/%(project_id)s` },
                ],
              },
            ],
          },
        });
        return;
      }
      calls.push(`${req.method} ${req.url} ${req.headers['x-auth-token'] ?? ''}`);
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  calls.length = 0;
  tokensIssued = 0;
  tokenTtlMs = 3_600_000;
});

const sleeps: number[] = [];
function session(opts: Partial<SessionOptions> = {}): Session {
  sleeps.length = 0;
  return new Session({
    authUrl: `${base}/v3`,
    credentials: { type: 'password', user: { name: 'demo', domain: { id: 'default' } }, password: 'x' },
    scope: { project: { name: 'demo', domain: { id: 'default' } } },
    region: 'RegionOne',
    timeoutMs: 2_000,
    retry: {
      attempts: 4,
      baseDelayMs: 100,
      maxDelayMs: 1_000,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    },
    ...opts,
  });
}

describe('pagination', () => {
  test('follows <key>_links next, rebased onto the endpoint origin', async () => {
    handler = (req, res) => {
      const u = new URL(req.url!, base);
      const marker = u.searchParams.get('marker');
      if (!marker)
        json(res, 200, {
          networks: [{ id: 'a' }, { id: 'b' }],
          // a cloud behind a proxy links with its internal host
          networks_links: [{ rel: 'next', href: 'http://internal:9696/v2.0/networks?limit=2&marker=b' }],
        });
      else json(res, 200, { networks: [{ id: 'c' }], networks_links: [{ rel: 'previous', href: 'x' }] });
    };
    const s = session();
    const ids = (await s.list<{ id: string }>('network', '/networks', 'networks', { limit: 2 })).map(
      (n) => n.id,
    );
    assert.deepEqual(ids, ['a', 'b', 'c']);
    assert.match(calls[1]!, /^GET \/v2.0\/networks\?limit=2&marker=b /);
    await s.close();
  });

  test('a full page without a link continues with marker = last id; a short page ends it', async () => {
    handler = (req, res) => {
      const m = new URL(req.url!, base).searchParams.get('marker');
      json(res, 200, { ports: m === null ? [{ id: '1' }, { id: '2' }] : m === '2' ? [{ id: '3' }] : [] });
    };
    const s = session();
    const ids = (
      await s.list<{ id: string }>('network', '/ports', 'ports', { limit: 2, query: { tags: 't' } })
    ).map((p) => p.id);
    assert.deepEqual(ids, ['1', '2', '3']);
    assert.equal(calls.length, 2);
    assert.match(calls[1]!, /tags=t/);
    assert.match(calls[1]!, /marker=2/);
    await s.close();
  });

  test('designate links.next and glance next (a path from the endpoint root)', async () => {
    handler = (req, res) => {
      if (req.url!.startsWith('/v2/zones'))
        json(
          res,
          200,
          req.url!.includes('marker')
            ? { zones: [{ id: 'z2' }], links: { self: 'x' } }
            : { zones: [{ id: 'z1' }], links: { self: 'x', next: `${base}/v2/zones?marker=z1` } },
        );
      else
        json(
          res,
          200,
          req.url!.includes('marker')
            ? { images: [{ id: 'i2' }] }
            : { images: [{ id: 'i1' }], next: '/v2/images?marker=i1' },
        );
    };
    const s = session({ endpointOverrides: { dns: base, image: base } });
    assert.deepEqual(
      (await s.list('dns', '/zones', 'zones')).map((z: { id: string }) => z.id),
      ['z1', 'z2'],
    );
    assert.deepEqual(
      (await s.list('image', '/images', 'images')).map((z: { id: string }) => z.id),
      ['i1', 'i2'],
    );
    await s.close();
  });
});

describe('retries', () => {
  test('409, 429 and 503 are retried with capped backoff and jitter', async () => {
    const answers = [409, 429, 503, 200];
    handler = (_q, res) => {
      const s = answers.shift()!;
      json(res, s, s === 200 ? { network: { id: 'n' } } : { NeutronError: { message: `busy ${s}` } });
    };
    const s = session();
    const r = await s.request('network', 'PUT', '/networks/n', { body: { network: {} } });
    assert.equal(r.status, 200);
    assert.equal(calls.length, 4);
    // equal jitter with random 0.5: 3/4 of 100, 200, 400
    assert.deepEqual(sleeps, [75, 150, 300]);
    await s.close();
  });

  test('Retry-After (seconds and HTTP date) is honoured and capped', async () => {
    const answers: [number, string][] = [
      [429, '0.4'],
      [503, new Date(Date.now() + 60_000).toUTCString()],
      [200, ''],
    ];
    handler = (_q, res) => {
      const [s, ra] = answers.shift()!;
      json(res, s, {}, ra ? { 'retry-after': ra } : {});
    };
    const s = session();
    await s.request('network', 'GET', '/networks');
    assert.equal(sleeps[0], 400);
    assert.equal(sleeps[1], 1_000); // a minute asked, the cap given
    await s.close();
    assert.equal(parseRetryAfterMs('2', 0), 2_000);
    assert.equal(parseRetryAfterMs('soon', 0), undefined);
    assert.equal(retryDelayMs(10, { baseDelayMs: 100, maxDelayMs: 1_000, random: () => 1 }), 1_000);
  });

  test('gives up after the attempts with the last answer as the error, keeping the message', async () => {
    handler = (_q, res) => json(res, 503, { message: 'neutron is down for maintenance' });
    const s = session();
    await assert.rejects(s.request('network', 'GET', '/networks'), (e: CloudError) => {
      assert.ok(e instanceof CloudError);
      assert.equal(e.code, 'CloudUnavailable');
      assert.equal(e.cloudMessage, 'neutron is down for maintenance');
      assert.equal(e.status, 503);
      return true;
    });
    assert.equal(calls.length, 4);
    await s.close();
  });

  test('a POST answered 500 is not retried (it may have created something); 503 is', async () => {
    handler = (_q, res) => json(res, 500, { NeutronError: { message: 'boom' } });
    const s = session();
    await assert.rejects(s.request('network', 'POST', '/networks', { body: {} }), {
      code: 'CloudUnavailable',
    });
    assert.equal(calls.length, 1);
    await s.close();
  });

  test('a quota 409 is not retried and maps to QuotaExceeded', async () => {
    handler = (_q, res) =>
      json(res, 409, {
        NeutronError: { type: 'OverQuota', message: 'Quota exceeded for resources: [network].', detail: '' },
      });
    const s = session();
    await assert.rejects(s.request('network', 'POST', '/networks', { body: {} }), (e: CloudError) => {
      assert.equal(e.code, 'QuotaExceeded');
      assert.equal(e.cloudMessage, 'Quota exceeded for resources: [network].');
      return true;
    });
    assert.equal(calls.length, 1);
    await s.close();
  });
});

describe('timeouts', () => {
  test('every request has a timeout; a GET that times out is retried, then Timeout', async () => {
    handler = () => {
      /* never answers */
    };
    const s = session({ timeoutMs: 150, retry: { attempts: 2, sleep: async () => {} } });
    const t0 = Date.now();
    await assert.rejects(s.request('network', 'GET', '/networks'), (e: CloudError) => {
      assert.equal(e.code, 'Timeout');
      assert.match(e.message, /no answer in 150 ms \(2 tries\)/);
      return true;
    });
    assert.ok(Date.now() - t0 < 2_000);
    assert.equal(calls.length, 2);
    await s.close();
  });

  test('a POST that timed out is not sent again', async () => {
    handler = () => {};
    const s = session({ timeoutMs: 150 });
    await assert.rejects(s.request('network', 'POST', '/networks', { body: {} }), { code: 'Timeout' });
    assert.equal(calls.length, 1);
    await s.close();
  });

  test('connection refused is CloudUnavailable', async () => {
    const s = session({
      endpointOverrides: { network: 'http://127.0.0.1:9' },
      retry: { attempts: 2, sleep: async () => {} },
    });
    await assert.rejects(s.request('network', 'GET', '/networks'), { code: 'CloudUnavailable' });
    await s.close();
  });
});

describe('delete and errors', () => {
  test('404 on DELETE is done; 404 on GET is NotFound', async () => {
    handler = (_q, res) =>
      json(res, 404, { NeutronError: { type: 'NetworkNotFound', message: 'Network x could not be found.' } });
    const s = session();
    assert.equal((await s.request('network', 'DELETE', '/networks/x')).status, 404);
    await assert.rejects(s.request('network', 'GET', '/networks/x'), (e: CloudError) => {
      assert.equal(e.code, 'NotFound');
      assert.equal(e.cloudMessage, 'Network x could not be found.');
      return true;
    });
    await s.close();
  });

  test('status and body to codes, with each service own message', () => {
    const cases: [number, unknown, string, string][] = [
      [
        413,
        {
          overLimit: {
            code: 413,
            message: 'VolumeLimitExceeded: Maximum number of volumes allowed (10) exceeded',
          },
        },
        'QuotaExceeded',
        'VolumeLimitExceeded: Maximum number of volumes allowed (10) exceeded',
      ],
      [
        403,
        {
          forbidden: {
            code: 403,
            message: 'Quota exceeded for cores: Requested 4, but already used 20 of 20 cores',
          },
        },
        'QuotaExceeded',
        'Quota exceeded for cores: Requested 4, but already used 20 of 20 cores',
      ],
      [
        403,
        { faultcode: 'Client', faultstring: 'Quota has been met for resources: Load Balancer' },
        'QuotaExceeded',
        'Quota has been met for resources: Load Balancer',
      ],
      [
        403,
        {
          forbidden: {
            code: 403,
            message: "Policy doesn't allow os_compute_api:servers:create to be performed.",
          },
        },
        'AuthFailed',
        "Policy doesn't allow os_compute_api:servers:create to be performed.",
      ],
      [
        401,
        { error: { code: 401, message: 'The request you have made requires authentication.' } },
        'AuthFailed',
        'The request you have made requires authentication.',
      ],
      [
        409,
        {
          NeutronError: {
            type: 'InUse',
            message:
              'Unable to complete operation on network n. There are one or more ports still in use on the network.',
          },
        },
        'Conflict',
        'Unable to complete operation on network n. There are one or more ports still in use on the network.',
      ],
      [
        400,
        { code: 400, type: 'invalid_object', message: "'ttl' is a required property" },
        'InvalidSpec',
        "'ttl' is a required property",
      ],
      [502, '<html><body><h1>502 Bad Gateway</h1></body></html>', 'CloudUnavailable', '502 Bad Gateway'],
      [504, {}, 'Timeout', ''],
    ];
    for (const [status, body, code, message] of cases) {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const parsed = typeof body === 'string' ? undefined : body;
      assert.equal(codeForStatus(status, parsed, text), code, `${status} ${text}`);
      assert.equal(openStackMessage(parsed, text), message);
    }
  });

  test('401 on a service call reissues the token once; a token near expiry is refreshed before use', async () => {
    let first = true;
    handler = (req, res) => {
      if (first && req.headers['x-auth-token'] === 'tok-1') {
        first = false;
        json(res, 401, { error: { message: 'token revoked' } });
      } else json(res, 200, { networks: [] });
    };
    const s = session();
    await s.request('network', 'GET', '/networks');
    assert.equal(tokensIssued, 2);
    assert.match(calls.at(-1)!, /tok-2$/);
    await s.close();

    tokenTtlMs = 60_000; // inside the 5 minute refresh margin: every call reissues
    const s2 = session();
    const before = tokensIssued;
    await s2.token();
    await s2.token();
    assert.equal(tokensIssued - before, 2);
    await s2.close();
  });

  test("keystone refusing the credentials is AuthFailed with keystone's message", async () => {
    const s = session({ authUrl: `${base}/bad/v3` });
    handler = (_q, res) =>
      json(res, 401, { error: { code: 401, message: 'The request you have made requires authentication.' } });
    await assert.rejects(s.token(), (e: CloudError) => {
      assert.equal(e.code, 'AuthFailed');
      assert.equal(e.cloudMessage, 'The request you have made requires authentication.');
      return true;
    });
    await s.close();
  });

  test('a deleted application credential (keystone answers 404) is AuthFailed too', async () => {
    const s = session({ authUrl: `${base}/bad/v3` });
    handler = (_q, res) =>
      json(res, 404, { error: { code: 404, message: 'Could not find Application Credential: ac1.' } });
    await assert.rejects(s.token(), {
      code: 'AuthFailed',
      cloudMessage: 'Could not find Application Credential: ac1.',
    });
    await s.close();
  });

  test('catalog: region, interface, versions and %(project_id)s', async () => {
    const s = session();
    assert.equal(await s.endpoint('network'), `${base}/v2.0`);
    assert.equal(await s.endpoint('block-storage'), `${base}/v3/p1`);
    await assert.rejects(s.endpoint('compute'), { code: 'NotFound' });
    await s.close();
    const other = session({ region: 'RegionTwo' });
    await assert.rejects(other.endpoint('network'), /no public endpoint for "network" in region "RegionTwo"/);
    await other.close();
  });
});
