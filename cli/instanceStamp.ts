/** `20261123T094512Z`: a compact UTC stamp for instance ids the CLI starts (durable ids allow no '/'). */
export function instanceStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}
