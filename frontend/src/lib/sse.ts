// A Server-Sent Events parser for streams read with fetch (EventSource cannot send the
// Authorization header). Follows the HTML spec's line rules: `event:`, `data:` (joined
// with "\n" when repeated), comments starting with ':', a blank line ends an event.

export interface SseEvent {
  event: string
  data: string
}

export class SseParser {
  private buffer = ''
  private event = ''
  private data: string[] = []

  /** Feed decoded text; returns the events completed by it. */
  push(chunk: string): SseEvent[] {
    this.buffer += chunk
    const done: SseEvent[] = []
    let newline: number
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, newline)
      const width = this.buffer.startsWith('\r\n', newline) ? 2 : 1
      // A lone '\r' at the end of the buffer may be the first half of "\r\n".
      if (this.buffer[newline] === '\r' && newline + 1 === this.buffer.length) break
      this.buffer = this.buffer.slice(newline + width)
      const finished = this.line(line)
      if (finished) done.push(finished)
    }
    return done
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      const finished = this.data.length
        ? { event: this.event || 'message', data: this.data.join('\n') }
        : null
      this.event = ''
      this.data = []
      return finished
    }
    if (line.startsWith(':')) return null
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.event = value
    else if (field === 'data') this.data.push(value)
    return null
  }
}

/** Read a fetch Response body as SSE, calling `onEvent` per event until it ends. */
export async function readEvents(response: Response, onEvent: (e: SseEvent) => void): Promise<void> {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  const parser = new SseParser()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      for (const event of parser.push(decoder.decode(value, { stream: true }))) onEvent(event)
    }
  } finally {
    reader.releaseLock()
  }
}
