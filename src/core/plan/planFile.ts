import { AppError } from '../errors.js';

/**
 * The plan file (DESIGN §5): Markdown a human reads, edits and reviews in a pull request, and
 * that `implement` walks. This module parses it tolerantly, renders it, and edits one item in
 * place without touching any other byte, so human edits survive the tool's updates.
 *
 * Layout written by `renderPlan`:
 *
 *   <!-- ai-dev-bot plan v1 -->        marker: the tool only ever overwrites files starting with it
 *   # TODO
 *
 *   - Goal: …                          header bullets before the first item
 *   - Date: …
 *   - Model: …
 *
 *   - [ ] P1: Title                    one checkbox line per item: `[ ]` open, `[x]` done, `[!]` rejected
 *     - Files: `a.ts`, `b.ts`
 *     - Action: first line             multi-line values continue two columns deeper
 *       second line
 *     - Verification: …
 *     - Feedback: …                    last review feedback of a rejected item
 */

export const PLAN_FORMAT_VERSION = 1;
export const PLAN_MARKER = `<!-- ai-dev-bot plan v${PLAN_FORMAT_VERSION} -->`;
const MARKER_RE = /^<!--\s*ai-dev-bot plan v(\d+)\s*-->\s*$/;

export type ItemStatus = 'open' | 'done' | 'rejected';
const STATUS_MARK: Record<ItemStatus, string> = { open: ' ', done: 'x', rejected: '!' };

/** An item as data: what the architect produces and what `renderPlan` writes. */
export interface PlanItemData {
  id: string;
  title: string;
  status: ItemStatus;
  files: string[];
  action: string;
  verification: string;
  /** Last review feedback (set when an attempt was rejected). */
  feedback?: string;
  /** Sub-bullets or prose a human added under the item that are not one of the known fields. */
  notes?: string[];
}

export interface PlanData {
  goal: string;
  date?: string;
  model?: string;
  items: PlanItemData[];
}

/** A parsed item knows where it is, so messages and tools can point at the line. */
export interface PlanItem extends PlanItemData {
  notes: string[];
  /** 1-based line of the checkbox line. */
  line: number;
}

export interface Plan extends Omit<PlanData, 'items'> {
  items: PlanItem[];
}

export interface PlanWarning {
  /** 1-based line number in the file. */
  line: number;
  message: string;
}

/** Where an item sits in the file (0-based line indexes), used to edit it in place. */
interface ItemSpan {
  /** Index of the checkbox line. */
  start: number;
  /** One past the last non-blank line belonging to the item. */
  end: number;
  /** Column of the status character inside `[ ]` on the checkbox line. */
  markColumn: number;
  /** Indent of the item's sub-bullets (item indent + 2 if it has none). */
  fieldIndent: number;
  /** Bullet character of its sub-bullets (`-`, `*` or `+`), so an inserted Feedback matches. */
  bullet: string;
  /** The Feedback sub-bullet with its continuation lines, if present. */
  feedback?: { start: number; end: number };
}

export interface ParsedPlan {
  plan: Plan;
  warnings: PlanWarning[];
  /** Format version from the marker line. */
  version: number;
  /** Item positions by upper-cased ID (internal to in-place updates, but harmless to read). */
  spans: Map<string, ItemSpan>;
}

// ---------------------------------------------------------------------------------------------
// Text normalisation: what a field value looks like after a render → parse round trip.

/**
 * Canonical form of a multi-line value: CRLF/CR become LF, trailing whitespace goes, leading and
 * trailing blank lines go, and the first line starts with a non-blank character. Interior blank
 * lines and the relative indentation of later lines are kept (an action may hold a code snippet).
 */
export function normalizeText(value: string): string {
  const lines = value
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd());
  while (lines.length > 0 && lines[0] === '') lines.shift();
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return '';
  lines[0] = lines[0]!.trimStart();
  return lines.join('\n');
}

/** Canonical form of a one-line value (title, goal, header fields): whitespace runs become one space. */
export function normalizeLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

/** IDs like `P1`, `P1.2`, `FIX-3`: a letter first, then letters/digits in dot/dash/underscore groups. */
export const ITEM_ID_PATTERN = /^[A-Za-z][A-Za-z0-9]*(?:[._-][A-Za-z0-9]+)*$/;
const ID_SOURCE = '[A-Za-z][A-Za-z0-9]*(?:[._-][A-Za-z0-9]+)*';

