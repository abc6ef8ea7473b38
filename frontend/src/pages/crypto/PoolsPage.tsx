// The pool centre: every pool's statistics (refreshed by the mining engine's scheduled
// job and pushed live), each pool's share of the hashrate, and a pool's recent blocks
// with a form to start one of your machines in it.

import { useState } from 'react'
import type { FormEvent } from 'react'
import { listMachines, poolCentre, poolDetail, startMachine } from '../../api/mining'
import type { PoolBlock, PoolStats } from '../../api/mining'
import { DataTable } from '../../components/DataTable'
import type { Column } from '../../components/DataTable'
import { Hash, ModeBadge, StateTag, When } from '../../components/crypto'
import { ErrorText, Spinner, StatusText, useAction, useNow } from '../../components/ui'
import { formatCoin } from '../../lib/coins'
import { formatHashrate } from '../../lib/hashrate'
import { useLiveStream } from '../../live/stream'
import { useLoad } from '../../live/useLoad'
import { Link } from '../../router'
import { MINING_EVENTS } from './MinersPage'

const COLOURS = ['#14532d', '#1d4ed8', '#b45309', '#7c3aed', '#0f766e', '#be123c', '#4d7c0f', '#a16207']

function percent(value: number): string {
  return `${value.toLocaleString('en-US', { maximumFractionDigits: 2 })} %`
}

function Updated({ ms }: { ms: number | null | undefined }) {
  const now = useNow(1000)
  if (!ms) return <span className="muted">Not refreshed yet</span>
  const ago = Math.max(0, Math.round((now - ms) / 1000))
  return <span className="muted">Updated {ago < 2 ? 'just now' : `${ago} s ago`}</span>
}

/** Each pool's share of the network's hashrate as one stacked bar, with a legend. */
function ShareChart({ pools }: { pools: PoolStats[] }) {
  const rest = Math.max(0, 100 - pools.reduce((sum, p) => sum + p.share_of_network, 0))
  const parts = [
    ...pools.map((p, i) => ({
      label: p.name,
      share: p.share_of_network,
      colour: COLOURS[i % COLOURS.length],
    })),
    { label: 'Rest of the network', share: rest, colour: '#c4cad1' },
  ]
  return (
    <figure className="share-chart">
      <div className="share-bar" aria-hidden="true">
        {parts
          .filter((p) => p.share > 0)
          .map((p) => (
            <span
              key={p.label}
              style={{ width: `${p.share}%`, background: p.colour }}
              title={`${p.label}: ${percent(p.share)}`}
            />
          ))}
      </div>
      <figcaption>
        <ul className="legend" aria-label="Share of the network hashrate">
          {parts.map((p) => (
            <li key={p.label}>
              <span className="swatch" style={{ background: p.colour }} aria-hidden="true" />
              {p.label}: <strong>{percent(p.share)}</strong>
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  )
}

const POOL_COLUMNS: Column<PoolStats>[] = [
  {
    label: 'Pool',
    rowHeader: true,
    cell: (p) => <Link to={`/pools/${encodeURIComponent(p.id)}`}>{p.name}</Link>,
  },
  { label: 'Hashrate', numeric: true, cell: (p) => formatHashrate(p.hashrate) },
  { label: 'Share', numeric: true, cell: (p) => percent(p.share_of_network) },
  { label: 'Machines', numeric: true, cell: (p) => p.machines },
  { label: 'Blocks 24 h', numeric: true, cell: (p) => p.blocks_24h },
  { label: 'Blocks 7 d', numeric: true, cell: (p) => p.blocks_7d },
  {
    label: 'Last block',
    cell: (p) =>
      p.last_block ? (
        <>
          <Link to={`/explorer/blocks/${p.last_block.height}`}>#{p.last_block.height}</Link>{' '}
          <span className="muted">
            <When time={p.last_block.found_ms} />
          </span>
        </>
      ) : (
        <span className="muted">none yet</span>
      ),
  },
  { label: 'Luck', numeric: true, cell: (p) => (p.luck === null ? '—' : percent(p.luck)) },
  { label: 'Fee', numeric: true, cell: (p) => `${p.fee} %` },
  { label: 'Scheme', cell: (p) => p.scheme },
]

const BLOCK_COLUMNS: Column<PoolBlock>[] = [
  {
    label: 'Height',
    rowHeader: true,
    cell: (b) => <Link to={`/explorer/blocks/${b.height}`}>{b.height}</Link>,
  },
  { label: 'Hash', cell: (b) => <Hash value={b.hash} to={`/explorer/blocks/${b.hash}`} keep={6} /> },
  { label: 'Found', cell: (b) => <When time={b.found_ms} /> },
  { label: 'Reward', numeric: true, cell: (b) => formatCoin(b.reward, 'DTC') },
  { label: 'State', cell: (b) => <StateTag state={b.state} /> },
]

function PoolCentre() {
  const centre = useLoad(poolCentre, [])
  const mode = useLiveStream(MINING_EVENTS, { onEvent: () => void centre.reload(), poll: centre.reload })
  const data = centre.data
  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Pool centre</h1>
        <ModeBadge mode={mode} />
      </div>
      <p className="lead">
        Pools do real proof of work on the platform’s chain: a pool’s chance of finding the next block is its
        share of the hashrate. Choose a pool to see its blocks and start a machine in it.
      </p>
      {centre.error && <ErrorText>{centre.error}</ErrorText>}
      {!data && centre.loading && <Spinner label="Loading the pools…" />}
      {data && (
        <>
          <dl className="stats">
            <div className="stat">
              <dt>Network hashrate</dt>
              <dd>{formatHashrate(data.network_hashrate)}</dd>
            </div>
            <div className="stat">
              <dt>Pools</dt>
              <dd>{data.pools.length}</dd>
            </div>
            <div className="stat">
              <dt>Machines digging</dt>
              <dd>{data.pools.reduce((sum, p) => sum + p.machines, 0)}</dd>
            </div>
            <div className="stat">
              <dt>Blocks in 24 h</dt>
              <dd>{data.pools.reduce((sum, p) => sum + p.blocks_24h, 0)}</dd>
              <dd className="stat-note">
                <Updated ms={data.updated_ms} />
              </dd>
            </div>
          </dl>
          <section className="card" aria-labelledby="share-title">
            <h2 id="share-title">Share of the hashrate</h2>
            <ShareChart pools={data.pools} />
          </section>
          <section className="card" aria-labelledby="pools-title">
            <h2 id="pools-title">Pools</h2>
            <DataTable
              caption="Pools and their statistics"
              columns={POOL_COLUMNS}
              rows={data.pools}
              rowKey={(p) => p.id}
              empty="No pools are configured."
              className="responsive pools"
            />
          </section>
        </>
      )}
    </>
  )
}

function StartHere({ pool, onStarted }: { pool: string; onStarted: () => void }) {
  const machines = useLoad(listMachines, [])
  const [chosen, setChosen] = useState('')
  const [done, setDone] = useState<string | null>(null)
  const { run, busy, error } = useAction()
  const free = (machines.data?.machines ?? []).filter((m) => m.state !== 'digging')
  const id = chosen || free[0]?.id || ''
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    if (!id) return
    const started = await run(() => startMachine(id, pool))
    if (started) {
      setDone(`${started.name} is digging in ${pool}.`)
      void machines.reload()
      onStarted()
    }
  }
  return (
    <form className="card stack" onSubmit={submit} aria-labelledby="start-title">
      <h2 id="start-title">Dig in this pool</h2>
      {machines.error && <ErrorText>{machines.error}</ErrorText>}
      {machines.data && free.length === 0 && (
        <p className="empty">
          No free machine: <Link to="/miners">register one or stop one</Link> first.
        </p>
      )}
      {free.length > 0 && (
        <div className="field">
          <label htmlFor="start-machine">Machine</label>
          <select id="start-machine" value={id} onChange={(e) => setChosen(e.target.value)}>
            {free.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name} ({formatHashrate(m.hashrate)}, {m.state})
              </option>
            ))}
          </select>
        </div>
      )}
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
      <button type="submit" className="primary" disabled={busy || !id}>
        {busy ? 'Starting…' : 'Start digging'}
      </button>
    </form>
  )
}

