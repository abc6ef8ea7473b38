// Automatic buys and sells: an amount (SET_*_AMOUNT) plus a trigger price
// (SET_*_TRIGGER). The trigger checker fires them; a fired one leaves the setups and
// shows up as a systemEvent in the recent transactions.

import { useState } from 'react'
import type { FormEvent } from 'react'
import { cancelAuto, setAutoAmount, setAutoTrigger } from '../api/endpoints'
import type { Side } from '../api/endpoints'
import type { BuySetup, SellSetup } from '../api/types'
import { useSignedIn } from '../auth/SessionContext'
import { DataTable } from '../components/DataTable'
import type { Column } from '../components/DataTable'
import { EntryTable } from '../components/EntryTable'
import {
  ErrorText,
  MoneyField,
  Spinner,
  StatusText,
  SymbolField,
  checkSymbol,
  useAction,
} from '../components/ui'
import { useAccount } from '../live/AccountContext'
import { formatDollars, parseAmount } from '../lib/money'

const WORDS = {
  buy: {
    title: 'Automatic buy',
    amountLabel: 'Dollars to reserve',
    amountHint: 'Taken from cash now and held until the buy fires or you cancel it.',
    triggerHint: 'Buys when the price is at or below this.',
  },
  sell: {
    title: 'Automatic sell',
    amountLabel: 'Dollars to sell for',
    amountHint: 'You need at least one share of the symbol.',
    triggerHint: 'Sells when the price is at or above this. Setting it reserves the shares.',
  },
}

interface Editing {
  symbol: string
  nonce: number
}

function SetupForm({ side, editing }: { side: Side; editing: Editing | null }) {
  const { username } = useSignedIn()
  const { refresh } = useAccount()
  const [symbol, setSymbol] = useState('')
  const [amount, setAmount] = useState('')
  const [trigger, setTrigger] = useState('')
  const [lastEdit, setLastEdit] = useState<number | null>(null)
  const [invalid, setInvalid] = useState<{
    symbol?: string | null
    amount?: string | null
    trigger?: string | null
  }>({})
  const [done, setDone] = useState<string | null>(null)
  const { run, busy, error } = useAction()
  const words = WORDS[side]

  // "Change" on a row fills the symbol in (React's "adjust state on prop change").
  if (editing && editing.nonce !== lastEdit) {
    setLastEdit(editing.nonce)
    setSymbol(editing.symbol)
    setDone(null)
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    const a = amount.trim() ? parseAmount(amount) : null
    const t = trigger.trim() ? parseAmount(trigger) : null
    const problems = {
      symbol: checkSymbol(symbol),
      amount: a && !a.ok ? a.error : null,
      trigger: t && !t.ok ? t.error : !a && !t ? 'Enter an amount, a trigger price, or both.' : null,
    }
    setInvalid(problems)
    if (problems.symbol || problems.amount || problems.trigger) return
    const ok = await run(async () => {
      const steps: string[] = []
      if (a?.ok) {
        await setAutoAmount(side, username, symbol, a.value)
        steps.push(`amount ${formatDollars(a.value)}`)
      }
      if (t?.ok) {
        await setAutoTrigger(side, username, symbol, t.value)
        steps.push(`trigger price ${formatDollars(t.value)}`)
      }
      return steps
    })
    if (ok) {
      setDone(`${words.title} of ${symbol}: set ${ok.join(' and ')}.`)
      setAmount('')
      setTrigger('')
    }
    void refresh()
  }

  return (
    <form onSubmit={submit} noValidate className="card stack" aria-labelledby={`auto-${side}-title`}>
      <h2 id={`auto-${side}-title`}>{words.title}</h2>
      <SymbolField label="Stock symbol" value={symbol} onChange={setSymbol} error={invalid.symbol} />
      <MoneyField
        label={words.amountLabel}
        value={amount}
        onChange={setAmount}
        error={invalid.amount}
        hint={words.amountHint}
      />
      <MoneyField
        label="Trigger price"
        value={trigger}
        onChange={setTrigger}
        error={invalid.trigger}
        hint={words.triggerHint}
      />
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Saving…' : `Save ${side === 'buy' ? 'automatic buy' : 'automatic sell'}`}
      </button>
    </form>
  )
}

function state(trigger: string | null, side: Side): string {
  if (trigger === null) return 'Needs a trigger price'
  return side === 'buy'
    ? `Waiting for price ≤ ${formatDollars(trigger)}`
    : `Waiting for price ≥ ${formatDollars(trigger)}`
}

