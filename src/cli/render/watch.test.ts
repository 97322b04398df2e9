// The human views of doorbell watch: plain event lines, the fixed --json keys, and the live
// table (count, rate, sparkline) redrawn in place.
import { describe, it, expect } from 'vitest';
import { LiveView, eventJson, eventLine, lostJson, lostLine, sparkline, SPARK_BUCKETS } from './watch.js';
import type { DoorbellEvent } from '../../doorbell/watch.js';

const base: DoorbellEvent = { time: 3.529673, event: 'rung', controller: '7e000000.pcie-ep', virq: 18, index: 0, chip: 'ITS-pMSI-7e000000.pcie-ep', action: 'pci_epf_vntb_db', count: 5, delta: 1, rate: 2.5 };

describe('doorbell watch views', () => {
  it('says an event in one line and as JSON with the fixed keys', () => {
    expect(eventLine(base)).toBe('      3.529673 rung      7e000000.pcie-ep virq 18 #0 pci_epf_vntb_db count 5 (+1) 2.5/s');
    expect(eventLine({ ...base, event: 'freed', controller: null, index: null, delta: 0 })).toBe('      3.529673 freed     ? virq 18 pci_epf_vntb_db count 5');
    expect(Object.keys(JSON.parse(eventJson(base)))).toEqual(['time', 'event', 'controller', 'virq', 'index', 'chip', 'action', 'count', 'delta', 'rate']);
  });

  it('draws sparklines scaled to the busiest bucket', () => {
    expect(sparkline([0, 1, 2, 4, 8])).toBe(' ▁▂▄█');
    expect(sparkline([0, 0])).toBe('  ');
  });

  it('keeps one row per doorbell with count, rate and recent rings, and redraws over itself', () => {
    let now = 1000;
    const out: string[] = [];
    const v = new LiveView((s) => out.push(s), 'doorbells on mock:qemu-virt', () => now);
    v.draw();
    expect(out[0]).toContain('(no doorbell rows yet');
    v.add({ ...base, event: 'allocated', count: 0, delta: 0 });
    for (let i = 1; i <= 6; i++) {
      now += 0.1;
      v.add({ ...base, count: i });
    }
    v.draw();
    const table = out[1]!;
    expect(out[1]!.startsWith(`\x1b[3A\r\x1b[J`)).toBe(true);
    const row = table.split('\n').find((l) => l.startsWith('7e000000.pcie-ep'))!;
    expect(row).toMatch(/^7e000000\.pcie-ep\s+18\s+0 pci_epf_vntb_db\s+6\s+6  /);
    expect(row.slice(-SPARK_BUCKETS - 2, -SPARK_BUCKETS)).toBe('  ');
    expect(row.slice(-SPARK_BUCKETS)).toMatch(/^ *[▁-█]+$/);
    v.add({ ...base, event: 'freed', count: 6, delta: 0 });
    expect(v.lines().at(-1)).toMatch(/\s+6\s+freed  /);
  });

  it('stays bounded in a long view: buckets older than the sparkline window are pruned, a freed doorbell is dropped after it was shown once as freed', () => {
    let now = 1000;
    const v = new LiveView(() => undefined, 'h', () => now);
    // An hour of rings, 10 a second, never drawn.
    for (let i = 1; i <= 36000; i++) {
      now += 0.1;
      v.add({ ...base, count: i });
    }
    expect(v.bucketCount).toBeLessThanOrEqual(SPARK_BUCKETS + 1);
    // 1000 doorbells allocated, rung and freed over a drawn view.
    for (let virq = 100; virq < 1100; virq++) {
      v.add({ ...base, virq, event: 'allocated', count: 0, delta: 0 });
      v.add({ ...base, virq, count: 1 });
      v.add({ ...base, virq, event: 'freed', count: 1, delta: 0 });
      const lines = v.lines();
      expect(lines.some((l) => new RegExp(`\\s${virq}\\s.*freed`).test(l))).toBe(true);
    }
    v.lines();
    expect(v.size).toBe(1);
  });

  it('says lost trace events in the stream: a JSON line, a plain line, a line under the live header', () => {
    const l = { time: 12.5, event: 'lost' as const, cpu: 1, count: 3904 };
    expect(JSON.parse(lostJson(l))).toEqual({ time: 12.5, event: 'lost', cpu: 1, count: 3904 });
    expect(lostLine(l)).toMatch(/^\s+12\.500000 lost\s+3904 trace events on CPU1 .*counts from here on are low/);
    const v = new LiveView(() => undefined, 'h', () => 0);
    v.lost(3904);
    expect(v.lines()[1]).toMatch(/3904 trace events lost/);
    v.lost(null);
    expect(v.lines()[1]).toMatch(/3904\+ trace events lost/);
    const unknown = { ...l, count: null };
    expect(JSON.parse(lostJson(unknown))).toMatchObject({ event: 'lost', count: null });
    expect(lostLine(unknown)).toMatch(/an unknown number of trace events on CPU1/);
  });
});
