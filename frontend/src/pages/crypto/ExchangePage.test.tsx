import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import type { BoardLine } from '../../api/exchange'
import { drawn } from '../../test/charts'
import { apiError, envelope, fakeFetch, liveStream, signInAs } from '../../test/http'
import { renderSignedIn } from '../../test/render'
import { ExchangePage } from './ExchangePage'

const line = (rank: number, ticker: string, price: string, rate: string): BoardLine => ({
  rank,
  ticker,
  name: ticker === 'BTC' ? 'Bitcoin' : 'Ethereum',
  cur_price: price,
  open: price,
  high: price,
  low: price,
  chgAmt: rate.startsWith('-') ? '-100.0000' : '100.0000',
  chgRate: rate,
  volume: '1234.50000000',
  value: '98765432.1000',
})

const BOARD = {
  as_of: 1_700_000_000_000,
  fee_bp: 25,
  tickers: { BTC_USD: line(1, 'BTC', '43210.5001', '2.35'), ETH_USD: line(2, 'ETH', '2500.0000', '-1.20') },
}

const ASSETS = {
  user: 'alice',
  cash: '30000.00',
  market_available: true,
  holdings: [
    {
      ticker: 'BTC',
      name: 'Bitcoin',
      coin: 'BTC',
      available: '0.10000000',
      locked: '0.00000000',
      cur_price: '43210.5001',
      value: '4321.05',
      cost: '4000.00',
      unrealised: '321.05',
      realised: '0.00',
      chg_rate: '2.35',
      accu_price: '98765432.1000',
    },
  ],
  total_value: '4321.05',
  total_cost: '4000.00',
  total_unrealised: '321.05',
}

const candle = (time: number, close: string) => ({
  time,
  open: '100',
  high: '110',
  low: '90',
  close,
  volume: '1',
})

function routes(extra = {}) {
  return {
    'GET /api/exchange/coin/tickers_20': () => envelope(BOARD),
    'GET /api/exchange/coin/clientassets': () => envelope(ASSETS),
    'GET /api/exchange/coin/candles/*': () =>
      envelope({ candles: [candle(3_600_000, '100'), candle(7_200_000, '105')] }),
    'GET /api/exchange/trades': () => envelope({ user: 'alice', trades: [] }),
    ...extra,
  }
}

describe('exchange board', () => {
  it('shows the top 20 with coloured changes, and follows live tickers', async () => {
    signInAs()
    const market = liveStream()
    fakeFetch(routes({ 'GET /api/market/events': market.route }))
    renderSignedIn(<ExchangePage />, '/exchange')
    const btc = await screen.findByRole('row', { name: /BTC Bitcoin/ })
    expect(btc).toHaveTextContent(/1\s*BTC Bitcoin\s*\$43,210.5001\s*▲ \+2.35 %\s*1,234.5\s*\$98,765,432.10/)
    expect(within(btc).getByText('+2.35 %').closest('.change')).toHaveClass('tone-up')
    const eth = screen.getByRole('row', { name: /ETH Ethereum/ })
    expect(within(eth).getByText('−1.20 %').closest('.change')).toHaveClass('tone-down')
    // Holdings valued live, with the profit coloured.
    expect(screen.getByRole('row', { name: /^BTC 0.1/ })).toHaveTextContent(
      /\$4,321.05\s*\$4,000.00\s*\+\$321.05/,
    )

    await screen.findByText('Live')
    market.send('ticker', {
      coin: 'ETH',
      price: '2600.0000',
      open: '2500',
      high: '2600',
      low: '2500',
      chgAmt: '100',
      chgRate: '4.00',
      value: '1',
    })
    await vi.waitFor(() => expect(screen.getByTestId('price-ETH')).toHaveTextContent('$2,600.00'))
    expect(
      within(screen.getByRole('row', { name: /ETH Ethereum/ }))
        .getByText('+4.00 %')
        .closest('.change'),
    ).toHaveClass('tone-up')
  })
})

