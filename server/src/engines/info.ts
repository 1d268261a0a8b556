/** Which engine ran and on what: leaf types shared by engine.ts, runner.ts and the engines (no imports, so no cycle). */

export type EngineName = 'onnx' | 'tfjs';
export type EnginePreference = 'auto' | EngineName;

/** What actually ran: reported in every result's provenance and in the status bar. */
export interface EngineInfo {
  engine: EngineName;
  /** e.g. 'cuda', 'cpu' (onnx); 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu' (tfjs) */
  backend: string;
  device: 'gpu' | 'cpu';
  /** version of the runtime package */
  version: string;
}
