// Load what a page shows and read it again on demand (a live event, a button): keeps the
// last good answer while re-reading, coalesces reloads asked for while one runs, and
// says in words what went wrong.

import { useCallback, useEffect, useRef, useState } from 'react'
import { ApiError } from '../api/client'
import { errorMessage } from '../components/ui'

export interface Loaded<T> {
  data: T | null
  /** Words for the last failure, cleared by the next success. */
  error: string | null
  /** The API said 404: the thing asked for does not exist (or the service is not here). */
  missing: boolean
  loading: boolean
  reload: () => Promise<void>
}

export function useLoad<T>(load: (() => Promise<T>) | null, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; missing: boolean }>({
    data: null,
    error: null,
    missing: false,
  })
  const [loading, setLoading] = useState(load !== null)
  const latest = useRef(load)
  latest.current = load
  const running = useRef<Promise<void> | null>(null)
  const again = useRef(false)
  const generation = useRef(0)

  const reload = useCallback(async (): Promise<void> => {
    if (running.current) {
      again.current = true
      return running.current
    }
    const mine = generation.current
    const run = async () => {
      do {
        again.current = false
        const fn = latest.current
        if (!fn) return
        try {
          const data = await fn()
          if (mine === generation.current) setState({ data, error: null, missing: false })
        } catch (err) {
          if (mine !== generation.current) return
          const missing = err instanceof ApiError && err.status === 404
          setState((old) => ({ data: missing ? null : old.data, error: errorMessage(err), missing }))
        }
      } while (again.current && mine === generation.current)
    }
    setLoading(true)
    const promise: Promise<void> = run().finally(() => {
      if (running.current === promise) running.current = null
      if (mine === generation.current) setLoading(false)
    })
    running.current = promise
    return promise
  }, [])

  useEffect(() => {
    generation.current += 1
    running.current = null
    setState({ data: null, error: null, missing: false })
    if (latest.current) void reload()
    else setLoading(false)
  }, deps)

  return { ...state, loading, reload }
}
