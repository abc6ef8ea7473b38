// The wallet (the user centre's wallet): balances per asset, available and locked,
// valued in USD; the deposit address with a copy button and a QR code; deposits with
// their confirmations (x of N) and state; withdrawals (a form, then their states, live,
// with cancel while they wait); and the wallet history. Live: deposit and withdrawal
// events on /api/wallet/events, and each new block on /api/chain/events (confirmations).

import { QRCodeSVG } from 'qrcode.react'
import { useState } from 'react'
import type { FormEvent } from 'react'
import { board } from '../../api/exchange'
import {
  cancelWithdrawal,
  createWithdrawal,
  depositAddress,
  deposits,
  walletBalances,
  walletHistory,
  withdrawals,
} from '../../api/wallet'
import type { AssetBalance, Deposit, WalletEntry, Withdrawal } from '../../api/wallet'
import { DataTable } from '../../components/DataTable'
import type { Column } from '../../components/DataTable'
import { CopyButton, Hash, ModeBadge, StateTag, When } from '../../components/crypto'
import { ErrorText, Field, Spinner, StatusText, useAction } from '../../components/ui'
import {
  centsString,
  formatCoin,
  newIdempotencyKey,
  parseCoinAmount,
  toUnits,
  valueCents,
} from '../../lib/coins'
import { formatDollars } from '../../lib/money'
import { useLiveStream } from '../../live/stream'
import { useLoad } from '../../live/useLoad'

export const WALLET_EVENTS = '/api/wallet/events'
/** WALLET_CONFIRMATIONS' default (crypto-side.md), when a deposit does not say. */
export const DEFAULT_CONFIRMATIONS = 3
const CHAIN_ASSETS = ['DTC', 'DUSD']
/** A balance and its value in cents (null: the asset has no price). */
type Valued = { row: AssetBalance; cents: bigint | null }

const BALANCE_COLUMNS: Column<Valued>[] = [
  { label: 'Asset', rowHeader: true, cell: ({ row }) => row.asset },
  {
    label: 'Available',
    numeric: true,
    cell: ({ row }) => formatCoin(row.available, undefined, { full: true }),
  },
  { label: 'Locked', numeric: true, cell: ({ row }) => formatCoin(row.locked, undefined, { full: true }) },
  { label: 'Total', numeric: true, cell: ({ row }) => formatCoin(row.total, undefined, { full: true }) },
  {
    label: 'Value (USD)',
    numeric: true,
    cell: ({ cents }) => (cents === null ? '—' : formatDollars(centsString(cents))),
  },
]

/** DUSD is a dollar token: one DUSD is valued at $1.0000 when the market does not list it. */
const DUSD_PRICE = '1.0000'

const txLink = (id: string) => `/explorer/transactions/${encodeURIComponent(id)}`

/** USD prices per asset from the exchange's board (DUSD at $1 if not listed). */
async function usdPrices(): Promise<Record<string, string>> {
  const prices: Record<string, string> = { DUSD: DUSD_PRICE }
  const lines = (await board()).tickers
  for (const line of Object.values(lines)) prices[line.ticker] = line.cur_price
  return prices
}

function Balances({ rows, prices }: { rows: AssetBalance[]; prices: Record<string, string> | null }) {
  let totalCents = 0n
  let complete = true
  const valued = rows.map((row) => {
    const price = prices?.[row.asset]
    if (!price) {
      complete = false
      return { row, cents: null as bigint | null }
    }
    const cents = valueCents(toUnits(row.total), price, 'down')
    totalCents += cents
    return { row, cents }
  })
  return (
    <section className="card" aria-labelledby="balances-title">
      <div className="section-head">
        <h2 id="balances-title">Balances</h2>
        <span className="muted">
          Worth <strong data-testid="wallet-total">{formatDollars(centsString(totalCents))}</strong>
          {!complete && ' (assets without a price not counted)'}
        </span>
      </div>
      <DataTable
        caption="Your balances per asset"
        columns={BALANCE_COLUMNS}
        rows={valued}
        rowKey={({ row }) => row.asset}
      />
      <p className="hint">
        Locked coins are held for withdrawals on their way. Values use the exchange’s live prices.
      </p>
    </section>
  )
}

