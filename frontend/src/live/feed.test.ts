import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Summary } from '../api/types'
import { WAIT, accountSummary } from '../test/accounts'
import { apiError, envelope, eventStream, fakeFetch, signInAs } from '../test/http'
import { AccountFeed, describeFired } from './feed'

const summary = (patch: Partial<Summary> = {}): Summary => accountSummary({ cash: '10.00', ...patch })

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

describe('AccountFeed', () => {
  let feed: AccountFeed | null = null
  afterEach(() => feed?.stop())

  it('follows the account and quotes over the event stream', async () => {
    signInAs()
    const calls = fakeFetch({
      'GET /api/users/events': (_call, init) =>
        eventStream(
          [
            sse('account', summary()),
            ': keep-alive\n\n',
            sse('quote', { symbol: 'ABC', price: '10.00', quoted_at: 5 }),
            sse('account', summary({ cash: '20.00' })),
          ],
          init.signal,
        ),
    })
    feed = new AccountFeed('alice')
    const quotes = vi.fn()
    feed.onQuote(quotes)
    feed.start()
    await vi.waitFor(() => expect(feed!.getState().summary?.cash).toBe('20.00'), WAIT)
    expect(feed.getState()).toMatchObject({ mode: 'live', status: 'ready' })
    expect(quotes).toHaveBeenCalledWith({ symbol: 'ABC', price: '10.00', quoted_at: 5 })
    expect(calls[0].headers.Authorization).toBe('Bearer token-alice')
    expect(calls.some((c) => c.path === '/api/users/account')).toBe(false)
  })

  it('polls the account read (no logged command) when the server has no event stream', async () => {
    signInAs()
    let cash = 0
    const calls = fakeFetch({
      'GET /api/users/account': () => envelope(summary({ cash: `${++cash}.00` })),
    })
    feed = new AccountFeed('alice', { pollMs: 10 })
    feed.start()
    await vi.waitFor(() => expect(Number(feed!.getState().summary?.cash)).toBeGreaterThanOrEqual(3), WAIT)
    expect(feed.getState().mode).toBe('polling')
    expect(calls[0].path).toBe('/api/users/events')
    expect(calls[1]).toMatchObject({ path: '/api/users/account', method: 'GET' })
    expect(calls[1].query.get('user')).toBe('alice')
    expect(calls.some((c) => c.path === '/api/users/display-summary')).toBe(false)
  })

  it('says there is no account without polling for one', async () => {
    signInAs()
    const calls = fakeFetch({
      'GET /api/users/events': () => apiError(404, 'not_found', 'account alice does not exist'),
    })
    feed = new AccountFeed('alice', { pollMs: 10 })
    feed.start()
    await vi.waitFor(() => expect(feed!.getState().status).toBe('no-account'), WAIT)
    await new Promise((r) => setTimeout(r, 50))
    expect(calls.map((c) => c.path)).toEqual(['/api/users/events'])
  })

  it('announces an automatic trade that fired, but not the ones from before', async () => {
    signInAs()
    const old = {
      type: 'systemEvent' as const,
      timestamp: 1,
      transactionNum: 3,
      command: 'SET_BUY_TRIGGER',
      stockSymbol: 'OLD',
    }
    const fired = {
      type: 'systemEvent' as const,
      timestamp: 9,
      transactionNum: 7,
      command: 'SET_SELL_TRIGGER',
      stockSymbol: 'XYZ',
    }
    fakeFetch({
      'GET /api/users/events': (_call, init) =>
        eventStream(
          [
            sse(
              'account',
              summary({
                sell_setups: [{ symbol: 'XYZ', amount: '10.00', shares_reserved: 1, trigger: '5.00' }],
                recent_transactions: [old],
              }),
            ),
            sse('account', summary({ recent_transactions: [fired, old] })),
          ],
          init.signal,
        ),
    })
    feed = new AccountFeed('alice')
    feed.start()
    await vi.waitFor(() => expect(feed!.getState().notices).toHaveLength(1), WAIT)
    expect(feed.getState().notices[0].text).toBe('Automatic sell of XYZ went through (transaction 7).')
    feed.dismiss(feed.getState().notices[0].id)
    expect(feed.getState().notices).toEqual([])
  })

  it('names a stop-loss sale (a SELL systemEvent) apart from the automatic trades', () => {
    const event = { type: 'systemEvent' as const, timestamp: 9, transactionNum: 8, stockSymbol: 'ABC' }
    expect(describeFired({ ...event, command: 'SELL' })).toBe(
      'Stop-loss sale of ABC went through (transaction 8).',
    )
    expect(describeFired({ ...event, command: 'SET_BUY_TRIGGER' })).toBe(
      'Automatic buy of ABC went through (transaction 8).',
    )
  })

  it('stops on 401 so the app can send the user to sign in', async () => {
    signInAs()
    fakeFetch({ 'GET /api/users/events': () => apiError(401, 'unauthorized', 'invalid token') })
    feed = new AccountFeed('alice')
    feed.start()
    await vi.waitFor(() => expect(feed!.getState().mode).toBe('stopped'), WAIT)
  })
})
