import React from 'react';
import { Box, Text, renderToString } from 'ink';
import { nextOpenItem, planProgress, type Plan, type PlanItem } from '../../core/plan/planFile.js';

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

function ItemRow({ item, next }: { item: PlanItem; next: boolean }) {
  const [mark, color] =
    item.status === 'done'
      ? ['✔', 'green']
      : item.status === 'rejected'
        ? ['✘', 'red']
        : next
          ? ['▶', 'cyan']
          : ['○', 'gray'];
  return (
    <Box flexDirection="column">
      <Box>
        <Box width={3} flexShrink={0}>
          <Text color={color}>{mark}</Text>
        </Box>
        <Box width={8} flexShrink={0}>
          <Text bold={next}>{item.id}</Text>
        </Box>
        <Text bold={next} dimColor={item.status === 'done'} wrap="truncate-end">
          {item.title}
        </Text>
      </Box>
      {next && item.files.length > 0 ? (
        <Box marginLeft={11}>
          <Text dimColor wrap="truncate-end">
            {item.files.join(', ')}
          </Text>
        </Box>
      ) : null}
      {item.status === 'rejected' && item.feedback ? (
        <Box marginLeft={11}>
          <Text color="red">feedback: {item.feedback}</Text>
        </Box>
      ) : null}
    </Box>
  );
}

function PlanView({ plan, file }: { plan: Plan; file: string }) {
  const progress = planProgress(plan);
  const next = nextOpenItem(plan);
  const meta = [plan.model, plan.date].filter(Boolean).join(' · ');
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{file}</Text>
        <Text>: {plan.goal || '(no goal)'}</Text>
      </Text>
      {meta ? <Text dimColor>{meta}</Text> : null}
      <Box marginY={1}>
        <Text color="green">{bar(progress.total === 0 ? 0 : progress.done / progress.total, 24)}</Text>
        <Text>
          {' '}
          {progress.done}/{progress.total} done
          {progress.rejected > 0 ? <Text color="red"> · {progress.rejected} rejected</Text> : null} · {progress.open}{' '}
          open
        </Text>
      </Box>
      {plan.items.map((item) => (
        <ItemRow key={`${item.id}:${item.line}`} item={item} next={item === next} />
      ))}
      {plan.items.length === 0 ? <Text dimColor>(no items)</Text> : null}
    </Box>
  );
}

/** Renders the plan once (no live updates needed), for a terminal of `columns` width. */
export function renderPlanView(plan: Plan, file: string, columns = 80): string {
  return renderToString(<PlanView plan={plan} file={file} />, { columns });
}
