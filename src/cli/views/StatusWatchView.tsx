import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import React, { useEffect, useState } from 'react';
import { Box, Text, render, useApp, useInput } from 'ink';
import type { Config } from '../../core/config.js';
import type { Ledger } from '../../core/ledger/ledger.js';
import { projectStatus, type ProjectStatus } from '../../core/projectStatus.js';
import { planLocation } from '../../core/plan/planStore.js';
import type { Workspace } from '../../core/workspace.js';
import { statusText } from '../statusText.js';
import { colorEnabled, painter } from '../terminal.js';

/** The files whose changes `status --watch` follows: the plan, runs.db and the ledger (with WAL). */
export function watchedFiles(ws: Workspace, config: Config, ledger: Ledger): string[] {
  const runs = ws.runsDb;
  return [planLocation(ws, config).file, runs, `${runs}-wal`, ledger.file, `${ledger.file}-wal`];
}

/**
 * Calls `onChange` (debounced) when one of `files` is written. Directories are watched, not the
 * files, so a file created later (runs.db) or replaced by rename (the plan) is still seen.
 */
export function watchFiles(files: string[], onChange: () => void, debounceMs = 150): () => void {
  const byDir = new Map<string, Set<string>>();
  for (const file of files) {
    const dir = path.dirname(file);
    if (!byDir.has(dir)) byDir.set(dir, new Set());
    byDir.get(dir)!.add(path.basename(file));
  }
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    try {
      watchers.push(
        watch(dir, (_event, name) => {
          if (name && !names.has(name.toString())) return;
          clearTimeout(timer);
          timer = setTimeout(onChange, debounceMs);
        }),
      );
    } catch {
      // A directory that does not exist yet (no state dir): nothing there to follow.
    }
  }
  return () => {
    clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}

function StatusWatchView(props: { load: () => Promise<ProjectStatus>; files: string[] }) {
  const { exit } = useApp();
  const [status, setStatus] = useState<ProjectStatus | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [updatedAt, setUpdatedAt] = useState(new Date());
  useInput((input, key) => {
    if (input === 'q' || key.escape || (key.ctrl && input === 'c')) exit();
  });
  useEffect(() => {
    const refresh = () =>
      props.load().then(
        (s) => {
          setStatus(s);
          setError(undefined);
          setUpdatedAt(new Date());
        },
        (e: Error) => setError(e.message),
      );
    void refresh();
    // A minute tick keeps "n min ago" honest even when nothing changes.
    const tick = setInterval(refresh, 60_000);
    const stop = watchFiles(props.files, refresh);
    return () => {
      clearInterval(tick);
      stop();
    };
  }, []);
  const paint = painter(colorEnabled(Boolean(process.stdout.isTTY)));
  return (
    <Box flexDirection="column">
      {status ? <Text>{statusText(status, paint)}</Text> : <Text>Reading status…</Text>}
      {error ? <Text color="red">error: {error}</Text> : null}
      <Text dimColor>
        updated {updatedAt.toISOString().slice(11, 19)} UTC · refreshes when the plan, runs or ledger change · q quits
      </Text>
    </Box>
  );
}

/** The live `status --watch` dashboard; resolves when the user quits. */
export async function watchStatus(ws: Workspace, config: Config, ledger: Ledger): Promise<void> {
  // A pseudo-terminal can report 0 columns; ink would then wrap every character onto its own line.
  if (!(process.stdout.columns >= 20)) process.stdout.columns = 80;
  const instance = render(
    <StatusWatchView load={() => projectStatus(ws, config, ledger)} files={watchedFiles(ws, config, ledger)} />,
    { patchConsole: false },
  );
  await instance.waitUntilExit();
}
