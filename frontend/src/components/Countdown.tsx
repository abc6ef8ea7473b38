// Time left on a pending trade (60 s from the BUY or SELL that made it).

import { useEffect, useRef, useState } from 'react'

/** "m:ss" for a number of seconds. */
export function formatSeconds(total: number): string {
  const s = Math.max(0, Math.ceil(total))
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

interface Props {
  /** Unix ms when the time runs out. */
  expiresAt: number
  /** Called once, when the time has run out. */
  onExpire?: () => void
  label?: string
}

/** Shows the seconds left until `expiresAt`, ticking every second. */
export function Countdown({ expiresAt, onExpire, label = 'Time left' }: Props) {
  const [now, setNow] = useState(() => Date.now())
  const expired = useRef(false)
  const left = (expiresAt - now) / 1000

  useEffect(() => {
    expired.current = false
    setNow(Date.now())
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [expiresAt])

  useEffect(() => {
    if (left <= 0 && !expired.current) {
      expired.current = true
      onExpire?.()
    }
  }, [left, onExpire])

  const urgent = left <= 10
  return (
    // role="timer" is not announced on every tick; the label says what it counts.
    <span
      className={`countdown${urgent ? ' countdown-urgent' : ''}`}
      role="timer"
      aria-label={`${label}: ${formatSeconds(left)}`}
    >
      {formatSeconds(left)}
    </span>
  )
}
