// The chain explorer: the latest blocks and the mempool, live from the chain-node's
// events; a block, a transaction with its confirmations, and an address with its
// confirmed balances. Every hash and address links to its own page.

import { useCallback, useState } from 'react'
import type { FormEvent } from 'react'
import { chainAddress, chainBlock, chainMempool, chainTip, chainTransaction } from '../../api/chain'
import type { BlockView, ChainTransaction } from '../../api/chain'
import { ApiError } from '../../api/client'
import { DataTable } from '../../components/DataTable'
import type { Column } from '../../components/DataTable'
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

function coinbaseOf(view: BlockView): ChainTransaction | undefined {
  const first = view.block.transactions[0]
  return first && first.sender === COINBASE ? first : undefined
}

const BLOCK_COLUMNS: Column<BlockView>[] = [
  { label: 'Height', rowHeader: true, cell: (b) => <Link to={blockLink(b.height)}>{b.height}</Link> },
  { label: 'Hash', cell: (b) => <Hash value={b.hash} to={blockLink(b.hash)} /> },
  { label: 'Mined', cell: (b) => <When time={b.block.timestamp} /> },
  { label: 'Transactions', numeric: true, cell: (b) => b.block.transactions.length },
  {
    label: 'Miner',
    cell: (b) => {
      const coinbase = coinbaseOf(b)
      return coinbase ? <Party address={coinbase.recipient} /> : '—'
    },
  },
  {
    label: 'Reward',
    numeric: true,
    cell: (b) => {
      const coinbase = coinbaseOf(b)
      return coinbase ? unitsText(coinbase.amount, coinbase.asset) : '—'
    },
  },
]

function BlocksTable({ blocks }: { blocks: BlockView[] }) {
  return (
    <DataTable
      caption="Latest blocks, newest first"
      columns={BLOCK_COLUMNS}
      rows={blocks}
      rowKey={(b) => b.hash}
    />
  )
}

type ListedTransaction = ChainTransaction & { height?: number | null }

const TRANSACTION_COLUMNS: Column<ListedTransaction>[] = [
  { label: 'Transaction', cell: (tx) => <Hash value={tx.id} to={txLink(tx.id)} keep={6} /> },
  { label: 'From', cell: (tx) => <Party address={tx.sender} /> },
  { label: 'To', cell: (tx) => <Party address={tx.recipient} /> },
  { label: 'Amount', numeric: true, cell: (tx) => unitsText(tx.amount, tx.asset) },
  { label: 'Fee', numeric: true, cell: (tx) => unitsText(tx.fee, 'DTC') },
]

const BLOCK_COLUMN: Column<ListedTransaction> = {
  label: 'Block',
  cell: (tx) =>
    tx.height === null || tx.height === undefined ? (
      <span className="muted">Mempool</span>
    ) : (
      <Link to={blockLink(tx.height)}>{tx.height}</Link>
    ),
}

export function TransactionsTable({
  transactions,
  caption,
  showBlock,
}: {
  transactions: ListedTransaction[]
  caption: string
  showBlock?: boolean
}) {
  return (
    <DataTable
      caption={caption}
      columns={showBlock ? [...TRANSACTION_COLUMNS, BLOCK_COLUMN] : TRANSACTION_COLUMNS}
      rows={transactions}
      rowKey={(tx) => tx.id}
      empty={`${caption}: none.`}
    />
  )
}

/**
 * The latest blocks, newest first, walking back from the tip by previous_hash. A block
 * never changes once mined, so those seen before come from `seen` (only new ones are
 * fetched after a new tip); a reorg simply walks a different path.
 */
async function latestBlocks(seen: Map<string, BlockView>): Promise<{ height: number; blocks: BlockView[] }> {
  const tip = await chainTip()
  const blocks: BlockView[] = []
  let hash: string | null = tip.hash
  while (hash && blocks.length < LATEST) {
    const view: BlockView = seen.get(hash) ?? (await chainBlock(hash))
    seen.set(hash, view)
    blocks.push({ ...view, confirmations: tip.height - view.height + 1, main: true })
    hash = view.height > 0 ? view.block.previous_hash : null
  }
  if (seen.size > LATEST * 5) {
    const keep = new Set(blocks.map((b) => b.hash))
    for (const key of [...seen.keys()]) if (!keep.has(key)) seen.delete(key)
  }
  return { height: tip.height, blocks }
}

