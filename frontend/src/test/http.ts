// Test helpers: a fake `fetch` routed by method and path, and API envelopes.

import { vi } from 'vitest'
import { saveSession } from '../api/client'
import type { Session } from '../api/types'

export function envelope(data: unknown, status = 200): Response {
  return new Response(JSON.stringify({ ok: true, data }), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}

export function apiError(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify({ ok: false, error: { code, message } }), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}

/** A text/event-stream response that sends `chunks` and then stays open until aborted. */
export function eventStream(chunks: string[], signal?: AbortSignal | null, { close = false } = {}): Response {
  const encoder = new TextEncoder()
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk))
      if (close) controller.close()
      signal?.addEventListener('abort', () => controller.error(new DOMException('aborted', 'AbortError')))
    },
  })
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } })
}

export interface Call {
  method: string
  path: string
  query: URLSearchParams
  headers: Record<string, string>
  body: unknown
}

type Route = (call: Call, init: RequestInit) => Response | Promise<Response>

/** A route keyed "METHOD /prefix/*" matches any path under the prefix. */
function wildcard(routes: Record<string, Route>, call: Call): Route | undefined {
  for (const [key, route] of Object.entries(routes)) {
    if (!key.endsWith('/*')) continue
    const [method, prefix] = key.slice(0, -1).split(' ')
    if (method === call.method && call.path.startsWith(prefix)) return route
  }
  return undefined
}

/** A JSON body as a plain (not enveloped) answer, as the chain-node gives. */
export function plain(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

/**
 * An event stream the test writes to while it is open: `send(event, data)` pushes one
 * event to every stream opened so far.
 */
export function liveStream() {
  const encoder = new TextEncoder()
  const open = new Set<ReadableStreamDefaultController<Uint8Array>>()
  return {
    route: (_call: Call, init: RequestInit) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          open.add(controller)
          init.signal?.addEventListener('abort', () => {
            open.delete(controller)
            controller.error(new DOMException('aborted', 'AbortError'))
          })
        },
      })
      return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } })
    },
    send: (event: string, data: unknown) => {
      const chunk = encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
      for (const controller of open) controller.enqueue(chunk)
    },
  }
}

/**
 * Replace `fetch` with `routes` keyed "METHOD /path" (or "METHOD /prefix/*"); unknown routes answer 404 like
 * Flask does. Returns the list of calls made, in order.
 */
export function fakeFetch(routes: Record<string, Route>): Call[] {
  const calls: Call[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const url = new URL(String(input), 'http://localhost')
      const call: Call = {
        method: init.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: (init.headers ?? {}) as Record<string, string>,
        body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      }
      calls.push(call)
      const route = routes[`${call.method} ${call.path}`] ?? wildcard(routes, call)
      if (!route) return apiError(404, 'not_found', 'The requested URL was not found on the server.')
      return route(call, init)
    }),
  )
  return calls
}

export const ALICE: Session = {
  token: 'token-alice',
  username: 'alice',
  role: 'user',
  expires_at: Math.floor(Date.now() / 1000) + 3600,
}

export function signInAs(session: Session = ALICE): void {
  saveSession(session)
}
