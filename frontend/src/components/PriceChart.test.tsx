import { render, screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { PriceChart, mergePoints, priceScale } from './PriceChart'

describe('PriceChart', () => {
  it('draws one dot per quote and describes the series in words', () => {
    const points = [
      { t: Date.UTC(2026, 0, 1, 12, 0, 0), cents: 1000 },
      { t: Date.UTC(2026, 0, 1, 12, 1, 0), cents: 1250 },
      { t: Date.UTC(2026, 0, 1, 12, 2, 0), cents: 900 },
    ]
    const { container } = render(<PriceChart symbol="ABC" points={points} />)
    expect(container.querySelectorAll('circle')).toHaveLength(3)
    expect(container.querySelector('polyline')).not.toBeNull()
    expect(screen.getByRole('img')).toHaveAccessibleName(
      /ABC: 3 quotes .* between \$9\.00 and \$12\.50; latest \$9\.00\./,
    )
    expect(screen.getAllByRole('row')).toHaveLength(4)
  })

  it('says so when there is nothing to chart', () => {
    render(<PriceChart symbol="XYZ" points={[]} />)
    expect(screen.getByText(/No quotes for XYZ yet/)).toBeInTheDocument()
  })

  it('merges server history with quotes seen here, oldest first, without duplicates', () => {
    expect(
      mergePoints(
        [
          { t: 2, cents: 5 },
          { t: 1, cents: 4 },
        ],
        [
          { t: 2, cents: 5 },
          { t: 3, cents: 6 },
        ],
      ),
    ).toEqual([
      { t: 1, cents: 4 },
      { t: 2, cents: 5 },
      { t: 3, cents: 6 },
    ])
  })

  it('gives a flat series some room above and below', () => {
    expect(priceScale([{ t: 1, cents: 1000 }])).toEqual({ lo: 950, hi: 1050 })
  })
})
