// Audit-log entries as a table (cards on a phone).

import type { EntryType, LogEntry } from '../api/types'
import { formatDollars } from '../lib/money'
import { DataTable } from './DataTable'
import type { Column } from './DataTable'
import { formatDateTime } from './ui'

export const TYPE_LABELS: Record<EntryType, string> = {
  userCommand: 'Command',
  accountTransaction: 'Money moved',
  systemEvent: 'Automatic trade',
  errorEvent: 'Error',
  quoteServer: 'Quote',
}

function details(e: LogEntry): string {
  switch (e.type) {
    case 'accountTransaction':
      return e.action === 'add' ? 'Added to cash' : e.action === 'remove' ? 'Taken from cash' : ''
    case 'errorEvent':
      return e.errorMessage ?? ''
    case 'systemEvent':
      return e.command === 'SELL' ? 'Stop-loss price reached' : 'Trigger price reached'
    case 'quoteServer':
      return e.price ? `Price ${formatDollars(e.price)}` : ''
    default:
      return e.filename ? `File ${e.filename}` : ''
  }
}

/** The command behind each transaction number (money moves carry none of their own). */
type Commands = Map<number, LogEntry>

function entryColumns(commands: Commands): Column<LogEntry>[] {
  const command = (e: LogEntry) => commands.get(e.transactionNum ?? -1)
  return [
    { label: 'Time', cell: (e) => formatDateTime(e.timestamp) },
    {
      label: 'Type',
      cell: (e) => <span className={`tag tag-${e.type}`}>{TYPE_LABELS[e.type] ?? e.type}</span>,
    },
    {
      label: 'Command',
      cell: (e) => e.command ?? <span className="muted">{command(e)?.command ?? '—'}</span>,
    },
    { label: 'Symbol', cell: (e) => e.stockSymbol ?? command(e)?.stockSymbol ?? '—' },
    {
      label: 'Amount',
      numeric: true,
      cell: (e) => (e.funds ? formatDollars(e.funds) : e.price ? formatDollars(e.price) : '—'),
    },
    { label: 'Details', cell: (e) => details(e) || '—' },
    { label: 'Txn', numeric: true, cell: (e) => e.transactionNum ?? '—' },
  ]
}

export function EntryTable({
  caption,
  entries,
  empty,
}: {
  /** What the entries are, for screen readers. */
  caption: string
  entries: LogEntry[]
  empty: string
}) {
  // Money moves carry no command in the log; name it from the command with the same
  // transaction number when that is on the page too.
  const commands: Commands = new Map()
  for (const e of entries) {
    if (e.type === 'userCommand' && e.transactionNum !== undefined) commands.set(e.transactionNum, e)
  }
  return (
    <DataTable
      caption={caption}
      columns={entryColumns(commands)}
      rows={entries}
      rowKey={(e, i) => `${e.timestamp}:${e.type}:${e.transactionNum}:${i}`}
      empty={empty}
      className="responsive entries"
      wrap={false}
      rowClassName={(e) => `entry-${e.type}`}
    />
  )
}
