import { describe, expect, it } from 'vitest'
import type { LogEntry } from '../api/types'
import { nextPageRequest, takePage } from './paging'

const entry = (timestamp: number, n: number): LogEntry => ({
  type: 'userCommand',
  timestamp,
  transactionNum: n,
  command: 'ADD',
})

describe('history paging', () => {
  it('asks for the newest page with one extra entry to know if there are more', () => {
    expect(nextPageRequest([], 20)).toEqual({ limit: 21, skip: 0 })
  })

  it('does not lose entries that share the millisecond where a page ended', () => {
    // The log, newest first: three entries at t=100, then t=90.
    const log = [entry(120, 1), entry(100, 2), entry(100, 3), entry(100, 4), entry(90, 5)]
    const shown = log.slice(0, 3) // a page of 3 ended inside t=100
    const request = nextPageRequest(shown, 3)
    expect(request).toEqual({ before: 101, limit: 2 + 3 + 1, skip: 2 })
    // What the server answers for ts < 101, newest first:
    const answer = log.filter((e) => e.timestamp < request.before!).slice(0, request.limit)
    expect(takePage(answer, request, 3)).toEqual({ entries: [entry(100, 4), entry(90, 5)], more: false })
  })

  it('reports more entries when the answer has one beyond the page', () => {
    const answer = [entry(5, 1), entry(4, 2), entry(3, 3)]
    expect(takePage(answer, { limit: 3, skip: 0 }, 2)).toEqual({ entries: answer.slice(0, 2), more: true })
  })
})