function DepositCard({ required }: { required: number }) {
  const address = useLoad(depositAddress, [])
  return (
    <section className="card" aria-labelledby="deposit-title">
      <h2 id="deposit-title">Deposit</h2>
      {address.error && <ErrorText>{address.error}</ErrorText>}
      {!address.data && address.loading && <Spinner label="Getting your deposit address…" />}
      {address.data && (
        <div className="deposit">
          <QRCodeSVG
            value={address.data.address}
            size={148}
            marginSize={2}
            title={`QR code of your deposit address ${address.data.address}`}
            className="qr"
          />
          <div className="stack">
            <p>Send {address.data.assets.join(' or ')} on the platform’s chain to your address:</p>
            <p className="address-line">
              <code className="hash-full" data-testid="deposit-address">
                {address.data.address}
              </code>{' '}
              <CopyButton text={address.data.address} label="Copy your deposit address" />
            </p>
            <p className="hint">
              A deposit is credited after {required} confirmations. Send only{' '}
              {address.data.assets.join(' and ')}.
            </p>
          </div>
        </div>
      )}
    </section>
  )
}

function DepositsTable({ rows, required }: { rows: Deposit[]; required: number }) {
  return (
    <DataTable
      caption="Your deposits, newest first"
      columns={depositColumns(required)}
      rows={rows}
      rowKey={(d) => d.id}
      empty="No deposits yet."
    />
  )
}

/** The columns of the deposits; ``required``: confirmations unless a deposit says. */
function depositColumns(required: number): Column<Deposit>[] {
  return [
    { label: 'Seen', cell: (d) => <When time={d.seen_ms} /> },
    {
      label: 'Amount',
      numeric: true,
      cell: (d) => (
        <>
          {formatCoin(d.amount, d.asset)}
          {toUnits(d.fee) > 0n && <span className="muted"> (fee {formatCoin(d.fee, d.asset)})</span>}
        </>
      ),
    },
    {
      label: 'Confirmations',
      cell: (d) => {
        const needed = d.confirmations_required ?? required
        return (
          <>
            <span className="confirmations">
              {Math.min(d.confirmations, needed)} of {needed}
            </span>
            {d.confirmations > needed && <span className="muted"> ({d.confirmations})</span>}
          </>
        )
      },
    },
    { label: 'State', cell: (d) => <StateTag state={d.state === 'submitted' ? 'confirming' : d.state} /> },
    { label: 'Transaction', cell: (d) => <Hash value={d.txid} to={txLink(d.txid)} keep={6} /> },
  ]
}

const HISTORY_COLUMNS: Column<WalletEntry>[] = [
  { label: 'When', cell: (e) => <When time={e.ts} /> },
  { label: 'What', cell: (e) => REASONS[e.reason] ?? sentence(e.reason) },
  { label: 'Amount', numeric: true, cell: (e) => formatCoin(e.amount, e.asset) },
  { label: 'From → to', className: 'muted', cell: (e) => `${e.from} → ${e.to}` },
]

const WITHDRAWAL_COLUMNS: Column<Withdrawal>[] = [
  { label: 'Requested' },
  { label: 'Amount', numeric: true },
  { label: 'To' },
  { label: 'State' },
  { label: 'Action' },
]

/** Words for a withdrawal's state, with what happens next. */
export function withdrawalStep(w: Withdrawal): string {
  switch (w.state) {
    case 'prepared':
      return 'Recorded'
    case 'accepted':
      if (w.needs_approval && !w.approved_by) return 'Waiting for an administrator’s approval'
      return 'Funds locked; waiting to be sent'
    case 'processing':
      return 'Being sent'
    case 'confirming':
      return 'Sent; waiting for confirmations'
    case 'succeeded':
      return 'Done'
    case 'failed':
      return `Failed${w.error ? `: ${w.error}` : ''}; funds returned`
    case 'rejected':
      return 'Rejected by an administrator; funds returned'
    case 'canceled':
      return 'Cancelled; funds returned'
  }
}