describe('coin page', () => {
  it('draws candles and switches the interval', async () => {
    signInAs()
    const calls = fakeFetch(routes())
    renderSignedIn(<ExchangePage coin="BTC" />, '/exchange/BTC')
    expect(await screen.findByText(/2 candles of 1 h/)).toBeInTheDocument()
    const series = drawn.filter((s) => s.kind === 'Candlestick')
    // The last candle follows the live price.
    expect(series[series.length - 1].data).toEqual([
      { time: 3600, open: 100, high: 110, low: 90, close: 100 },
      { time: 7200, open: 100, high: 43210.5001, low: 90, close: 43210.5001 },
    ])
    await userEvent.click(screen.getByRole('button', { name: '1 m' }))
    await vi.waitFor(() =>
      expect(calls.some((c) => c.path === '/api/exchange/coin/candles/BTC/1m')).toBe(true),
    )
    expect(screen.getByRole('button', { name: '1 m' })).toHaveAttribute('aria-pressed', 'true')
  })

  it('shows the fee and total before a buy, then the server refusal in words', async () => {
    signInAs()
    const calls = fakeFetch(
      routes({
        'POST /api/exchange/buy': () =>
          apiError(
            409,
            'insufficient_funds',
            'insufficient funds: cash 30000.00 < cost 21605.26 + fee 54.02',
          ),
      }),
    )
    renderSignedIn(<ExchangePage coin="BTC" />, '/exchange/BTC')
    const form = await screen.findByRole('form', { name: 'Buy BTC' })
    await screen.findByText('Cash available: $30,000.00.')
    await userEvent.type(within(form).getByLabelText('Amount of BTC'), '0.123456789')
    await userEvent.click(within(form).getByRole('button', { name: 'Review buy' }))
    expect(within(form).getByLabelText('Amount of BTC')).toHaveAccessibleDescription(/at most 8 decimals/)

    await userEvent.clear(within(form).getByLabelText('Amount of BTC'))
    await userEvent.type(within(form).getByLabelText('Amount of BTC'), '0.5')
    // 0.5 x $43,210.5001 = $21,605.25005: cost $21,605.26 (up), fee 0.25 % = $54.0131 -> $54.02.
    const estimate = within(form).getByLabelText('Estimate')
    expect(estimate).toHaveTextContent('Cost$21,605.26Fee (0.25 %)$54.02You pay$21,659.28')
    await userEvent.click(within(form).getByRole('button', { name: 'Review buy' }))

    const confirm = screen.getByRole('group', { name: 'Confirm the buy' })
    expect(within(confirm).getByTestId('order-total')).toHaveTextContent('$21,659.28')
    expect(calls.some((c) => c.path === '/api/exchange/buy')).toBe(false)
    await userEvent.click(within(confirm).getByRole('button', { name: 'Confirm buy' }))
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Insufficient funds: cash 30000.00 < cost 21605.26 + fee 54.02.',
    )
    const sent = calls.find((c) => c.path === '/api/exchange/buy')!
    expect(sent.body).toEqual({ user: 'alice', coin: 'BTC', amount: '0.50000000' })
    expect(sent.headers['Idempotency-Key']).toMatch(/^[0-9a-f]{32}$/)
  })

  it('will not sell more than is held, and confirms a sale', async () => {
    signInAs()
    const calls = fakeFetch(
      routes({
        'POST /api/exchange/sell': () =>
          envelope({
            side: 'sell',
            coin: 'BTC',
            amount: '0.10000000',
            price: '43210.5001',
            proceeds: '4321.05',
            fee: '10.81',
            net: '4310.24',
            realised: '310.24',
            cash: '34310.24',
            available: '0.00000000',
          }),
      }),
    )
    renderSignedIn(<ExchangePage coin="BTC" />, '/exchange/BTC')
    await userEvent.click(await screen.findByRole('button', { name: 'Sell' }))
    const form = screen.getByRole('form', { name: 'Sell BTC' })
    await screen.findByText('You have 0.1 BTC to sell.')
    await userEvent.type(within(form).getByLabelText('Amount of BTC'), '0.2')
    await userEvent.click(within(form).getByRole('button', { name: 'Review sell' }))
    expect(within(form).getByLabelText('Amount of BTC')).toHaveAccessibleDescription(
      /That is more than the 0.1 BTC available\.$/,
    )
    await userEvent.clear(within(form).getByLabelText('Amount of BTC'))
    await userEvent.type(within(form).getByLabelText('Amount of BTC'), '0.1')
    // 0.1 x $43,210.5001 = $4,321.05001: proceeds $4,321.05 (down), fee $10.8026 -> $10.81.
    expect(within(form).getByLabelText('Estimate')).toHaveTextContent(
      'Proceeds$4,321.05Fee (0.25 %)$10.81You receive$4,310.24',
    )
    await userEvent.click(within(form).getByRole('button', { name: 'Review sell' }))
    await userEvent.click(screen.getByRole('button', { name: 'Confirm sell' }))
    expect(
      await screen.findByText(/Sold 0.1 BTC at \$43,210.5001: \$4,321.05 − fee \$10.81 = \$4,310.24/),
    ).toBeInTheDocument()
    expect(calls.filter((c) => c.path === '/api/exchange/sell')).toHaveLength(1)
  })
})