async function mempool(): Promise<ChainTransaction[]> {
  return (await chainMempool()).transactions
}

function ExplorerHome() {
  const [seen] = useState(() => new Map<string, BlockView>())
  const blocks = useLoad(() => latestBlocks(seen), [])
  const pool = useLoad(mempool, [])
  const { reload: reloadBlocks } = blocks
  const { reload: reloadPool } = pool
  const refresh = useCallback(
    () => Promise.all([reloadBlocks(), reloadPool()]).then(() => {}),
    [reloadBlocks, reloadPool],
  )
  // A new transaction changes the mempool only; a new tip or a reorg changes both.
  const mode = useLiveStream(EVENTS, {
    onEvent: (event) => void (event === 'tx' ? reloadPool() : refresh()),
    poll: refresh,
  })
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
            <dd className="stat-small">{latest ? <When time={latest.block.timestamp} /> : '—'}</dd>
          </div>
          <div className="stat">
            <dt>Difficulty</dt>
            <dd>{latest?.block.difficulty !== undefined ? `${latest.block.difficulty} bits` : '—'}</dd>
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

function BlockPage({ id }: { id: string }) {
  const view = useLoad(() => chainBlock(id), [id])
  const mode = useLiveStream(EVENTS, { onEvent: () => void view.reload(), poll: view.reload, pollMs: 10_000 })
  const v = view.data
  const b = v?.block
  return (
    <>
      <Back />
      <div className="page-head">
        <h1 tabIndex={-1}>Block {v ? v.height : /^\d+$/.test(id) ? id : ''}</h1>
        <ModeBadge mode={mode} />
      </div>
      {view.missing && <NotFoundText what={`block ${id}`} />}
      {view.error && !view.missing && <ErrorText>{view.error}</ErrorText>}
      {!v && view.loading && <Spinner label="Loading the block…" />}
      {v && b && (
        <>
          {!v.main && (
            <p className="banner banner-warn" role="status">
              This block is not on the best chain: a chain with more work replaced it.
            </p>
          )}
          <section className="card">
            <dl className="facts">
              <dt>Hash</dt>
              <dd>
                <code className="hash-full">{v.hash}</code>
              </dd>
              <dt>Height</dt>
              <dd>{v.height}</dd>
              <dt>Confirmations</dt>
              <dd data-testid="confirmations">{v.confirmations}</dd>
              <dt>Mined</dt>
              <dd>
                <When time={b.timestamp} />
              </dd>
              <dt>Previous block</dt>
              <dd>
                {v.height > 0 ? (
                  <Link to={blockLink(b.previous_hash)}>
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
              {v.height > 0 && <Link to={blockLink(v.height - 1)}>← Block {v.height - 1}</Link>}
              {v.main && v.confirmations > 1 && (
                <Link to={blockLink(v.height + 1)}>Block {v.height + 1} →</Link>
              )}
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

function TransactionPage({ id }: { id: string }) {
  const view = useLoad(() => chainTransaction(id), [id])
  const mode = useLiveStream(EVENTS, { onEvent: () => void view.reload(), poll: view.reload, pollMs: 10_000 })
  const v = view.data
  const t = v?.transaction
  return (
    <>
      <Back />
      <div className="page-head">
        <h1 tabIndex={-1}>Transaction</h1>
        <ModeBadge mode={mode} />
      </div>
      {view.missing && <NotFoundText what={`transaction ${id}`} />}
      {view.error && !view.missing && <ErrorText>{view.error}</ErrorText>}
      {!v && view.loading && <Spinner label="Loading the transaction…" />}
      {v && t && (
        <section className="card">
          <p className="big" data-testid="confirmations">
            {v.status === 'pending' ? (
              <StateTag state="waiting for a block" />
            ) : (
              `${v.confirmations} confirmation${v.confirmations === 1 ? '' : 's'}`
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
              {v.height !== undefined && v.block ? (
                <Link to={blockLink(v.block)}>{v.height}</Link>
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

function AddressPage({ address }: { address: string }) {
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
              {!!a.pending && <dd className="stat-note">{a.pending} waiting for a block</dd>}
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
  if (params.block !== undefined) return <BlockPage key={params.block} id={params.block} />
  if (params.tx !== undefined) return <TransactionPage key={params.tx} id={params.tx} />
  if (params.address !== undefined) return <AddressPage key={params.address} address={params.address} />
  return <ExplorerHome />
}
