import { describe, expect, it } from 'vitest'
import { SseParser } from './sse'

describe('SseParser', () => {
  it('parses named events, skips comments and joins data lines', () => {
    const parser = new SseParser()
    const events = parser.push(
      'event: account\ndata: {"cash": "1.00"}\n\n: keep-alive\n\nevent: quote\ndata: a\ndata: b\n\n',
    )
    expect(events).toEqual([
      { event: 'account', data: '{"cash": "1.00"}' },
      { event: 'quote', data: 'a\nb' },
    ])
  })

  it('keeps a partial event until the rest arrives, across CRLF splits', () => {
    const parser = new SseParser()
    expect(parser.push('event: acc')).toEqual([])
    expect(parser.push('ount\r\ndata: 1\r')).toEqual([])
    expect(parser.push('\n\r\n')).toEqual([{ event: 'account', data: '1' }])
  })

  it('calls an unnamed event "message"', () => {
    expect(new SseParser().push('data: x\n\n')).toEqual([{ event: 'message', data: 'x' }])
  })
})
