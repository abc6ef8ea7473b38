import { act, render, screen } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Countdown, formatSeconds } from './Countdown'

describe('Countdown', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    vi.setSystemTime(new Date('2026-01-01T12:00:00Z'))
  })
  afterEach(() => vi.useRealTimers())

  it('formats seconds as m:ss, never below zero', () => {
    expect(formatSeconds(60)).toBe('1:00')
    expect(formatSeconds(59.2)).toBe('1:00')
    expect(formatSeconds(9)).toBe('0:09')
    expect(formatSeconds(-3)).toBe('0:00')
  })

  it('counts down every second and says once when time is up', () => {
    const onExpire = vi.fn()
    render(<Countdown expiresAt={Date.now() + 60_000} onExpire={onExpire} label="Time left to commit ABC" />)
    const timer = screen.getByRole('timer', { name: 'Time left to commit ABC: 1:00' })
    expect(timer).toHaveTextContent('1:00')

    act(() => vi.advanceTimersByTime(1000))
    expect(timer).toHaveTextContent('0:59')
    act(() => vi.advanceTimersByTime(49_000))
    expect(timer).toHaveTextContent('0:10')
    expect(timer).toHaveClass('countdown-urgent')
    expect(onExpire).not.toHaveBeenCalled()

    act(() => vi.advanceTimersByTime(10_000))
    expect(timer).toHaveTextContent('0:00')
    expect(onExpire).toHaveBeenCalledOnce()
    act(() => vi.advanceTimersByTime(5000))
    expect(onExpire).toHaveBeenCalledOnce()
  })
})
