// unitOptions: a unit is epctl's exactly when the options read from its ExecStart= (and its
// /dev/mem line) render it byte for byte; any edit makes it someone else's.
import { describe, it, expect } from 'vitest';
import { DEFAULT_BIN, DEFAULT_WATCHDOG_SEC, renderUnit, type UnitOptions } from './unit.js';
import { unitOptions } from './uninstall.js';

const base: UnitOptions = { bin: DEFAULT_BIN, config: '/etc/epctl/epctl.yaml', devmem: false, watchdogSec: DEFAULT_WATCHDOG_SEC };

describe('unitOptions', () => {
  it('reads back every option install renders', () => {
    for (const o of [base, { ...base, devmem: true }, { ...base, socketGroup: 'pcie' }, { ...base, bin: '/opt/epctl/epctl.js', config: '/etc/board.yaml', devmem: true, socketGroup: 'pcie' }])
      expect(unitOptions(renderUnit(o))).toEqual(o);
  });

  it('takes no unit that was edited, by a line or a byte', () => {
    const text = renderUnit(base);
    expect(unitOptions(text.replace('WatchdogSec=30', 'WatchdogSec=60'))).toBeUndefined();
    expect(unitOptions(`${text}\n`)).toBeUndefined();
    expect(unitOptions(text.replace(' agent -c ', ' agent --config '))).toBeUndefined();
    expect(unitOptions(text.replace('epctl.yaml\n', 'epctl.yaml --log-level debug\n'))).toBeUndefined();
    expect(unitOptions('[Service]\nExecStart=/usr/bin/epctl agent -c /etc/epctl/epctl.yaml\n')).toBeUndefined();
    expect(unitOptions('')).toBeUndefined();
  });
});
