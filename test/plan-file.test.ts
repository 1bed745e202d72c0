import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../src/core/errors.js';
import {
  PLAN_MARKER,
  findItem,
  isPlanFile,
  looksLikeField,
  nextOpenItem,
  normalizeLine,
  normalizeText,
  parsePlan,
  planProgress,
  renderPlan,
  updatePlanItem,
  type PlanData,
  type PlanItemData,
} from '../src/core/plan/planFile.js';

/** Drops parse-only fields so a parsed plan compares with the data it was rendered from. */
function asData(text: string): PlanData {
  const { plan } = parsePlan(text);
  return {
    ...plan,
    items: plan.items.map(({ line: _line, ...item }) => {
      void _line;
      return item;
    }),
  };
}

/** Text generators: printable ASCII plus some Unicode, with Markdown-ish traps mixed in. */
const trap = fc.constantFrom(
  '- [ ] P9: fake item',
  '- Files: x.ts',
  '```',
  '  indented',
  '- [x] done?',
  '**bold**',
  '`tick`',
  '<!-- c -->',
  '# heading',
  'a\u2028b',
  '\u00a0nbsp',
  '',
);
const lineArb = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 12 }), trap);
const multiLine = fc
  .array(lineArb, { minLength: 1, maxLength: 5 })
  .map((lines) => normalizeText(lines.join('\n')))
  .filter((t) => t !== '');
const oneLine = fc
  .string({ minLength: 1, maxLength: 40 })
  .map(normalizeLine)
  .filter((t) => t !== '');
const idArb = fc
  .tuple(fc.constantFrom('P', 'T', 'FIX', 'step'), fc.nat(40), fc.option(fc.nat(9), { nil: undefined }))
  .map(([prefix, a, b]) => (b === undefined ? `${prefix}${a}` : `${prefix}${a}.${b}`));
const pathArb = fc
  .stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_./ -]{0,20}[A-Za-z0-9_]$/)
  .map((p) => p.trim())
  .filter((p) => p !== '');
const noteArb = multiLine.filter((note) => !looksLikeField(note.split('\n')[0]!));

const itemArb = (id: string): fc.Arbitrary<PlanItemData> =>
  fc.record(
    {
      id: fc.constant(id),
      title: oneLine,
      status: fc.constantFrom('open' as const, 'done' as const, 'rejected' as const),
      files: fc.array(pathArb, { maxLength: 4 }),
      action: multiLine,
      verification: multiLine,
      feedback: multiLine,
      notes: fc.array(noteArb, { maxLength: 2 }),
    },
    { requiredKeys: ['id', 'title', 'status', 'files', 'action', 'verification', 'notes'] },
  );

const planArb: fc.Arbitrary<PlanData> = fc
  .uniqueArray(idArb, { minLength: 0, maxLength: 6, selector: (id) => id.toUpperCase() })
  .chain((ids) =>
    fc.record(
      {
        goal: oneLine,
        date: oneLine,
        model: oneLine,
        items: ids.length === 0 ? fc.constant([]) : fc.tuple(...ids.map(itemArb)),
      },
      { requiredKeys: ['goal', 'items'] },
    ),
  );