function PoolView({ id }: { id: string }) {
  const pool = useLoad(() => poolDetail(id), [id])
  const mode = useLiveStream(MINING_EVENTS, { onEvent: () => void pool.reload(), poll: pool.reload })
  const p = pool.data
  return (
    <>
      <p className="crumbs">
        <Link to="/pools">← Pool centre</Link>
      </p>
      <div className="page-head">
        <h1 tabIndex={-1}>Pool {p?.name ?? id}</h1>
        <ModeBadge mode={mode} />
      </div>
      {pool.missing && <p className="empty">There is no pool called {id}.</p>}
      {pool.error && !pool.missing && <ErrorText>{pool.error}</ErrorText>}
      {!p && pool.loading && <Spinner label="Loading the pool…" />}
      {p && (
        <>
          <dl className="stats">
            <div className="stat">
              <dt>Hashrate</dt>
              <dd>{formatHashrate(p.hashrate)}</dd>
              <dd className="stat-note">{percent(p.share_of_network)} of the network</dd>
            </div>
            <div className="stat">
              <dt>Machines digging</dt>
              <dd>{p.machines}</dd>
            </div>
            <div className="stat">
              <dt>Blocks 24 h / 7 d</dt>
              <dd>
                {p.blocks_24h} / {p.blocks_7d}
              </dd>
            </div>
            <div className="stat">
              <dt>Luck</dt>
              <dd>{p.luck === null ? '—' : percent(p.luck)}</dd>
            </div>
            <div className="stat">
              <dt>Fee · scheme</dt>
              <dd>
                {p.fee} % · {p.scheme}
              </dd>
              <dd className="stat-note">
                <Updated ms={p.updated_ms} />
              </dd>
            </div>
          </dl>
          <div className="columns">
            <StartHere pool={p.id} onStarted={() => void pool.reload()} />
            <section className="card" aria-labelledby="blocks-title">
              <h2 id="blocks-title">Recent blocks</h2>
              <DataTable
                caption={`Blocks found by ${p.name}, newest first`}
                columns={BLOCK_COLUMNS}
                rows={p.recent_blocks}
                rowKey={(b) => b.hash}
                empty="This pool has not found a block yet."
              />
            </section>
          </div>
        </>
      )}
    </>
  )
}

export function PoolsPage({ id }: { id?: string }) {
  return id ? <PoolView key={id} id={id} /> : <PoolCentre />
}