function SetupRow({
  side,
  setup,
  onChange,
}: {
  side: Side
  setup: BuySetup | SellSetup
  onChange: () => void
}) {
  const { username } = useSignedIn()
  const { refresh } = useAccount()
  const { run, busy, error } = useAction()
  const cancel = async () => {
    await run(() => cancelAuto(side, username, setup.symbol))
    void refresh()
  }
  return (
    <tr>
      <th scope="row" data-label="Symbol">
        {setup.symbol}
      </th>
      {'reserve' in setup ? (
        <td data-label="Reserved" className="num">
          {formatDollars(setup.reserve)}
        </td>
      ) : (
        <>
          <td data-label="Amount" className="num">
            {formatDollars(setup.amount)}
          </td>
          <td data-label="Shares reserved" className="num">
            {setup.shares_reserved}
          </td>
        </>
      )}
      <td data-label="Trigger" className="num">
        {setup.trigger ? formatDollars(setup.trigger) : '—'}
      </td>
      <td data-label="State">{state(setup.trigger, side)}</td>
      <td data-label="Actions">
        <div className="actions">
          <button type="button" onClick={onChange} aria-label={`Change automatic ${side} of ${setup.symbol}`}>
            Change
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={cancel}
            aria-label={`Cancel automatic ${side} of ${setup.symbol}`}
          >
            {busy ? 'Cancelling…' : 'Cancel'}
          </button>
        </div>
        <ErrorText>{error}</ErrorText>
      </td>
    </tr>
  )
}

/** The setups' columns: a buy reserves cash, a sell has an amount and reserves shares. */
const SETUP_COLUMNS: Record<Side, Column<BuySetup | SellSetup>[]> = {
  buy: [
    { label: 'Symbol' },
    { label: 'Reserved', numeric: true },
    { label: 'Trigger', numeric: true },
    { label: 'State' },
    { label: 'Actions', hideLabel: true },
  ],
  sell: [
    { label: 'Symbol' },
    { label: 'Amount', numeric: true },
    { label: 'Shares reserved', numeric: true },
    { label: 'Trigger', numeric: true },
    { label: 'State' },
    { label: 'Actions', hideLabel: true },
  ],
}

function SetupTable({
  side,
  setups,
  onChange,
}: {
  side: Side
  setups: (BuySetup | SellSetup)[]
  onChange: (symbol: string) => void
}) {
  const title = side === 'buy' ? 'Automatic buys' : 'Automatic sells'
  return (
    <section className="card" aria-labelledby={`setups-${side}-title`}>
      <h2 id={`setups-${side}-title`}>{title}</h2>
      <DataTable
        caption={`Your automatic ${side === 'buy' ? 'buys' : 'sells'}`}
        columns={SETUP_COLUMNS[side]}
        rows={setups}
        rowKey={(s) => s.symbol}
        empty={`No automatic ${side === 'buy' ? 'buys' : 'sells'}.`}
        renderRow={(s) => <SetupRow side={side} setup={s} onChange={() => onChange(s.symbol)} />}
      />
    </section>
  )
}

export function AutomaticPage() {
  const { state: feed } = useAccount()
  const [editing, setEditing] = useState<{ buy: Editing | null; sell: Editing | null }>({
    buy: null,
    sell: null,
  })
  const summary = feed.summary
  const fired = summary?.recent_transactions.filter((e) => e.type === 'systemEvent') ?? []
  const edit = (side: Side) => (symbol: string) => {
    setEditing((old) => ({ ...old, [side]: { symbol, nonce: Date.now() } }))
    document.getElementById(`auto-${side}-title`)?.scrollIntoView({ block: 'center' })
    // Focus the amount field of that form, the usual next step.
    const form = document.getElementById(`auto-${side}-title`)?.closest('form')
    form?.querySelectorAll('input')[1]?.focus()
  }

  return (
    <>
      <h1 tabIndex={-1}>Automatic trades</h1>
      <p className="lead">
        Set an amount and a trigger price; the system buys or sells for you when a quote reaches the trigger.
      </p>
      {feed.status === 'loading' && <Spinner label="Loading your account…" />}
      <div className="columns">
        <SetupForm side="buy" editing={editing.buy} />
        <SetupForm side="sell" editing={editing.sell} />
      </div>
      {summary && (
        <>
          <SetupTable side="buy" setups={summary.buy_setups} onChange={edit('buy')} />
          <SetupTable side="sell" setups={summary.sell_setups} onChange={edit('sell')} />
        </>
      )}
      {summary && (
        <section className="card" aria-labelledby="fired-title">
          <h2 id="fired-title">Fired recently</h2>
          <EntryTable
            caption="Automatic trades that fired recently"
            entries={fired}
            empty="None of your automatic trades has fired recently."
          />
        </section>
      )}
    </>
  )
}
