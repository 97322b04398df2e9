// The agent's metrics: what the registry exposes, read back with the strict text-format parser
// (test/helpers/prom-text.ts), the escaping of hostile label values as a property, and the
// loopback-only server.
import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import http from 'node:http';
import { createMetrics, formatListen, isLoopback, parseListen, startMetrics, POLL_BUCKETS, type MetricsServer } from './metrics.js';
import { parsePromText, PromParseError, escapeLabelValue, type MetricFamily } from '../../test/helpers/prom-text.js';
import { agentStatus } from '../../test/helpers/agent.js';
import type { AgentStatus } from './status.js';
import { EXIT } from '../exit-codes.js';

const log = { info: () => undefined, warn: () => undefined };
const values = (f: MetricFamily | undefined): Array<[Record<string, string>, number]> => (f?.samples ?? []).map((s) => [s.labels, s.value]);

describe('the metrics registry', () => {
  it('exposes every agent metric with its type, and the process metrics, as valid text format', async () => {
    let status: AgentStatus = agentStatus({ phase: 'waiting' });
    const m = createMetrics({ status: () => status });
    m.recordApply({ outcome: 'applied', reason: 'start' });
    m.recordApply({ outcome: 'failed', reason: 'config-changed' });
    m.recordApply({ outcome: 'applied', reason: 'drift' });
    m.recordApply({ outcome: 'refused', reason: 'drift' });
    m.driftDetected();
    m.driftDetected();
    m.configReloadError();
    const fams = parsePromText(await m.text());
    const types = Object.fromEntries([...fams.values()].filter((f) => f.name.startsWith('epctl_')).map((f) => [f.name, f.type]));
    expect(types).toEqual({
      epctl_applies_total: 'counter',
      epctl_apply_failures_total: 'counter',
      epctl_drift_detected_total: 'counter',
      epctl_drift_corrections_total: 'counter',
      epctl_config_reload_errors_total: 'counter',
      epctl_doorbell_rings_total: 'counter',
      epctl_interrupts_poll_seconds: 'histogram',
      epctl_agent_phase: 'gauge',
    });
    expect(values(fams.get('epctl_applies_total'))).toEqual([
      [{ outcome: 'nothing' }, 0],
      [{ outcome: 'applied' }, 2],
      [{ outcome: 'refused' }, 1],
      [{ outcome: 'failed' }, 1],
    ]);
    expect(values(fams.get('epctl_apply_failures_total'))).toEqual([[{}, 1]]);
    expect(values(fams.get('epctl_drift_detected_total'))).toEqual([[{}, 2]]);
    expect(values(fams.get('epctl_drift_corrections_total'))).toEqual([[{}, 1]]);
    expect(values(fams.get('epctl_config_reload_errors_total'))).toEqual([[{}, 1]]);
    expect(values(fams.get('epctl_agent_phase')).filter(([, v]) => v === 1)).toEqual([[{ phase: 'waiting' }, 1]]);
    expect(values(fams.get('epctl_agent_phase'))).toHaveLength(6);
    for (const name of ['process_cpu_user_seconds_total', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes']) expect(fams.has(name), name).toBe(true);
    status = agentStatus({ phase: 'converged' });
    expect(values(parsePromText(await m.text()).get('epctl_agent_phase')).filter(([, v]) => v === 1)).toEqual([[{ phase: 'converged' }, 1]]);
  });

  it("doorbell rings are the kernel's cumulative counts per row, as of the scrape; a freed row's series goes, a reallocated one restarts", async () => {
    let status = agentStatus();
    const m = createMetrics({ status: () => status, defaultMetrics: false });
    const rings = async () => values(parsePromText(await m.text()).get('epctl_doorbell_rings_total'));
    expect(await rings()).toEqual([
      [{ controller: '4c300000.pcie-ep', index: '0', virq: '77' }, 12],
      [{ controller: '', index: '', virq: '78' }, 0],
    ]);
    status = agentStatus({ doorbells: { counts: [{ virq: 77, index: 0, chip: 'ITS-pMSI-4c300000.pcie-ep', controller: '4c300000.pcie-ep', action: 'pci_epf_vntb_db', count: 3 }], recent: [] } });
    expect(await rings()).toEqual([[{ controller: '4c300000.pcie-ep', index: '0', virq: '77' }, 3]]);
  });

  it('observePoll fills the histogram: cumulative buckets, +Inf equal to the count, the sum', async () => {
    const m = createMetrics({ status: () => undefined, defaultMetrics: false });
    for (const s of [0.00003, 0.0002, 0.0002, 0.004, 2]) m.observePoll(s);
    m.observePoll(-1);
    m.observePoll(NaN);
    const f = parsePromText(await m.text()).get('epctl_interrupts_poll_seconds')!;
    const buckets = f.samples.filter((s) => s.name.endsWith('_bucket')).map((s) => [s.labels.le, s.value]);
    expect(buckets).toHaveLength(POLL_BUCKETS.length + 1);
    expect(buckets.find(([le]) => le === '0.00005')).toEqual(['0.00005', 1]);
    expect(buckets.find(([le]) => le === '0.00025')).toEqual(['0.00025', 3]);
    expect(buckets.find(([le]) => le === '1')).toEqual(['1', 4]);
    expect(buckets.at(-1)).toEqual(['+Inf', 5]);
    expect(f.samples.find((s) => s.name.endsWith('_count'))!.value).toBe(5);
    expect(f.samples.find((s) => s.name.endsWith('_sum'))!.value).toBeCloseTo(2.00443, 9);
    // No phase known yet: every phase 0.
    expect(values(parsePromText(await m.text()).get('epctl_agent_phase')).every(([, v]) => v === 0)).toBe(true);
  });

  it('hostile controller names (quotes, backslashes, newlines) round-trip through the escaping', async () => {
    const hostile = fc.string({ unit: fc.constantFrom('"', '\\', '\n', 'n', '\\n', '\r', ' ', '{', '}', ',', '=', '#', 'é', '🙂', 'a', '\t') });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(hostile, { minLength: 1, maxLength: 4 }), async (names) => {
        const status = agentStatus({ doorbells: { counts: names.map((n, i) => ({ virq: 100 + i, index: i, chip: `ITS-pMSI-${n}`, controller: n, action: 'pci_epf_vntb_db', count: i })), recent: [] } });
        const m = createMetrics({ status: () => status, defaultMetrics: false });
        const got = parsePromText(await m.text()).get('epctl_doorbell_rings_total')!.samples.map((s) => s.labels.controller);
        expect(got).toEqual(names);
      }),
      { numRuns: 200 },
    );
  });
});

