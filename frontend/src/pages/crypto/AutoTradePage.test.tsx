import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { drawn } from '../../test/charts'
import { apiError, envelope, fakeFetch, signInAs } from '../../test/http'
import type { Call } from '../../test/http'
import { renderSignedIn } from '../../test/render'
import { AutoTradePage } from './AutoTradePage'

const BOARD = {
  as_of: 1,
  fee_bp: 25,
  tickers: {
    BTC_USD: {
      rank: 1,
      ticker: 'BTC',
      name: 'Bitcoin',
      cur_price: '1',
      open: '1',
      high: '1',
      low: '1',
      chgAmt: '0',
      chgRate: '0',
      volume: '1',
      value: '1',
    },
    ETH_USD: {
      rank: 2,
      ticker: 'ETH',
      name: 'Ethereum',
      cur_price: '1',
      open: '1',
      high: '1',
      low: '1',
      chgAmt: '0',
      chgRate: '0',
      volume: '1',
      value: '1',
    },
  },
}

const RESULT = {
  coin: 'ETH',
  days: 30,
  from: 1_700_000_000_000,
  to: 1_702_505_600_000,
  fee: '0.0025',
  auto: true,
  k: '0.40',
  total_return: '0.123456',
  max_drawdown: '0.050000',
  trades: 12,
  wins: 7,
  win_rate: '0.583333',
  profit_factor: '1.870000',
  market_change: '-0.020000',
  tried: [
    { k: '0.10', total_return: '0.010000' },
    { k: '0.40', total_return: '0.123456' },
  ],
  equity: [
    { time: 1_700_000_000_000, equity: '1.000000' },
    { time: 1_700_086_400_000, equity: '1.123456' },
  ],
}

function routes(extra = {}) {
  return {
    'GET /api/exchange/coin/tickers_20': () => envelope(BOARD),
    'GET /api/exchange/strategies': () => envelope({ user: 'alice', strategies: [] }),
    ...extra,
  }
}

describe('auto-trade', () => {
  it('runs a backtest with k chosen automatically and shows its equity curve and figures', async () => {
    signInAs()
    const calls = fakeFetch(routes({ 'POST /api/exchange/backtest': () => envelope(RESULT) }))
    renderSignedIn(<AutoTradePage />, '/autotrade')
    const form = screen.getByRole('form', { name: 'Backtest the volatility breakout' })
    await within(form).findByRole('option', { name: 'ETH' })
    await userEvent.selectOptions(within(form).getByLabelText('Coin'), 'ETH')
    await userEvent.clear(within(form).getByLabelText('Days'))
    await userEvent.type(within(form).getByLabelText('Days'), '2')
    await userEvent.click(within(form).getByRole('button', { name: 'Run backtest' }))
    expect(within(form).getByLabelText('Days')).toHaveAccessibleDescription('Between 3 and 1,000 days.')
    await userEvent.type(within(form).getByLabelText('Days'), '0')
    await userEvent.click(within(form).getByRole('button', { name: 'Run backtest' }))
    const figures = await screen.findByLabelText('Backtest figures')
    expect(figures).toHaveTextContent(
      /k0.40Total return\+12.35 %Max drawdown5.00 %Trades12 \(7 won\)Win rate58.33 %Profit factor1.87Market over the span−2.00 %/,
    )
    expect(calls.find((c) => c.path === '/api/exchange/backtest')?.body).toEqual({
      coin: 'ETH',
      days: 20,
      k: 'auto',
    })
    expect(drawn.find((s) => s.kind === 'Area')?.data).toEqual([
      { time: 1_700_000_000, value: 1 },
      { time: 1_700_086_400, value: 1.123456 },
    ])
    await userEvent.click(screen.getByText('Every k tried'))
    expect(screen.getByText('(chosen)').closest('tr')).toHaveTextContent(/^0.40 \(chosen\)\+12.35 %$/)
  })

  it('checks k typed by hand and shows a refused backtest in words', async () => {
    signInAs()
    fakeFetch(
      routes({
        'POST /api/exchange/backtest': () =>
          apiError(400, 'invalid_input', 'the market has 700 complete days of BTC, not 1000'),
      }),
    )
    renderSignedIn(<AutoTradePage />, '/autotrade')
    const form = screen.getByRole('form', { name: 'Backtest the volatility breakout' })
    await userEvent.click(within(form).getByRole('checkbox'))
    await userEvent.clear(within(form).getByLabelText('k'))
    await userEvent.type(within(form).getByLabelText('k'), '2.5')
    await userEvent.clear(within(form).getByLabelText('Days'))
    await userEvent.type(within(form).getByLabelText('Days'), '1000')
    await userEvent.click(within(form).getByRole('button', { name: 'Run backtest' }))
    expect(within(form).getByLabelText('k')).toHaveAccessibleDescription(
      'k is a decimal from 0.01 to 2.00, e.g. 0.5.',
    )
    await userEvent.clear(within(form).getByLabelText('k'))
    await userEvent.type(within(form).getByLabelText('k'), '0.55')
    await userEvent.click(within(form).getByRole('button', { name: 'Run backtest' }))
    expect(await within(form).findByRole('alert')).toHaveTextContent(
      'The market has 700 complete days of BTC, not 1000.',
    )
  })

  it('starts a paper strategy, and shows a refused live one in words', async () => {
    signInAs()
    let running: unknown[] = []
    const calls = fakeFetch(
      routes({
        'GET /api/exchange/strategies': () => envelope({ user: 'alice', strategies: running }),
        'POST /api/exchange/strategies': (call: Call) => {
          const body = call.body as { mode: string }
          if (body.mode === 'live')
            return apiError(409, 'insufficient_funds', 'a live budget of 500.00 is more than the cash 100.00')
          const started = {
            id: 's1',
            coin: 'BTC',
            k: '0.40',
            budget: '500.00',
            mode: 'paper',
            period_s: 86400,
            period_start: null,
            open: null,
            high: null,
            low: null,
            target: '61000.0000',
            held: '0.00000000',
            trades: 0,
            pnl: '0.00',
          }
          running = [started]
          return envelope(started)
        },
      }),
    )
    renderSignedIn(<AutoTradePage />, '/autotrade')
    const form = screen.getByRole('heading', { name: 'Run the strategy' }).closest('form') as HTMLElement
    await userEvent.type(within(form).getByLabelText('Budget per trade'), '500')
    await userEvent.click(within(form).getByRole('radio', { name: /Live/ }))
    await userEvent.click(within(form).getByRole('button', { name: 'Start live strategy' }))
    expect(await within(form).findByRole('alert')).toHaveTextContent(
      'A live budget of 500.00 is more than the cash 100.00.',
    )
    await userEvent.click(within(form).getByRole('radio', { name: /Paper/ }))
    await userEvent.click(within(form).getByRole('button', { name: 'Start paper strategy' }))
    expect(await within(form).findByRole('status')).toHaveTextContent(
      'Paper breakout on BTC started with k 0.40 and $500.00 per trade.',
    )
    expect(await screen.findByRole('row', { name: /BTC/ })).toHaveTextContent(
      /paper\s*0.40\s*\$500.00\s*\$61,000.00/,
    )
    const posts = calls.filter((c) => c.method === 'POST' && c.path === '/api/exchange/strategies')
    expect(posts.map((c) => c.body)).toEqual([
      { user: 'alice', coin: 'BTC', k: 'auto', budget: '500.00', mode: 'live', period_s: 86400 },
      { user: 'alice', coin: 'BTC', k: 'auto', budget: '500.00', mode: 'paper', period_s: 86400 },
    ])
  })
})
