// The transaction history, newest first, a page at a time, filtered by entry type on
// the server (`type`) and paged with its `before` cursor.

import { useEffect, useState } from 'react'
import { transactions } from '../api/endpoints'
import type { EntryType, LogEntry } from '../api/types'
import { useSignedIn } from '../auth/SessionContext'
import { EntryTable, TYPE_LABELS } from '../components/EntryTable'
import { ErrorText, Spinner, errorMessage } from '../components/ui'
import { nextPageRequest, takePage } from '../lib/paging'
import { navigate, useLocation } from '../router'

export const PAGE_SIZE = 20
const TYPES: EntryType[] = ['userCommand', 'accountTransaction', 'systemEvent', 'errorEvent', 'quoteServer']

interface Loaded {
  pages: LogEntry[][]
  /** Whether entries older than the last loaded page exist. */
  more: boolean
}

export function HistoryPage() {
  const { username } = useSignedIn()
  const { query } = useLocation()
  const typeParam = query.get('type')
  const type = TYPES.includes(typeParam as EntryType) ? (typeParam as EntryType) : undefined
  const [loaded, setLoaded] = useState<Loaded>({ pages: [], more: false })
  const [index, setIndex] = useState(0)
  const [busy, setBusy] = useState(true)
  const [error, setError] = useState<string | null>(null)
  const [reloads, setReloads] = useState(0)

  const fetchAfter = async (shown: LogEntry[]) => {
    const request = nextPageRequest(shown, PAGE_SIZE)
    const answer = await transactions(username, { limit: request.limit, type, before: request.before })
    return takePage(answer.transactions, request, PAGE_SIZE)
  }

  useEffect(() => {
    let cancelled = false
    setBusy(true)
    setError(null)
    fetchAfter([])
      .then((page) => {
        if (cancelled) return
        setLoaded({ pages: [page.entries], more: page.more })
        setIndex(0)
      })
      .catch((err) => !cancelled && setError(errorMessage(err)))
      .finally(() => !cancelled && setBusy(false))
    return () => {
      cancelled = true
    }
    // fetchAfter reads only username and type.
  }, [username, type, reloads])

  const older = async () => {
    if (index + 1 < loaded.pages.length) {
      setIndex(index + 1)
      return
    }
    setBusy(true)
    setError(null)
    try {
      const page = await fetchAfter(loaded.pages.flat())
      if (page.entries.length) {
        setLoaded({ pages: [...loaded.pages, page.entries], more: page.more })
        setIndex(index + 1)
      } else {
        setLoaded({ ...loaded, more: false })
      }
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }

  const entries = loaded.pages[index] ?? []
  const hasOlder = index + 1 < loaded.pages.length || loaded.more
  const first = index * PAGE_SIZE + 1

  return (
    <>
      <h1 tabIndex={-1}>Transaction history</h1>
      <div className="toolbar">
        <div className="field inline">
          <label htmlFor="history-type">Show</label>
          <select
            id="history-type"
            value={type ?? ''}
            onChange={(e) =>
              navigate(e.target.value ? `/history?type=${e.target.value}` : '/history', { replace: true })
            }
          >
            <option value="">All transactions</option>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {TYPE_LABELS[t]} ({t})
              </option>
            ))}
          </select>
        </div>
        <button type="button" onClick={() => setReloads((n) => n + 1)} disabled={busy}>
          Newest
        </button>
      </div>
      <ErrorText>{error}</ErrorText>
      <section className="card" aria-labelledby="history-title" aria-busy={busy}>
        <h2 id="history-title" className="visually-hidden">
          Entries
        </h2>
        {busy && entries.length === 0 ? (
          <Spinner label="Loading transactions…" />
        ) : (
          <EntryTable
            caption="Your transactions, newest first"
            entries={entries}
            empty={type ? `No ${TYPE_LABELS[type].toLowerCase()} entries.` : 'No transactions yet.'}
          />
        )}
      </section>
      <nav className="pager" aria-label="Pages">
        <button type="button" onClick={() => setIndex(index - 1)} disabled={busy || index === 0}>
          ← Newer
        </button>
        <span role="status">
          {entries.length ? `Entries ${first}–${first + entries.length - 1}` : ''}
          {busy && entries.length > 0 ? ' (loading…)' : ''}
        </span>
        <button type="button" onClick={() => void older()} disabled={busy || !hasOlder}>
          Older →
        </button>
      </nav>
    </>
  )
}
