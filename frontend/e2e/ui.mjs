// End-to-end walk through the UI in real headless Chromium (Debian's, driven by
// playwright-core; no browser download). Run by tests/e2e/test_frontend.py against a
// whole stack whose quote server answers $10.00 for every symbol.
//
//   BASE_URL=http://127.0.0.1:8080 ADMIN_PASSWORD=... node e2e/ui.mjs
//
// Environment: BASE_URL (required), ADMIN_PASSWORD (the admin part is skipped without
// it), CHROMIUM (default /usr/bin/chromium), ARTEFACTS (screenshots; default
// ../test-artefacts).

import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = dirname(fileURLToPath(import.meta.url))
const BASE = process.env.BASE_URL?.replace(/\/+$/, '')
if (!BASE) throw new Error('set BASE_URL to the stack, e.g. http://127.0.0.1:8080')
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const ARTEFACTS = resolve(process.env.ARTEFACTS || join(here, '..', '..', 'test-artefacts'))
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD
const TIMEOUT = 15_000

mkdirSync(ARTEFACTS, { recursive: true })
const profile = mkdtempSync(join(tmpdir(), 'dts-chromium-'))
const user = `ui${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
const password = 'correct horse battery'
const problems = []

function step(text) {
  console.log(`- ${text}`)
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTEFACTS, `frontend-${name}.png`), fullPage: true })
}

/** Wait until `locator`'s text matches `pattern`. */
async function expectText(locator, pattern, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout
  let last = ''
  while (Date.now() < deadline) {
    last =
      (await locator
        .first()
        .textContent({ timeout })
        .catch(() => '')) ?? ''
    if (pattern.test(last)) return last
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`expected ${pattern} in ${locator}, last text was ${JSON.stringify(last)}`)
}

/** The value shown for one dashboard figure ("Cash", "Reserved cash", ...). */
function stat(page, label) {
  return page
    .locator('.stat')
    .filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) })
    .locator('dd')
    .first()
}

/** Go to a page through the main navigation: open the link's group, then follow it. */
async function nav(page, name, heading) {
  const menu = page.getByRole('navigation', { name: 'Main' })
  const link = menu.getByRole('link', { name, exact: true })
  if (!(await link.isVisible())) {
    const groups = menu.getByRole('button')
    for (let i = 0; i < (await groups.count()); i++) {
      const group = groups.nth(i)
      if ((await group.getAttribute('aria-expanded')) === 'true') continue
      await group.click()
      if (await link.isVisible()) break
      await group.click()
    }
  }
  await link.click()
  await page.getByRole('heading', { level: 1, name: heading }).waitFor()
}

/** An administrator's token, for mining a block on demand (the e2e chain mines only when asked). */
async function adminToken() {
  const response = await fetch(`${BASE}/api/users/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  })
  assert.ok(response.ok, `admin sign-in answered ${response.status}`)
  return (await response.json()).data.token
}

/** Mine one block now on the first chain-node (GET /mine, admin only). */
async function mineBlock(token) {
  const response = await fetch(`${BASE}/api/chain/mine`, { headers: { Authorization: `Bearer ${token}` } })
  assert.ok(response.ok, `mining a block answered ${response.status}: ${await response.text()}`)
}

function watch(page, label) {
  page.on('pageerror', (err) => problems.push(`${label}: page error: ${err.message}`))
  page.on('console', (msg) => {
    // 4xx answers the UI shows in words are expected; script errors are not.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) {
      problems.push(`${label}: console error: ${msg.text()}`)
    }
  })
}

const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  acceptDownloads: true,
  viewport: { width: 1280, height: 860 },
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
})
context.setDefaultTimeout(TIMEOUT)

