// The config `epctl service install` writes when the board has none: valid as it stands (it asks
// for nothing, so a freshly enabled agent changes nothing), with a commented example to start from
// that is valid too once uncommented (src/service/install.test.ts checks both).
export const EXAMPLE_CONFIG = `# epctl's config: the PCI endpoint functions \`epctl agent\` (systemctl status epctl) keeps on
# this board; \`epctl plan\` and \`epctl apply\` read it too. After an edit:
#   epctl validate                 the file alone, every issue with its line
#   epctl plan                     what the agent would change on the board
#   systemctl reload epctl         the agent reads it again and converges
#
# As installed it asks for nothing. The example below is the pci_epf_test function of the
# kernel's Documentation/PCI/endpoint/pci-test-howto.rst: remove the "#" before each of its
# lines to use it. More examples (vNTB, NVMe, two boards over NTB): examples/ in epctl's source.
version: 1
#controllers:
#  auto: { start: true }            # "auto": the board's only endpoint controller
#functions:
#  - driver: pci_epf_test
#    name: func1
#    controller: auto               # linked through controllers/<epc>/
#    header: { vendorid: 0x104c, deviceid: 0xb500 }
#    msi_interrupts: 16             # 1..32
#    msix_interrupts: 8             # 1..2048
#    doorbell: true                 # an RC-to-EP doorbell (Linux 6.17+)
`;

/** EXAMPLE_CONFIG with its example (every line after \`version: 1\`) uncommented. */
export function uncommentExample(text: string): string {
  const [head, example = ''] = text.split(/^(?=version: 1$)/m);
  return head + example.replace(/^#/gm, '');
}
