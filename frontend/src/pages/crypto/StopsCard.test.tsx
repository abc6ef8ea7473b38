import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import type { StopOrder } from '../../api/exchange'
import { apiError, envelope, fakeFetch, signInAs } from '../../test/http'
import type { Call } from '../../test/http'
import { renderSignedIn } from '../../test/render'
import { StopsCard } from './StopsCard'

const TAKE_PROFIT: StopOrder = {
  id: '41',
  coin: 'BTC',
  kind: 'take_profit',
  target: 'holding',
  amount: '0.10000000',
  trigger: '70000.0000',
  trail_bp: null,
  best: null,
  created: Date.UTC(2026, 0, 2, 3, 4, 5),
}

const ETH_STOP: StopOrder = { ...TAKE_PROFIT, id: '40', coin: 'ETH', trigger: '4000.0000' }

describe('stop orders', () => {
  it('places a stop-loss, shows a server refusal in words, and cancels one', async () => {
    signInAs()
    let listed: StopOrder[] = [ETH_STOP, TAKE_PROFIT]
    let placing = 0
    const calls = fakeFetch({
      'GET /api/exchange/margin/positions': () => envelope({ user: 'alice', positions: [] }),
      'GET /api/exchange/stops': () => envelope({ user: 'alice', stops: listed }),
      'POST /api/exchange/stops': (call: Call) => {
        placing += 1
        if (placing === 2) {
          // The market fell under the price while the form was filled in.
          return apiError(
            400,
            'invalid_input',
            'a stop-loss at 59500.0000 must be below the market price 59400.0000',
          )
        }
        const body = call.body as { amount: string; price: string }
        const placed: StopOrder = {
          ...TAKE_PROFIT,
          id: '42',
          kind: 'stop_loss',
          amount: body.amount,
          trigger: body.price,
          created: TAKE_PROFIT.created + 1000,
        }
        listed = [...listed, placed]
        return envelope({ ...placed, price: '60000.0000' })
      },
      'POST /api/exchange/stops/cancel': (call: Call) => {
        const { id } = call.body as { id: string }
        listed = listed.filter((s) => s.id !== id)
        return envelope({ id, coin: 'BTC', kind: 'take_profit', target: 'holding', reason: 'cancelled' })
      },
    })
    renderSignedIn(
      <StopsCard coin="BTC" price="60000.0000" available="0.50000000" version={0} />,
      '/exchange/BTC',
    )

    // Only BTC's stop orders are listed.
    const list = await screen.findByRole('table', { name: 'Your stop orders on BTC, oldest first' })
    expect(within(list).getAllByRole('row')).toHaveLength(2)
    expect(list).toHaveTextContent(/Take-profit0\.1 BTC\$70,000\.00/)

    const form = screen.getByRole('form', { name: 'Place a stop order on BTC' })
    const amount = within(form).getByLabelText('Amount (BTC)')
    const stopPrice = within(form).getByLabelText('Stop price')
    const submit = within(form).getByRole('button', { name: 'Place the stop-loss' })

    // Checked here first: more than held, and a stop-loss above the market.
    await userEvent.type(amount, '0.6')
    await userEvent.type(stopPrice, '61000')
    await userEvent.click(submit)
    expect(amount).toHaveAccessibleDescription(/more than the 0\.5 BTC available/)
    expect(stopPrice).toHaveAccessibleDescription(/must be below the market price \$60,000\.00/)
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(0)

    // Placed: the body is exact strings, sent with an Idempotency-Key.
    await userEvent.clear(amount)
    await userEvent.type(amount, '0.25')
    await userEvent.clear(stopPrice)
    await userEvent.type(stopPrice, '$55,000.5')
    await userEvent.click(submit)
    expect(await screen.findByRole('status')).toHaveTextContent(
      'Placed a stop-loss on 0.25 BTC: it fires at $55,000.50.',
    )
    const placed = calls.filter((c) => c.method === 'POST' && c.path === '/api/exchange/stops')
    expect(placed[0].body).toEqual({
      user: 'alice',
      coin: 'BTC',
      kind: 'stop_loss',
      target: 'holding',
      amount: '0.25000000',
      price: '55000.5000',
    })
    expect(placed[0].headers['Idempotency-Key']).toMatch(/^[0-9a-f]{32}$/)
    expect(await within(list).findByText('$55,000.50')).toBeInTheDocument()
    expect(within(list).getAllByRole('row')).toHaveLength(3)

    // Refused by the server (the market moved): its words are shown.
    await userEvent.type(amount, '0.1')
    await userEvent.type(stopPrice, '59500')
    await userEvent.click(submit)
    expect(await screen.findByText(/must be below the market price/)).toHaveTextContent(
      'A stop-loss at 59500.0000 must be below the market price 59400.0000.',
    )
    const second = calls.filter((c) => c.method === 'POST' && c.path === '/api/exchange/stops')[1]
    expect(second.headers['Idempotency-Key']).not.toBe(placed[0].headers['Idempotency-Key'])

    // Cancelled from the keyboard: the take-profit leaves the list.
    const cancel = within(list).getByRole('button', { name: 'Cancel the take-profit at $70,000.00' })
    cancel.focus()
    await userEvent.keyboard('{Enter}')
    expect(await screen.findByText('Cancelled the take-profit at $70,000.00.')).toBeInTheDocument()
    expect(calls.find((c) => c.path === '/api/exchange/stops/cancel')?.body).toEqual({
      user: 'alice',
      id: '41',
    })
    await screen.findByRole('button', { name: 'Cancel the stop-loss at $55,000.50' })
    expect(screen.queryByRole('button', { name: 'Cancel the take-profit at $70,000.00' })).toBeNull()
  })

  it('protects an open short position with a trailing stop, no amount asked', async () => {
    signInAs()
    const calls = fakeFetch({
      'GET /api/exchange/margin/positions': () =>
        envelope({
          user: 'alice',
          positions: [
            {
              coin: 'BTC',
              side: 'short',
              leverage: 2,
              margin: '100.00',
              amount: '0.00300000',
              debt: '0.00300000',
              interest: '0.00000000',
              debt_asset: 'BTC',
              liquidation_price: '80000.0000',
              margin_call_price: '75000.0000',
            },
          ],
        }),
      'GET /api/exchange/stops': () => envelope({ user: 'alice', stops: [] }),
      'POST /api/exchange/stops': () =>
        envelope({
          ...TAKE_PROFIT,
          id: '43',
          kind: 'trailing',
          target: 'position',
          amount: null,
          trigger: '61500.0000',
          trail_bp: 250,
          best: '60000.0000',
        }),
    })
    renderSignedIn(<StopsCard coin="BTC" price="60000.0000" version={0} />, '/exchange/BTC')
    expect(await screen.findByText('No stop orders on BTC.')).toBeInTheDocument()
    const form = screen.getByRole('form', { name: 'Place a stop order on BTC' })
    await userEvent.selectOptions(within(form).getByLabelText('Kind'), 'trailing')
    await within(form).findByRole('option', { name: 'My short position (2×)' })
    await userEvent.selectOptions(within(form).getByLabelText('On'), 'position')
    expect(within(form).queryByLabelText('Amount (BTC)')).toBeNull()
    const trail = within(form).getByLabelText('Trail (%)')
    await userEvent.type(trail, '60')
    await userEvent.click(within(form).getByRole('button', { name: 'Place the trailing stop' }))
    expect(trail).toHaveAccessibleDescription(/from 0\.1 % to 50 %/)
    await userEvent.clear(trail)
    await userEvent.type(trail, '2.5')
    await userEvent.click(within(form).getByRole('button', { name: 'Place the trailing stop' }))
    expect(await screen.findByRole('status')).toHaveTextContent(
      'Placed a trailing stop on your BTC position: it fires at $61,500.00.',
    )
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      user: 'alice',
      coin: 'BTC',
      kind: 'trailing',
      target: 'position',
      trail_bp: 250,
    })
  })
})
