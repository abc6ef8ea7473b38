// The crypto side for administrators: reserves per asset (what users are owed beside
// what the platform holds on chain, healthy or short, the difference explained), the
// gas keeper's alert, collection jobs and sweeps, and the withdrawals waiting for an
// administrator's approval.

import { useEffect, useState } from 'react'
import {
  approveWithdrawal,
  collectionJobs,
  gasKeeper,
  rejectWithdrawal,
  reserves,
  walletAlerts,
  withdrawalsInState,
} from '../../api/wallet'
import type { JobsOverview, Reserve, Withdrawal } from '../../api/wallet'
import { DataTable } from '../../components/DataTable'
import type { Column } from '../../components/DataTable'
import { CopyButton, Hash, StateTag, When } from '../../components/crypto'
import { ErrorText, Spinner, StatusText, useAction } from '../../components/ui'
import { formatCoin, toUnits } from '../../lib/coins'
import { useLoad } from '../../live/useLoad'

type Sweep = JobsOverview['sweeps'][number]

const REFRESH_MS = 10_000

const EXPLAINED: Record<string, string> = {
  fees_charged: 'Fees charged to users',
  network_fees_paid: 'Network fees the platform paid',
  gas_topups_received: 'Gas top-ups received',
  deposits_not_yet_credited: 'Deposits seen, not yet credited',
  withdrawals_sent_not_settled: 'Withdrawals sent, not yet settled',
  exchange_net: 'Exchange’s net sales to users',
}

const HOLDINGS: Record<string, string> = {
  hot: 'Hot wallet',
  cold: 'Cold wallet',
  deposit_addresses: 'Deposit addresses (not yet swept)',
}

/** healthy: holdings cover what is owed and every unit is explained. */
export function reserveState(r: Reserve): 'healthy' | 'short' | 'unexplained' {
  if (!r.covered) return 'short'
  return toUnits(r.unexplained) === 0n ? 'healthy' : 'unexplained'
}

function ReserveCard({ reserve }: { reserve: Reserve }) {
  const state = reserveState(reserve)
  const words = {
    healthy: 'Healthy: holdings cover what users are owed, and the difference is explained to the unit.',
    short: 'Short: the platform holds less than users are owed.',
    unexplained: 'Covered, but part of the difference is not explained.',
  }[state]
  return (
    <section className="card reserve" aria-labelledby={`reserve-${reserve.asset}`}>
      <div className="section-head">
        <h3 id={`reserve-${reserve.asset}`}>{reserve.asset}</h3>
        <span
          className={`tag tag-${state === 'healthy' ? 'good' : 'bad'}`}
          data-testid={`reserve-state-${reserve.asset}`}
        >
          {state}
        </span>
      </div>
      <p className={state === 'healthy' ? 'muted' : 'error'}>{words}</p>
      <dl className="quote-lines">
        <dt>Owed to users (available + locked)</dt>
        <dd>{formatCoin(reserve.liabilities, reserve.asset, { full: true })}</dd>
        {Object.entries(reserve.holdings).map(([name, amount]) => (
          <div key={name} className="contents">
            <dt>{HOLDINGS[name] ?? name}</dt>
            <dd>{formatCoin(amount, reserve.asset, { full: true })}</dd>
          </div>
        ))}
        <dt className="total">Held on chain</dt>
        <dd className="total">{formatCoin(reserve.held, reserve.asset, { full: true })}</dd>
        <dt>Difference</dt>
        <dd>{formatCoin(reserve.surplus, reserve.asset, { full: true })}</dd>
      </dl>
      <details>
        <summary>How the difference is explained</summary>
        <dl className="quote-lines">
          {Object.entries(reserve.explained).map(([name, amount]) => (
            <div key={name} className="contents">
              <dt>{EXPLAINED[name] ?? name.replace(/_/g, ' ')}</dt>
              <dd>{formatCoin(amount, reserve.asset, { full: true })}</dd>
            </div>
          ))}
          <dt className="total">Unexplained</dt>
          <dd className="total">{formatCoin(reserve.unexplained, reserve.asset, { full: true })}</dd>
        </dl>
      </details>
    </section>
  )
}

