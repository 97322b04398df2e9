// `epctl validate [-c FILE]`: the config alone, no board needed. Every issue is printed with
// its file, line and column, the field and what would be valid; exit 65 when there is one.
import type { Command } from 'commander';
import { EXIT } from '../../exit-codes.js';
import type { CommandSpec, Run } from '../context.js';
import { writeErr, writeOut } from '../output.js';

export const spec: CommandSpec = { name: 'validate', readsBoard: false };

export function register(program: Command, run: Run): void {
  program
    .command(spec.name)
    .description('Check a config file (YAML or JSON) without touching a board.')
    .option('-c, --config <file>', 'the config file', '/etc/epctl/epctl.yaml')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
A config names the controllers to start and the functions to create:

  version: 1
  controllers:
    auto: { start: true }          # "auto": the board's only controller
  functions:
    - driver: pci_epf_test
      name: func1
      controller: auto             # linked through controllers/<epc>/
      header: { vendorid: 0x104c, deviceid: 0xb500 }
      msi_interrupts: 4            # 1..32 (checked by the kernel only at link time)
      doorbell: true

Checked here: the shape, names, header widths, MSI 1..32 and MSI-X 1..2048, one header per
driver (the kernel shares it between a driver's functions), doorbells only on pci_epf_test and
pci_epf_vntb. What depends on the running kernel is checked by plan.

Examples:
  epctl validate -c board.yaml
  epctl validate -c board.yaml --json

It exits 0 when the file is valid, 65 when it is not (each issue as FILE:LINE:COLUMN).`,
    )
    .action((opts: { config: string }, cmd: Command) =>
      run(spec, cmd, async (ctx) => {
        const { loadConfig, ConfigError } = await import('../../config/load.js');
        try {
          const config = await loadConfig(opts.config);
          const summary = { file: opts.config, valid: true, issues: [], functions: config.functions?.length ?? 0, controllers: Object.keys(config.controllers ?? {}).length };
          writeOut(ctx.json ? JSON.stringify(summary, null, 2) + '\n' : `${opts.config}: valid (${summary.functions} functions, ${summary.controllers} controllers)\n`);
          return EXIT.OK;
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          if (ctx.json) writeOut(JSON.stringify({ file: e.file, valid: false, issues: e.issues }, null, 2) + '\n');
          else writeErr(e.issues.map((i) => `${e.file}:${i.line}:${i.column}: ${i.field ? `${i.field}: ` : ''}${i.message}\n`).join('') + (e.hint ? `  fix: ${e.hint}\n` : ''));
          return EXIT.CONFIG;
        }
      }),
    );
}