// ---------------------------------------------------------------------------------------------
// Rendering.

function renderFiles(files: string[]): string {
  return files.length === 0 ? '(none)' : files.map((file) => `\`${file}\``).join(', ');
}

/** `- Key: first line` then continuation lines two columns deeper (blank lines stay blank). */
function renderField(indent: string, key: string, value: string): string[] {
  const [first = '', ...rest] = normalizeText(value).split('\n');
  return [`${indent}- ${key}: ${first}`.trimEnd(), ...rest.map((line) => (line === '' ? '' : `${indent}  ${line}`))];
}

export function renderItem(item: PlanItemData): string[] {
  const lines = [`- [${STATUS_MARK[item.status]}] ${item.id}: ${normalizeLine(item.title)}`];
  lines.push(`  - Files: ${renderFiles(item.files)}`);
  lines.push(...renderField('  ', 'Action', item.action));
  lines.push(...renderField('  ', 'Verification', item.verification));
  if (item.feedback !== undefined && normalizeText(item.feedback) !== '')
    lines.push(...renderField('  ', 'Feedback', item.feedback));
  for (const note of item.notes ?? []) {
    const [first = '', ...rest] = normalizeText(note).split('\n');
    lines.push(`  - ${first}`, ...rest.map((line) => (line === '' ? '' : `    ${line}`)));
  }
  return lines;
}

/** Renders a whole plan file; `parsePlan(renderPlan(p))` gives back `p` (normalised). */
export function renderPlan(plan: PlanData): string {
  const out = [PLAN_MARKER, '# TODO', '', `- Goal: ${normalizeLine(plan.goal)}`];
  if (plan.date) out.push(`- Date: ${normalizeLine(plan.date)}`);
  if (plan.model) out.push(`- Model: ${normalizeLine(plan.model)}`);
  out.push(
    '',
    'Written by ai-dev-bot; edit freely (reorder, reword, add items with the same syntax).',
    'Marks: `[ ]` open, `[x]` approved, `[!]` rejected (see its Feedback). Keep each `ID:` prefix.',
  );
  for (const item of plan.items) out.push('', ...renderItem(item));
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Parsing.

/** Whether a file was written by this tool (its first line is the marker). */
export function isPlanFile(text: string): boolean {
  return MARKER_RE.test(firstLine(text));
}

function firstLine(text: string): string {
  const withoutBom = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const end = withoutBom.indexOf('\n');
  return (end === -1 ? withoutBom : withoutBom.slice(0, end)).replace(/\r$/, '');
}

/** Splits into lines, each keeping its own terminator, so edits can reassemble the file exactly. */
function splitKeepEol(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines.length === 1 && lines[0] === '' ? [] : lines;
}

function stripEol(line: string): string {
  return line.replace(/\r?\n$/, '');
}

/** Indent width in columns; a tab counts as 4 (editors disagree, but it only has to be consistent). */
function indentOf(line: string): number {
  let col = 0;
  for (const ch of line) {
    if (ch === ' ') col += 1;
    else if (ch === '\t') col += 4;
    else break;
  }
  return col;
}

/** Removes up to `columns` columns of leading spaces/tabs, keeping deeper indentation. */
function dedent(line: string, columns: number): string {
  let col = 0;
  let i = 0;
  while (i < line.length && col < columns) {
    const width = line[i] === ' ' ? 1 : line[i] === '\t' ? 4 : 0;
    if (width === 0 || col + width > columns) break;
    col += width;
    i++;
  }
  return line.slice(i);
}

// The `s` flag: values may hold U+2028/U+2029, which `.` would not match otherwise.
const CHECKBOX_RE = /^[ \t]*[-*+][ \t]+\[([^\]]?)\][ \t]*(.*)$/s;
const ID_TITLE_RE = new RegExp(`^(?:\\*\\*)?(${ID_SOURCE})(?:\\*\\*)?[ \\t]*:(?:\\*\\*)?(.*)$`, 's');
/** `- Key: value`, also `- **Key:** value` and `- **Key**: value`. */
const KEYED_BULLET_RE = /^[-*+][ \t]+(?:\*\*)?([A-Za-z][A-Za-z ]*?)(?::\*\*|\*\*:|:)(.*)$/s;
const BULLET_RE = /^[-*+][ \t]+(.*)$/s;
const FENCE_RE = /^[ \t]*(```|~~~)/;

type FieldKey = 'files' | 'action' | 'verification' | 'feedback';
const FIELD_KEYS: Record<string, FieldKey> = {
  file: 'files',
  files: 'files',
  action: 'action',
  actions: 'action',
  verification: 'verification',
  verify: 'verification',
  acceptance: 'verification',
  feedback: 'feedback',
};
type HeaderKey = 'goal' | 'date' | 'model';
const HEADER_KEYS: Record<string, HeaderKey> = { goal: 'goal', date: 'date', created: 'date', model: 'model' };

function fieldBullet(content: string): { key: FieldKey; value: string } | undefined {
  const match = KEYED_BULLET_RE.exec(content);
  if (!match) return undefined;
  const key = FIELD_KEYS[match[1]!.trim().toLowerCase()];
  return key ? { key, value: match[2]! } : undefined;
}

/** Whether a sub-bullet's text would be read back as a known field (notes must not look like one). */
export function looksLikeField(text: string): boolean {
  return fieldBullet(`- ${text}`) !== undefined;
}

/** `\`a.ts\`, b.ts` → ['a.ts', 'b.ts']; backticks let a path contain a comma. */
export function parseFiles(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed === '' || /^\(?none\)?$/i.test(trimmed) || trimmed === '-') return [];
  const files: string[] = [];
  for (const match of trimmed.matchAll(/`([^`]*)`|([^,`]+)/g)) {
    const file = (match[1] ?? match[2] ?? '').trim();
    if (file) files.push(file);
  }
  return files;
}

