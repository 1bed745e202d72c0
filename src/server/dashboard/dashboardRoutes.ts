import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ReactNode } from 'react';
import { z } from 'zod';
import type { AuthenticatedMember } from '../accounts.js';
import { notFound } from '../apiError.js';
import type { ServerDb } from '../database.js';
import type { DashboardAssets } from './assets.js';
import { CSV_FILES, csvExport } from './csvExport.js';
import { DashboardPage } from './dashboardPage.js';
import {
  dashboardQuery,
  periodStart,
  queryString,
  rawDashboardQuery,
  transactionFilter,
  type DashboardQuery,
} from './dashboardQuery.js';
import { ErrorPage, LoginPage, renderPage, type AssetUrls } from './layout.js';
import { endSession, SESSION_HOURS, sessionMember, startSession } from './sessions.js';
import {
  balanceOutlook,
  filterChoices,
  latestTransactions,
  spendByMember,
  spendByProject,
  spendSeries,
  spendTotals,
  type ReportScope,
} from './spendReport.js';

const SESSION_COOKIE = 'adb_session';
const PAGE_ROWS = 100;
// Secure + HttpOnly + SameSite=Strict: never sent over plain HTTP, never readable by script,
// never sent on a request another site starts.
const COOKIE = { httpOnly: true, secure: true, sameSite: 'strict', path: '/' } as const;

declare module 'fastify' {
  interface FastifyRequest {
    viewer?: AuthenticatedMember;
  }
}

export interface DashboardOptions {
  server: ServerDb;
  assets: DashboardAssets;
}

const accountParams = z.object({ accountId: z.string().max(200) });

type Html = (reply: FastifyReply, status: number, page: ReactNode) => FastifyReply;

/**
 * The team dashboard (HTML at `/`), in its own Fastify context so its cookie, CSRF and CSP
 * plugins apply to its routes only and the JSON API stays as it is.
 */
export async function dashboardRoutes(app: FastifyInstance, options: DashboardOptions): Promise<void> {
  const { server, assets } = options;
  const urls = { stylesheet: assets.stylesheet.url };
  const html: Html = (reply, status, page) =>
    reply.status(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(renderPage(page));

  await registerSecurityPlugins(app);
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'dashboard request failed');
    const message = error.code?.startsWith('FST_CSRF')
      ? 'This form expired or did not come from this site. Reload the page and try again.'
      : status >= 500
        ? 'Internal server error.'
        : error.message;
    return html(reply, status, ErrorPage({ assets: urls, status, message }));
  });

  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.get(
    '/assets/:name',
    { config: { rateLimit: false }, schema: { hide: true, params: z.object({ name: z.string().max(200) }) } },
    (request, reply) => {
      const asset = assets.byName.get(request.params.name);
      if (!asset) return html(reply, 404, ErrorPage({ assets: urls, status: 404, message: 'No such asset.' }));
      // The name carries the content hash: a new build gets a new name, so this never goes stale.
      return reply
        .header('cache-control', 'public, max-age=31536000, immutable')
        .type(asset.contentType)
        .send(asset.body);
    },
  );
  registerSignIn(app, server, html, urls);
  registerAccountPages(app, server, html, urls, assets.script.url);
}

/** `/`, `/login` and `/logout`: a member token in, a session cookie out; both forms need the CSRF token. */
function registerSignIn(app: FastifyInstance, server: ServerDb, html: Html, urls: AssetUrls): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const home = (viewer: AuthenticatedMember) => `/accounts/${encodeURIComponent(viewer.accountId)}`;
  routes.get('/', { schema: { hide: true } }, async (request, reply) => {
    const viewer = await currentViewer(server, request);
    return reply.redirect(viewer ? home(viewer) : '/login');
  });

  routes.get('/login', { schema: { hide: true } }, async (request, reply) => {
    const viewer = await currentViewer(server, request);
    if (viewer) return reply.redirect(home(viewer));
    return html(reply, 200, LoginPage({ assets: urls, csrfToken: reply.generateCsrf(COOKIE) }));
  });

  routes.post(
    '/login',
    {
      preHandler: app.csrfProtection,
      schema: { hide: true, body: z.object({ token: z.string().max(1000), _csrf: z.string().max(1000).optional() }) },
    },
    async (request, reply) => {
      const started = await startSession(server, request.body.token.trim());
      if (!started) {
        const error = 'That token is unknown or revoked. Ask your account admin for a member token.';
        return html(reply, 401, LoginPage({ assets: urls, csrfToken: reply.generateCsrf(COOKIE), error }));
      }
      reply.setCookie(SESSION_COOKIE, started.sessionId, { ...COOKIE, maxAge: SESSION_HOURS * 3600 });
      return reply.redirect(home(started.member), 303);
    },
  );

  routes.post('/logout', { preHandler: app.csrfProtection, schema: { hide: true } }, async (request, reply) => {
    const sessionId = request.cookies[SESSION_COOKIE];
    if (sessionId) await endSession(server, sessionId);
    reply.clearCookie(SESSION_COOKIE, COOKIE);
    return reply.redirect('/login', 303);
  });
}

