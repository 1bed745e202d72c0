import React from 'react';
import { Box, Text, render, type Instance } from 'ink';
import type { IndexProgress } from '../../core/index/indexer.js';

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}

function IndexProgressView({ progress }: { progress: IndexProgress }) {
  const { phase } = progress;
  if (phase === 'scan') return <Text color="cyan">Scanning files…</Text>;
  if (phase === 'chunk') {
    return (
      <Text>
        <Text color="cyan">Chunking </Text>
        {bar(progress.filesDone / Math.max(1, progress.filesTotal), 30)} {progress.filesDone}/{progress.filesTotal}{' '}
        files
      </Text>
    );
  }
  if (phase === 'write') return <Text color="cyan">Writing index…</Text>;
  return (
    <Box flexDirection="column">
      <Text>
        <Text color="cyan">Embedding </Text>
        {bar(progress.chunksDone / Math.max(1, progress.chunksTotal), 30)} {progress.chunksDone}/{progress.chunksTotal}{' '}
        chunks
      </Text>
      <Text dimColor>
        {progress.chunksPerSecond.toFixed(0)} chunks/s · ETA {formatEta(progress.etaSeconds)}
      </Text>
    </Box>
  );
}

/** Live progress on a TTY; throttled so ink redraws at most ~10 times a second. */
export function startIndexProgressView(): { update(progress: IndexProgress): void; stop(): void } {
  let last = 0;
  let latest: IndexProgress | undefined;
  const instance: Instance = render(<Text color="cyan">Starting…</Text>, {
    stdout: process.stderr,
    patchConsole: false,
  });
  return {
    update(progress) {
      latest = progress;
      const now = Date.now();
      if (now - last < 100 && progress.phase === 'embed' && progress.chunksDone < progress.chunksTotal) return;
      last = now;
      instance.rerender(<IndexProgressView progress={progress} />);
    },
    stop() {
      if (latest) instance.rerender(<IndexProgressView progress={latest} />);
      instance.unmount();
      instance.cleanup();
    },
  };
}
