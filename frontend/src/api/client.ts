// The one place the browser talks to the API: it adds the bearer token, unwraps the
// `{"ok": ..., "data" | "error"}` envelope, and handles 401 (session over: back to sign
// in) and 403 (not allowed) for every caller.

import type { Session } from './types'

/** The API's origin, fixed at build time; '' is the page's own origin (behind NGINX). */
export const API_BASE: string = (import.meta.env.VITE_API_URL ?? '').replace(/\/+$/, '')

const SESSION_KEY = 'dts.session'

/** An error the API (or the network) gave, with its machine code and words for people. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string

  constructor(status: number, code: string, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY)
    if (!raw) return null
    const session = JSON.parse(raw) as Session
    if (!session.token || session.expires_at * 1000 <= Date.now()) {
      sessionStorage.removeItem(SESSION_KEY)
      return null
    }
    return session
  } catch {
    return null
  }
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session))
  else sessionStorage.removeItem(SESSION_KEY)
}

type Handler = (error: ApiError) => void
let onUnauthorized: Handler = () => {}
let onForbidden: Handler = () => {}

/**
 * Decide what happens on 401 (the session is over) and 403 (the server refused this
 * caller) for every request; the app sets these once, tests set their own.
 */
export function setAuthHandlers(handlers: { unauthorized?: Handler; forbidden?: Handler }): void {
  if (handlers.unauthorized) onUnauthorized = handlers.unauthorized
  if (handlers.forbidden) onForbidden = handlers.forbidden
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  body?: unknown
  query?: Record<string, string | number | undefined | null>
  /** false for sign-in and sign-up: no token, and a 401 there is just a wrong password. */
  auth?: boolean
  signal?: AbortSignal
  /** Extra headers, e.g. an Idempotency-Key so a retried order runs once. */
  headers?: Record<string, string>
}

export function apiUrl(path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const qs = params.toString()
  return `${API_BASE}${path}${qs ? `?${qs}` : ''}`
}

/** Headers for an authenticated request; raises the 401 path when there is no session. */
export function authHeaders(): Record<string, string> {
  const session = loadSession()
  if (!session) {
    const error = new ApiError(401, 'unauthorized', 'Your session has ended. Please sign in again.')
    onUnauthorized(error)
    throw error
  }
  return { Authorization: `Bearer ${session.token}` }
}

async function send(path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (options.auth !== false) Object.assign(headers, authHeaders())
  if (options.body !== undefined) headers['Content-Type'] = 'application/json'
  Object.assign(headers, options.headers)
  try {
    return await fetch(apiUrl(path, options.query), {
      method: options.method ?? (options.body !== undefined ? 'POST' : 'GET'),
      headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      signal: options.signal,
    })
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and retry.')
  }
}

/** Turn a non-2xx response into an ApiError, running the 401/403 handlers. */
async function failure(response: Response, options: RequestOptions): Promise<ApiError> {
  let code = `http_${response.status}`
  let message = `The server answered ${response.status} ${response.statusText}`.trim() + '.'
  try {
    const envelope = await response.json()
    if (envelope && envelope.ok === false && envelope.error) {
      code = String(envelope.error.code ?? code)
      message = String(envelope.error.message ?? message)
    }
  } catch {
    // Not JSON (e.g. a proxy's HTML page): keep the status text.
  }
  const error = new ApiError(response.status, code, sentence(message))
  if (response.status === 401 && options.auth !== false) {
    saveSession(null)
    onUnauthorized(error)
  } else if (response.status === 403) {
    onForbidden(error)
  }
  return error
}

/** Server messages are lower-case fragments ("no pending buy"); show them as sentences. */
function sentence(message: string): string {
  const text = message.trim()
  if (!text) return 'Something went wrong.'
  const first = text[0].toUpperCase() + text.slice(1)
  return /[.!?]$/.test(first) ? first : `${first}.`
}

/** Call the API and return the envelope's `data`, or throw ApiError. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options)
  if (!response.ok) throw await failure(response, options)
  let envelope: { ok?: boolean; data?: T; error?: { code?: string; message?: string } }
  try {
    envelope = await response.json()
  } catch {
    throw new ApiError(response.status, 'bad_response', 'The server sent something unreadable.')
  }
  if (envelope.ok !== true) {
    const { code = 'error', message = 'The request failed.' } = envelope.error ?? {}
    throw new ApiError(response.status, code, sentence(message))
  }
  return envelope.data as T
}

/**
 * Call a route that answers with plain JSON on success (the chain-node keeps dvf's
 * wire format: `{"chain": [...], "length": n}`), and the error envelope on failure.
 * An enveloped success is unwrapped too, so either form of answer works.
 */
export async function apiPlain<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options)
  if (!response.ok) throw await failure(response, options)
  let body: unknown
  try {
    body = await response.json()
  } catch {
    throw new ApiError(response.status, 'bad_response', 'The server sent something unreadable.')
  }
  if (body && typeof body === 'object' && 'ok' in body && (body as { ok: unknown }).ok === true) {
    return (body as unknown as { data: T }).data
  }
  return body as T
}

/** Call an API route that answers with a file (DUMPLOG's XML), not the JSON envelope. */
export async function apiBlob(path: string, options: RequestOptions = {}): Promise<Blob> {
  const response = await send(path, options)
  if (!response.ok) throw await failure(response, options)
  return response.blob()
}

/**
 * Open a streaming GET (Server-Sent Events) with the bearer header, which EventSource
 * cannot send. Resolves with the response once it is a 2xx event stream.
 */
export async function apiStream(
  path: string,
  options: Pick<RequestOptions, 'query' | 'signal'> = {},
): Promise<Response> {
  const response = await fetch(apiUrl(path, options.query), {
    headers: { Accept: 'text/event-stream', ...authHeaders() },
    signal: options.signal,
    cache: 'no-store',
  })
  if (!response.ok) throw await failure(response, {})
  const type = response.headers.get('Content-Type') ?? ''
  if (!type.startsWith('text/event-stream') || !response.body) {
    throw new ApiError(response.status, 'not_a_stream', 'The server does not stream events.')
  }
  return response
}
