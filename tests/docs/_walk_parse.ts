/**
 * The README walk's reading half: fenced blocks of a Markdown document with the `walk:` markers
 * (HTML comments, invisible on GitHub) written right above them. The marker language is described
 * in `/work/notes/CONVENTIONS.md` and in the README walk test (`readme_walk_test.ts`).
 *
 * @module
 */

/** What a block needs besides the walk's own environment. */
export type Need = "kafka" | "nameserver" | "python" | "denort";

const NEEDS: readonly Need[] = ["kafka", "nameserver", "python", "denort"];

/** One `<!-- walk: ... -->` marker. */
export type Directive =
  | { kind: "skip"; reason: string }
  | { kind: "static"; reason: string }
  | { kind: "replace"; from: string; to: string }
  | { kind: "file"; path: string }
  | { kind: "needs"; need: Need }
  | { kind: "kafkaTopics"; topics: string[] }
  | { kind: "background"; ready: RegExp }
  | { kind: "until"; pattern: RegExp }
  | { kind: "expect"; pattern: RegExp }
  | { kind: "feed"; command: string }
  | { kind: "exit"; code: number }
  | { kind: "timeout"; seconds: number }
  | { kind: "cwd"; dir: string };

/** A fenced code block with its markers. */
export interface Block {
  /** Document path as given to {@linkcode parseBlocks}. */
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** First word of the info string (`sh`, `ts`, `json`, ...), lower case; "" when absent. */
  lang: string;
  /** The block's text (common indentation removed), ending with a newline. */
  text: string;
  /** The markers above it, in order. */
  directives: Directive[];
}

/** What the walk does with a block. */
export type BlockKind = "shell" | "ts" | "file" | "ignored";

const SHELL = new Set(["sh", "bash", "shell"]);
const TS = new Set(["ts", "typescript"]);

/** A marker the walk cannot read, with the place it was found. */
export class WalkMarkerError extends Error {
  /**
   * @param doc document
   * @param line 1-based line
   * @param message what is wrong
   */
  constructor(doc: string, line: number, message: string) {
    super(`${doc}:${line}: ${message}`);
    this.name = "WalkMarkerError";
  }
}

function regex(doc: string, line: number, source: string): RegExp {
  if (!source) throw new WalkMarkerError(doc, line, "a pattern is required");
  try {
    return new RegExp(source, "m");
  } catch (e) {
    throw new WalkMarkerError(doc, line, `bad pattern ${source}: ${(e as Error).message}`);
  }
}

