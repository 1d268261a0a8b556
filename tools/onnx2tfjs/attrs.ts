/** Attributes: reading an ONNX node's, writing a TF.js graph node's (model.json AttrValue JSON). */
import type { OnnxAttr, OnnxNode } from './onnx';

export type DType = 'float32' | 'int32' | 'bool';
export const TF_DT: Record<DType, string> = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' };

// TF.js AttrValue JSON
export const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
export const attrS = (s: string) => ({ s: b64(s) });
export const attrI = (i: number) => ({ i: String(i) });
export const attrInts = (xs: number[]) => ({ list: { i: xs.map(String) } });
export const attrB = (b: boolean) => ({ b });
export const attrType = (d: DType) => ({ type: TF_DT[d] });
export const attrF = (f: number) => ({ f });

// ONNX node attributes, with the operator's default when absent (or of another kind)
export function attr(n: OnnxNode, name: string): OnnxAttr | undefined {
  return n.attrs.get(name);
}
export function attrInt(n: OnnxNode, name: string, def: number): number {
  const a = attr(n, name);
  return a?.kind === 'int' ? a.i : def;
}
export function attrFloat(n: OnnxNode, name: string, def: number): number {
  const a = attr(n, name);
  return a?.kind === 'float' ? a.f : def;
}
export function attrStr(n: OnnxNode, name: string, def: string): string {
  const a = attr(n, name);
  return a?.kind === 'string' ? a.s : def;
}
export function attrIntList(n: OnnxNode, name: string): number[] | undefined {
  const a = attr(n, name);
  return a?.kind === 'ints' ? a.ints : undefined;
}
