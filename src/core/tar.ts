/** Reads the regular files of a tar stream (ustar, GNU long names, pax paths): what `tar -c` in a pod sends; and writes ustar archives of regular files. */

export interface TarEntry {
  name: string;
  data: Buffer;
}

const BLOCK = 512;

function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString("utf8");
}

function octal(header: Buffer, offset: number, length: number): number {
  const text = field(header, offset, length).trim();
  return text ? parseInt(text, 8) : 0;
}

function paxPath(data: Buffer): string | undefined {
  for (const record of data.toString("utf8").split("\n")) {
    const match = record.match(/^\d+ path=(.*)$/);
    if (match) return match[1];
  }
  return undefined;
}

/** The header's checksum (its own field counted as spaces), or 0 for an all-zero block (the end marker). */
function headerSum(header: Buffer): number {
  let sum = 0;
  let zero = true;
  for (let index = 0; index < BLOCK; index += 1) {
    const byte = header[index]!;
    if (byte !== 0) zero = false;
    sum += index >= 148 && index < 156 ? 32 : byte;
  }
  return zero ? 0 : sum;
}

/** Throws on a truncated or malformed archive; returns the regular files in order, as views of `archive`. */
export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    const computed = headerSum(header);
    if (computed === 0) return entries;
    if (octal(header, 148, 8) !== computed) throw new Error(`tar header checksum mismatch at byte ${offset}`);
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 48);
    const dataStart = offset + BLOCK;
    if (dataStart + size > archive.length) throw new Error("tar archive is truncated");
    const data = archive.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") {
      longName = data.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    if (type === "x") {
      longName = paxPath(data) ?? longName;
      continue;
    }
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    // A view of the archive, not a copy (copying a megabyte byte by byte cost 10 ms).
    if (type === "0" || type === "\0" || type === "7") entries.push({ name, data });
  }
  if (entries.length === 0 && archive.length === 0) return entries;
  throw new Error("tar archive ended without its end marker");
}

function putString(header: Buffer, offset: number, length: number, text: string): void {
  header.write(text, offset, Math.min(length, Buffer.byteLength(text)), "utf8");
}

function putOctal(header: Buffer, offset: number, length: number, value: number): void {
  putString(header, offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
}

/** Splits a path into ustar's prefix (155) and name (100), or throws when it cannot fit. */
function ustarName(path: string): { prefix: string; name: string } {
  if (Buffer.byteLength(path) <= 100) return { prefix: "", name: path };
  const cut = path.lastIndexOf("/", 155);
  if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100 || Buffer.byteLength(path.slice(0, cut)) > 155)
    throw new Error(`tar: path too long for ustar: ${path}`);
  return { prefix: path.slice(0, cut), name: path.slice(cut + 1) };
}

/** A ustar archive of regular files, in the order given (mode 0644, owner 0, one time for all). */
export function writeTar(entries: TarEntry[], mtimeSeconds: number): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const header = Buffer.alloc(BLOCK);
    const { prefix, name } = ustarName(entry.name);
    putString(header, 0, 100, name);
    putOctal(header, 100, 8, 0o644);
    putOctal(header, 108, 8, 0);
    putOctal(header, 116, 8, 0);
    putOctal(header, 124, 12, entry.data.length);
    putOctal(header, 136, 12, Math.floor(mtimeSeconds));
    header[156] = 48; // "0": a regular file
    putString(header, 257, 6, "ustar\0");
    putString(header, 263, 2, "00");
    putString(header, 345, 155, prefix);
    putString(header, 148, 8, `${headerSum(header).toString(8).padStart(6, "0")}\0 `);
    blocks.push(header, entry.data, Buffer.alloc((BLOCK - (entry.data.length % BLOCK)) % BLOCK));
  }
  blocks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(blocks);
}