function WithdrawForm({ balances, onDone }: { balances: AssetBalance[]; onDone: () => void }) {
  const [asset, setAsset] = useState('DTC')
  const [address, setAddress] = useState('')
  const [amount, setAmount] = useState('')
  const [invalid, setInvalid] = useState<{ address?: string | null; amount?: string | null }>({})
  const [key, setKey] = useState(newIdempotencyKey)
  const [done, setDone] = useState<string | null>(null)
  const { run, busy, error } = useAction()
  const available = toUnits(balances.find((b) => b.asset === asset)?.available ?? '0')

  const edit = (set: (v: string) => void) => (value: string) => {
    set(value)
    // Another request: a new Idempotency-Key (a retry of the same one keeps its key).
    setKey(newIdempotencyKey())
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    const to = address.trim().toLowerCase()
    const checked = parseCoinAmount(amount, asset, available)
    const problems = {
      address: /^[0-9a-f]{40}$/.test(to) ? null : 'A chain address is 40 hexadecimal digits (0-9, a-f).',
      amount: checked.ok ? null : checked.error,
    }
    setInvalid(problems)
    if (problems.address || !checked.ok) return
    const made = await run(() => createWithdrawal(asset, to, checked.value, key))
    if (made) {
      setDone(
        `Withdrawal of ${formatCoin(made.amount, made.asset)} (fee ${formatCoin(made.fee, made.asset)}) ` +
          `to ${made.address.slice(0, 10)}…: ${withdrawalStep(made).toLowerCase()}.`,
      )
      setAmount('')
      setAddress('')
      setKey(newIdempotencyKey())
      onDone()
    }
  }

  return (
    <form onSubmit={submit} noValidate className="card stack" aria-labelledby="withdraw-title">
      <h2 id="withdraw-title">Withdraw</h2>
      <div className="field">
        <label htmlFor="withdraw-asset">Asset</label>
        <select id="withdraw-asset" value={asset} onChange={(e) => edit(setAsset)(e.target.value)}>
          {CHAIN_ASSETS.map((a) => (
            <option key={a}>{a}</option>
          ))}
        </select>
      </div>
      <Field
        label="To address"
        value={address}
        onChange={edit(setAddress)}
        error={invalid.address}
        spellCheck={false}
        autoComplete="off"
        placeholder="40 hexadecimal digits"
      />
      <Field
        label="Amount"
        value={amount}
        onChange={edit(setAmount)}
        error={invalid.amount}
        inputMode="decimal"
        autoComplete="off"
        placeholder="0.5"
        hint={`Available: ${formatCoin(available, asset)}. A network fee is taken from your balance; large amounts wait for an administrator.`}
      />
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Sending the request…' : 'Withdraw'}
      </button>
    </form>
  )
}

