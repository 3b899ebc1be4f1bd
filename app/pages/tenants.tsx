import { Hono } from 'hono';
import type { OperatorView } from '../../core/auth/operators.js';
import { formatCost, formatDay, formatLimit, formatNumber } from '../components/format.js';
import { Layout } from '../components/Layout.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { Table } from '../components/Table.js';
import { UsageBar } from '../components/UsageBar.js';
import type { AppDeps } from '../deps.js';
import { consoleCsrf } from '../middleware/csrf.js';
import { requireOperator, type SessionVariables } from '../middleware/session.js';
import { loadTenantOverview, type TenantOverview, type TenantRow, tenantRowsAcrossAll } from '../tenants/overview.js';

/** The tenant list: one row per tenant with a bar of this month's tokens against its budget. */
function TenantListView({ operator, rows }: { operator: OperatorView; rows: TenantRow[] }) {
  return (
    <Layout title="Tenants" operator={operator} section="tenants">
      <h1>Tenants</h1>
      <p class="sub">
        {rows.length === 1 ? '1 tenant' : `${rows.length} tenants`} · tokens since the first of the month (UTC)
      </p>
      <div class="panel flush">
        <Table
          columns={[
            { label: 'Name' },
            { label: 'Slug' },
            { label: 'Plan' },
            { label: 'Status' },
            { label: 'Users', numeric: true },
            { label: 'Tokens this month', numeric: true },
            { label: 'Monthly budget' },
          ]}
          empty="No tenants yet. Onboard one with: npm run -s anvil -- tenant create --name … --slug …"
          rows={rows.map((t) => (
            <tr>
              <td>
                <a href={`/tenants/${encodeURIComponent(t.slug)}`}>{t.name}</a>
              </td>
              <td class="mono nowrap">{t.slug}</td>
              <td>{t.plan_id}</td>
              <td>
                <StatusBadge status={t.status} />
              </td>
              <td class="num">{formatNumber(t.users)}</td>
              <td class="num">{formatNumber(t.tokens_this_month)}</td>
              <td>
                <UsageBar used={t.tokens_this_month} budget={t.monthlyTokenBudget} />
              </td>
            </tr>
          ))}
        />
      </div>
    </Layout>
  );
}

/** One tenant: usage this month, effective plan limits, and its users. */
function TenantView({ operator, overview }: { operator: OperatorView; overview: TenantOverview }) {
  const { tenant, planName, limits, users, usage } = overview;
  const tokens = usage.totals.prompt_tokens + usage.totals.completion_tokens;
  return (
    <Layout title={tenant.name} operator={operator} section="tenants">
      <p class="muted">
        <a href="/tenants">Tenants</a> /
      </p>
      <h1>
        {tenant.name} <StatusBadge status={tenant.status} />
      </h1>
      <p class="sub">
        <span class="mono">{tenant.slug}</span> · {planName} plan · since {formatDay(tenant.created_at)}
        {tenant.status_reason && ` · ${tenant.status_reason}`}
      </p>
      <div class="grid">
        <section class="panel">
          <h2>Usage this month</h2>
          <div class="stats">
            <div>
              <b>{formatNumber(tokens)}</b>
              <span>tokens</span>
            </div>
            <div>
              <b>{formatNumber(usage.totals.requests)}</b>
              <span>requests</span>
            </div>
            <div>
              <b>{formatCost(usage.totals.cost_micros)}</b>
              <span>cost</span>
            </div>
          </div>
          <UsageBar used={tokens} budget={limits.monthlyTokenBudget} width={240} />
          <p class="muted">
            {usage.from} to {usage.to} (UTC)
          </p>
        </section>
        <section class="panel">
          <h2>Limits</h2>
          <dl class="facts">
            <dt>Plan</dt>
            <dd>{planName}</dd>
            <dt>Users</dt>
            <dd>{formatLimit(limits.maxUsers)}</dd>
            <dt>Messages per day</dt>
            <dd>{formatLimit(limits.messagesPerDay)}</dd>
            <dt>Monthly tokens</dt>
            <dd>{formatLimit(limits.monthlyTokenBudget)}</dd>
            <dt>Default model</dt>
            <dd class="mono">{limits.defaultModel}</dd>
            <dt>Models allowed</dt>
            <dd class="mono">{limits.allowedModels.includes('*') ? 'all' : limits.allowedModels.join(', ')}</dd>
            <dt>Features</dt>
            <dd>{limits.features.join(', ') || 'none'}</dd>
            <dt>GPU share weight</dt>
            <dd>{limits.weight}</dd>
          </dl>
        </section>
      </div>
      <section class="panel flush">
        <h2>Usage by model</h2>
        <Table
          columns={[
            { label: 'Model' },
            { label: 'Requests', numeric: true },
            { label: 'Prompt tokens', numeric: true },
            { label: 'Completion tokens', numeric: true },
            { label: 'Cost', numeric: true },
          ]}
          empty="No model requests this month."
          rows={usage.byModel.map((m) => (
            <tr>
              <td class="mono">{m.model}</td>
              <td class="num">{formatNumber(m.requests)}</td>
              <td class="num">{formatNumber(m.prompt_tokens)}</td>
              <td class="num">{formatNumber(m.completion_tokens)}</td>
              <td class="num">{formatCost(m.cost_micros)}</td>
            </tr>
          ))}
        />
      </section>
      <section class="panel flush">
        <h2>
          Users <span class="muted">({formatNumber(users.length)})</span>
        </h2>
        <Table
          columns={[{ label: 'Name' }, { label: 'Role' }, { label: 'Status' }, { label: 'Joined' }]}
          empty="No users yet. Create an invite with: npm run -s anvil -- invite create --tenant …"
          rows={users.map((u) => (
            <tr>
              <td>{u.display_name}</td>
              <td>{u.role}</td>
              <td>
                <StatusBadge status={u.status} />
              </td>
              <td>{formatDay(u.created_at)}</td>
            </tr>
          ))}
        />
      </section>
    </Layout>
  );
}

/**
 * The tenants section, mounted at /tenants: the list and one page per tenant. Read-only for
 * now; creating and editing tenants from the console comes later (the CLI does it today).
 */
export function tenantPages(deps: AppDeps): Hono<{ Variables: SessionVariables }> {
  const app = new Hono<{ Variables: SessionVariables }>();
  app.use('*', consoleCsrf(deps.config), requireOperator(deps));

  app.get('/', async (c) => {
    const rows = await tenantRowsAcrossAll(deps.db);
    return c.html(<TenantListView operator={c.var.operator} rows={rows} />);
  });

  app.get('/:slug', async (c) => {
    const overview = await loadTenantOverview(deps.db, c.req.param('slug'));
    return c.html(<TenantView operator={c.var.operator} overview={overview} />);
  });

  return app;
}
