/**
 * Test-only: a minimal stored (uncompressed) zip writer, to wrap hand-crafted pickles into
 * torch-shaped archives. CRCs are left 0 (the reader under test does not check them).
 */
export function storedZip(entries: [string, Uint8Array][]): Uint8Array {
  const parts: number[] = [];
  const central: number[] = [];
  const u16 = (a: number[], v: number) => a.push(v & 255, (v >>> 8) & 255);
  const u32 = (a: number[], v: number) => a.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
  for (const [name, data] of entries) {
    const nb = new TextEncoder().encode(name);
    const off = parts.length;
    u32(parts, 0x04034b50); u16(parts, 20); u16(parts, 0); u16(parts, 0); u16(parts, 0); u16(parts, 0);
    u32(parts, 0); u32(parts, data.length); u32(parts, data.length); u16(parts, nb.length); u16(parts, 0);
    parts.push(...nb, ...data);
    u32(central, 0x02014b50); u16(central, 20); u16(central, 20); u16(central, 0); u16(central, 0); u16(central, 0); u16(central, 0);
    u32(central, 0); u32(central, data.length); u32(central, data.length); u16(central, nb.length); u16(central, 0); u16(central, 0);
    u16(central, 0); u16(central, 0); u32(central, 0); u32(central, off);
    central.push(...nb);
  }
  const cdOff = parts.length;
  const eocd: number[] = [];
  u32(eocd, 0x06054b50); u16(eocd, 0); u16(eocd, 0); u16(eocd, entries.length); u16(eocd, entries.length);
  u32(eocd, central.length); u32(eocd, cdOff); u16(eocd, 0);
  return new Uint8Array([...parts, ...central, ...eocd]);
}
