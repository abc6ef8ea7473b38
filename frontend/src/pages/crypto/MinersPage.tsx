// The miner centre: register machines, start one in a pool and stop it, each machine's
// state and hashrate, the dig history, and earnings with a chart of them over time.
// Live: the mining service announces each machine change on /api/mining/events.

import { useMemo, useState } from 'react'
import type { FormEvent } from 'react'
import {
  digHistory,
  listMachines,
  miningEarnings,
  poolCentre,
  registerMachine,
  startMachine,
  stopMachine,
} from '../../api/mining'
import type { Dig, Machine, Payout, PoolStats } from '../../api/mining'
import { SeriesChart } from '../../components/Charts'
import { DataTable } from '../../components/DataTable'
import type { Column } from '../../components/DataTable'
import { Hash, ModeBadge, StateTag, When } from '../../components/crypto'
import { ErrorText, Field, Spinner, StatusText, useAction } from '../../components/ui'
import { formatCoin, fromUnits, toUnits } from '../../lib/coins'
import { UNITS, formatHashrate, parseHashrate } from '../../lib/hashrate'
import type { HashUnit } from '../../lib/hashrate'
import { useLiveStream } from '../../live/stream'
import { useLoad } from '../../live/useLoad'
import { Link } from '../../router'

export const MINING_EVENTS = '/api/mining/events'

function RegisterForm({ onDone, full }: { onDone: () => void; full: boolean }) {
  const [name, setName] = useState('')
  const [model, setModel] = useState('')
  const [rate, setRate] = useState('')
  const [unit, setUnit] = useState<HashUnit>('TH/s')
  const [invalid, setInvalid] = useState<{
    name?: string | null
    model?: string | null
    rate?: string | null
  }>({})
  const [done, setDone] = useState<string | null>(null)
  const { run, busy, error } = useAction()

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    const checked = parseHashrate(rate, unit)
    const problems = {
      name: name.trim()
        ? name.trim().length > 64
          ? 'At most 64 characters.'
          : null
        : 'Give the machine a name.',
      model: model.trim()
        ? model.trim().length > 64
          ? 'At most 64 characters.'
          : null
        : 'Enter its model, e.g. S19.',
      rate: checked.ok ? null : checked.error,
    }
    setInvalid(problems)
    if (problems.name || problems.model || !checked.ok) return
    const machine = await run(() => registerMachine(name.trim(), model.trim(), checked.hashrate))
    if (machine) {
      setDone(`Registered ${machine.name} (${formatHashrate(machine.hashrate)}). Start it in a pool below.`)
      setName('')
      setModel('')
      setRate('')
      onDone()
    }
  }

  return (
    <form onSubmit={submit} noValidate className="card stack" aria-labelledby="register-title">
      <h2 id="register-title">Register a machine</h2>
      <Field
        label="Name"
        value={name}
        onChange={setName}
        error={invalid.name}
        maxLength={64}
        autoComplete="off"
      />
      <Field
        label="Model"
        value={model}
        onChange={setModel}
        error={invalid.model}
        maxLength={64}
        autoComplete="off"
      />
      <div className="field-row">
        <Field
          label="Hashrate"
          value={rate}
          onChange={setRate}
          error={invalid.rate}
          inputMode="decimal"
          autoComplete="off"
          placeholder="110"
          hint="As the machine declares it: from 1 H/s to 1 PH/s."
        />
        <div className="field">
          <label htmlFor="hash-unit">Unit</label>
          <select id="hash-unit" value={unit} onChange={(e) => setUnit(e.target.value as HashUnit)}>
            {UNITS.map((u) => (
              <option key={u}>{u}</option>
            ))}
          </select>
        </div>
      </div>
      {full && <p className="hint">You have registered as many machines as allowed.</p>}
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Registering…' : 'Register machine'}
      </button>
    </form>
  )
}

