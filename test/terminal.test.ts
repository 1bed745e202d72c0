import { describe, expect, it } from 'vitest';
import { colorEnabled, isCi, painter, unattended } from '../src/cli/terminal.js';

describe('terminal rules: colour and who can answer', () => {
  it('colour: FORCE_COLOR wins, then NO_COLOR, then only a terminal that is not dumb', () => {
    expect(colorEnabled(true, {})).toBe(true);
    expect(colorEnabled(false, {})).toBe(false);
    expect(colorEnabled(true, { TERM: 'dumb' })).toBe(false);
    expect(colorEnabled(true, { NO_COLOR: '1' })).toBe(false);
    // An empty NO_COLOR does not count (no-color.org: "present and not an empty string").
    expect(colorEnabled(true, { NO_COLOR: '' })).toBe(true);
    expect(colorEnabled(false, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorEnabled(false, { FORCE_COLOR: '' })).toBe(true);
    expect(colorEnabled(true, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorEnabled(true, { FORCE_COLOR: 'false' })).toBe(false);
    expect(colorEnabled(false, { FORCE_COLOR: '3', NO_COLOR: '1' })).toBe(true);
  });

  it('painting without colour returns the text untouched; with colour it wraps it in SGR codes', () => {
    expect(painter(false)('red', 'x')).toBe('x');
    expect(painter(true)('red', 'x')).toBe('\x1b[31mx\x1b[39m');
  });

  it('CI=true (any value but false/0/empty), --yes or stdin without a TTY: nobody to ask', () => {
    expect(isCi({ CI: 'true' })).toBe(true);
    expect(isCi({ CI: '1' })).toBe(true);
    expect(isCi({ CI: 'false' })).toBe(false);
    expect(isCi({ CI: '0' })).toBe(false);
    expect(isCi({})).toBe(false);
    expect(unattended(false, {}, true)).toBe(false);
    expect(unattended(true, {}, true)).toBe(true);
    expect(unattended(false, { CI: 'true' }, true)).toBe(true);
    expect(unattended(false, {}, false)).toBe(true);
  });
});
