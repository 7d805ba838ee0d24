/**
 * Scope stage: the authorised address space (what may be probed) and prefix → ISP attribution
 * (who is told about a finding). Scanning code checks targets with CompiledScope.allows/checkHost.
 */
export { checkHost, compileScope, defaultScope, loadScope, parseScope, restrictScope } from './scope.js';
export type { CompiledScope, Scope } from './scope.js';
export { reservedBlocks, reservedRemoved } from './reserved.js';
export type { ReservedEntry } from './reserved.js';
export { compileIspTable, formatIspTable, ISP_HEADER, loadIspTable, parseIspRows, parseIspTable } from './isp.js';
export type { Isp, IspRow, IspTable } from './isp.js';
export { ipv4Mapped, parseTarget } from './target.js';
export type { TargetForm, TargetParse } from './target.js';
export { connectGuarded, createProber, ProbeOutcome } from './guard.js';
export type { Prober, ProbeCallback, ScopeCheck } from './guard.js';