function MachineRow({
  machine,
  pools,
  onChange,
}: {
  machine: Machine
  pools: PoolStats[]
  onChange: () => void
}) {
  const [pool, setPool] = useState('')
  const { run, busy, error } = useAction()
  const chosen = pool || pools[0]?.id || ''
  const start = async () => {
    if (await run(() => startMachine(machine.id, chosen))) onChange()
  }
  const stop = async () => {
    if (await run(() => stopMachine(machine.id))) onChange()
  }
  const poolName = pools.find((p) => p.id === machine.pool)?.name ?? machine.pool
  return (
    <tr>
      <th scope="row" data-label="Machine">
        {machine.name}
        <span className="muted"> · {machine.model}</span>
      </th>
      <td data-label="Hashrate" className="num">
        {formatHashrate(machine.hashrate)}
      </td>
      <td data-label="State">
        <StateTag state={machine.state} />
        {machine.state === 'digging' && (
          <span className="muted">
            {' '}
            in <Link to={`/pools/${encodeURIComponent(machine.pool ?? '')}`}>{poolName}</Link> since{' '}
            <When time={machine.since_ms} />
          </span>
        )}
      </td>
      <td data-label="Action">
        {machine.state === 'digging' ? (
          <button type="button" onClick={stop} disabled={busy} aria-label={`Stop ${machine.name}`}>
            {busy ? 'Stopping…' : 'Stop'}
          </button>
        ) : (
          <div className="inline-action">
            <label className="visually-hidden" htmlFor={`pool-${machine.id}`}>
              Pool for {machine.name}
            </label>
            <select id={`pool-${machine.id}`} value={chosen} onChange={(e) => setPool(e.target.value)}>
              {pools.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name} ({p.scheme}, fee {p.fee} %)
                </option>
              ))}
            </select>
            <button
              type="button"
              className="primary"
              onClick={start}
              disabled={busy || !chosen}
              aria-label={`Start ${machine.name}`}
            >
              {busy ? 'Starting…' : 'Start'}
            </button>
          </div>
        )}
        <ErrorText>{error}</ErrorText>
      </td>
    </tr>
  )
}

/** Cumulative earnings after each payout, oldest first, as exact 8-decimal strings. */
const MACHINE_COLUMNS: Column<Machine>[] = [
  { label: 'Machine' },
  { label: 'Hashrate', numeric: true },
  { label: 'State' },
  { label: 'Action' },
]

const PAYOUT_COLUMNS: Column<Payout>[] = [
  { label: 'When', cell: (p) => <When time={p.created_ms} /> },
  { label: 'Pool', cell: (p) => p.pool },
  { label: 'Amount', numeric: true, cell: (p) => formatCoin(p.amount, 'DTC') },
  { label: 'State', cell: (p) => <StateTag state={p.state} /> },
  {
    label: 'Transaction',
    cell: (p) => (p.txid ? <Hash value={p.txid} to={`/explorer/transactions/${p.txid}`} keep={6} /> : '—'),
  },
]

/** The columns of the dig history; a machine is named by ``names`` (id -> name). */
function digColumns(names: Map<string, string>): Column<Dig>[] {
  return [
    { label: 'Machine', cell: (d) => names.get(d.machine) ?? d.machine },
    { label: 'Pool', cell: (d) => d.pool },
    { label: 'Started', cell: (d) => <When time={d.start_ms} /> },
    { label: 'Stopped', cell: (d) => (d.stop_ms ? <When time={d.stop_ms} /> : <StateTag state="digging" />) },
    { label: 'Shares', numeric: true, cell: (d) => d.shares.toLocaleString('en-US') },
    { label: 'Earnings', numeric: true, cell: (d) => formatCoin(d.earnings, 'DTC') },
  ]
}

export function earningsCurve(payouts: Payout[]): { t: number; value: string }[] {
  let total = 0n
  return [...payouts]
    .sort((a, b) => a.created_ms - b.created_ms)
    .map((p) => {
      total += toUnits(p.amount)
      return { t: p.created_ms, value: fromUnits(total) }
    })
}

