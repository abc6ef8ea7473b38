// Audit-log entries as a table (cards on a phone).

import type { EntryType, LogEntry } from '../api/types'
import { formatDollars } from '../lib/money'
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

export function EntryTable({ entries, empty }: { entries: LogEntry[]; empty: string }) {
  if (entries.length === 0) return <p className="empty">{empty}</p>
  // Money moves carry no command in the log; name it from the command with the same
  // transaction number when that is on the page too.
  const commands = new Map<number, LogEntry>()
  for (const e of entries) {
    if (e.type === 'userCommand' && e.transactionNum !== undefined) commands.set(e.transactionNum, e)
  }
  return (
    <table className="responsive entries">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Type</th>
          <th scope="col">Command</th>
          <th scope="col">Symbol</th>
          <th scope="col" className="num">
            Amount
          </th>
          <th scope="col">Details</th>
          <th scope="col" className="num">
            Txn
          </th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e, i) => (
          <tr key={`${e.timestamp}:${e.type}:${e.transactionNum}:${i}`} className={`entry-${e.type}`}>
            <td data-label="Time">{formatDateTime(e.timestamp)}</td>
            <td data-label="Type">
              <span className={`tag tag-${e.type}`}>{TYPE_LABELS[e.type] ?? e.type}</span>
            </td>
            <td data-label="Command">
              {e.command ?? (
                <span className="muted">{commands.get(e.transactionNum ?? -1)?.command ?? '—'}</span>
              )}
            </td>
            <td data-label="Symbol">
              {e.stockSymbol ?? commands.get(e.transactionNum ?? -1)?.stockSymbol ?? '—'}
            </td>
            <td data-label="Amount" className="num">
              {e.funds ? formatDollars(e.funds) : e.price ? formatDollars(e.price) : '—'}
            </td>
            <td data-label="Details">{details(e) || '—'}</td>
            <td data-label="Txn" className="num">
              {e.transactionNum ?? '—'}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