/** The account's page and its CSV exports, for a signed-in member of that account only. */
function registerAccountPages(
  app: FastifyInstance,
  server: ServerDb,
  html: Html,
  urls: AssetUrls,
  chartScript: string,
): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const preHandler = viewerAuth(server);
  routes.get(
    '/accounts/:accountId',
    { preHandler, schema: { hide: true, params: accountParams, querystring: rawDashboardQuery } },
    async (request, reply) => {
      const viewer = request.viewer!;
      const query = dashboardQuery(request.query);
      const base = `/accounts/${encodeURIComponent(viewer.accountId)}`;
      const data = await dashboardData(server, scopeOf(viewer), query);
      const href = (changes: Partial<DashboardQuery>, path?: string) =>
        `${path ? `${base}/${path}` : base}${queryString({ ...query, ...changes })}`;
      const csrfToken = reply.generateCsrf(COOKIE);
      const pageAssets = { ...urls, script: chartScript };
      return html(reply, 200, DashboardPage({ member: viewer, assets: pageAssets, csrfToken, query, href, data }));
    },
  );

  routes.get(
    '/accounts/:accountId/export/:file',
    {
      preHandler,
      schema: {
        hide: true,
        params: accountParams.extend({ file: z.enum(CSV_FILES) }),
        querystring: rawDashboardQuery,
      },
    },
    async (request, reply) => {
      const viewer = request.viewer!;
      const csv = await csvExport(server, scopeOf(viewer), dashboardQuery(request.query), request.params.file);
      return reply
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="${viewer.accountName}-${request.params.file}"`)
        .type('text/csv; charset=utf-8')
        .send(csv);
    },
  );
}

async function registerSecurityPlugins(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  // The secret lives in its own cookie (stateless across instances); the token goes in each form.
  await app.register(fastifyCsrf, { cookieKey: 'adb_csrf', cookieOpts: COOKIE });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      // Not helmet's defaults: those add upgrade-insecure-requests and allow inline styles.
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });
}

function scopeOf(viewer: AuthenticatedMember): ReportScope {
  return { accountId: viewer.accountId, onlyMemberId: viewer.role === 'admin' ? undefined : viewer.memberId };
}

async function currentViewer(server: ServerDb, request: FastifyRequest): Promise<AuthenticatedMember | undefined> {
  const sessionId = request.cookies[SESSION_COOKIE];
  return sessionId ? sessionMember(server, sessionId) : undefined;
}

/**
 * preHandler of the account pages: no live session → the login page; another account's id → 404,
 * the same answer as an account that does not exist, so ids cannot be probed.
 */
function viewerAuth(server: ServerDb) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const viewer = await currentViewer(server, request);
    if (!viewer) return reply.redirect('/login');
    const { accountId } = request.params as { accountId?: string };
    if (accountId !== viewer.accountId) throw notFound('This account page');
    request.viewer = viewer;
  };
}

async function dashboardData(server: ServerDb, scope: ReportScope, query: DashboardQuery) {
  const since = periodStart(query.period);
  const [outlook, model, task, members, projects, totals, transactions, choices] = await Promise.all([
    balanceOutlook(server, scope.accountId),
    spendSeries(server, scope.accountId, query.grain, 'model'),
    spendSeries(server, scope.accountId, query.grain, 'task'),
    spendByMember(server, scope, query.msort, since),
    spendByProject(server, scope, query.psort, since),
    spendTotals(server, scope.accountId, since),
    latestTransactions(server, scope, transactionFilter(query), PAGE_ROWS),
    filterChoices(server, scope),
  ]);
  return { outlook, series: { model, task }, members, projects, totals, transactions, choices };
}