function WithdrawalRow({ w, onChange }: { w: Withdrawal; onChange: () => void }) {
  const { run, busy, error } = useAction()
  const cancel = async () => {
    if (await run(() => cancelWithdrawal(w.id))) onChange()
  }
  return (
    <tr>
      <td data-label="Requested">
        <When time={w.created_ms} />
      </td>
      <td data-label="Amount" className="num">
        {formatCoin(w.amount, w.asset)}
        <span className="muted"> + fee {formatCoin(w.fee, w.asset)}</span>
      </td>
      <td data-label="To">
        <Hash value={w.address} to={`/explorer/addresses/${w.address}`} keep={6} />
      </td>
      <td data-label="State">
        <StateTag state={w.state} /> <span className="muted">{withdrawalStep(w)}</span>
        {w.txid && (
          <>
            {' '}
            <Hash value={w.txid} to={txLink(w.txid)} keep={6} />
          </>
        )}
        <ErrorText>{error}</ErrorText>
      </td>
      <td data-label="Action">
        {w.state === 'accepted' && (
          <button
            type="button"
            onClick={cancel}
            disabled={busy}
            aria-label={`Cancel the withdrawal of ${w.amount} ${w.asset}`}
          >
            {busy ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </td>
    </tr>
  )
}

const REASONS: Record<string, string> = {
  deposit: 'Deposit',
  deposit_fee: 'Deposit fee',
  withdrawal: 'Withdrawal',
  buy: 'Bought',
  sell: 'Sold',
}

/** A ledger reason without its own words ("withdrawal_sent") as words: "Withdrawal sent". */
function sentence(reason: string): string {
  const words = reason.replace(/_/g, ' ')
  return words.charAt(0).toUpperCase() + words.slice(1)
}

function HistoryCard({ version }: { version: number }) {
  const [before, setBefore] = useState<number[]>([])
  const cursor = before[before.length - 1]
  const page = useLoad(() => walletHistory(cursor), [cursor, version])
  const entries: WalletEntry[] = page.data?.entries ?? []
  return (
    <section className="card" aria-labelledby="history-title">
      <h2 id="history-title">Wallet history</h2>
      {page.error && !page.missing && <ErrorText>{page.error}</ErrorText>}
      {!page.data && page.loading && <Spinner label="Loading the history…" />}
      <DataTable
        caption="Wallet history, newest first: every movement has a from and a to"
        columns={HISTORY_COLUMNS}
        rows={page.data ? entries : undefined}
        rowKey={(e, i) => `${e.ts}-${e.ref}-${i}`}
        empty="Nothing has moved yet."
      />
      <div className="pager">
        <button type="button" disabled={before.length === 0} onClick={() => setBefore((b) => b.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          disabled={entries.length < 20}
          onClick={() => setBefore((b) => [...b, entries[entries.length - 1].ts])}
        >
          Older
        </button>
      </div>
    </section>
  )
}

export function WalletPage() {
  const balances = useLoad(walletBalances, [])
  const prices = useLoad(usdPrices, [])
  const depositList = useLoad(deposits, [])
  const withdrawalList = useLoad(withdrawals, [])
  const [version, setVersion] = useState(0)
  const refresh = async () => {
    setVersion((v) => v + 1)
    await Promise.all([balances.reload(), depositList.reload(), withdrawalList.reload()])
  }
  const mode = useLiveStream(WALLET_EVENTS, { onEvent: () => void refresh(), poll: refresh, pollMs: 10_000 })
  // Each new block adds a confirmation to deposits and sent withdrawals.
  const waiting =
    (depositList.data?.deposits ?? []).some((d) => d.state === 'submitted') ||
    (withdrawalList.data?.withdrawals ?? []).some((w) => w.state === 'confirming' || w.state === 'processing')
  useLiveStream(waiting ? '/api/chain/events' : null, {
    onEvent: (event) => {
      if (event === 'tip' || event === 'reorg')
        void Promise.all([depositList.reload(), withdrawalList.reload()])
    },
  })
  const required =
    depositList.data?.deposits.find((d) => d.confirmations_required)?.confirmations_required ??
    DEFAULT_CONFIRMATIONS
  const rows = balances.data?.balances ?? []

  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Wallet</h1>
        <ModeBadge mode={mode} />
      </div>
      {balances.error && <ErrorText>{balances.error}</ErrorText>}
      {!balances.data && balances.loading && <Spinner label="Loading your balances…" />}
      {balances.data && <Balances rows={rows} prices={prices.data} />}
      <div className="columns">
        <DepositCard required={required} />
        {balances.data && <WithdrawForm balances={rows} onDone={() => void refresh()} />}
      </div>
      <section className="card" aria-labelledby="deposits-title">
        <h2 id="deposits-title">Deposits</h2>
        {depositList.error && <ErrorText>{depositList.error}</ErrorText>}
        {depositList.data && <DepositsTable rows={depositList.data.deposits} required={required} />}
      </section>
      <section className="card" aria-labelledby="withdrawals-title">
        <h2 id="withdrawals-title">Withdrawals</h2>
        {withdrawalList.error && <ErrorText>{withdrawalList.error}</ErrorText>}
        <DataTable
          caption="Your withdrawals, newest first"
          columns={WITHDRAWAL_COLUMNS}
          rows={withdrawalList.data?.withdrawals}
          rowKey={(w) => w.id}
          empty="No withdrawals yet."
          renderRow={(w) => <WithdrawalRow w={w} onChange={() => void refresh()} />}
        />
      </section>
      <HistoryCard version={version} />
    </>
  )
}