describe('plan file: render and parse', () => {
  it('parse(render(plan)) gives the plan back, with no warnings (property)', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const text = renderPlan(plan);
        expect(text.startsWith(`${PLAN_MARKER}\n`)).toBe(true);
        expect(asData(text)).toEqual(plan);
        expect(parsePlan(text).warnings).toEqual([]);
        // Rendering is a fixed point: a parsed plan renders to the same bytes.
        expect(renderPlan(asData(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('writes the documented layout', () => {
    const text = renderPlan({
      goal: 'Add retries',
      date: '2026-11-26 06:45 UTC',
      model: 'gemini/gemini-2.5-flash',
      items: [
        {
          id: 'P1.2',
          title: 'Add retry with backoff to the HTTP client',
          status: 'rejected',
          files: ['src/http.ts', 'test/http.test.ts'],
          action: 'Wrap fetch in a retry loop.\nHonour Retry-After.',
          verification: 'a 429 is retried after Retry-After',
          feedback: 'no test for the 3-failure case',
        },
      ],
    });
    expect(text).toContain(
      [
        '- [!] P1.2: Add retry with backoff to the HTTP client',
        '  - Files: `src/http.ts`, `test/http.test.ts`',
        '  - Action: Wrap fetch in a retry loop.',
        '    Honour Retry-After.',
        '  - Verification: a 429 is retried after Retry-After',
        '  - Feedback: no test for the 3-failure case',
      ].join('\n'),
    );
    expect(text).toMatch(/^- Goal: Add retries$/m);
    expect(text).toMatch(/^- Model: gemini\/gemini-2.5-flash$/m);
  });

  it('refuses a file without the marker line (not ours)', () => {
    expect(isPlanFile('# My TODO\n- [ ] P1: mine\n')).toBe(false);
    expect(isPlanFile(`${PLAN_MARKER}\r\n# TODO\r\n`)).toBe(true);
    expect(isPlanFile(`\uFEFF${PLAN_MARKER}\n`)).toBe(true);
    expect(() => parsePlan('# My TODO\n', 'TODO.md')).toThrow(AppError);
    try {
      parsePlan('# My TODO\n', 'TODO.md');
    } catch (err) {
      expect((err as AppError).code).toBe('plan_foreign');
      expect((err as AppError).exitCode).toBe(2);
      expect((err as AppError).message).toContain('TODO.md');
    }
  });
});

const HUMAN_EDITED = `${PLAN_MARKER}
# TODO

- Goal: Add caching to the API client
- Date: 2026-11-20 10:00 UTC
- Model: gemini/gemini-2.5-flash

Some prose the reviewer added.

## Later

* [x] **P2**: Cache GET responses in memory
    * Files: src/cache.ts, \`src/api, client.ts\`
    * **Action:** Add an LRU in front of fetch.
      Keep it small.

    * Verification: repeated GETs hit the network once
    * Depends on: P1
    A free-form note under the item.

- [ ] P1: Add a cache-control parser (reworded by hand)
  - Files: src/cacheControl.ts
  - Action: parse max-age
  - Verification: unit tests for max-age=0 and no-store
- [!] P3: Hand-added item
  - Files: (none)
  - Action: document the cache
  - Verification: README has a Caching section
  - Feedback: the section is missing an example
- [ ] P1: duplicate ID written by mistake
- [~] P4: unknown mark
- [ ] no id here
- [] P5: empty box counts as open
  - Verify: tested
  - Action: do it
- Files: stray.ts

\`\`\`
- [ ] P9: inside a code block, not an item
\`\`\`
`;

describe('plan file: human edits', () => {
  const parsed = parsePlan(HUMAN_EDITED);
  const { plan } = parsed;

  it('reads reordered, reworded and hand-added items in file order', () => {
    expect(plan.goal).toBe('Add caching to the API client');
    expect(plan.date).toBe('2026-11-20 10:00 UTC');
    expect(plan.items.map((i) => [i.id, i.status])).toEqual([
      ['P2', 'done'],
      ['P1', 'open'],
      ['P3', 'rejected'],
      ['P5', 'open'],
    ]);
    const p2 = findItem(plan, 'p2')!;
    expect(p2.files).toEqual(['src/cache.ts', 'src/api, client.ts']);
    expect(p2.action).toBe('Add an LRU in front of fetch.\nKeep it small.');
    expect(p2.verification).toBe('repeated GETs hit the network once');
    // A non-bullet line under a bullet is a lazy continuation of it, as in CommonMark.
    expect(p2.notes).toEqual(['Depends on: P1\nA free-form note under the item.']);
    expect(findItem(plan, 'P1')!.title).toBe('Add a cache-control parser (reworded by hand)');
    expect(findItem(plan, 'P3')).toMatchObject({ files: [], feedback: 'the section is missing an example' });
    expect(findItem(plan, 'P5')).toMatchObject({ verification: 'tested', action: 'do it' });
    expect(findItem(plan, 'P9')).toBeUndefined();
  });

  it('reports malformed lines with their line numbers instead of failing', () => {
    const lineOf = (needle: string) => HUMAN_EDITED.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const byLine = new Map(parsed.warnings.map((w) => [w.line, w.message]));
    expect(byLine.get(lineOf('duplicate ID written'))).toMatch(/repeats an ID first used on line 21/);
    expect(lineOf('- [ ] P1: Add a cache-control')).toBe(21);
    expect(byLine.get(lineOf('[~] P4'))).toMatch(/unknown status mark "\[~\]"/);
    expect(byLine.get(lineOf('no id here'))).toMatch(/without an "ID: title" prefix/);
    expect(byLine.get(lineOf('- Files: stray.ts'))).toMatch(/outside an item/);
    expect(parsed.warnings).toHaveLength(4);
  });

  it('finds the next open item in file order and counts progress', () => {
    expect(nextOpenItem(plan)?.id).toBe('P1');
    expect(nextOpenItem({ ...plan, items: plan.items.filter((i) => i.id !== 'P1' && i.id !== 'P5') })).toBeUndefined();
    expect(
      nextOpenItem(
        { ...plan, items: plan.items.filter((i) => i.id !== 'P1' && i.id !== 'P5') },
        { includeRejected: true },
      )?.id,
    ).toBe('P3');
    expect(planProgress(plan)).toEqual({ total: 4, done: 1, rejected: 1, open: 2 });
  });

  it('never throws on arbitrary text after the marker; warnings point at real lines (property)', () => {
    const junk = fc.array(
      fc.oneof(
        lineArb,
        fc.constantFrom('- [ ] P1: a', '  - Action: x', '- [!] P1: dup', '\t- [x] T2: tab', '- Goal: g'),
      ),
      {
        maxLength: 30,
      },
    );
    fc.assert(
      fc.property(junk, fc.constantFrom('\n', '\r\n'), (lines, eol) => {
        const text = [PLAN_MARKER, ...lines].join(eol);
        const { plan, warnings } = parsePlan(text);
        const lineCount = text.split('\n').length;
        for (const w of warnings) {
          expect(w.line).toBeGreaterThanOrEqual(1);
          expect(w.line).toBeLessThanOrEqual(lineCount);
        }
        // Every parsed item points at its checkbox line and IDs are unique.
        const all = text.split('\n');
        for (const item of plan.items) expect(all[item.line - 1]).toContain(item.id);
        expect(new Set(plan.items.map((i) => i.id.toUpperCase())).size).toBe(plan.items.length);
      }),
      { numRuns: 300 },
    );
  });

  it('warns about items missing Action or Verification', () => {
    const { warnings } = parsePlan(`${PLAN_MARKER}\n- Goal: g\n- [ ] P1: bare\n  - Files: a.ts\n`);
    expect(warnings.map((w) => [w.line, w.message])).toEqual([
      [3, 'item P1 has no "- Action:" sub-bullet'],
      [3, 'item P1 has no "- Verification:" sub-bullet'],
    ]);
  });
});

describe('plan file: in-place updates', () => {
  /** Lines that differ between two texts (same length assumed or not). */
  function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
    const a = before.split('\n');
    const b = after.split('\n');
    let start = 0;
    while (start < a.length && start < b.length && a[start] === b[start]) start++;
    let endA = a.length;
    let endB = b.length;
    while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
      endA--;
      endB--;
    }
    return { removed: a.slice(start, endA), added: b.slice(start, endB) };
  }

  it('marks an item done without touching anything else', () => {
    const after = updatePlanItem(HUMAN_EDITED, 'P1', { status: 'done' });
    expect(changedLines(HUMAN_EDITED, after)).toEqual({
      removed: ['- [ ] P1: Add a cache-control parser (reworded by hand)'],
      added: ['- [x] P1: Add a cache-control parser (reworded by hand)'],
    });
  });

  it('adds Feedback under the right item with its sub-bullet indent, and replaces it later', () => {
    const rejected = updatePlanItem(HUMAN_EDITED, 'P2', {
      status: 'rejected',
      feedback: 'cache is unbounded\nadd a size cap',
    });
    // Only the mark changes and a Feedback block is inserted after the item's last line, at the
    // item's own 4-space sub-bullet indent and `*` bullet.
    expect(rejected).toBe(
      HUMAN_EDITED.replace('* [x] **P2**', '* [!] **P2**').replace(
        '    A free-form note under the item.\n',
        '    A free-form note under the item.\n    * Feedback: cache is unbounded\n      add a size cap\n',
      ),
    );
    expect(findItem(parsePlan(rejected).plan, 'P2')!.feedback).toBe('cache is unbounded\nadd a size cap');

    const replaced = updatePlanItem(rejected, 'P2', { feedback: 'still unbounded' });
    expect(changedLines(rejected, replaced)).toEqual({
      removed: ['    * Feedback: cache is unbounded', '      add a size cap'],
      added: ['    * Feedback: still unbounded'],
    });
    const approved = updatePlanItem(replaced, 'P2', { status: 'done', feedback: null });
    expect(approved).toBe(HUMAN_EDITED);
  });

  it('keeps CRLF line endings and a missing final newline', () => {
    const crlf = `${PLAN_MARKER}\r\n- Goal: g\r\n\r\n- [ ] P1: one\r\n  - Action: a\r\n  - Verification: v`;
    const updated = updatePlanItem(crlf, 'P1', { status: 'rejected', feedback: 'nope' });
    expect(updated).toBe(
      `${PLAN_MARKER}\r\n- Goal: g\r\n\r\n- [!] P1: one\r\n  - Action: a\r\n  - Verification: v\r\n  - Feedback: nope`,
    );
    expect(updatePlanItem(updated, 'P1', { status: 'open', feedback: null })).toBe(crlf);
  });

  it('fills an empty checkbox and rejects unknown IDs', () => {
    expect(updatePlanItem(HUMAN_EDITED, 'P5', { status: 'done' })).toContain('- [x] P5: empty box counts as open');
    expect(() => updatePlanItem(HUMAN_EDITED, 'P42', { status: 'done' })).toThrow(/No item P42/);
  });

  it('updating one item of a rendered plan leaves all other items as they were (property)', () => {
    fc.assert(
      fc.property(
        planArb.filter((p) => p.items.length > 0),
        fc.nat(),
        fc.constantFrom('open' as const, 'done' as const, 'rejected' as const),
        fc.option(multiLine, { nil: null }),
        (plan, pick, status, feedback) => {
          const target = plan.items[pick % plan.items.length]!;
          const updated = asData(updatePlanItem(renderPlan(plan), target.id, { status, feedback }));
          const expected = plan.items.map((item) => {
            if (item.id !== target.id) return item;
            const next: PlanItemData = { ...item, status };
            if (feedback === null) delete next.feedback;
            else next.feedback = feedback;
            return next;
          });
          expect(updated.items).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
