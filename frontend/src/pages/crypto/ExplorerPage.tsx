// The chain explorer: the latest blocks and the mempool, live from the chain-node's
// events; a block, a transaction with its confirmations, and an address with its
// confirmed balances. Every hash and address links to its own page.

import { useCallback, useState } from 'react'
import type { FormEvent } from 'react'
import { chainAddress, chainBlock, chainMempool, chainTip, chainTransaction } from '../../api/chain'
import type { Block, ChainTransaction } from '../../api/chain'
import { ApiError } from '../../api/client'
import { CopyButton, Hash, ModeBadge, StateTag, When } from '../../components/crypto'
import { ErrorText, Field, Spinner } from '../../components/ui'
import { formatCoin } from '../../lib/coins'
import { useLiveStream } from '../../live/stream'
import { useLoad } from '../../live/useLoad'
import { Link, navigate } from '../../router'

const LATEST = 10
const EVENTS = '/api/chain/events'
const COINBASE = '0'

/** An amount in integer units (as the chain sends it) for people: 150000000 -> "1.5 DTC". */
export function unitsText(amount: number | string, asset = 'DTC'): string {
  try {
    return formatCoin(BigInt(String(amount)), asset)
  } catch {
    return `${amount} units ${asset}`
  }
}

const blockLink = (b: number | string) => `/explorer/blocks/${encodeURIComponent(String(b))}`
const txLink = (id: string) => `/explorer/transactions/${encodeURIComponent(id)}`
const addressLink = (a: string) => `/explorer/addresses/${encodeURIComponent(a)}`

function Party({ address }: { address: string }) {
  if (address === COINBASE) return <span className="muted">New coins (block reward)</span>
  return <Hash value={address} to={addressLink(address)} keep={6} />
}

/** Where a search term leads: a height, an address (40 hex), or a block or transaction (64 hex). */
async function resolveSearch(term: string): Promise<string> {
  const text = term.trim().toLowerCase()
  if (/^\d+$/.test(text)) return blockLink(text)
  if (/^[0-9a-f]{40}$/.test(text)) return addressLink(text)
  if (/^[0-9a-f]{64}$/.test(text)) {
    try {
      await chainTransaction(text)
      return txLink(text)
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err
    }
    await chainBlock(text)
    return blockLink(text)
  }
  throw new Error('Enter a block height, a block hash, a transaction id (64 hex digits) or an address (40).')
}

function Search() {
  const [term, setTerm] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    setBusy(true)
    try {
      navigate(await resolveSearch(term))
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 404
          ? `Nothing on the chain matches ${term.trim()}.`
          : err instanceof Error
            ? err.message
            : String(err),
      )
    } finally {
      setBusy(false)
    }
  }
  return (
    <form className="card search" onSubmit={submit} noValidate role="search" aria-label="Search the chain">
      <Field
        label="Search the chain"
        value={term}
        onChange={setTerm}
        error={error}
        placeholder="Block height, block hash, transaction id or address"
        spellCheck={false}
        autoComplete="off"
      />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Searching…' : 'Search'}
      </button>
    </form>
  )
}

function coinbaseOf(block: Block): ChainTransaction | undefined {
  const first = block.transactions[0]
  return first && first.sender === COINBASE ? first : undefined
}

