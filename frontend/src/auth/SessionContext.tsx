// Who is signed in. The token lives in sessionStorage (per tab, gone when it closes);
// the API client's 401/403 handlers are wired here, once for the whole app.

import { createContext, useContext, useEffect, useState } from 'react'
import type { ReactNode } from 'react'
import { loadSession, saveSession, setAuthHandlers } from '../api/client'
import type { Session } from '../api/types'
import { navigate } from '../router'

interface SessionValue {
  session: Session | null
  signIn: (session: Session) => void
  signOut: () => void
  /** Why the user was sent back to sign in, shown on that page once. */
  flash: string | null
  /** The last "not allowed" (403) answer, shown as a banner until dismissed. */
  forbidden: string | null
  clearForbidden: () => void
}

const SessionContext = createContext<SessionValue | null>(null)

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(loadSession)
  const [flash, setFlash] = useState<string | null>(null)
  const [forbidden, setForbidden] = useState<string | null>(null)

  useEffect(() => {
    setAuthHandlers({
      unauthorized: (error) => {
        saveSession(null)
        setSession(null)
        setFlash(error.message || 'Your session has ended. Please sign in again.')
        navigate('/signin')
      },
      forbidden: (error) => setForbidden(error.message),
    })
  }, [])

  // Sign out in this tab when the token runs out, without waiting for a 401.
  useEffect(() => {
    if (!session) return
    const ms = session.expires_at * 1000 - Date.now()
    const timer = setTimeout(
      () => {
        saveSession(null)
        setSession(null)
        setFlash('Your session has expired. Please sign in again.')
        navigate('/signin')
      },
      Math.max(0, Math.min(ms, 2 ** 31 - 1)),
    )
    return () => clearTimeout(timer)
  }, [session])

  const value: SessionValue = {
    session,
    flash,
    forbidden,
    clearForbidden: () => setForbidden(null),
    signIn: (next) => {
      saveSession(next)
      setSession(next)
      setFlash(null)
      setForbidden(null)
    },
    signOut: () => {
      saveSession(null)
      setSession(null)
      setFlash('You have signed out.')
      setForbidden(null)
      navigate('/signin')
    },
  }
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext)
  if (!value) throw new Error('useSession outside SessionProvider')
  return value
}

/** The signed-in session; only for pages rendered behind the sign-in gate. */
export function useSignedIn(): Session {
  const { session } = useSession()
  if (!session) throw new Error('useSignedIn without a session')
  return session
}
