// Paging the transaction history with the server's `before` cursor (entries strictly
// older than a timestamp in ms). Many entries share one millisecond, so a page that
// ends inside a millisecond must not lose the rest of it: ask for entries up to and
// including that millisecond and skip the ones already shown.

import type { LogEntry } from '../api/types'

export const MAX_LIMIT = 500

export interface PageRequest {
  /** The `before` query parameter; undefined for the newest page. */
  before?: number
  /** The `limit` query parameter: the page, the entries to skip and one to peek. */
  limit: number
  /** How many entries at the head of the answer were shown already. */
  skip: number
}

/** The request for the page after `shown` (newest first, as the server sorts them). */
export function nextPageRequest(shown: LogEntry[], pageSize: number): PageRequest {
  if (shown.length === 0) return { limit: pageSize + 1, skip: 0 }
  const oldest = shown[shown.length - 1].timestamp
  let skip = 0
  for (let i = shown.length - 1; i >= 0 && shown[i].timestamp === oldest; i--) skip++
  if (skip + pageSize + 1 > MAX_LIMIT) {
    // Hundreds of entries in one millisecond: move past it rather than loop.
    return { before: oldest, limit: pageSize + 1, skip: 0 }
  }
  return { before: oldest + 1, limit: skip + pageSize + 1, skip }
}

/** The page in an answer to `request`, and whether older entries exist. */
export function takePage(
  answer: LogEntry[],
  request: PageRequest,
  pageSize: number,
): { entries: LogEntry[]; more: boolean } {
  const fresh = answer.slice(request.skip)
  return { entries: fresh.slice(0, pageSize), more: fresh.length > pageSize }
}