interface OpenValue {
  kind: FieldKey | 'note';
  lines: string[];
  /** Blank lines seen since the last content line; kept only if more content follows. */
  pendingBlanks: number;
  start: number;
  end: number;
}

interface ItemBuilder {
  item: PlanItem;
  indent: number;
  fieldIndent: number | undefined;
  bullet: string | undefined;
  markColumn: number;
  start: number;
  /** One past the last non-blank line seen. */
  end: number;
  value: OpenValue | undefined;
  seen: Set<FieldKey>;
  feedback: { start: number; end: number } | undefined;
  /** Ignored items (duplicate ID) are consumed but not kept. */
  keep: boolean;
}

/**
 * Parses a plan file. Never throws on content it does not understand: such lines are skipped
 * with a warning naming the line. Only a file without the marker line is refused (it is not ours).
 */
export function parsePlan(text: string, fileLabel = 'the plan file'): ParsedPlan {
  const markerMatch = MARKER_RE.exec(firstLine(text));
  if (!markerMatch) {
    throw new AppError(
      'plan_foreign',
      `${fileLabel} was not written by ai-dev-bot (its first line is not "${PLAN_MARKER}").`,
      'Move it aside, or set plan.file in ai-dev-bot.config.json to another path, then run `ai-dev-bot plan <goal>`.',
    );
  }
  const version = Number(markerMatch[1]);
  const warnings: PlanWarning[] = [];
  const warn = (index: number, message: string) => warnings.push({ line: index + 1, message });
  if (version > PLAN_FORMAT_VERSION) {
    warn(0, `written by a newer plan format (v${version}); reading it as v${PLAN_FORMAT_VERSION}`);
  }

  const header: { goal?: string; date?: string; model?: string } = {};
  const items: PlanItem[] = [];
  const spans = new Map<string, ItemSpan>();
  const firstLineOf = new Map<string, number>();
  let current: ItemBuilder | undefined;
  let inFence = false;

  const closeValue = (b: ItemBuilder) => {
    const value = b.value;
    if (!value) return;
    b.value = undefined;
    const text = normalizeText(value.lines.join('\n'));
    const item = b.item;
    switch (value.kind) {
      case 'files':
        item.files.push(...parseFiles(text.replace(/\n/g, ',')));
        break;
      case 'action':
      case 'verification':
      case 'feedback': {
        const previous = item[value.kind];
        item[value.kind] = previous ? `${previous}\n${text}` : text;
        if (value.kind === 'feedback') b.feedback = { start: value.start, end: value.end };
        break;
      }
      case 'note':
        if (text !== '') item.notes.push(text);
        break;
    }
  };

  const closeItem = () => {
    const b = current;
    if (!b) return;
    closeValue(b);
    current = undefined;
    if (!b.keep) return;
    const item = b.item;
    if (item.feedback === '') delete item.feedback;
    if (!b.seen.has('action')) warn(b.start, `item ${item.id} has no "- Action:" sub-bullet`);
    if (!b.seen.has('verification')) warn(b.start, `item ${item.id} has no "- Verification:" sub-bullet`);
    items.push(item);
    spans.set(item.id.toUpperCase(), {
      start: b.start,
      end: b.end,
      markColumn: b.markColumn,
      fieldIndent: b.fieldIndent ?? b.indent + 2,
      bullet: b.bullet ?? '-',
      ...(b.feedback ? { feedback: b.feedback } : {}),
    });
  };

  const lines = splitKeepEol(text).map(stripEol);
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw;
    const blank = line.trim() === '';
    const indent = indentOf(line);

    // Inside an item, everything indented deeper belongs to it (fields, notes, continuations),
    // whatever it looks like; blank lines never end an item (loose lists are common).
    if (current && (blank || indent > current.indent)) {
      if (blank) {
        if (current.value) current.value.pendingBlanks++;
        continue;
      }
      current.end = i + 1;
      const content = line.slice(line.length - line.trimStart().length);
      const isBullet = BULLET_RE.test(content);
      const fieldIndent = current.fieldIndent;
      // A line deeper than the field bullets continues the open value; so does a non-bullet line
      // right under an open value.
      if (current.value && fieldIndent !== undefined && (indent >= fieldIndent + 2 || !isBullet)) {
        const value = current.value;
        for (; value.pendingBlanks > 0; value.pendingBlanks--) value.lines.push('');
        value.lines.push(dedent(line, fieldIndent + 2).trimEnd());
        value.end = i + 1;
        continue;
      }
      closeValue(current);
      current.fieldIndent ??= indent;
      if (isBullet) {
        current.bullet ??= content[0];
        const field = fieldBullet(content);
        if (field) {
          if (current.seen.has(field.key) && field.key !== 'files') {
            warn(i, `item ${current.item.id} has a second "${field.key}" sub-bullet; its text is appended`);
          }
          current.seen.add(field.key);
          current.value = { kind: field.key, lines: [field.value], pendingBlanks: 0, start: i, end: i + 1 };
        } else {
          current.value = {
            kind: 'note',
            lines: [BULLET_RE.exec(content)![1]!],
            pendingBlanks: 0,
            start: i,
            end: i + 1,
          };
        }
      } else {
        current.value = { kind: 'note', lines: [content], pendingBlanks: 0, start: i, end: i + 1 };
      }
      continue;
    }

    if (blank) continue;
    // A non-blank line at or left of the item's indent ends the item.
    closeItem();

    if (FENCE_RE.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;

    const checkbox = CHECKBOX_RE.exec(line);
    if (checkbox) {
      const mark = checkbox[1]!;
      const rest = checkbox[2]!.trim();
      const idTitle = ID_TITLE_RE.exec(rest);
      if (!idTitle) {
        warn(i, `checkbox line without an "ID: title" prefix (e.g. "- [ ] P3: Add tests"); ignored`);
        continue;
      }
      const status: ItemStatus | undefined =
        mark === ' ' || mark === ''
          ? 'open'
          : mark === 'x' || mark === 'X'
            ? 'done'
            : mark === '!'
              ? 'rejected'
              : undefined;
      const id = idTitle[1]!;
      const title = normalizeLine(idTitle[2]!);
      const keep = status !== undefined && !firstLineOf.has(id.toUpperCase());
      if (status === undefined) {
        warn(i, `item ${id} has an unknown status mark "[${mark}]" (use [ ], [x] or [!]); ignored`);
      } else if (!keep) {
        warn(
          i,
          `item ${id} repeats an ID first used on line ${firstLineOf.get(id.toUpperCase())! + 1}; ignored until renamed`,
        );
      } else {
        firstLineOf.set(id.toUpperCase(), i);
        if (title === '') warn(i, `item ${id} has no title`);
      }
      current = {
        item: { id, title, status: status ?? 'open', files: [], action: '', verification: '', notes: [], line: i + 1 },
        indent,
        fieldIndent: undefined,
        bullet: undefined,
        markColumn: line.indexOf('[') + 1,
        start: i,
        end: i + 1,
        value: undefined,
        seen: new Set(),
        feedback: undefined,
        keep,
      };
      continue;
    }

    const content = line.trimStart();
    const keyed = KEYED_BULLET_RE.exec(content);
    if (keyed) {
      const key = keyed[1]!.trim().toLowerCase();
      const headerKey = HEADER_KEYS[key];
      if (headerKey && items.length === 0 && header[headerKey] === undefined) {
        header[headerKey] = normalizeLine(keyed[2]!);
        continue;
      }
      if (FIELD_KEYS[key]) {
        warn(i, `"${keyed[1]!.trim()}:" sub-bullet outside an item; indent it under its item's checkbox line`);
        continue;
      }
    }
    // Anything else (headings, prose, other lists) is the human's and is left alone.
  }
  closeItem();

  if (header.goal === undefined) warn(0, 'no "- Goal:" line before the first item');
  const plan: Plan = { goal: header.goal ?? '', items };
  if (header.date !== undefined) plan.date = header.date;
  if (header.model !== undefined) plan.model = header.model;
  warnings.sort((a, b) => a.line - b.line);
  return { plan, warnings, version, spans };
}

