/** Which engine ran and on what: the shapes are defined once in protocol/results.ts (reported in every result's provenance and in the status bar). */
export type { EngineInfo, EngineName, EnginePreference } from '../../../protocol/results';
