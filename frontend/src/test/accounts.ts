// Test data shared by the tests of the account's pages and feed.

import type { Summary } from '../api/types'

/** How long a test waits for the page to catch up: generous for a loaded machine, and
 * it passes as soon as the condition holds. */
export const WAIT = { timeout: 5000 }

/** Alice's account summary with nothing in it but `patch` (cash $0.00 unless patched). */
export function accountSummary(patch: Partial<Summary> = {}): Summary {
  return {
    user: 'alice',
    cash: '0.00',
    reserved_cash: '0.00',
    holdings: {},
    pending_buys: [],
    pending_sells: [],
    buy_setups: [],
    sell_setups: [],
    recent_transactions: [],
    ...patch,
  }
}
