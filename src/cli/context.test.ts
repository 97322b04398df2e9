// runContext (context.ts): the global flags become one frozen board source, and an option the
// command does not use, or a combination that means nothing, is a usage error naming it.
import { describe, it, expect } from 'vitest';
import { runContext, UsageError, type CommandSpec } from './context.js';
import { createCleanup } from './cleanup.js';
import { EXIT } from '../exit-codes.js';

const probe: CommandSpec = { name: 'probe', readsBoard: true };
const boards: CommandSpec = { name: 'boards', readsBoard: false };
const cleanup = createCleanup();

describe('runContext', () => {
  it('reads this system when no board option is given', () => {
    expect(runContext(probe, {}, cleanup)).toMatchObject({ command: 'probe', json: false, board: { kind: 'live' } });
  });

  it('turns --root and --mock into one board source, frozen', () => {
    expect(runContext(probe, { root: 'b.tar.gz', json: true }, cleanup)).toMatchObject({ json: true, board: { kind: 'root', path: 'b.tar.gz' } });
    const ctx = runContext(probe, { mock: 'imx95', kernel: '6.12', mockState: 's.json' }, cleanup);
    expect(ctx.board).toEqual({ kind: 'mock', board: 'imx95', kernel: '6.12', stateFile: 's.json' });
    expect(Object.isFrozen(ctx)).toBe(true);
  });

  it('gives a command that reads no board no board source', () => {
    expect(runContext(boards, { json: true }, cleanup).board).toBeUndefined();
  });

  it.each([
    ['--root does not apply to `epctl boards`', boards, { root: 'x' }],
    ['--mock-state does not apply to `epctl boards`', boards, { mockState: 'f' }],
    ['--root and --mock cannot be used together', probe, { root: 'x', mock: 'imx95' }],
    ['--kernel only applies to a simulated board', probe, { kernel: '6.12' }],
    ['--mock-state only applies to a simulated board', probe, { root: 'x', mockState: 'f' }],
    ['--mock is empty', probe, { mock: '' }],
  ] as const)('refuses it: %s', (message, spec, flags) => {
    let err: unknown;
    try {
      runContext(spec, flags, cleanup);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toMatchObject({ exitCode: EXIT.USAGE, message: expect.stringContaining(message), hint: expect.stringMatching(/\S/) });
  });
});