function GasKeeperBanner() {
  const keeper = useLoad(gasKeeper, [])
  useIntervalEffect(keeper.reload)
  if (keeper.error) return <ErrorText>Gas keeper: {keeper.error}</ErrorText>
  if (!keeper.data) return null
  const k = keeper.data
  return k.low ? (
    <div className="banner banner-bad" role="alert">
      <strong>Gas keeper low:</strong> {formatCoin(k.spendable, 'DTC')} spendable, below the minimum of{' '}
      {formatCoin(k.minimum, 'DTC')}. No new top-ups for token sweeps until it is refilled. Send DTC to{' '}
      <code className="hash-full">{k.address}</code>{' '}
      <CopyButton text={k.address} label="Copy the gas keeper's address" />
    </div>
  ) : (
    <p className="banner banner-good" role="status">
      Gas keeper: {formatCoin(k.spendable, 'DTC')} spendable (minimum {formatCoin(k.minimum, 'DTC')}).
    </p>
  )
}

/** Read again every few seconds while the page is open and shown. */
function useIntervalEffect(reload: () => Promise<void>) {
  useEffect(() => {
    const id = setInterval(() => {
      if (!document.hidden) void reload()
    }, REFRESH_MS)
    return () => clearInterval(id)
  }, [reload])
}

function ApprovalRow({ w, onDone }: { w: Withdrawal; onDone: (text: string) => void }) {
  const { run, busy, error } = useAction()
  const decide = async (approve: boolean) => {
    const result = await run(() => (approve ? approveWithdrawal(w.id) : rejectWithdrawal(w.id)))
    if (result) {
      onDone(
        approve
          ? `Approved ${formatCoin(w.amount, w.asset)} for ${w.user}: it will be sent.`
          : `Rejected ${formatCoin(w.amount, w.asset)} for ${w.user}: the funds are back in their wallet.`,
      )
    }
  }
  return (
    <tr>
      <td data-label="Requested">
        <When time={w.created_ms} />
      </td>
      <th scope="row" data-label="User">
        {w.user}
      </th>
      <td data-label="Amount" className="num">
        {formatCoin(w.amount, w.asset)}
      </td>
      <td data-label="To">
        <Hash value={w.address} to={`/explorer/addresses/${w.address}`} keep={6} />
      </td>
      <td data-label="Decision">
        <div className="actions">
          <button
            type="button"
            className="primary"
            disabled={busy}
            onClick={() => decide(true)}
            aria-label={`Approve ${w.amount} ${w.asset} for ${w.user}`}
          >
            Approve
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() => decide(false)}
            aria-label={`Reject ${w.amount} ${w.asset} for ${w.user}`}
          >
            Reject
          </button>
        </div>
        <ErrorText>{error}</ErrorText>
      </td>
    </tr>
  )
}

const APPROVAL_COLUMNS: Column<Withdrawal>[] = [
  { label: 'Requested' },
  { label: 'User' },
  { label: 'Amount', numeric: true },
  { label: 'To' },
  { label: 'Decision' },
]

function Approvals() {
  const waiting = useLoad(() => withdrawalsInState('accepted'), [])
  const [done, setDone] = useState<string | null>(null)
  const { reload } = waiting
  useIntervalEffect(reload)
  const rows = (waiting.data?.withdrawals ?? []).filter((w) => w.needs_approval && !w.approved_by)
  return (
    <section className="card" aria-labelledby="approvals-title">
      <h2 id="approvals-title">Withdrawals waiting for approval</h2>
      {waiting.error && <ErrorText>{waiting.error}</ErrorText>}
      {!waiting.data && waiting.loading && <Spinner label="Loading withdrawals…" />}
      {done && <StatusText>{done}</StatusText>}
      <DataTable
        caption="Withdrawals above the approval limit"
        columns={APPROVAL_COLUMNS}
        rows={waiting.data ? rows : undefined}
        rowKey={(w) => w.id}
        empty="None waiting."
        renderRow={(w) => (
          <ApprovalRow
            w={w}
            onDone={(text) => {
              setDone(text)
              void reload()
            }}
          />
        )}
      />
    </section>
  )
}

