/** The protobuf wire format, as much as the ONNX reader (onnx.ts) needs: fields, varints, packed repeats. */

export type Field = { field: number; wire: number; value: bigint | Uint8Array };

export class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  }
  *fields(): Generator<Field> {
    while (this.pos < this.buf.length) {
      const key = Number(this.varint());
      const field = key >>> 3;
      const wire = key & 7;
      if (wire === 0) yield { field, wire, value: this.varint() };
      else if (wire === 1) {
        yield { field, wire, value: this.buf.subarray(this.pos, this.pos + 8) };
        this.pos += 8;
      } else if (wire === 5) {
        yield { field, wire, value: this.buf.subarray(this.pos, this.pos + 4) };
        this.pos += 4;
      } else if (wire === 2) {
        const len = Number(this.varint());
        if (this.pos + len > this.buf.length) throw new Error('truncated length-delimited field');
        yield { field, wire, value: this.buf.subarray(this.pos, this.pos + len) };
        this.pos += len;
      } else throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
}

const utf8 = new TextDecoder();
export const bytesOf = (f: Field) => f.value as Uint8Array;
export const str = (f: Field) => utf8.decode(bytesOf(f));
export const int64 = (v: bigint) => Number(BigInt.asIntN(64, v));

/** repeated int64/int32: packed (wire 2) or not (wire 0) */
export function pushInts(out: number[], f: Field): void {
  if (f.wire === 0) out.push(int64(f.value as bigint));
  else {
    const r = new Reader(bytesOf(f));
    while (r.pos < r.buf.length) out.push(int64(r.varint()));
  }
}

export function pushFloats(out: number[], f: Field): void {
  const b = bytesOf(f);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let o = 0; o + 4 <= b.byteLength; o += 4) out.push(dv.getFloat32(o, true));
}
