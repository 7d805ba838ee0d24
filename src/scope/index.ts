/**
 * Scope stage: the authorised address space (what may be probed) and prefix → ISP attribution
 * (who is told about a finding). Sockets are opened only through the guard (createProber) and
 * openConnection, both of which take a CompiledScope built here.
 */
export { checkHost, compileScope, defaultScope, isCompiledScope, loadScope, parseScope, restrictScope, reviveScope } from './scope.js';
export type { CompiledScope, Scope } from './scope.js';
export { reservedBlocks, reservedRemoved } from './reserved.js';
export type { ReservedEntry } from './reserved.js';
export { compileIspTable, formatIspTable, ISP_HEADER, loadIspTable, parseIspRows, parseIspTable } from './isp.js';
export type { Isp, IspRow, IspTable } from './isp.js';
export { ipv4Mapped, parseTarget } from './target.js';
export type { TargetForm, TargetParse } from './target.js';
export { chooseEngine, createProber, ProbeOutcome, rawEngineUnavailable } from './guard.js';
export type { EngineChoice, EngineRequest, Prober, ProbeCallback } from './guard.js';
export { connectionStatuses, defaultLimits, openConnection } from './connection.js';
export type { Connection, ConnectionLimits, ConnectionStatus, LimitHit, OpenResult, PeerCertificate, ReadResult, TlsInfo, TlsRequest, WriteResult } from './connection.js';
export { classifyErrno, classifyError, errnoTable } from './errno.js';
export type { ErrnoClass } from './errno.js';
