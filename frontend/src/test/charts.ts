// A stand-in for lightweight-charts in jsdom (no canvas): records each chart's series
// kind and the data given to it, so tests can check what would be drawn.

export interface DrawnSeries {
  kind: string
  data: unknown[]
}

export const drawn: DrawnSeries[] = []

function series(kind: string) {
  const entry: DrawnSeries = { kind, data: [] }
  drawn.push(entry)
  return {
    setData: (data: unknown[]) => {
      entry.data = data
    },
    update: (point: unknown) => {
      entry.data = [...entry.data, point]
    },
    applyOptions: () => {},
  }
}

export const CandlestickSeries = { type: 'Candlestick' }
export const AreaSeries = { type: 'Area' }
export const LineSeries = { type: 'Line' }
export const HistogramSeries = { type: 'Histogram' }
export const BarSeries = { type: 'Bar' }
export const BaselineSeries = { type: 'Baseline' }

export function createChart() {
  return {
    addSeries: (definition: { type: string }) => series(definition.type),
    timeScale: () => ({ fitContent: () => {} }),
    applyOptions: () => {},
    remove: () => {},
  }
}
