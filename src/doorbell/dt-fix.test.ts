import { describe, it, expect } from 'vitest';
import { renderDts, renderDtso, overlayable, type DtFix } from './dt-fix.js';

const its = { path: '/intc/its@8080000', label: 'its', phandle: 0x8003 };
const bare = { path: '/intc/its@8080000', phandle: 0x8003 };
const ep = { path: '/soc/pcie-ep@4c300000' };

describe('device-tree fixes', () => {
  it('writes the .dts fragment with labels or &{/path} references and a delete for msi-parent', () => {
    const fix: DtFix = { node: ep, edits: [{ prop: 'msi-parent', delete: true, overlay: { cells: [its, 0x10] } }, { prop: 'msi-map', cells: [0, its, 0x10, 1] }] };
    expect(renderDts([fix])).toBe('&{/soc/pcie-ep@4c300000} {\n\t/delete-property/ msi-parent;\n\tmsi-map = <0x0 &its 0x10 0x1>;\n};');
  });

  it('writes an overlay that replaces msi-parent instead of deleting it, and names an unlabelled node by its phandle', () => {
    const fix: DtFix = { node: ep, edits: [{ prop: 'msi-parent', delete: true, overlay: { cells: [bare, 0x10] } }, { prop: 'msi-map', cells: [0, bare, 0x10, 1] }, { prop: 'status', string: 'okay' }] };
    expect(overlayable(fix)).toBe(true);
    expect(renderDtso([fix], ['made by a test'])).toBe(
      [
        '// made by a test',
        '/dts-v1/;',
        '/plugin/;',
        '',
        '&{/soc/pcie-ep@4c300000} {',
        '\tmsi-parent = <0x8003 /* phandle of /intc/its@8080000 in this DTB */ 0x10>;',
        '\tmsi-map = <0x0 0x8003 /* phandle of /intc/its@8080000 in this DTB */ 0x10 0x1>;',
        '\tstatus = "okay";',
        '};',
        '',
      ].join('\n'),
    );
  });

  it('writes an overlay that changes nothing, and that dtc still parses, when there is no fix', () => {
    expect(renderDtso([], ['nothing'])).toBe('// nothing\n/dts-v1/;\n/plugin/;\n\n/ {\n};\n');
  });

  it('says a fix cannot be an overlay when it must delete with no replacement or names a node it cannot reference', () => {
    expect(overlayable({ node: ep, edits: [{ prop: 'msi-parent', delete: true }] })).toBe(false);
    expect(overlayable({ node: ep, edits: [{ prop: 'msi-map', cells: [0, { path: '/x' }, 1, 1] }] })).toBe(false);
  });
});