function BlocksTable({ blocks }: { blocks: Block[] }) {
  return (
    <div className="table-wrap">
      <table className="responsive">
        <caption className="visually-hidden">Latest blocks, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Height</th>
            <th scope="col">Hash</th>
            <th scope="col">Mined</th>
            <th scope="col" className="num">
              Transactions
            </th>
            <th scope="col">Miner</th>
            <th scope="col" className="num">
              Reward
            </th>
          </tr>
        </thead>
        <tbody>
          {blocks.map((b) => {
            const coinbase = coinbaseOf(b)
            return (
              <tr key={b.hash ?? b.index}>
                <th scope="row" data-label="Height">
                  <Link to={blockLink(b.index)}>{b.index}</Link>
                </th>
                <td data-label="Hash">{b.hash ? <Hash value={b.hash} to={blockLink(b.hash)} /> : '—'}</td>
                <td data-label="Mined">
                  <When time={b.timestamp} />
                </td>
                <td data-label="Transactions" className="num">
                  {b.transactions.length}
                </td>
                <td data-label="Miner">{coinbase ? <Party address={coinbase.recipient} /> : '—'}</td>
                <td data-label="Reward" className="num">
                  {coinbase ? unitsText(coinbase.amount, coinbase.asset) : '—'}
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}

export function TransactionsTable({
  transactions,
  caption,
  showBlock = false,
}: {
  transactions: (ChainTransaction & { block_height?: number | null })[]
  caption: string
  showBlock?: boolean
}) {
  if (transactions.length === 0) return <p className="empty">{caption}: none.</p>
  return (
    <div className="table-wrap">
      <table className="responsive">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Transaction</th>
            <th scope="col">From</th>
            <th scope="col">To</th>
            <th scope="col" className="num">
              Amount
            </th>
            <th scope="col" className="num">
              Fee
            </th>
            {showBlock && <th scope="col">Block</th>}
          </tr>
        </thead>
        <tbody>
          {transactions.map((tx) => (
            <tr key={tx.id}>
              <td data-label="Transaction">
                <Hash value={tx.id} to={txLink(tx.id)} keep={6} />
              </td>
              <td data-label="From">
                <Party address={tx.sender} />
              </td>
              <td data-label="To">
                <Party address={tx.recipient} />
              </td>
              <td data-label="Amount" className="num">
                {unitsText(tx.amount, tx.asset)}
              </td>
              <td data-label="Fee" className="num">
                {unitsText(tx.fee, 'DTC')}
              </td>
              {showBlock && (
                <td data-label="Block">
                  {tx.block_height === null || tx.block_height === undefined ? (
                    <span className="muted">Mempool</span>
                  ) : (
                    <Link to={blockLink(tx.block_height)}>{tx.block_height}</Link>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

async function latestBlocks(): Promise<{ height: number; blocks: Block[] }> {
  const tip = await chainTip()
  const heights: number[] = []
  for (let h = tip.height; h >= 0 && heights.length < LATEST; h--) heights.push(h)
  const blocks = await Promise.all(heights.map((h) => chainBlock(h)))
  return { height: tip.height, blocks }
}

async function mempool(): Promise<ChainTransaction[]> {
  const pool = await chainMempool()
  return Array.isArray(pool) ? pool : (pool.transactions ?? [])
}

function ExplorerHome() {
  const blocks = useLoad(latestBlocks, [])
  const pool = useLoad(mempool, [])
  const { reload: reloadBlocks } = blocks
  const { reload: reloadPool } = pool
  const refresh = useCallback(
    () => Promise.all([reloadBlocks(), reloadPool()]).then(() => {}),
    [reloadBlocks, reloadPool],
  )
  const mode = useLiveStream(EVENTS, { onEvent: () => void refresh(), poll: refresh })
  const latest = blocks.data?.blocks[0]
  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Explorer</h1>
        <ModeBadge mode={mode} />
      </div>
      <p className="lead">
        The platform's chain: blocks as they are mined, and transactions waiting for one.
      </p>
      <Search />
      {blocks.data && (
        <dl className="stats">
          <div className="stat">
            <dt>Height</dt>
            <dd>{blocks.data.height}</dd>
          </div>
          <div className="stat">
            <dt>Last block</dt>
            <dd className="stat-small">{latest ? <When time={latest.timestamp} /> : '—'}</dd>
          </div>
          <div className="stat">
            <dt>Difficulty</dt>
            <dd>{latest?.difficulty !== undefined ? `${latest.difficulty} bits` : '—'}</dd>
          </div>
          <div className="stat">
            <dt>Waiting transactions</dt>
            <dd>{pool.data ? pool.data.length : '—'}</dd>
          </div>
        </dl>
      )}
      <section className="card" aria-labelledby="latest-blocks">
        <h2 id="latest-blocks">Latest blocks</h2>
        {blocks.error && <ErrorText>{blocks.error}</ErrorText>}
        {!blocks.data && blocks.loading && <Spinner label="Loading the latest blocks…" />}
        {blocks.data && <BlocksTable blocks={blocks.data.blocks} />}
      </section>
      <section className="card" aria-labelledby="mempool">
        <h2 id="mempool">Waiting for a block (mempool)</h2>
        {pool.error && <ErrorText>{pool.error}</ErrorText>}
        {!pool.data && pool.loading && <Spinner label="Loading the mempool…" />}
        {pool.data && <TransactionsTable transactions={pool.data} caption="Transactions in the mempool" />}
      </section>
    </>
  )
}

function Back() {
  return (
    <p className="crumbs">
      <Link to="/explorer">← Explorer</Link>
    </p>
  )
}

function NotFoundText({ what }: { what: string }) {
  return <p className="empty">There is no {what} on the chain.</p>
}

function BlockView({ id }: { id: string }) {
  const block = useLoad(() => chainBlock(id), [id])
  const mode = useLiveStream(EVENTS, {
    onEvent: () => void block.reload(),
    poll: block.reload,
    pollMs: 10_000,
  })
  const b = block.data
  return (
    <>
      <Back />
      <div className="page-head">
        <h1 tabIndex={-1}>Block {b ? b.index : id.length > 20 ? '' : id}</h1>
        <ModeBadge mode={mode} />
      </div>
      {block.missing && <NotFoundText what={`block ${id}`} />}
      {block.error && !block.missing && <ErrorText>{block.error}</ErrorText>}
      {!b && block.loading && <Spinner label="Loading the block…" />}
      {b && (
        <>
          <section className="card">
            <dl className="facts">
              {b.hash && (
                <>
                  <dt>Hash</dt>
                  <dd>
                    <code className="hash-full">{b.hash}</code>
                  </dd>
                </>
              )}
              <dt>Height</dt>
              <dd>{b.index}</dd>
              {b.confirmations !== undefined && (
                <>
                  <dt>Confirmations</dt>
                  <dd>{b.confirmations}</dd>
                </>
              )}
              <dt>Mined</dt>
              <dd>
                <When time={b.timestamp} />
              </dd>
              <dt>Previous block</dt>
              <dd>
                {b.index > 0 ? (
                  <Link to={blockLink(b.index - 1)}>
                    <code className="hash-full">{b.previous_hash}</code>
                  </Link>
                ) : (
                  'none (the genesis block)'
                )}
              </dd>
              {b.tx_root && (
                <>
                  <dt>Transactions root</dt>
                  <dd>
                    <code className="hash-full">{b.tx_root}</code>
                  </dd>
                </>
              )}
              {b.difficulty !== undefined && (
                <>
                  <dt>Difficulty</dt>
                  <dd>{b.difficulty} leading zero bits</dd>
                </>
              )}
              <dt>Proof</dt>
              <dd>{b.proof}</dd>
            </dl>
            <p className="actions">
              {b.index > 0 && <Link to={blockLink(b.index - 1)}>← Block {b.index - 1}</Link>}
              <Link to={blockLink(b.index + 1)}>Block {b.index + 1} →</Link>
            </p>
          </section>
          <section className="card" aria-labelledby="block-txs">
            <h2 id="block-txs">Transactions ({b.transactions.length})</h2>
            <TransactionsTable transactions={b.transactions} caption="Transactions in this block" />
          </section>
        </>
      )}
    </>
  )
}

function TransactionView({ id }: { id: string }) {
  const tx = useLoad(() => chainTransaction(id), [id])
  const mode = useLiveStream(EVENTS, { onEvent: () => void tx.reload(), poll: tx.reload, pollMs: 10_000 })
  const t = tx.data
  const pending = t && (t.block_height === null || t.block_height === undefined) && !t.confirmations
  return (
    <>
      <Back />
      <div className="page-head">
        <h1 tabIndex={-1}>Transaction</h1>
        <ModeBadge mode={mode} />
      </div>
      {tx.missing && <NotFoundText what={`transaction ${id}`} />}
      {tx.error && !tx.missing && <ErrorText>{tx.error}</ErrorText>}
      {!t && tx.loading && <Spinner label="Loading the transaction…" />}
      {t && (
        <section className="card">
          <p className="big" data-testid="confirmations">
            {pending ? (
              <StateTag state="waiting for a block" />
            ) : (
              `${t.confirmations} confirmation${t.confirmations === 1 ? '' : 's'}`
            )}
          </p>
          <dl className="facts">
            <dt>Id</dt>
            <dd>
              <code className="hash-full">{t.id}</code>{' '}
              <CopyButton text={t.id} label="Copy the transaction id" />
            </dd>
            <dt>Block</dt>
            <dd>
              {t.block_height !== null && t.block_height !== undefined ? (
                <Link to={blockLink(t.block_height)}>{t.block_height}</Link>
              ) : (
                'not yet (in the mempool)'
              )}
            </dd>
            <dt>From</dt>
            <dd>
              <Party address={t.sender} />
            </dd>
            <dt>To</dt>
            <dd>
              <Party address={t.recipient} />
            </dd>
            <dt>Amount</dt>
            <dd>{unitsText(t.amount, t.asset)}</dd>
            <dt>Fee</dt>
            <dd>{unitsText(t.fee, 'DTC')}</dd>
            <dt>Nonce</dt>
            <dd>{t.nonce}</dd>
            <dt>Time</dt>
            <dd>
              <When time={t.timestamp} />
            </dd>
          </dl>
        </section>
      )}
    </>
  )
}

function AddressView({ address }: { address: string }) {
  const view = useLoad(() => chainAddress(address), [address])
  const mode = useLiveStream(EVENTS, { onEvent: () => void view.reload(), poll: view.reload, pollMs: 10_000 })
  const a = view.data
  const balances = a ? Object.entries(a.balances) : []
  return (
    <>
      <Back />
      <div className="page-head">
        <h1 tabIndex={-1}>Address</h1>
        <ModeBadge mode={mode} />
      </div>
      <p className="address-line">
        <code className="hash-full">{address}</code> <CopyButton text={address} label="Copy the address" />
      </p>
      {view.missing && <NotFoundText what={`address ${address}`} />}
      {view.error && !view.missing && <ErrorText>{view.error}</ErrorText>}
      {!a && view.loading && <Spinner label="Loading the address…" />}
      {a && (
        <>
          <dl className="stats">
            {balances.length === 0 && (
              <div className="stat">
                <dt>Balance</dt>
                <dd>0</dd>
              </div>
            )}
            {balances.map(([asset, amount]) => (
              <div className="stat" key={asset}>
                <dt>{asset}</dt>
                <dd>{formatCoin(amount, undefined, { full: true })}</dd>
              </div>
            ))}
            <div className="stat">
              <dt>Transactions sent</dt>
              <dd>{a.nonce}</dd>
            </div>
          </dl>
          <p className="hint">Balances count confirmed blocks only.</p>
          <section className="card" aria-labelledby="address-txs">
            <h2 id="address-txs">Transactions</h2>
            <TransactionsTable
              transactions={a.transactions}
              caption="Transactions of this address"
              showBlock
            />
          </section>
        </>
      )}
    </>
  )
}

export function ExplorerPage({ params }: { params: { block?: string; tx?: string; address?: string } }) {
  if (params.block !== undefined) return <BlockView key={params.block} id={params.block} />
  if (params.tx !== undefined) return <TransactionView key={params.tx} id={params.tx} />
  if (params.address !== undefined) return <AddressView key={params.address} address={params.address} />
  return <ExplorerHome />
}
