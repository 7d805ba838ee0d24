/**
 * The darknet stage: packet captures of unused address space in, per-source-per-day summaries and
 * infection candidates out. Reading (pcap/pcapng, streamed, constant memory), classification
 * (scanning / backscatter / other; Mirai, masscan, ZMap fingerprints by share of matching probes)
 * and the live sensor's analyser. The lab's capture generator lives in src/lab/darknet/.
 */
export { analyseCaptures, infectionCandidates, type AnalyseOptions, type AnalyseResult, type InfectionCandidate } from './analyse.js';
export { DarknetAnalyser } from './classify.js';
export { fingerprintRules, weighFingerprints, type Fingerprint, type FingerprintRule } from './fingerprints.js';
export { readCapture, type CaptureInput, type CaptureStats } from './pcap/reader.js';
export type { AnalyserOptions, AnalysisLimits, SourceClass, SourceSummary } from './types.js';
export { analyseToFindings, type DarknetFindingsOptions, type DarknetFindingsResult } from './findings.js';
export { loadScannerList, parseScannerList, type ScannerBlock, type ScannerList } from './scanners.js';
