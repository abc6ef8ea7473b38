// Small pieces shared by the crypto pages: how a page stays live, hashes and addresses
// (shortened, with the whole value one copy away), state tags and time stamps.

import { useState } from 'react'
import type { FeedMode } from '../live/feed'
import { Link } from '../router'
import { formatDateTime } from './ui'

/** How a page stays current: a live stream, polling as a fallback, or neither. */
export function ModeBadge({ mode }: { mode: FeedMode }) {
  const text = {
    live: 'Live',
    polling: 'Updating every few seconds',
    connecting: 'Connecting…',
    stopped: 'Not updating',
  }[mode]
  return (
    <span className={`badge badge-${mode}`} title="How this page stays up to date">
      <span className="dot" aria-hidden="true" />
      {text}
    </span>
  )
}

/** "ab12cd…9f8e" for a long hex value. */
export function shorten(value: string, keep = 8): string {
  return value.length > keep * 2 + 1 ? `${value.slice(0, keep)}…${value.slice(-keep)}` : value
}

/** Copy `text` to the clipboard, saying so for a moment (or why it failed). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [said, setSaid] = useState<string | null>(null)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text)
      setSaid('Copied')
    } catch {
      setSaid('Copy failed: select the text and copy it')
    }
    setTimeout(() => setSaid(null), 2500)
  }
  return (
    <>
      <button type="button" className="small" onClick={copy} aria-label={label}>
        Copy
      </button>
      <span role="status" className="copy-said">
        {said}
      </span>
    </>
  )
}

/** A hash, transaction id or address: shortened, monospace, linked when `to` is given. */
export function Hash({ value, to, keep }: { value: string; to?: string; keep?: number }) {
  const text = shorten(value, keep)
  return (
    <code className="hash" title={value}>
      {to ? (
        <Link to={to} aria-label={value}>
          {text}
        </Link>
      ) : (
        text
      )}
    </code>
  )
}

const GOOD = new Set(['accepted', 'collected', 'succeeded', 'healthy', 'digging', 'confirmed', 'done'])
const BAD = new Set(['failed', 'rejected', 'errored', 'short', 'liquidated', 'canceled', 'cancelled'])

/** A state word as a coloured tag: green when done well, red when it went wrong. */
export function StateTag({ state }: { state: string }) {
  const kind = GOOD.has(state) ? 'good' : BAD.has(state) ? 'bad' : 'wait'
  return <span className={`tag tag-${kind}`}>{state.replace(/_/g, ' ')}</span>
}

/** A time given in Unix ms or seconds, or as an ISO string. */
export function toMs(time: number | string | null | undefined): number | null {
  if (time === null || time === undefined || time === '') return null
  if (typeof time === 'string') {
    if (/^\d+(\.\d+)?$/.test(time)) return toMs(Number(time))
    const parsed = Date.parse(time)
    return Number.isNaN(parsed) ? null : parsed
  }
  // Seconds until the year 2286 are below 1e10; milliseconds are above.
  return time < 1e10 ? Math.round(time * 1000) : time
}

export function When({ time }: { time: number | string | null | undefined }) {
  const ms = toMs(time)
  if (ms === null) return <span className="muted">—</span>
  return <time dateTime={new Date(ms).toISOString()}>{formatDateTime(ms)}</time>
}