describe('the strict text-format parser', () => {
  it('reads escapes, trailing commas, blanks, special floats and timestamps', () => {
    const f = parsePromText('# HELP a A \\\\ help\\nline\n# TYPE a gauge\na{x="q\\"\\\\\\n",y = "2",} +Inf 1700000000000\n  a{x="z"}\tNaN\n# just a comment\n\nb -1.5e-3\n');
    expect(f.get('a')).toEqual({
      name: 'a',
      help: 'A \\ help\nline',
      type: 'gauge',
      samples: [
        { name: 'a', labels: { x: 'q"\\\n', y: '2' }, value: Infinity, timestamp: 1700000000000 },
        { name: 'a', labels: { x: 'z' }, value: NaN },
      ],
    });
    expect(f.get('b')).toMatchObject({ type: 'untyped', samples: [{ value: -0.0015 }] });
  });

  it.each([
    ['a 1', 'does not end with a line feed'],
    ['a{x="1} 1\n', 'value not closed'],
    ['a{x="\\t"} 1\n', 'bad escape \\t'],
    ['a{x=1} 1\n', 'expected " to open'],
    ['a{x="1"}1\n', 'expected a blank before the value'],
    ['a{__x="1"} 1\n', 'reserved'],
    ['a{x="1",x="2"} 1\n', 'given twice'],
    ['a one\n', 'not a float'],
    ['a 1 2 3\n', 'found 3 tokens'],
    ['1a 1\n', 'bad metric name'],
    ['a 1\n# TYPE a gauge\n', 'TYPE a after its samples'],
    ['# TYPE a gauge\n# TYPE a counter\na 1\n', 'a second TYPE'],
    ['# TYPE a meter\n', 'unknown type'],
    ['a{x="1"} 1\nb 1\na{x="2"} 1\n', 'not one group'],
    ['a 1\na 2\n', 'given twice'],
    ['# TYPE c counter\nc -1\n', 'negative'],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', 'no le="+Inf" bucket'],
    ['# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', 'decrease'],
    ['# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n', 'differs from h_count'],
    ['# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', 'increasing order'],
  ])('refuses %j', (text, why) => {
    expect(() => parsePromText(text)).toThrow(PromParseError);
    expect(() => parsePromText(text)).toThrow(why);
  });

  it('any label value a producer escapes as the spec says reads back as itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (v) => {
        const f = parsePromText(`m{v="${escapeLabelValue(v)}"} 1\n`);
        expect(f.get('m')!.samples[0]!.labels.v).toBe(v);
      }),
    );
  });
});

