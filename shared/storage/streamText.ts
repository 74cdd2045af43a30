/**
 * A blob download's body as UTF-8 text ("" when there is none). With `maxBytes`, reading stops past that size, so
 * a blob far larger than what the caller parses cannot fill memory (the truncated text then fails to parse).
 */
export async function streamText(stream: NodeJS.ReadableStream | undefined, maxBytes = Infinity): Promise<string> {
  if (stream === undefined) return "";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > maxBytes) break;
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString("utf8");
}
