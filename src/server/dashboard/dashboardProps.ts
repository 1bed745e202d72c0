import type { AuthenticatedMember } from '../accounts.js';
import type { AssetUrls } from './layout.js';
import type { DashboardQuery } from './dashboardQuery.js';
import type {
  BalanceOutlook,
  FilterChoices,
  SeriesBy,
  SeriesPoint,
  SpendLine,
  SpendTotals,
  TransactionLine,
} from './spendReport.js';

/** What the account page's sections are rendered from. */
export interface DashboardData {
  outlook: BalanceOutlook;
  series: Record<SeriesBy, SeriesPoint[]>;
  members: SpendLine[];
  projects: SpendLine[];
  totals: SpendTotals;
  transactions: TransactionLine[];
  choices: FilterChoices;
}

export interface DashboardProps {
  member: AuthenticatedMember;
  assets: AssetUrls;
  csrfToken: string;
  query: DashboardQuery;
  /** Builds a link to this page (or an export) with some query fields changed. */
  href: (changes: Partial<DashboardQuery>, path?: string) => string;
  data: DashboardData;
}
