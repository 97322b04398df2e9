// An AgentStatus and doorbell events for the agent's API, metrics and CLI client tests.
import type { AgentStatus } from '../../src/agent/status.js';
import type { DoorbellEvent } from '../../src/doorbell/watch.js';

/** A converged agent with two doorbell rows: a vNTB one on 4c300000.pcie-ep (count 12) and an embedded (eDMA) one. */
export function agentStatus(over: Partial<AgentStatus> = {}): AgentStatus {
  return {
    format: 'epctl-agent-status',
    version: 1,
    pid: 4242,
    startedAt: '2026-11-30T10:00:00.000Z',
    phase: 'converged',
    statusLine: 'converged: 2 functions on 1 controller',
    config: { file: '/etc/epctl/board.yaml', loadedAt: '2026-11-30T10:00:01.000Z', sha256: 'ab'.repeat(32), error: null },
    waitingFor: [],
    lastApply: { at: '2026-11-30T10:00:02.000Z', reason: 'start', outcome: 'applied', operations: 7, errors: [], durationMs: 120 },
    applies: { total: 1, failed: 0, refused: 0, driftCorrections: 0 },
    drift: { intervalS: 60, correct: true, detected: null, lastCheckAt: null },
    board: null,
    doorbells: {
      counts: [
        { virq: 77, index: 0, chip: 'ITS-pMSI-4c300000.pcie-ep', controller: '4c300000.pcie-ep', action: 'pci_epf_vntb_db', count: 12 },
        { virq: 78, index: undefined, chip: 'dw-edma-emul', controller: null, action: 'pci-ep-test-doorbell', count: 0 },
      ],
      recent: [],
    },
    kernelLog: [],
    ...over,
  };
}

/** A ring of virq VIRQ bringing its count to COUNT. */
export function ring(virq: number, count: number): DoorbellEvent {
  return { time: 100 + count / 1000, event: 'rung', controller: '4c300000.pcie-ep', virq, index: 0, chip: 'ITS-pMSI-4c300000.pcie-ep', action: 'pci_epf_vntb_db', count, delta: 1, rate: 1 };
}

