// Charts drawn by TradingView's lightweight-charts (canvas): candlesticks for a coin,
// lines and areas for equity curves and earnings, histograms for shares, and tiny
// sparklines for the top-20 board. Chart values are numbers for drawing only; every
// figure shown as text comes from the API's exact strings. Each chart has a caption,
// and a screen reader gets a text summary instead of the canvas.

import { AreaSeries, CandlestickSeries, HistogramSeries, LineSeries, createChart } from 'lightweight-charts'
import type { IChartApi, ISeriesApi, SeriesType, Time, UTCTimestamp } from 'lightweight-charts'
import { useEffect, useRef } from 'react'
import type { ReactNode } from 'react'

export interface Candle {
  /** Unix ms of the candle's start. */
  t: number
  open: string
  high: string
  low: string
  close: string
}

export interface Point {
  /** Unix ms. */
  t: number
  value: string
}

const UP = '#15803d'
const DOWN = '#b42318'
const ACCENT = '#14532d'
const GRID = '#eef0f3'

const seconds = (ms: number) => Math.floor(ms / 1000) as UTCTimestamp

/** Sorted by time, one point per second (the chart's resolution); the last one wins. */
function bySecond<T extends { t: number }>(rows: T[]): T[] {
  const seen = new Map<number, T>()
  for (const row of [...rows].sort((a, b) => a.t - b.t)) seen.set(seconds(row.t), row)
  return [...seen.values()]
}

export function candleData(candles: Candle[]) {
  return bySecond(candles).map((c) => ({
    time: seconds(c.t) as Time,
    open: Number(c.open),
    high: Number(c.high),
    low: Number(c.low),
    close: Number(c.close),
  }))
}

export function pointData(points: Point[]) {
  return bySecond(points).map((p) => ({ time: seconds(p.t) as Time, value: Number(p.value) }))
}

type Kind = 'candles' | 'line' | 'area' | 'histogram'

function addSeries(chart: IChartApi, kind: Kind, color: string): ISeriesApi<SeriesType> {
  switch (kind) {
    case 'candles':
      return chart.addSeries(CandlestickSeries, {
        upColor: UP,
        downColor: DOWN,
        borderUpColor: UP,
        borderDownColor: DOWN,
        wickUpColor: UP,
        wickDownColor: DOWN,
      })
    case 'area':
      return chart.addSeries(AreaSeries, {
        lineColor: color,
        topColor: `${color}55`,
        bottomColor: `${color}08`,
        lineWidth: 2,
      })
    case 'histogram':
      return chart.addSeries(HistogramSeries, { color })
    default:
      return chart.addSeries(LineSeries, { color, lineWidth: 2 })
  }
}

/**
 * One chart. `data` is already in lightweight-charts' form (candleData / pointData);
 * `summary` is what a screen reader hears instead of the canvas.
 */
