// Shares one AccountFeed (live account summary) with every page of a signed-in user.

import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react'
import type { ReactNode } from 'react'
import { AccountFeed } from './feed'
import type { FeedState, LiveQuote } from './feed'

interface AccountValue {
  state: FeedState
  /** Show the effect of a command just run (a live stream does this by itself). */
  refresh: () => Promise<void>
  onQuote: (listener: (q: LiveQuote) => void) => () => void
  dismiss: (id: string) => void
}

const AccountContext = createContext<AccountValue | null>(null)

export function AccountProvider({ user, children }: { user: string; children: ReactNode }) {
  const [feed] = useState(() => new AccountFeed(user))
  useEffect(() => {
    feed.start()
    return () => feed.stop()
  }, [feed])
  const state = useSyncExternalStore(feed.subscribe, feed.getState)
  const value: AccountValue = {
    state,
    refresh: () => feed.refresh(),
    onQuote: (listener) => feed.onQuote(listener),
    dismiss: (id) => feed.dismiss(id),
  }
  return <AccountContext.Provider value={value}>{children}</AccountContext.Provider>
}

export function useAccount(): AccountValue {
  const value = useContext(AccountContext)
  if (!value) throw new Error('useAccount outside AccountProvider')
  return value
}