/** Parses the text after `walk:` of one marker. */
export function parseDirective(doc: string, line: number, body: string): Directive {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(body.trim());
  if (!m) throw new WalkMarkerError(doc, line, "empty walk marker");
  const [, name, rest0] = m;
  const rest = rest0.trim();
  const need = (what: string) => {
    if (!rest) throw new WalkMarkerError(doc, line, `"${name}" needs ${what}`);
    return rest;
  };
  switch (name) {
    case "skip":
      return { kind: "skip", reason: need("a reason") };
    case "static":
      return { kind: "static", reason: need("a reason") };
    case "replace": {
      const i = rest.indexOf(" => ");
      if (i <= 0) throw new WalkMarkerError(doc, line, `"replace" is "replace FROM => TO"`);
      return { kind: "replace", from: rest.slice(0, i), to: rest.slice(i + 4) };
    }
    case "file":
      return { kind: "file", path: need("a path") };
    case "needs": {
      const n = need(`one of ${NEEDS.join(", ")}`) as Need;
      if (!NEEDS.includes(n)) {
        throw new WalkMarkerError(doc, line, `unknown need "${rest}" (${NEEDS.join(", ")})`);
      }
      return { kind: "needs", need: n };
    }
    case "kafka-topics":
      return { kind: "kafkaTopics", topics: need("topic names").split(/[\s,]+/) };
    case "background":
      return { kind: "background", ready: rest ? regex(doc, line, rest) : /(?:)/ };
    case "until":
      return { kind: "until", pattern: regex(doc, line, rest) };
    case "expect":
      return { kind: "expect", pattern: regex(doc, line, rest) };
    case "feed":
      return { kind: "feed", command: need("a command") };
    case "exit": {
      const code = Number(rest);
      if (!Number.isInteger(code)) throw new WalkMarkerError(doc, line, `bad exit code ${rest}`);
      return { kind: "exit", code };
    }
    case "timeout": {
      const seconds = Number(rest);
      if (!(seconds > 0)) throw new WalkMarkerError(doc, line, `bad timeout ${rest}`);
      return { kind: "timeout", seconds };
    }
    case "cwd":
      return { kind: "cwd", dir: need("a directory") };
    default:
      throw new WalkMarkerError(doc, line, `unknown walk marker "${name}"`);
  }
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const MARKER = /^\s*<!--\s*walk:([\s\S]*?)-->\s*$/;

/**
 * The fenced blocks of a Markdown text with their markers. A marker belongs to the next block
 * (only blank lines and other markers may come between); a marker before anything else, or a
 * comment that starts with `walk` but is not well formed, is an error.
 *
 * @param doc name used in messages
 * @param text Markdown
 * @returns the blocks in document order
 */
export function parseBlocks(doc: string, text: string): Block[] {
  const lines = text.split("\n");
  const out: Block[] = [];
  let pending: Directive[] = [];
  let pendingLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const marker = MARKER.exec(line);
    if (marker) {
      if (!pending.length) pendingLine = i + 1;
      pending.push(parseDirective(doc, i + 1, marker[1]));
      continue;
    }
    if (/^\s*<!--\s*walk\b/.test(line)) {
      throw new WalkMarkerError(
        doc,
        i + 1,
        "a walk marker must be one whole line: <!-- walk: ... -->",
      );
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const [, indent, mark, lang] = fence;
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const close = lines[j].trimStart();
        if (close.startsWith(mark) && close.slice(mark.length).trim() === "") break;
        body.push(
          lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart(),
        );
      }
      out.push({
        doc,
        line: i + 1,
        lang: lang.toLowerCase(),
        text: body.join("\n") + "\n",
        directives: pending,
      });
      pending = [];
      i = j;
      continue;
    }
    if (line.trim() !== "" && pending.length) {
      throw new WalkMarkerError(
        doc,
        pendingLine,
        "walk markers must be followed by a fenced block",
      );
    }
  }
  if (pending.length) {
    throw new WalkMarkerError(doc, pendingLine, "walk markers must be followed by a fenced block");
  }
  return out;
}

/** What the walk does with a block: run it as shell or TypeScript, write it to a file, or not. */
export function blockKind(b: Block): BlockKind {
  if (b.directives.some((d) => d.kind === "file")) return "file";
  if (SHELL.has(b.lang)) return "shell";
  if (TS.has(b.lang)) return "ts";
  return "ignored";
}

/** The first directive of a kind, if any. */
export function directive<K extends Directive["kind"]>(
  b: Block,
  kind: K,
): Extract<Directive, { kind: K }> | undefined {
  return b.directives.find((d) => d.kind === kind) as Extract<Directive, { kind: K }> | undefined;
}

/** Every directive of a kind. */
export function directives<K extends Directive["kind"]>(
  b: Block,
  kind: K,
): Extract<Directive, { kind: K }>[] {
  return b.directives.filter((d) => d.kind === kind) as Extract<Directive, { kind: K }>[];
}

/**
 * The command a TypeScript block states on its first line, a comment ending in
 * `deno run <flags> <file>.ts` (optionally in backquotes); undefined when there is none.
 */
export function tsCommand(b: Block): { command: string; file: string } | undefined {
  const first = b.text.split("\n", 1)[0];
  const m = /^\/\/.*?`?(deno run (?:\S+ )*?([\w.-]+\.ts))`?\.?\s*$/.exec(first);
  return m ? { command: m[1], file: m[2] } : undefined;
}

/** Relative links to other Markdown files of the repository, resolved against `doc`'s folder. */
export function linkedDocs(doc: string, text: string): string[] {
  const dir = doc.includes("/") ? doc.slice(0, doc.lastIndexOf("/") + 1) : "";
  const out = new Set<string>();
  for (const m of text.matchAll(/\]\(([^)#\s]+\.md)(?:#[^)]*)?\)/g)) {
    const target = m[1];
    if (/^[a-z]+:/i.test(target) || target.startsWith("/")) continue;
    const parts: string[] = [];
    for (const p of (dir + target).split("/")) {
      if (p === "..") parts.pop();
      else if (p !== "." && p !== "") parts.push(p);
    }
    out.add(parts.join("/"));
  }
  return [...out];
}
