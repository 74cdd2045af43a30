/**
 * Reading Bicep without a Bicep compiler (none is installable here): a resource's or module's block, the top-level
 * keys of an object literal, a module's declared parameters, and the value of a simple property expression under
 * given parameter values. Anything outside the small grammar it knows (a literal, a bool parameter's `? :`, a
 * variable holding one of those) throws, so a template written another way fails the test that reads it instead of
 * passing unread.
 */

/** The text of `resource NAME '…' = … {` or `module NAME '…' = … {` up to its closing brace at column 0. */
export function bicepBlock(text: string, kind: "resource" | "module", name: string): string {
  const start = new RegExp(`^${kind} ${name} '[^']+'[^\\n]*\\{\\n`, "m").exec(text);
  if (start === null) throw new Error(`no ${kind} ${name} in the template`);
  const end = text.indexOf("\n}", start.index);
  if (end < 0) throw new Error(`${kind} ${name} has no closing brace at column 0`);
  return text.slice(start.index, end + 2);
}

/** Top-level keys of the object literal that starts at `open` (the index of its `{`). */
export function objectKeys(text: string, open: number): string[] {
  if (text[open] !== "{") throw new Error(`no object literal at ${open}: "${text.slice(open, open + 20)}"`);
  const keys: string[] = [];
  let depth = 0;
  let atEntryStart = false;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      // A string: skip to its unescaped closing quote ('' and \' both escape in Bicep).
      for (i++; i < text.length && !(text[i] === "'" && text[i - 1] !== "\\"); i++);
      continue;
    }
    if ("{[(".includes(c)) {
      depth++;
      if (depth === 1) atEntryStart = true;
      continue;
    }
    if ("}])".includes(c)) {
      depth--;
      if (depth === 0) return keys;
      continue;
    }
    if (depth !== 1) continue;
    if (c === "," || c === "\n") {
      atEntryStart = true;
      continue;
    }
    if (atEntryStart && /\S/.test(c)) {
      const key = /^(\w+)\s*:/.exec(text.slice(i));
      if (key !== null) keys.push(key[1]!);
      atEntryStart = false;
    }
  }
  throw new Error(`object literal at ${open} is not closed`);
}

/** The keys a module reference passes in `params: { … }`. */
export function moduleParamKeys(block: string): string[] {
  const at = block.indexOf("params: {");
  if (at < 0) throw new Error(`no params in "${block.split("\n")[0]}"`);
  return objectKeys(block, at + "params: ".length);
}

/** A template's declared parameters, and which of them must be passed (no default). */
export function declaredParams(text: string): { all: string[]; required: string[] } {
  const params = [...text.matchAll(/^param (\w+) \w+( =)?/gm)];
  return { all: params.map((m) => m[1]!), required: params.filter((m) => m[2] === undefined).map((m) => m[1]!) };
}

/** The expression of `property:` inside a block (the first one), up to the next `,` or `}` outside strings. */
export function propertyExpression(block: string, property: string): string {
  const m = new RegExp(`[\\s{,]${property}: `).exec(block);
  if (m === null) throw new Error(`no ${property} in "${block.split("\n")[0]}"`);
  const from = m.index + m[0].length;
  let i = from;
  for (; i < block.length; i++) {
    if (block[i] === "'") for (i++; i < block.length && block[i] !== "'"; i++);
    else if (",}\n".includes(block[i]!)) break;
  }
  return block.slice(from, i).trim();
}

/**
 * The value of a property expression under the given bool parameters: a string literal, `param ? 'a' : 'b'`, or a
 * variable of the template that holds one of those.
 */
export function evaluateExpression(template: string, expression: string, bools: Record<string, boolean>): string {
  const literal = /^'([^']*)'$/.exec(expression);
  if (literal !== null) return literal[1]!;
  const conditional = /^(\w+) \? ('[^']*') : ('[^']*')$/.exec(expression);
  if (conditional !== null) {
    const value = bools[conditional[1]!];
    if (value === undefined) throw new Error(`"${expression}" tests ${conditional[1]}, which is not one of ${Object.keys(bools).join(", ")}`);
    return evaluateExpression(template, value ? conditional[2]! : conditional[3]!, bools);
  }
  const variable = new RegExp(`^var ${expression} = (.+)$`, "m").exec(template);
  if (/^\w+$/.test(expression) && variable !== null) return evaluateExpression(template, variable[1]!.trim(), bools);
  throw new Error(`cannot evaluate "${expression}" (a literal, a bool parameter's ? :, or a variable of those)`);
}
