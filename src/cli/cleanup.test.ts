// deferSignals: while a board is changed, the first signal asks for a rollback instead of
// ending the process; a second one goes to the usual handlers; afterwards they are back.
import { describe, it, expect } from 'vitest';
import { createCleanup, deferSignals } from './cleanup.js';

describe('deferSignals', () => {
  it('routes the first SIGINT to the change, the second to the usual handlers, and restores them', () => {
    const usual: string[] = [];
    const mine = (): void => void usual.push('usual');
    process.on('SIGINT', mine);
    const before = process.listenerCount('SIGINT');
    const asked: string[] = [];
    const restore = deferSignals((sig) => asked.push(sig));
    process.emit('SIGINT', 'SIGINT');
    expect(asked).toEqual(['SIGINT']);
    expect(usual).toEqual([]);
    process.emit('SIGINT', 'SIGINT');
    expect(usual).toEqual(['usual']);
    restore();
    expect(process.listenerCount('SIGINT')).toBe(before);
    process.emit('SIGINT', 'SIGINT');
    expect(usual).toEqual(['usual', 'usual']);
    process.off('SIGINT', mine);
  });
});

describe('Cleanup.atExit', () => {
  it('runs what is still registered, newest first, once, and not what was unregistered', () => {
    const c = createCleanup();
    const ran: string[] = [];
    c.atExit(() => ran.push('a'));
    const forget = c.atExit(() => ran.push('b'));
    c.atExit(() => {
      ran.push('c');
      throw new Error('best effort');
    });
    forget();
    c.removeAllSync();
    c.removeAllSync();
    expect(ran).toEqual(['c', 'a']);
  });
});