export function MinersPage() {
  const machines = useLoad(listMachines, [])
  const history = useLoad(digHistory, [])
  const earnings = useLoad(miningEarnings, [])
  const pools = useLoad(poolCentre, [])
  const refresh = async () => {
    await Promise.all([machines.reload(), history.reload(), earnings.reload()])
  }
  const mode = useLiveStream(MINING_EVENTS, { onEvent: () => void refresh(), poll: refresh, pollMs: 10_000 })
  const list = machines.data?.machines ?? []
  const digging = list.filter((m) => m.state === 'digging')
  const curve = useMemo(() => earningsCurve(earnings.data?.payouts ?? []), [earnings.data])
  const names = new Map(list.map((m) => [m.id, m.name]))
  const poolList = pools.data?.pools ?? []

  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Miners</h1>
        <ModeBadge mode={mode} />
      </div>
      <p className="lead">
        Your machines dig DTC in a pool; payouts go on chain to your wallet’s deposit address.
      </p>
      <dl className="stats">
        <div className="stat">
          <dt>Machines</dt>
          <dd>{machines.data ? `${list.length} of ${machines.data.limit}` : '—'}</dd>
        </div>
        <div className="stat">
          <dt>Digging</dt>
          <dd>
            {digging.length} · {formatHashrate(digging.reduce((sum, m) => sum + m.hashrate, 0))}
          </dd>
        </div>
        <div className="stat">
          <dt>Earned</dt>
          <dd>{earnings.data ? formatCoin(earnings.data.total, 'DTC') : '—'}</dd>
        </div>
        <div className="stat">
          <dt>Paid on chain</dt>
          <dd>{earnings.data ? formatCoin(earnings.data.paid, 'DTC') : '—'}</dd>
          {earnings.data && <dd className="stat-note">{formatCoin(earnings.data.pending, 'DTC')} pending</dd>}
        </div>
      </dl>
      <div className="columns">
        <RegisterForm
          onDone={() => void machines.reload()}
          full={!!machines.data && list.length >= machines.data.limit}
        />
        <section className="card" aria-labelledby="earnings-title">
          <h2 id="earnings-title">Earnings over time</h2>
          {earnings.error && <ErrorText>{earnings.error}</ErrorText>}
          {!earnings.data && earnings.loading ? (
            <Spinner label="Loading earnings…" />
          ) : (
            <SeriesChart
              points={curve}
              title="Cumulative earnings in DTC"
              precision={8}
              empty="No payouts yet: start a machine in a pool, and payouts follow the blocks it finds."
              caption={
                curve.length > 0 &&
                `${curve.length} payout${curve.length === 1 ? '' : 's'}, ${formatCoin(curve[curve.length - 1].value, 'DTC')} in all.`
              }
            />
          )}
        </section>
      </div>
      <section className="card" aria-labelledby="machines-title">
        <h2 id="machines-title">Your machines</h2>
        {machines.error && <ErrorText>{machines.error}</ErrorText>}
        {pools.error && <ErrorText>Pools: {pools.error}</ErrorText>}
        {!machines.data && machines.loading && <Spinner label="Loading your machines…" />}
        <DataTable
          caption="Your machines"
          columns={MACHINE_COLUMNS}
          rows={machines.data ? list : undefined}
          rowKey={(m) => m.id}
          empty="No machines yet: register one above."
          renderRow={(m) => <MachineRow machine={m} pools={poolList} onChange={() => void refresh()} />}
        />
      </section>
      <section className="card" aria-labelledby="payouts-title">
        <h2 id="payouts-title">Payouts</h2>
        <DataTable
          caption="Payouts, newest first"
          columns={PAYOUT_COLUMNS}
          rows={earnings.data?.payouts}
          rowKey={(p) => p.id}
          empty="No payouts yet."
        />
      </section>
      <section className="card" aria-labelledby="digs-title">
        <h2 id="digs-title">Dig history</h2>
        {history.error && <ErrorText>{history.error}</ErrorText>}
        <DataTable
          caption="Digs, newest first"
          columns={digColumns(names)}
          rows={history.data?.digs}
          rowKey={(d) => d.id}
          empty="No digs yet."
        />
      </section>
    </>
  )
}
