import { afterEach, describe, expect, it, vi } from 'vitest'
import { ALICE, apiError, envelope, fakeFetch, signInAs } from '../test/http'
import { ApiError, api, apiBlob, loadSession, setAuthHandlers } from './client'

describe('api client', () => {
  const unauthorized = vi.fn()
  const forbidden = vi.fn()
  afterEach(() => {
    unauthorized.mockReset()
    forbidden.mockReset()
  })
  setAuthHandlers({ unauthorized, forbidden })

  it('sends the bearer token and JSON body, and returns the envelope data', async () => {
    signInAs()
    const calls = fakeFetch({ 'POST /api/users/add': () => envelope({ cash: '12.50' }) })
    await expect(api('/api/users/add', { body: { user: 'alice', amount: '12.50' } })).resolves.toEqual({
      cash: '12.50',
    })
    expect(calls[0].headers.Authorization).toBe(`Bearer ${ALICE.token}`)
    expect(calls[0].headers['Content-Type']).toBe('application/json')
    expect(calls[0].body).toEqual({ user: 'alice', amount: '12.50' })
  })

  it('adds query parameters and leaves out empty ones', async () => {
    signInAs()
    const calls = fakeFetch({ 'GET /api/users/transactions': () => envelope({ transactions: [] }) })
    await api('/api/users/transactions', {
      query: { user: 'alice', limit: 20, type: undefined, before: null },
    })
    expect(Object.fromEntries(calls[0].query)).toEqual({ user: 'alice', limit: '20' })
  })

  it('turns an error envelope into an ApiError with the message as a sentence', async () => {
    signInAs()
    fakeFetch({ 'POST /api/buy/commit-buy': () => apiError(409, 'nothing_pending', 'no pending buy') })
    const error = await api('/api/buy/commit-buy', { body: { user: 'alice' } }).catch((e) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 409, code: 'nothing_pending', message: 'No pending buy.' })
    expect(unauthorized).not.toHaveBeenCalled()
  })

  it('on 401 forgets the session and calls the one unauthorized handler', async () => {
    signInAs()
    fakeFetch({
      'POST /api/users/display-summary': () => apiError(401, 'unauthorized', 'token expired; log in again'),
    })
    await expect(api('/api/users/display-summary', { body: { user: 'alice' } })).rejects.toMatchObject({
      status: 401,
    })
    expect(unauthorized).toHaveBeenCalledOnce()
    expect(unauthorized.mock.calls[0][0].message).toBe('Token expired; log in again.')
    expect(loadSession()).toBeNull()
  })

  it('does not treat a wrong password at sign-in as a lost session', async () => {
    fakeFetch({ 'POST /api/users/login': () => apiError(401, 'unauthorized', 'wrong username or password') })
    await expect(api('/api/users/login', { body: {}, auth: false })).rejects.toMatchObject({
      message: 'Wrong username or password.',
    })
    expect(unauthorized).not.toHaveBeenCalled()
  })

  it('goes to sign-in without a request when there is no session', async () => {
    const calls = fakeFetch({})
    await expect(api('/api/users/stats')).rejects.toMatchObject({ status: 401 })
    expect(calls).toEqual([])
    expect(unauthorized).toHaveBeenCalledOnce()
  })

  it('reports 403 to the forbidden handler and to the caller', async () => {
    signInAs()
    fakeFetch({
      'GET /api/users/stats': () => apiError(403, 'forbidden', 'this needs the admin or service role'),
    })
    await expect(api('/api/users/stats')).rejects.toMatchObject({ status: 403, code: 'forbidden' })
    expect(forbidden).toHaveBeenCalledOnce()
    expect(loadSession()).not.toBeNull()
  })

  it('explains a non-JSON error page and a network failure in words', async () => {
    signInAs()
    fakeFetch({
      'GET /api/users/stats': () =>
        new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
    })
    await expect(api('/api/users/stats')).rejects.toMatchObject({
      status: 502,
      message: 'The server answered 502 Bad Gateway.',
    })
    vi.stubGlobal('fetch', vi.fn().mockRejectedValue(new TypeError('Failed to fetch')))
    await expect(api('/api/users/stats')).rejects.toMatchObject({
      code: 'network',
      message: expect.stringMatching(/Cannot reach the server/),
    })
  })

  it('returns a file body as a Blob, and errors from the envelope', async () => {
    signInAs()
    fakeFetch({
      'POST /api/users/dumplog': () =>
        new Response('<?xml version="1.0"?><log></log>', { headers: { 'Content-Type': 'application/xml' } }),
    })
    const blob = await apiBlob('/api/users/dumplog', { body: { filename: 'x.xml' } })
    expect(await blob.text()).toContain('<log>')
    fakeFetch({
      'POST /api/users/dumplog': () => apiError(403, 'forbidden', 'this needs the admin or service role'),
    })
    await expect(apiBlob('/api/users/dumplog', { body: { filename: 'x.xml' } })).rejects.toMatchObject({
      status: 403,
    })
  })
})
