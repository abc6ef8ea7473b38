// What the stop-loss cards of stocks (pages/StockStopsCard) and coins
// (pages/crypto/StopsCard) share: the list of the user's stops, each row with a button
// that cancels it.

import type { ReactNode } from 'react'
import { DataTable } from './DataTable'
import type { Column } from './DataTable'
import { ErrorText, useAction } from './ui'

/** The last cell of a stop's row: a button that cancels the stop, and why it could not. */
export function CancelCell({
  what,
  cancel,
  onCancelled,
  open = true,
}: {
  /** The stop in words ("stop-loss at $9.00"), for the button's label and the notice. */
  what: string
  cancel: () => Promise<unknown>
  onCancelled: (text: string) => void
  /** Only an open stop can be cancelled: no button otherwise. */
  open?: boolean
}) {
  const { run, busy, error } = useAction()
  const onClick = async () => {
    const done = await run(cancel)
    if (done) onCancelled(`Cancelled the ${what}.`)
  }
  return (
    <td data-label="">
      {open && (
        <button type="button" onClick={onClick} disabled={busy} aria-label={`Cancel the ${what}`}>
          {busy ? 'Cancelling…' : 'Cancel'}
        </button>
      )}
      <ErrorText>{error}</ErrorText>
    </td>
  )
}

/** The list of a user's stops: its load error, the words for none, or a row for each. */
export function StopList<Stop extends { id: number | string }>({
  caption,
  columns,
  stops,
  error,
  empty,
  row,
}: {
  caption: ReactNode
  /** The columns before the cancel button's. */
  columns: Column<Stop>[]
  /** Undefined while loading. */
  stops: readonly Stop[] | undefined
  error?: string | null
  empty: ReactNode
  row: (stop: Stop) => ReactNode
}) {
  return (
    <>
      {error && <ErrorText>{error}</ErrorText>}
      <DataTable
        caption={caption}
        columns={[...columns, { label: 'Cancel', hideLabel: true }]}
        rows={stops}
        rowKey={(stop) => stop.id}
        empty={empty}
        renderRow={row}
      />
    </>
  )
}