// ---------------------------------------------------------------------------------------------
// Queries used by `plan show`, `status` and `implement`.

export function findItem(plan: Plan, id: string): PlanItem | undefined {
  const wanted = id.toUpperCase();
  return plan.items.find((item) => item.id.toUpperCase() === wanted);
}

/**
 * The next item to work on: the first open one in file order (a human reorders the file to
 * reprioritise). Rejected items are skipped unless `includeRejected` is set.
 */
export function nextOpenItem(plan: Plan, options: { includeRejected?: boolean } = {}): PlanItem | undefined {
  return plan.items.find(
    (item) => item.status === 'open' || (options.includeRejected === true && item.status === 'rejected'),
  );
}

export interface PlanProgress {
  total: number;
  done: number;
  rejected: number;
  open: number;
}

export function planProgress(plan: Plan): PlanProgress {
  const count = (status: ItemStatus) => plan.items.filter((item) => item.status === status).length;
  return { total: plan.items.length, done: count('done'), rejected: count('rejected'), open: count('open') };
}

// ---------------------------------------------------------------------------------------------
// In-place update.

export interface ItemUpdate {
  status?: ItemStatus;
  /** A string sets (or replaces) the Feedback sub-bullet; `null` removes it; omitted leaves it. */
  feedback?: string | null;
}