try {
  const page = context.pages()[0] ?? (await context.newPage())
  watch(page, 'user tab')

  step('a visitor is sent to sign in')
  await page.goto(`${BASE}/`)
  await page.waitForURL(/\/signin$/)
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor()
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expectText(page.getByRole('alert'), /Enter your user name/)
  await shot(page, '01-sign-in')

  step(`sign up as ${user}`)
  await page.getByRole('link', { name: 'Create an account' }).click()
  await page.getByLabel('User name').fill('no spaces allowed')
  await page.getByLabel('Password', { exact: true }).fill('short')
  await page.getByRole('button', { name: 'Create account' }).click()
  await expectText(page.locator('.field-invalid .error').first(), /letters, digits/)
  await page.getByLabel('User name').fill(user)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByLabel('Repeat the password').fill(password)
  await shot(page, '02-sign-up')
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor()
  await expectText(page.locator('.badge'), /Live/)
  await expectText(stat(page, 'Cash'), /^\$0\.00$/)

  step('add funds: a typing mistake is caught, then $1,000.00 arrives live')
  const amount = page.getByLabel('Amount', { exact: true })
  await amount.fill('12.345')
  await page.getByRole('button', { name: 'Add funds' }).click()
  await expectText(page.locator('.field-invalid .error'), /at most two decimals/)
  await amount.fill('1000')
  await page.getByRole('button', { name: 'Add funds' }).click()
  await expectText(
    page.getByRole('status').filter({ hasText: 'Added' }),
    /Added \$1,000\.00\. Cash is now \$1,000\.00\./,
  )
  await expectText(stat(page, 'Cash'), /^\$1,000\.00$/)

  step('look up a quote and see it charted')
  await nav(page, 'Quotes', 'Quotes')
  await page.getByLabel('Stock symbol').fill('abc')
  assert.equal(await page.getByLabel('Stock symbol').inputValue(), 'ABC')
  await page.getByRole('button', { name: 'Get quote' }).click()
  await expectText(page.getByTestId('quote-price'), /^\$10\.00$/)
  await page.locator('figure.chart svg[role="img"]').waitFor()
  await expectText(page.locator('figure.chart figcaption'), /ABC: \d+ quotes? .*latest \$10\.00/)
  await shot(page, '03-quote')

  step('buy $105 of ABC: 10 shares pending with a countdown, then commit')
  await nav(page, 'Buy & sell', 'Buy and sell')
  const buyForm = page.locator('form', { has: page.getByRole('heading', { name: 'Buy now' }) })
  const sellForm = page.locator('form', { has: page.getByRole('heading', { name: 'Sell now' }) })
  await buyForm.getByLabel('Stock symbol').fill('ABC')
  await buyForm.getByLabel('Dollars to spend').fill('100000')
  await buyForm.getByRole('button', { name: 'Buy' }).click()
  await expectText(buyForm.getByRole('alert'), /Insufficient funds/)
  await buyForm.getByLabel('Dollars to spend').fill('105')
  await buyForm.getByRole('button', { name: 'Buy' }).click()
  await expectText(buyForm.getByRole('status'), /Pending: buy 10 ABC at \$10\.00 for \$100\.00/)
  const pendingBuys = page.getByRole('list', { name: 'Pending buys' })
  await expectText(pendingBuys, /Buy 10 ABC at \$10\.00 = \$100\.00/)
  await expectText(pendingBuys.getByRole('timer'), /^\d+:\d\d$/)
  await shot(page, '04-trade-pending')
  await page.getByRole('button', { name: 'Commit buy' }).click()
  await expectText(
    page.locator('section', { hasText: 'Pending buys' }).getByRole('status'),
    /Bought 10 ABC at \$10\.00 for \$100\.00/,
  )
  await page.getByText('No pending buys.').waitFor()

  step('sell $50 of ABC, then cancel: the shares come back')
  await sellForm.getByLabel('Stock symbol').fill('ABC')
  await expectText(sellForm.locator('.hint'), /You hold 10 ABC shares/)
  await sellForm.getByLabel('Dollars to sell for').fill('50')
  await sellForm.getByRole('button', { name: 'Sell' }).click()
  await expectText(sellForm.getByRole('status'), /Pending: sell 5 ABC at \$10\.00 for \$50\.00/)
  await expectText(page.getByRole('list', { name: 'Pending sells' }), /Sell 5 ABC/)
  await expectText(sellForm.locator('.hint'), /You hold 5 ABC shares/)
  await page.getByRole('button', { name: 'Cancel sell' }).click()
  await expectText(
    page.locator('section', { hasText: 'Pending sells' }).getByRole('status'),
    /Cancelled the sale of 5 ABC/,
  )
  await page.getByText('No pending sells.').waitFor()
  await expectText(sellForm.locator('.hint'), /You hold 10 ABC shares/)

  step('set an automatic buy of XYZ, see it listed, then cancel it')
  await nav(page, 'Automatic', 'Automatic trades')
  const autoBuy = page.locator('form', { has: page.getByRole('heading', { name: 'Automatic buy' }) })
  await autoBuy.getByLabel('Stock symbol').fill('XYZ')
  await autoBuy.getByLabel('Dollars to reserve').fill('200')
  await autoBuy.getByLabel('Trigger price').fill('5')
  await autoBuy.getByRole('button', { name: 'Save automatic buy' }).click()
  await expectText(
    autoBuy.getByRole('status'),
    /Automatic buy of XYZ: set amount \$200\.00 and trigger price \$5\.00/,
  )
  const buySetups = page.locator('section', { has: page.getByRole('heading', { name: 'Automatic buys' }) })
  const row = buySetups.getByRole('row', { name: /XYZ/ })
  await expectText(row, /XYZ.*\$200\.00.*\$5\.00.*Waiting for price ≤ \$5\.00/)
  await shot(page, '05-automatic')
  await page.getByRole('button', { name: 'Cancel automatic buy of XYZ' }).click()
  await buySetups.getByText('No automatic buys.').waitFor()
  const autoSell = page.locator('form', { has: page.getByRole('heading', { name: 'Automatic sell' }) })
  await autoSell.getByLabel('Stock symbol').fill('QQQ')
  await autoSell.getByLabel('Dollars to sell for').fill('10')
  await autoSell.getByRole('button', { name: 'Save automatic sell' }).click()
  await expectText(autoSell.getByRole('alert'), /QQQ/)

  step('the dashboard sums it up at the current price')
  await nav(page, 'Dashboard', 'Dashboard')
  await expectText(stat(page, 'Cash'), /^\$900\.00$/)
  await expectText(stat(page, 'Reserved cash'), /^\$0\.00$/)
  await expectText(stat(page, 'Shares value'), /^\$100\.00$/)
  await expectText(stat(page, 'Total value'), /^\$1,000\.00$/)
  await expectText(stat(page, 'Profit / loss'), /^\$0\.00$/)
  await expectText(page.getByRole('row', { name: /ABC/ }).first(), /ABC.*10.*\$10\.00.*\$100\.00/)
  await shot(page, '06-dashboard')
  await page.setViewportSize({ width: 390, height: 844 })
  await shot(page, '07-dashboard-phone')
  await page.setViewportSize({ width: 1280, height: 860 })

  step('the history lists the commands and filters by type')
  await nav(page, 'History', 'Transaction history')
  const table = page.locator('table.entries')
  await expectText(table, /COMMIT_BUY/)
  await expectText(table, /CANCEL_SET_BUY/)
  await page.getByLabel('Show').selectOption('accountTransaction')
  await page.waitForURL(/type=accountTransaction/)
  await expectText(table, /Money moved/)
  await page.waitForFunction(() =>
    [...document.querySelectorAll('table.entries tbody tr')].every(
      (tr) => tr.className === 'entry-accountTransaction',
    ),
  )
  await shot(page, '08-history')

  step("the exchange: the live top 20, a coin's candles, and a buy with its fee shown first")
  await nav(page, 'Exchange', 'Exchange')
  const board = page.locator('table.board tbody tr')
  await page.waitForFunction(() => document.querySelectorAll('table.board tbody tr').length === 20)
  assert.equal(await board.count(), 20)
  await expectText(board.first(), /^1\s*[A-Z]+/)
  for (const change of await page.locator('table.board .change').all()) {
    assert.match((await change.getAttribute('class')) ?? '', /tone-(up|down|flat)/)
  }
  await page.waitForFunction(() => document.querySelectorAll('table.board .sparkline').length === 20, null, {
    timeout: 60_000,
  })
  await shot(page, '10-exchange')
  await page.locator('table.board').getByRole('link', { name: /^BTC/ }).click()
  await page.getByRole('heading', { level: 1, name: /Bitcoin/ }).waitFor()
  await page.locator('.chart-canvas canvas').first().waitFor()
  await expectText(page.locator('figure.chart-figure figcaption'), /candles of 1 h/)
  await page.getByRole('button', { name: '24 h', exact: true }).click()
  await expectText(page.locator('figure.chart-figure figcaption'), /candles of 24 h/)
  const buyCoin = page.getByRole('form', { name: 'Buy BTC' })
  await buyCoin.getByLabel('Amount of BTC').fill('0.000000001')
  await buyCoin.getByRole('button', { name: 'Review buy' }).click()
  await expectText(buyCoin.locator('.field-invalid .error'), /at most 8 decimals/)
  await buyCoin.getByLabel('Amount of BTC').fill('0.001')
  await expectText(buyCoin.getByLabel('Estimate'), /Fee \(0\.25 %\)\$\d+\.\d\dYou pay\$[\d,]+\.\d\d/)
  await buyCoin.getByRole('button', { name: 'Review buy' }).click()
  const confirmBuy = page.getByRole('group', { name: 'Confirm the buy' })
  await expectText(confirmBuy.getByTestId('order-total'), /^\$[\d,]+\.\d\d$/)
  await shot(page, '11-coin-confirm')
  await confirmBuy.getByRole('button', { name: 'Confirm buy' }).click()
  const bought = await expectText(
    page.getByRole('status').filter({ hasText: 'Bought' }),
    /Bought 0\.001 BTC at \$[\d,.]+: \$[\d,.]+ \+ fee \$[\d,.]+ = \$[\d,.]+\. Cash now \$[\d,.]+\./,
  )
  // The figures agree with the exchange's rules at the price it traded at.
  const [, priceText, costText, feeText, totalText, cashText] =
    /at \$([\d,.]+): \$([\d,.]+) \+ fee \$([\d,.]+) = \$([\d,.]+)\. Cash now \$([\d,.]+)/.exec(bought)
  const scaled = (text, decimals) => {
    const [whole, fraction = ''] = text.replace(/,/g, '').split('.')
    return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0'))
  }
  const price = scaled(priceText, 4)
  const units = 100_000n // 0.001 BTC
  const ceil = (a, b) => (a + b - 1n) / b
  assert.equal(scaled(costText, 2), ceil(units * price, 10n ** 10n), 'cost is the value rounded up')
  assert.equal(scaled(feeText, 2), ceil(units * price * 25n, 10n ** 14n), 'fee is 0.25 % rounded up')
  assert.equal(scaled(totalText, 2), scaled(costText, 2) + scaled(feeText, 2))
  assert.equal(scaled(cashText, 2), 90_000n - scaled(totalText, 2), 'cash was $900.00 before')
  await expectText(
    page.locator('section', { hasText: 'Your BTC trades' }).locator('tbody tr').first(),
    /Buy\s*0\.001 BTC/,
  )
  await shot(page, '11-coin')
  await page.getByRole('link', { name: '← Exchange' }).click()
  await page.getByRole('heading', { level: 1, name: 'Exchange' }).waitFor()
  await expectText(
    page.locator('section', { hasText: 'Your coins' }).locator('tbody tr').first(),
    /BTC\s*0\.001/,
  )
  await page.setViewportSize({ width: 390, height: 844 })
  await shot(page, '12-exchange-phone')
  await page.setViewportSize({ width: 1280, height: 860 })

  step("the explorer: a new block arrives live; a block, its reward transaction and the miner's address")
  assert.ok(ADMIN_PASSWORD, 'ADMIN_PASSWORD is needed to mine blocks')
  const token = await adminToken()
  await mineBlock(token)
  await nav(page, 'Explorer', 'Explorer')
  const blocks = page.locator('section', { has: page.getByRole('heading', { name: 'Latest blocks' }) })
  const topHeight = async () => Number(await blocks.locator('tbody tr th').first().textContent())
  await blocks.locator('tbody tr').first().waitFor()
  await expectText(page.locator('.badge'), /Live/)
  const firstTop = await topHeight()
  await mineBlock(token)
  // The page shows the new block without a reload.
  const deadline = Date.now() + TIMEOUT
  while ((await topHeight()) <= firstTop && Date.now() < deadline) await page.waitForTimeout(200)
  assert.equal(await topHeight(), firstTop + 1, 'the new block appeared live')
  await shot(page, '13-explorer')
  await page.getByRole('search', { name: 'Search the chain' }).getByLabel('Search the chain').fill('1')
  await page.getByRole('button', { name: 'Search', exact: true }).click()
  await page.getByRole('heading', { level: 1, name: 'Block 1' }).waitFor()
  await expectText(page.getByTestId('confirmations'), /^\d+$/)
  await page.locator('table').getByRole('link').first().click()
  await page.getByRole('heading', { level: 1, name: 'Transaction' }).waitFor()
  const confirmations = await expectText(page.getByTestId('confirmations'), /^\d+ confirmations?$/)
  await expectText(page.locator('.badge'), /Live/)
  await mineBlock(token)
  const more = Number(confirmations.split(' ')[0]) + 1
  await expectText(page.getByTestId('confirmations'), new RegExp(`^${more} confirmations$`))
  await shot(page, '14-transaction')
  await page.locator('dl.facts').getByRole('link').nth(1).click()
  await page.getByRole('heading', { level: 1, name: 'Address' }).waitFor()
  await expectText(page.locator('.stat', { hasText: 'DTC' }).locator('dd').first(), /^[\d,]+\.\d{8}$/)
  await page.getByRole('link', { name: '← Explorer' }).click()
  await page
    .getByRole('search', { name: 'Search the chain' })
    .getByLabel('Search the chain')
    .fill('f'.repeat(64))
  await page.getByRole('button', { name: 'Search', exact: true }).click()
  await expectText(page.locator('form.search .error'), /Nothing on the chain matches/)

  step('the wallet: balances valued in USD, the deposit address with its QR code, a withdrawal checked')
  await nav(page, 'Wallet', 'Wallet')
  await expectText(page.getByTestId('deposit-address'), /^[0-9a-f]{40}$/)
  await page.locator('svg.qr').waitFor()
  await expectText(page.locator('section', { hasText: 'Balances' }).locator('tbody'), /BTC\s*0\.00100000/)
  await expectText(page.getByTestId('wallet-total'), /^\$[\d,]+\.\d\d$/)
  const withdraw = page.locator('form', { has: page.getByRole('heading', { name: 'Withdraw' }) })
  await withdraw.getByLabel('To address').fill('not an address')
  await withdraw.getByLabel('Amount').fill('1')
  await withdraw.getByRole('button', { name: 'Withdraw' }).click()
  await expectText(withdraw.locator('.field-invalid .error').first(), /40 hexadecimal digits/)
  await expectText(withdraw.locator('.field-invalid .error').nth(1), /more than the 0 DTC available/)
  await shot(page, '15-wallet')

  step('the miners: register a machine, start it in a pool, see it digging, stop it')
  await nav(page, 'Miners', 'Miners')
  const register = page.locator('form', { has: page.getByRole('heading', { name: 'Register a machine' }) })
  await register.getByLabel('Name').fill('rig-one')
  await register.getByLabel('Model').fill('S19')
  await register.getByLabel('Hashrate').fill('110')
  await register.getByRole('button', { name: 'Register machine' }).click()
  await expectText(register.getByRole('status'), /Registered rig-one \(110 TH\/s\)/)
  const rig = page.locator('tr', { hasText: 'rig-one' }).first()
  await expectText(rig, /idle/)
  await rig.getByRole('button', { name: 'Start rig-one' }).click()
  await expectText(page.locator('tr', { hasText: 'rig-one' }).first(), /digging in/)
  await expectText(page.locator('section', { hasText: 'Dig history' }).locator('tbody'), /rig-one/)
  await shot(page, '16-miners')
  await nav(page, 'Pool centre', 'Pool centre')
  const pools = page.locator('table.pools tbody tr')
  await pools.first().waitFor()
  await expectText(pools.first(), /(PPLNS|PPS)/)
  await page.getByRole('list', { name: 'Share of the network hashrate' }).waitFor()
  await shot(page, '17-pools')
  await pools.first().getByRole('link').first().click()
  await page.getByRole('heading', { level: 1, name: /^Pool / }).waitFor()
  await page.getByRole('heading', { name: 'Recent blocks' }).waitFor()
  await nav(page, 'Miners', 'Miners')
  await page.getByRole('button', { name: 'Stop rig-one' }).click()
  await expectText(page.locator('tr', { hasText: 'rig-one' }).first(), /stopped/)

  step('auto-trade: a backtest with k chosen automatically, its figures and equity curve')
  await nav(page, 'Auto-trade', 'Auto-trade')
  const test = page.getByRole('form', { name: 'Backtest the volatility breakout' })
  await test.getByLabel('Days', { exact: true }).fill('2')
  await test.getByRole('button', { name: 'Run backtest' }).click()
  await expectText(test.locator('.field-invalid .error'), /Between 3 and 1,000 days/)
  await test.getByLabel('Days', { exact: true }).fill('120')
  await test.getByRole('button', { name: 'Run backtest' }).click()
  await expectText(page.getByLabel('Backtest figures'), /k0\.\d0Total return.*%Max drawdown.*Trades\d+/)
  await page.locator('.backtest-result .chart-canvas canvas').first().waitFor()
  await shot(page, '18-autotrade')

  step('sign out, then sign in again with the keyboard alone')
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor()
  await page.locator('body').focus()
  await page.keyboard.press('Tab')
  assert.equal(
    await page.evaluate(
      () =>
        document.activeElement?.id &&
        document.querySelector(`label[for="${document.activeElement.id}"]`)?.textContent,
    ),
    'User name',
  )
  await page.keyboard.type(user)
  await page.keyboard.press('Tab')
  await page.keyboard.type(password)
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor()

  step('a rejected token sends the user back to sign in')
  await page.evaluate(() => {
    const session = JSON.parse(sessionStorage.getItem('dts.session'))
    sessionStorage.setItem('dts.session', JSON.stringify({ ...session, token: 'not-a-token' }))
  })
  await nav(page, 'History', 'Transaction history').catch(() => {})
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor()
  await expectText(page.getByRole('status'), /Invalid token/)

  if (ADMIN_PASSWORD) {
    step('the administrator downloads the DUMPLOG')
    // A new tab has its own sessionStorage, so its own sign-in.
    const admin = await context.newPage()
    watch(admin, 'admin tab')
    await admin.goto(`${BASE}/signin`)
    await admin.getByLabel('User name').fill('admin')
    await admin.getByLabel('Password').fill(ADMIN_PASSWORD)
    await admin.getByRole('button', { name: 'Sign in' }).click()
    await admin.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor()
    await nav(admin, 'Audit log', 'Administration')
    await expectText(admin.locator('section', { hasText: 'Log entries' }).locator('table'), /Command\s*\d/)
    await admin.getByLabel('File name').fill('e2e-dumplog.xml')
    const [download] = await Promise.all([
      admin.waitForEvent('download'),
      admin.getByRole('button', { name: 'Download DUMPLOG' }).click(),
    ])
    assert.equal(download.suggestedFilename(), 'e2e-dumplog.xml')
    const saved = join(ARTEFACTS, 'frontend-dumplog.xml')
    await download.saveAs(saved)
    const xml = readFileSync(saved, 'utf8')
    assert.match(xml, /<log>/)
    assert.match(xml, new RegExp(`<username>${user}</username>`))
    await expectText(admin.getByRole('status'), /Saved e2e-dumplog\.xml/)
    await shot(admin, '09-admin')

    step('the administrator sees the reserves, healthy or short, and the gas keeper')
    await nav(admin, 'Reserves & withdrawals', 'Reserves and withdrawals')
    await expectText(admin.getByTestId('reserve-state-DTC'), /^(healthy|short|unexplained)$/)
    await expectText(admin.getByTestId('reserve-state-DUSD'), /^(healthy|short|unexplained)$/)
    await expectText(admin.locator('.banner').first(), /Gas keeper/)
    await admin.getByRole('heading', { name: 'Withdrawals waiting for approval' }).waitFor()
    await shot(admin, '19-admin-reserves')
  } else {
    step('ADMIN_PASSWORD not set: admin part skipped')
  }

  assert.deepEqual(problems, [], 'the pages logged errors')
  console.log('frontend e2e: all steps passed')
} catch (err) {
  for (const [i, p] of context.pages().entries()) {
    await p.screenshot({ path: join(ARTEFACTS, `frontend-failure-${i}.png`), fullPage: true }).catch(() => {})
  }
  if (problems.length) console.error(problems.join('\n'))
  throw err
} finally {
  await context.close()
  rmSync(profile, { recursive: true, force: true })
}
