// Small building blocks: labelled fields whose errors are tied to the input, error and
// status text, and a hook that runs one API call with busy and error state.

import { useCallback, useEffect, useId, useRef, useState } from 'react'
import type { InputHTMLAttributes, ReactNode } from 'react'
import { ApiError } from '../api/client'
import { newIdempotencyKey } from '../lib/coins'

type FieldProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'onChange'> & {
  label: string
  value: string
  onChange: (value: string) => void
  hint?: ReactNode
  error?: string | null
  /** Shown before the input, e.g. "$". */
  prefix?: string
}

/** A labelled input; its hint and error are announced with it (aria-describedby). */
export function Field({ label, value, onChange, hint, error, prefix, id, ...rest }: FieldProps) {
  const auto = useId()
  const inputId = id ?? auto
  const hintId = `${inputId}-hint`
  const errorId = `${inputId}-error`
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ')
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={inputId}>{label}</label>
      <div className={prefix ? 'input-prefixed' : undefined}>
        {prefix && (
          <span className="prefix" aria-hidden="true">
            {prefix}
          </span>
        )}
        <input
          id={inputId}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy || undefined}
          {...rest}
        />
      </div>
      {hint && (
        <p id={hintId} className="hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={errorId} className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  )
}

/** A dollar amount field: text with a decimal keypad, so "12.50" is kept as typed. */
export function MoneyField(props: Omit<FieldProps, 'prefix'>) {
  return (
    <Field
      inputMode="decimal"
      autoComplete="off"
      placeholder="0.00"
      spellCheck={false}
      {...props}
      prefix="$"
    />
  )
}

/** A stock symbol field: 1-3 letters, upper-cased as typed. */
export function SymbolField(props: Omit<FieldProps, 'prefix'>) {
  const { onChange, ...rest } = props
  return (
    <Field
      autoCapitalize="characters"
      autoComplete="off"
      spellCheck={false}
      maxLength={3}
      placeholder="ABC"
      {...rest}
      onChange={(v) => onChange(v.toUpperCase().replace(/[^A-Z]/g, ''))}
    />
  )
}

export function checkSymbol(symbol: string): string | null {
  return /^[A-Z]{1,3}$/.test(symbol) ? null : 'Enter a stock symbol of 1 to 3 letters.'
}

/** An error for the control next to it; announced when it appears. */
export function ErrorText({ children }: { children: ReactNode }) {
  if (!children) return null
  return (
    <p className="error" role="alert">
      {children}
    </p>
  )
}

/** A confirmation for the control next to it; read out politely. */
export function StatusText({ children }: { children: ReactNode }) {
  return (
    <p className="status" role="status">
      {children}
    </p>
  )
}

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  )
}

/** Words for any thrown value, preferring the API's own message. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 403) return `Not allowed: ${err.message}`
    return err.message
  }
  if (err instanceof Error) return err.message
  return String(err)
}

/**
 * Run one API call at a time for a control: `busy` while it runs, `error` (in words)
 * when it fails. `run` resolves to the result, or undefined after a failure.
 */
export function useAction() {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const mounted = useRef(true)
  useEffect(() => {
    mounted.current = true
    return () => {
      mounted.current = false
    }
  }, [])
  const run = useCallback(async <T,>(call: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true)
    setError(null)
    try {
      return await call()
    } catch (err) {
      if (mounted.current) setError(errorMessage(err))
      return undefined
    } finally {
      if (mounted.current) setBusy(false)
    }
  }, [])
  return { run, busy, error, setError }
}

/** The current time, updated every `ms`, for countdowns and "n s ago". */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms)
    return () => clearInterval(timer)
  }, [ms])
  return now
}

export function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString('en-GB', { hour12: false })
}

export function formatDateTime(ms: number): string {
  const d = new Date(ms)
  return `${d.toLocaleDateString('en-CA')} ${d.toLocaleTimeString('en-GB', { hour12: false })}`
}

/**
 * useAction for a call that makes something under an Idempotency-Key: `runOnce(terms,
 * call)` sends a retry of the same terms after no answer (network, 5xx) under the same
 * key, so it is made once; after an answer (made, or refused in the server's words) the
 * next try is new.
 */
export function useOnceAction() {
  const action = useAction()
  const { run } = action
  // The key of an attempt that got no answer, so its retry runs once.
  const unanswered = useRef<{ terms: string; key: string } | null>(null)
  const runOnce = useCallback(
    async <T,>(terms: unknown, call: (key: string) => Promise<T>): Promise<T | undefined> => {
      const fingerprint = JSON.stringify(terms)
      const key = unanswered.current?.terms === fingerprint ? unanswered.current.key : newIdempotencyKey()
      unanswered.current = { terms: fingerprint, key }
      const made = await run(async () => {
        try {
          return await call(key)
        } catch (err) {
          // The server answered (a refusal is kept under its key): the next try is new.
          if (err instanceof ApiError && err.status > 0 && err.status < 500) unanswered.current = null
          throw err
        }
      })
      if (made) unanswered.current = null
      return made
    },
    [run],
  )
  return { ...action, runOnce }
}