/**
 * Changes one item's status mark and/or Feedback sub-bullet and returns the new file text.
 * Every other byte (other items, prose, line endings, a missing final newline) is preserved.
 */
export function updatePlanItem(text: string, id: string, update: ItemUpdate, fileLabel = 'the plan file'): string {
  const parsed = parsePlan(text, fileLabel);
  const span = parsed.spans.get(id.toUpperCase());
  if (!span) {
    throw new AppError(
      'bad_argument',
      `No item ${id} in ${fileLabel}.`,
      'Run `ai-dev-bot plan show` to list the item IDs.',
    );
  }
  const lines = splitKeepEol(text);
  const eol = /\r\n$/.test(lines[span.start]!) ? '\r\n' : '\n';

  if (update.status !== undefined) {
    const line = lines[span.start]!;
    const hasMarkChar = line[span.markColumn] !== ']';
    lines[span.start] =
      line.slice(0, span.markColumn) + STATUS_MARK[update.status] + line.slice(span.markColumn + (hasMarkChar ? 1 : 0));
  }

  if (update.feedback !== undefined) {
    const feedback = update.feedback === null ? '' : normalizeText(update.feedback);
    const indent = ' '.repeat(span.fieldIndent);
    const newLines =
      feedback === ''
        ? []
        : feedback
            .split('\n')
            .map((line, n) =>
              n === 0 ? `${indent}${span.bullet} Feedback: ${line}` : line === '' ? '' : `${indent}  ${line}`,
            );
    const [from, to] = span.feedback ? [span.feedback.start, span.feedback.end] : [span.end, span.end];
    const block = newLines.map((line) => `${line}${eol}`);
    // A file without a final newline keeps that shape: whatever ends up last loses its newline.
    if (from === to) {
      const before = lines[from - 1]!;
      if (block.length > 0 && !before.endsWith('\n')) {
        lines[from - 1] = `${before}${eol}`;
        block[block.length - 1] = block[block.length - 1]!.slice(0, -eol.length);
      }
    } else if (!lines[to - 1]!.endsWith('\n')) {
      if (block.length > 0) block[block.length - 1] = block[block.length - 1]!.slice(0, -eol.length);
      else lines[from - 1] = lines[from - 1]!.replace(/\r?\n$/, '');
    }
    lines.splice(from, to - from, ...block);
  }
  return lines.join('');
}
