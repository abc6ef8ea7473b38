// A line chart of a symbol's recent quotes, drawn as SVG (no chart library needed for
// one series). The same numbers are available as a table for screen readers.

import { formatCents } from '../lib/money'
import { DataTable } from './DataTable'
import type { Column } from './DataTable'
import { formatTime } from './ui'

export interface PricePoint {
  /** Unix ms of the quote. */
  t: number
  cents: number
}

const W = 640
const H = 240
const PAD = { top: 16, right: 16, bottom: 28, left: 72 }

/** Sorted, de-duplicated (same time and price) points. */
export function mergePoints(...lists: PricePoint[][]): PricePoint[] {
  const seen = new Map<string, PricePoint>()
  for (const p of lists.flat()) seen.set(`${p.t}:${p.cents}`, p)
  return [...seen.values()].sort((a, b) => a.t - b.t)
}

/** Evenly spaced price ticks covering [min, max], with room when all prices are equal. */
export function priceScale(points: PricePoint[]): { lo: number; hi: number } {
  let lo = Math.min(...points.map((p) => p.cents))
  let hi = Math.max(...points.map((p) => p.cents))
  if (hi === lo) {
    const pad = Math.max(1, Math.round(lo * 0.05))
    lo = Math.max(0, lo - pad)
    hi = hi + pad
  }
  return { lo, hi }
}

const QUOTE_COLUMNS: Column<PricePoint>[] = [
  { label: 'Time', cell: (p) => formatTime(p.t) },
  { label: 'Price', numeric: true, cell: (p) => formatCents(p.cents) },
]

export function PriceChart({ symbol, points }: { symbol: string; points: PricePoint[] }) {
  if (points.length === 0) {
    return <p className="empty">No quotes for {symbol} yet. Look one up to start the chart.</p>
  }
  const { lo, hi } = priceScale(points)
  const t0 = points[0].t
  const t1 = points[points.length - 1].t
  const plotW = W - PAD.left - PAD.right
  const plotH = H - PAD.top - PAD.bottom
  const x = (t: number) => PAD.left + (t1 === t0 ? plotW / 2 : ((t - t0) / (t1 - t0)) * plotW)
  const y = (c: number) => PAD.top + plotH - ((c - lo) / (hi - lo)) * plotH
  const line = points.map((p) => `${x(p.t).toFixed(1)},${y(p.cents).toFixed(1)}`).join(' ')
  const last = points[points.length - 1]
  const ticks = [lo, Math.round((lo + hi) / 2), hi]
  const titleId = `chart-title-${symbol}`
  const summary =
    `${symbol}: ${points.length} quote${points.length === 1 ? '' : 's'} from ` +
    `${formatTime(t0)} to ${formatTime(t1)}, between ${formatCents(Math.min(...points.map((p) => p.cents)))} ` +
    `and ${formatCents(Math.max(...points.map((p) => p.cents)))}; latest ${formatCents(last.cents)}.`

  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={titleId} preserveAspectRatio="xMidYMid meet">
        <title id={titleId}>{summary}</title>
        {ticks.map((c) => (
          <g key={c}>
            <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={y(c)} y2={y(c)} />
            <text className="axis" x={PAD.left - 8} y={y(c) + 4} textAnchor="end">
              {formatCents(c)}
            </text>
          </g>
        ))}
        <text className="axis" x={PAD.left} y={H - 8} textAnchor="start">
          {formatTime(t0)}
        </text>
        {t1 !== t0 && (
          <text className="axis" x={W - PAD.right} y={H - 8} textAnchor="end">
            {formatTime(t1)}
          </text>
        )}
        {points.length > 1 && <polyline className="line" points={line} fill="none" />}
        {points.map((p) => (
          <circle
            key={`${p.t}:${p.cents}`}
            className={p === last ? 'dot dot-last' : 'dot'}
            cx={x(p.t)}
            cy={y(p.cents)}
            r={p === last ? 5 : 3}
          />
        ))}
      </svg>
      <figcaption>{summary}</figcaption>
      <details>
        <summary>Show the quotes as a table</summary>
        <DataTable
          caption={`Quotes of ${symbol}, newest first`}
          columns={QUOTE_COLUMNS}
          rows={[...points].reverse()}
          rowKey={(p) => `${p.t}:${p.cents}`}
          className="compact"
          wrap={false}
        />
      </details>
    </figure>
  )
}