function CanvasChart({
  kind,
  data,
  summary,
  height,
  color = ACCENT,
  spark = false,
  timeVisible = true,
  precision,
}: {
  kind: Kind
  data: ReturnType<typeof candleData> | ReturnType<typeof pointData>
  summary: string
  height: number
  color?: string
  spark?: boolean
  timeVisible?: boolean
  precision?: number
}) {
  const box = useRef<HTMLDivElement>(null)
  const chart = useRef<IChartApi | null>(null)
  const series = useRef<ISeriesApi<SeriesType> | null>(null)

  useEffect(() => {
    if (!box.current) return
    try {
      chart.current = createChart(box.current, {
        autoSize: true,
        height,
        // The logo injects a <style> element, which the site's CSP (style-src 'self')
        // refuses: the captions credit TradingView instead, as its licence allows.
        layout: { background: { color: 'transparent' }, textColor: '#59636e', attributionLogo: false },
        grid: { vertLines: { visible: !spark, color: GRID }, horzLines: { visible: !spark, color: GRID } },
        rightPriceScale: { visible: !spark, borderVisible: false },
        leftPriceScale: { visible: false },
        timeScale: { visible: !spark, borderVisible: false, timeVisible, secondsVisible: false },
        crosshair: spark ? { vertLine: { visible: false }, horzLine: { visible: false } } : undefined,
        handleScroll: !spark,
        handleScale: !spark,
      })
      series.current = addSeries(chart.current, kind, color)
      if (spark || precision !== undefined) {
        series.current.applyOptions({
          priceLineVisible: false,
          lastValueVisible: !spark,
          ...(precision !== undefined
            ? { priceFormat: { type: 'price', precision, minMove: 1 / 10 ** precision } }
            : {}),
        })
      }
    } catch {
      // No canvas (an old browser, or a test without one): the text summary remains.
      chart.current = null
      series.current = null
    }
    return () => {
      chart.current?.remove()
      chart.current = null
      series.current = null
    }
  }, [kind, color, spark, height, timeVisible, precision])

  useEffect(() => {
    if (!series.current) return
    series.current.setData(data as never)
    chart.current?.timeScale().fitContent()
  }, [data, kind, color, spark, height, timeVisible, precision])

  return <div className="chart-canvas" style={{ height }} role="img" aria-label={summary} ref={box} />
}

export function CandleChart({
  candles,
  title,
  height = 320,
  caption,
}: {
  candles: Candle[]
  title: string
  height?: number
  caption?: ReactNode
}) {
  if (candles.length === 0) return <p className="empty">No candles for {title} yet.</p>
  const last = candles[candles.length - 1]
  const summary = `${title}: ${candles.length} candles, last open ${last.open}, high ${last.high}, low ${last.low}, close ${last.close}`
  return (
    <figure className="chart-figure">
      <CanvasChart kind="candles" data={candleData(candles)} summary={summary} height={height} />
      <Caption>{caption}</Caption>
    </figure>
  )
}

/** A chart's caption, with the credit TradingView's licence asks for. */
function Caption({ children }: { children?: ReactNode }) {
  return (
    <figcaption>
      {children}{' '}
      <span className="credit">
        Chart by{' '}
        <a href="https://www.tradingview.com/" target="_blank" rel="noreferrer">
          TradingView Lightweight Charts
        </a>
        .
      </span>
    </figcaption>
  )
}

export function SeriesChart({
  points,
  title,
  kind = 'area',
  height = 260,
  color,
  caption,
  timeVisible,
  precision,
  empty,
}: {
  points: Point[]
  title: string
  kind?: 'line' | 'area' | 'histogram'
  height?: number
  color?: string
  caption?: ReactNode
  timeVisible?: boolean
  precision?: number
  empty?: ReactNode
}) {
  if (points.length === 0) return <p className="empty">{empty ?? `No data for ${title} yet.`}</p>
  const last = points[points.length - 1]
  const summary = `${title}: ${points.length} points, latest ${last.value}`
  return (
    <figure className="chart-figure">
      <CanvasChart
        kind={kind}
        data={pointData(points)}
        summary={summary}
        height={height}
        color={color}
        timeVisible={timeVisible}
        precision={precision}
      />
      <Caption>{caption}</Caption>
    </figure>
  )
}

/** A tiny line of recent prices, green when they rose and red when they fell. */
export function Sparkline({ points, label }: { points: Point[]; label: string }) {
  if (points.length < 2) return <span className="muted">—</span>
  const first = Number(points[0].value)
  const last = Number(points[points.length - 1].value)
  const color = last > first ? UP : last < first ? DOWN : '#59636e'
  const direction = last > first ? 'rising' : last < first ? 'falling' : 'flat'
  return (
    <div className="sparkline">
      <CanvasChart
        kind="line"
        data={pointData(points)}
        summary={`${label}: ${direction}`}
        height={36}
        color={color}
        spark
      />
    </div>
  )
}