describe('the metrics server', () => {
  const servers: MetricsServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const get = (port: number, method: string, route: string): Promise<{ status: number; type: string | undefined; allow: string | undefined; text: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path: route }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], allow: res.headers.allow, text }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves GET /metrics on a loopback address as text format 0.0.4; 404 elsewhere, 405 for another method', async () => {
    const m = createMetrics({ status: () => agentStatus() });
    const s = await startMetrics({ listen: '127.0.0.1:0', metrics: m, log });
    servers.push(s);
    const r = await get(s.address.port, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(parsePromText(r.text).get('epctl_doorbell_rings_total')!.samples).toHaveLength(2);
    expect((await get(s.address.port, 'GET', '/')).status).toBe(404);
    expect(await get(s.address.port, 'POST', '/metrics')).toMatchObject({ status: 405, allow: 'GET, HEAD' });
  });

  it('refuses a non-loopback address unless remote scraping is allowed', async () => {
    const m = createMetrics({ status: () => undefined, defaultMetrics: false });
    for (const listen of ['0.0.0.0:9464', '[::]:9464', '192.0.2.1:9464', 'board.example:9464'])
      await expect(startMetrics({ listen, metrics: m, log })).rejects.toMatchObject({ exitCode: EXIT.USAGE, message: expect.stringContaining('is not a loopback address') });
    const s = await startMetrics({ listen: '0.0.0.0:0', allowRemote: true, metrics: m, log });
    servers.push(s);
    expect((await get(s.address.port, 'GET', '/metrics')).status).toBe(200);
  });

  it('reads ADDR:PORT and knows loopback', () => {
    expect(parseListen('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    for (const bad of ['9464', '127.0.0.1', '::1:9464', '127.0.0.1:65536', '[nothost]:1', '127.0.0.1:x']) expect(() => parseListen(bad), bad).toThrow('not ADDR:PORT');
    expect(['127.0.0.1', '127.9.8.7', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', 'example.org', '128.0.0.1'].some(isLoopback)).toBe(false);
  });

  it('writes the address it listens on as ADDR:PORT that parseListen reads back (IPv6 in brackets)', () => {
    expect(formatListen('::1', 9464)).toBe('[::1]:9464');
    expect(formatListen('127.0.0.1', 9464)).toBe('127.0.0.1:9464');
    expect(formatListen('localhost', 0)).toBe('localhost:0');
    for (const [host, port] of [['::1', 40000], ['::ffff:127.0.0.1', 1], ['127.0.0.1', 65535], ['localhost', 9464]] as const) expect(parseListen(formatListen(host, port))).toEqual({ host, port });
  });
});