const SWEEP_COLUMNS: Column<Sweep>[] = [
  {
    label: 'Address',
    cell: (sweep) => <Hash value={sweep.address} to={`/explorer/addresses/${sweep.address}`} keep={6} />,
  },
  { label: 'Asset', cell: (sweep) => sweep.asset },
  { label: 'Deposits', numeric: true, cell: (sweep) => sweep.deposits },
  {
    label: 'Moved',
    cell: (sweep) =>
      sweep.transfers.map((t) => `${formatCoin(t.amount, sweep.asset)} to ${t.wallet}`).join(', ') || '—',
  },
  {
    label: 'State',
    cell: (sweep) => (
      <>
        <StateTag state={sweep.state} />
        {sweep.error && <span className="muted"> {sweep.error}</span>}
      </>
    ),
  },
]

function Jobs() {
  const jobs = useLoad(collectionJobs, [])
  useIntervalEffect(jobs.reload)
  const j = jobs.data
  return (
    <section className="card" aria-labelledby="jobs-title">
      <h2 id="jobs-title">Collection to the cold wallet</h2>
      {jobs.error && <ErrorText>{jobs.error}</ErrorText>}
      {!j && jobs.loading && <Spinner label="Loading jobs…" />}
      {j && (
        <>
          <dl className="stats">
            <div className="stat">
              <dt>Queued</dt>
              <dd>{j.jobs.queued_count}</dd>
            </div>
            <div className="stat">
              <dt>Running</dt>
              <dd>{j.jobs.running.length}</dd>
            </div>
            <div className="stat">
              <dt>Failed</dt>
              <dd className={j.jobs.failed_count ? 'tone-down' : undefined}>{j.jobs.failed_count}</dd>
            </div>
          </dl>
          {j.jobs.failed.length > 0 && (
            <ul className="plain failures" aria-label="Failed jobs">
              {j.jobs.failed.map((f) => (
                <li key={f.id}>
                  <code>{f.id}</code>:{' '}
                  <span className="error-inline">{f.error.split('\n').filter(Boolean).pop()}</span>
                </li>
              ))}
            </ul>
          )}
          <DataTable
            caption="Recent sweeps"
            columns={SWEEP_COLUMNS}
            rows={j.sweeps}
            rowKey={(sweep) => sweep.id}
            empty="No sweeps yet."
          />
        </>
      )}
    </section>
  )
}

function Alerts() {
  const alerts = useLoad(walletAlerts, [])
  useIntervalEffect(alerts.reload)
  const list = alerts.data?.alerts ?? []
  if (alerts.error) return <ErrorText>Alerts: {alerts.error}</ErrorText>
  if (list.length === 0) return null
  return (
    <section className="card" aria-labelledby="alerts-title">
      <h2 id="alerts-title">Alerts</h2>
      <ul className="plain">
        {list.map((a, i) => (
          <li key={a.id ?? i}>
            <StateTag state={a.kind} /> {a.message}{' '}
            <span className="muted">
              <When time={a.raised_ms} />
            </span>
          </li>
        ))}
      </ul>
    </section>
  )
}

export function AdminCryptoPage() {
  const reserve = useLoad(reserves, [])
  useIntervalEffect(reserve.reload)
  return (
    <>
      <h1 tabIndex={-1}>Reserves and withdrawals</h1>
      <GasKeeperBanner />
      <Alerts />
      <section aria-labelledby="reserves-title">
        <div className="section-head">
          <h2 id="reserves-title">Reserves</h2>
          {reserve.data && <span className="muted">At block {reserve.data.height}</span>}
        </div>
        {reserve.error && <ErrorText>{reserve.error}</ErrorText>}
        {!reserve.data && reserve.loading && <Spinner label="Adding up the reserves…" />}
        {reserve.data && (
          <div className="columns">
            {reserve.data.reserves.map((r) => (
              <ReserveCard key={r.asset} reserve={r} />
            ))}
          </div>
        )}
      </section>
      <Approvals />
      <Jobs />
    </>
  )
}
