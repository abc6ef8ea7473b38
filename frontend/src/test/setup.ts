import '@testing-library/jest-dom/vitest'
import { cleanup, configure } from '@testing-library/react'
import { afterEach, vi } from 'vitest'
import { drawn } from './charts'

// jsdom has no canvas: charts draw into a recorder (src/test/charts.ts).
vi.mock('lightweight-charts', () => import('./charts'))

// findBy*/waitFor give up after 1 s by default; a loaded CI machine needs longer.
configure({ asyncUtilTimeout: 5000 })

afterEach(() => {
  cleanup()
  sessionStorage.clear()
  drawn.length = 0
})
